"""Process safety and the driver (issue 11, items 6-9): Ctrl-C in a scan, lying arrays, NUL bytes in
identifiers, and a throwaway cluster that never outlives its owner."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import gone as _gone

import copypatch
from copypatch.pg import Cluster, PostgreSQL

SRC = Path(copypatch.__file__).resolve().parents[1]


def _run_child(code: str, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter; on timeout, kill it (and say so) rather than hang."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"child still running after {timeout:g} s\nstdout:\n{out}\nstderr:\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# -- item 6: Ctrl-C during a scan ------------------------------------------------------------------

_INTERRUPT_CHILD = """
import os, signal, sys, threading
sys.path.insert(0, {src!r})
import numpy as np, copypatch

# a child inherits an ignored SIGINT (a shell's background job, say), and Python then installs
# no KeyboardInterrupt handler: install it, as an interactive Python has it
signal.signal(signal.SIGINT, signal.default_int_handler)

# ~50 us a row (a linear search of 5000 constants that never matches), over 10^8 rows that take
# no memory (a broadcast view, stride 0): a scan that would run for days.
sql = "a IN (" + ", ".join(str(i) for i in range(5000)) + ")"
big = {{"a": np.broadcast_to(np.int32(-1), (10**8,))}}
small = {{"a": np.array([5, -1, 4999, 5000], dtype=np.int32)}}
for engine in copypatch.ENGINES:
    for optimize in (copypatch.OPTIMIZATIONS, ()):
        prog = copypatch.compile(sql, small, engine=engine, optimize=optimize)
        for mode in ("filter", "evaluate"):
            timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            try:
                getattr(prog, mode)(big)
            except KeyboardInterrupt:
                pass
            else:
                sys.exit(f"{{engine}} {{mode}}: the scan ended instead of being interrupted")
            timer.join()
            # the program is usable afterwards, on both kinds of scan
            assert prog.filter(small).tolist() == [True, False, True, False]
            assert prog.evaluate(small).tolist() == [True, False, True, False]
            print("interrupted", engine, len(optimize), mode, flush=True)
"""


def test_ctrl_c_interrupts_a_long_scan() -> None:
    # Before the fix the first scan ignores SIGINT until it ends (days): the child times out.
    r = _run_child(_INTERRUPT_CHILD.format(src=str(SRC)), timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("interrupted") == 2 * 2 * len(copypatch.ENGINES), r.stdout


@pytest.mark.parametrize("engine", copypatch.ENGINES)
@pytest.mark.parametrize("optimize", [None, ()], ids=["all", "none"])
def test_scans_in_slices_agree_with_numpy(engine: str, optimize: tuple[str, ...] | None) -> None:
    # Large enough for many of the scan's chunks; the rows and the first error must not care.
    n = 1_000_003
    a = (np.arange(n, dtype=np.int64) * 7919 % 1000).astype(np.int32)
    b = np.ma.masked_array(np.arange(n, dtype=np.int64) % 13, mask=np.arange(n) % 11 == 0)
    table = {"a": a, "b": b}
    kw: dict[str, Any] = {} if optimize is None else {"optimize": optimize}
    prog = copypatch.compile("a % 7 = 3 OR b > 10", table, engine=engine, **kw)
    want = (a % 7 == 3) | np.ma.filled(b > 10, False)
    assert np.array_equal(prog.filter(table), want)
    got = prog.evaluate(table)
    assert np.array_equal(np.ma.filled(got, False), want)
    assert np.array_equal(np.ma.getmaskarray(got), ~(a % 7 == 3) & np.ma.getmaskarray(b))

    div = copypatch.compile("100 / a > 0", table, engine=engine, **kw)
    bad = np.ones(n, dtype=np.int32)
    bad[[654_321, 654_322, 999_999]] = 0
    for mode in ("filter", "evaluate"):
        with pytest.raises(copypatch.EvalError) as info:
            getattr(div, mode)({"a": bad, "b": b})
        assert info.value.sqlstate == "22012" and info.value.row == 654_321


# -- item 7: arrays that lie about themselves -----------------------------------------------------

_LIAR_CHILD = """
import json, sys
sys.path.insert(0, {src!r})
import numpy as np, copypatch

class LongLen(np.ndarray):
    def __len__(self):
        return 50_000_000

class LongShape(np.ndarray):
    @property
    def shape(self):
        return (50_000_000,)
    @property
    def strides(self):
        return (1 << 40,)
    @property
    def ndim(self):
        return 1
    def __array__(self, *args, **kwargs):
        return np.zeros(50_000_000, dtype=np.int32)

class WideDtype(np.ndarray):
    @property
    def dtype(self):
        return np.dtype(np.int64)

def short_mask(n):
    m = np.ma.masked_array(np.arange(n, dtype=np.int32), mask=np.zeros(n, dtype=bool))
    m._mask = np.ones(1, dtype=bool)   # numpy itself checks nothing here
    return m

def long_mask():
    m = np.ma.masked_array(np.arange(4, dtype=np.int32), mask=[True, False, False, False])
    m._mask = np.zeros(1000, dtype=bool)
    return m

def int_mask():
    m = np.ma.masked_array(np.arange(4, dtype=np.int32), mask=[True, False, False, False])
    m._mask = np.array([256, 0, 1, 0], dtype=np.int64)  # not a bool mask: only 0 is "not NULL"
    return m

def mask_2d():
    m = np.ma.masked_array(np.arange(4, dtype=np.int32), mask=[True, False, False, False])
    m._mask = np.zeros((4, 2), dtype=bool)
    return m

prog = copypatch.compile("a > 1", {{"a": np.ma.masked_array(np.arange(4, dtype=np.int32))}})
prog64 = copypatch.compile("a > 1", {{"a": np.arange(4, dtype=np.int64)}})
cases = {{
    "long_len": lambda: np.arange(4, dtype=np.int32).view(LongLen),
    "long_shape": lambda: np.arange(4, dtype=np.int32).view(LongShape),
    "short_mask": lambda: short_mask(10_000_000),
    "long_mask": long_mask,
    "int_mask": int_mask,
    "mask_2d": mask_2d,
    "zero_d": lambda: np.array(3, dtype=np.int32),
    "zero_d_masked": lambda: np.ma.masked_array(np.array(3, dtype=np.int32), mask=True),
    "two_d": lambda: np.zeros((4, 2), dtype=np.int32),
    "list": lambda: [1, 2, 3],
}}
out = {{}}
for name, make in cases.items():
    try:
        r = prog.evaluate({{"a": make()}})
        out[name] = ["ok", np.ma.filled(r.astype(np.int8), -1).tolist()]
    except (ValueError, TypeError, copypatch.CompileError) as e:
        out[name] = [type(e).__name__, str(e)]
try:
    out["wide_dtype"] = ["ok", prog64.filter({{"a": np.arange(4, dtype=np.int8).view(WideDtype)}}).tolist()]
except (ValueError, TypeError, copypatch.CompileError) as e:
    out["wide_dtype"] = [type(e).__name__, str(e)]
# a program with no columns takes its row count from the table too
const = copypatch.compile("true", {{"a": np.arange(4, dtype=np.int32)}})
try:
    out["no_columns_long_len"] = ["ok", len(const.filter({{"a": np.arange(4, dtype=np.int32).view(LongLen)}}))]
except (ValueError, TypeError, copypatch.CompileError) as e:
    out["no_columns_long_len"] = [type(e).__name__, str(e)]
print(json.dumps(out))
"""


def test_lying_arrays_are_read_by_their_true_shape() -> None:
    # In a child: before the fix the scan reads out of bounds and may crash the interpreter.
    r = _run_child(_LIAR_CHILD.format(src=str(SRC)), timeout=300)
    assert r.returncode == 0, f"child died with {r.returncode}:\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout)
    # what the array really holds is what is read (the lies in __len__/shape/strides/__array__
    # are never consulted)...
    assert out["long_len"] == ["ok", [0, 0, 1, 1]]
    assert out["long_shape"] == ["ok", [0, 0, 1, 1]]
    assert out["no_columns_long_len"] == ["ok", 4]
    # ... or the column is refused with a clear error
    assert out["wide_dtype"][0] == "TypeError", out["wide_dtype"]
    for name in ("short_mask", "long_mask", "mask_2d"):
        assert out[name][0] == "ValueError" and "mask" in out[name][1], (name, out[name])
    assert out["int_mask"] == ["ok", [-1, 0, -1, 1]]
    for name in ("zero_d", "zero_d_masked", "two_d"):
        assert out[name][0] == "ValueError" and "dimension" in out[name][1], (name, out[name])
    assert out["list"][0] == "TypeError"


# -- item 8: NUL bytes in identifiers -----------------------------------------------------------


def test_nul_in_table_or_column_name_is_refused(pg: PostgreSQL) -> None:
    pg.load({"a": np.arange(3, dtype=np.int32)}, "victim")
    # psycopg's Identifier stops at the NUL: this would drop and replace "victim"
    with pytest.raises(ValueError, match="NUL"):
        pg.load({"a": np.arange(5, dtype=np.int32)}, "victim\x00scratch")
    with pytest.raises(ValueError, match="NUL"):
        pg.load({"a\x00b": np.arange(5, dtype=np.int32)}, "scratch")
    for call in (pg.filter, pg.evaluate):
        with pytest.raises(ValueError, match="NUL"):
            call("true", "victim\x00scratch")
    with pytest.raises(ValueError, match="NUL"):
        pg.count_where("true", "victim\x00scratch")
    with pytest.raises(ValueError, match="NUL"):
        pg.filter("a > 0\x00 OR true", "victim")
    # PostgreSQL cuts names at 63 bytes (NAMEDATALEN - 1): the same trap
    long = "v" * 63
    pg.load({"a": np.arange(3, dtype=np.int32)}, long)
    with pytest.raises(ValueError, match="63 bytes"):
        pg.load({"a": np.arange(5, dtype=np.int32)}, long + "scratch")
    with pytest.raises(ValueError, match="63 bytes"):
        pg.load({"\u00e9" * 32: np.arange(5, dtype=np.int32)}, "scratch")  # 64 bytes in UTF-8
    assert pg.conn.execute(f"SELECT count(*) FROM {long}").fetchone() == (3,)
    pg.conn.execute(f"DROP TABLE {long}")
    assert pg.conn.execute("SELECT count(*) FROM victim").fetchone() == (3,)
    assert pg.filter("a > 0", "victim").tolist() == [False, True, True]
    pg.conn.execute("DROP TABLE victim")


# -- item 9: a throwaway cluster never outlives its owner ------------------------------------------


def _wait_gone(pid: int, d: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid) and not d.exists():
            return
        time.sleep(0.1)
    # leave nothing behind even when failing
    if not _gone(pid):
        with_kill = f"server {pid} still running"
        os.killpg(pid, signal.SIGKILL)
    else:
        with_kill = f"directory {d} still there"
    shutil.rmtree(d, ignore_errors=True)
    pytest.fail(f"{with_kill} {timeout:g} s after its owner died")


_OWNER_CHILD = """
import sys, threading, time
sys.path.insert(0, {src!r})
from copypatch.pg import Cluster
how = {how!r}
box = []
if how == "thread":
    t = threading.Thread(target=lambda: box.append(Cluster({bindir!r})))
    t.start()
    t.join()
else:
    box.append(Cluster({bindir!r}))
c = box[0]
print(c.pid, c.dir, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize(("how", "sig"), [("thread", signal.SIGTERM), ("main", signal.SIGKILL),
                                          ("thread", signal.SIGKILL)])
def test_owner_death_stops_the_cluster(pg_bindir: Path, how: str, sig: int) -> None:
    code = _OWNER_CHILD.format(src=str(SRC), how=how, bindir=str(pg_bindir))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=60)[1]
        pid_s, d_s = line.split()
        pid, d = int(pid_s), Path(d_s)
        assert not _gone(pid) and d.exists()
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == -sig
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _wait_gone(pid, d)


@pytest.fixture(params=["copypatch test 'dir' \"x\" \\ ", "copypatch test, with a comma "])
def awkward_tmpdir(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # under /tmp and world-traversable, so that the server user can reach it (pytest's tmp_path
    # is private, and Cluster would fall back to /tmp)
    d = Path(tempfile.mkdtemp(prefix=request.param, dir="/tmp"))
    d.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_tmpdir_with_spaces_and_quotes(pg_bindir: Path, awkward_tmpdir: Path) -> None:
    with Cluster(pg_bindir) as c:
        pid, d = c.pid, c.dir
        assert pid is not None
        # libpq cannot name a host with a comma in it: such a $TMPDIR falls back to /tmp
        assert d.parent == (Path("/tmp") if "," in str(awkward_tmpdir) else awkward_tmpdir)
        with PostgreSQL(c.dsn) as db:
            db.load({"a": np.arange(4, dtype=np.int32)})
            assert db.filter("a > 1").tolist() == [False, False, True, True]
    _wait_gone(pid, d, timeout=5)
    assert list(awkward_tmpdir.iterdir()) == []
