"""What a user would pick instead of copypatch: numpy, numexpr, DuckDB and hand-written C loops.

Each peer is the standard queries (copypatch.workload.QUERIES) written the way a user of that tool
writes them, over the columns of copypatch.workload.make_table(), and returns what copypatch's
filter() returns: one bool per row, true where WHERE <query> keeps it. `python -m copypatch bench
--peers` checks every peer's rows against copypatch's (which it checks against PostgreSQL's)
before timing it; benchmarks/count_instructions.py --peers counts their instructions.

Each runs on one thread (numexpr.set_num_threads(1), DuckDB's SET threads = 1), as copypatch's
engines do. NULLs (b's mask) are handled as each tool lets a user handle them: numpy with masked
arrays, numexpr and C with the mask as a second column, DuckDB through Arrow's validity bitmap.
None of the hand-written peers raises PostgreSQL's errors (int overflow, say): they compute in
int64 without checks, which the standard table never overflows; DuckDB raises its own errors.

numexpr, DuckDB and pyarrow come with the `peers` extra (pip install 'copypatch[peers]'); the C
loops (src/copypatch/peers.c) are compiled by the system C compiler ($CC, else cc, gcc or clang)
on first use and cached in $XDG_CACHE_HOME/copypatch (default ~/.cache/copypatch).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .workload import QUERIES

#: a peer made ready for one query and table: each call filters the whole table
Run = Callable[[], np.ndarray]


class PeerUnavailable(Exception):
    """A peer cannot run here: its package is not installed, or there is no C compiler."""


@dataclass(frozen=True)
class Peer:
    """One tool a user could pick instead of copypatch, on the standard queries."""

    name: str
    how: str  # how the queries are written, in one line (the table's footer, the JSON)
    prepare: Callable[[str, Mapping[str, Any]], Run]  # (query's short name, table) -> Run


# ---- the table, as the peers see it ------------------------------------------------------------
@dataclass(frozen=True)
class Columns:
    """make_table()'s columns: a and c plain int4 arrays, b an int8 masked array, its values
    (under NULLs too) and its NULL flags as one bool per row."""

    a: np.ndarray
    b: np.ma.MaskedArray
    b_values: np.ndarray
    b_null: np.ndarray
    c: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.a)


def columns(table: Mapping[str, Any]) -> Columns:
    """The standard table's columns, checked: the peers are written for its types."""
    want = {"a": np.int32, "b": np.int64, "c": np.int32}
    if set(table) != set(want):
        raise ValueError(f"the peers are written for make_table()'s columns a, b, c, not "
                         f"{', '.join(sorted(table))}")
    for name, dtype in want.items():
        if np.asarray(table[name]).dtype != dtype:
            raise ValueError(f"column {name}: the peers are written for {np.dtype(dtype)}, not "
                             f"{np.asarray(table[name]).dtype}")
    if np.ma.is_masked(table["a"]) or np.ma.is_masked(table["c"]):
        raise ValueError("columns a and c are NOT NULL in make_table(); the peers assume so")
    b = np.ma.asarray(table["b"])
    return Columns(a=np.ascontiguousarray(np.ma.getdata(table["a"])), b=b,
                   b_values=np.ascontiguousarray(b.data),
                   b_null=np.ascontiguousarray(np.ma.getmaskarray(b)),
                   c=np.ascontiguousarray(np.ma.getdata(table["c"])))


def query_name(sql: str) -> str | None:
    """The short name of a standard query (the peers know only those), None for any other."""
    return next((name for name, text in QUERIES.items() if text == sql), None)


# ---- numpy: masked arrays for NULLs ------------------------------------------------------------
def _numpy_and20(t: Columns) -> np.ndarray:
    keep = t.c >= 0
    for k in range(100, 120):
        keep &= t.a != k
    return keep


#: numpy as a user writes it. A masked array keeps NULLs through comparisons and arithmetic;
#: .filled(False) turns NULL into false where WHERE would, before an OR (numpy's | with a
#: masked operand is masked, where SQL's NULL OR true is true).
NUMPY: dict[str, Callable[[Columns], np.ndarray]] = {
    "eq": lambda t: t.a == 42,
    "and": lambda t: ((t.a == 42) & (t.b > 10)).filled(False),
    "or_arith": lambda t: (t.a + t.b > 1000).filled(False) | (t.c < 5),
    "coalesce_case": lambda t: ((np.where(t.b_null, t.c, t.b_values) > 50)
                                & (np.where(t.a > 50, t.c, t.a) < 20)),
    "and20": _numpy_and20,
    "in_list": lambda t: np.isin(t.a, [1, 7, 42, 64, 99]),
}


def _prepare_numpy(name: str, table: Mapping[str, Any]) -> Run:
    fn, t = NUMPY[name], columns(table)
    return lambda: np.asarray(fn(t))


# ---- numexpr: the mask as a column -------------------------------------------------------------
#: numexpr as a user writes it: it has no NULLs, so b's mask goes in as the column b_null
NUMEXPR: dict[str, str] = {
    "eq": "a == 42",
    "and": "(a == 42) & ~b_null & (b > 10)",
    "or_arith": "(~b_null & (a + b > 1000)) | (c < 5)",
    "coalesce_case": "(where(b_null, c, b) > 50) & (where(a > 50, c, a) < 20)",
    "and20": " & ".join(f"(a != {k})" for k in range(100, 120)) + " & (c >= 0)",
    "in_list": " | ".join(f"(a == {k})" for k in (1, 7, 42, 64, 99)),
}


def _prepare_numexpr(name: str, table: Mapping[str, Any]) -> Run:
    numexpr = _import("numexpr")
    numexpr.set_num_threads(1)
    t, expr = columns(table), NUMEXPR[name]
    arrays = {"a": t.a, "b": t.b_values, "b_null": t.b_null, "c": t.c}
    evaluate = numexpr.evaluate
    return lambda: evaluate(expr, local_dict=arrays)


# ---- DuckDB over Arrow -------------------------------------------------------------------------
def arrow_table(table: Mapping[str, Any]) -> Any:
    """make_table()'s columns as an Arrow table, the values zero-copy (Arrow wraps numpy's
    buffers); b's mask becomes Arrow's validity bitmap (one bit per row, 1 = not NULL)."""
    pa = _import("pyarrow")
    t = columns(table)
    validity = pa.py_buffer(np.packbits(~t.b_null, bitorder="little"))
    b = pa.Array.from_buffers(pa.int64(), t.rows, [validity, pa.py_buffer(t.b_values)])
    return pa.table({"a": pa.array(t.a), "b": b, "c": pa.array(t.c)})


def _prepare_duckdb(name: str, table: Mapping[str, Any]) -> Run:
    duckdb = _import("duckdb")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.register("t", arrow_table(table))
    # the query as it is: its SQL is DuckDB's too. IS TRUE is what WHERE does with NULL.
    sql = f"SELECT ({QUERIES[name]}) IS TRUE AS keep FROM t"
    return lambda: con.execute(sql).fetchnumpy()["keep"]


# ---- the hand-written C loops ------------------------------------------------------------------
def compiler() -> list[str]:
    """The system C compiler: $CC, else the first of cc, gcc and clang on PATH."""
    if os.environ.get("CC"):
        return shlex.split(os.environ["CC"])
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return [cc]
    raise PeerUnavailable("the C loop peers need a C compiler, and there is none: install gcc "
                          "(Debian: apt-get install gcc) or set CC")


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


def c_flags(vectorize: bool) -> list[str]:
    """Scalar: one row at a time, as the engines work. Vectorised: what -O3 makes of the same
    loop, with AVX2 on an x86-64 CPU that has it (NEON is AArch64's baseline)."""
    if not vectorize:
        return ["-O2", "-fno-tree-vectorize"]
    return ["-O3", *(["-mavx2"] if platform.machine() == "x86_64" and _has_avx2() else [])]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "copypatch"


@cache
def c_library(vectorize: bool) -> ctypes.CDLL:
    """peers.c compiled with c_flags(vectorize), built on first use and cached by a digest of the
    source, the flags, the compiler and the machine (a cross compiler on PATH builds a library
    only an emulated Python loads); written to a temporary file and renamed, so pyperf's worker
    processes never load half a file."""
    cc = compiler()
    path = shutil.which(cc[0])
    if path is None:
        raise PeerUnavailable(f"the C compiler {cc[0]!r} (from $CC) is not on PATH")
    source = resources.files("copypatch").joinpath("peers.c").read_bytes()
    flags = [*c_flags(vectorize), "-shared", "-fPIC", "-std=c11", "-Wall", "-Wextra"]
    key = hashlib.sha256(repr((source, cc, os.path.realpath(path), os.stat(path).st_mtime_ns,
                               flags, platform.machine())).encode()).hexdigest()[:16]
    out = _cache_dir() / f"peers-{'vec' if vectorize else 'scalar'}-{key}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as d:
            src, tmp = Path(d) / "peers.c", Path(d) / out.name
            src.write_bytes(source)
            done = subprocess.run([*cc, *flags, str(src), "-o", str(tmp)], capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                raise PeerUnavailable(f"compiling the C loop peers failed ({' '.join(cc)}):\n"
                                      f"{done.stderr.strip()}")
            os.replace(tmp, out)
    return ctypes.CDLL(str(out))


def _c_prepare(vectorize: bool) -> Callable[[str, Mapping[str, Any]], Run]:
    def prepare(name: str, table: Mapping[str, Any]) -> Run:
        fn = getattr(c_library(vectorize), f"c_filter_{name}")
        fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64, ctypes.c_void_p]
        fn.restype = None
        t = columns(table)
        out = np.empty(t.rows, dtype=np.bool_)
        args = (t.a.ctypes.data, t.b_values.ctypes.data, t.b_null.ctypes.data, t.c.ctypes.data,
                t.rows, out.ctypes.data)

        def run(_keep_alive: Columns = t) -> np.ndarray:  # args points into t's arrays
            fn(*args)
            return out

        return run

    return prepare


def call_measured(run: Callable[[], object]) -> None:
    """run() inside peers.c's peers_measured_region, which callgrind's --toggle-collect counts."""
    lib = c_library(False)
    failed: list[BaseException] = []

    def body() -> None:
        try:
            run()
        except Exception as e:  # noqa: BLE001 (ctypes would print it and carry on)
            failed.append(e)

    callback = ctypes.CFUNCTYPE(None)(body)
    lib.peers_measured_call.argtypes = [ctypes.CFUNCTYPE(None)]
    lib.peers_measured_call.restype = None
    lib.peers_measured_call(callback)
    if failed:
        raise failed[0]


# ---- the registry ------------------------------------------------------------------------------
def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise PeerUnavailable(f"the {module} peer needs {module}: pip install "
                              "'copypatch[peers]'") from None


PEERS: dict[str, Peer] = {p.name: p for p in [
    Peer("c-scalar", "hand-written C loop, -O2 -fno-tree-vectorize; no overflow checks",
         _c_prepare(False)),
    Peer("c-simd", f"the same C loop, {' '.join(c_flags(True))}: vectorised; no overflow checks",
         _c_prepare(True)),
    Peer("numpy", "numpy, masked arrays for NULLs; no overflow checks", _prepare_numpy),
    Peer("numexpr", "numexpr, 1 thread, the mask as a column; no overflow checks",
         _prepare_numexpr),
    Peer("duckdb", "DuckDB, 1 thread, the query as SQL over an Arrow table; its own errors",
         _prepare_duckdb),
]}


def prepare(peer: str, sql: str, table: Mapping[str, Any]) -> Run:
    """The peer ready to filter `table` by the standard query `sql`."""
    name = query_name(sql)
    if name is None:
        raise ValueError(f"the peers know only the standard queries, not {sql!r}")
    return PEERS[peer].prepare(name, table)


def check_available() -> None:
    """Raise PeerUnavailable, saying what to install, unless every peer can run here."""
    for module in ("numexpr", "duckdb", "pyarrow"):
        _import(module)
    c_library(False)
    c_library(True)
