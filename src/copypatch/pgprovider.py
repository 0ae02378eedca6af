"""Build copypatch's PostgreSQL JIT provider (csrc/pgjit/) against an installed server."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._errors import CopypatchError
from ._stencils import _elf, _writer
from ._stencils._schema import Hole, StencilBuildError, StencilGroup
from ._stencils._targets import TARGETS, host_target

__all__ = [
    "LIBRARY_NAME",
    "PgProviderUnavailable",
    "Provider",
    "build",
    "find_pg_config",
    "stats",
]

#: the provider's name: PostgreSQL loads $pkglibdir/<jit_provider>.so
LIBRARY_NAME = "copypatch"
#: the PostgreSQL major version the provider is written against (its structs and opcodes)
PG_MAJOR = 15
#: what PostgreSQL compiles with, and the stencils must share: its overflow checks assume
#: wrapping arithmetic, its casts assume no strict aliasing
PG_FLAGS = ("-fwrapv", "-fno-strict-aliasing")
HEADER = "pg_stencils.h"

ROOT = Path(__file__).resolve().parents[2]
PGJIT = ROOT / "csrc" / "pgjit"


class PgProviderUnavailable(CopypatchError):
    """The provider cannot be built here: no pg_config, no server headers, no clang, or a
    machine the JIT has no stencils for."""


@dataclasses.dataclass(frozen=True)
class Provider:
    """A built provider: the library, and the installation it was built for (pg_config's)."""

    library: Path
    bindir: Path
    pkglibdir: Path
    sharedir: Path
    version: str


# -- pg_config


def find_pg_config() -> Path:
    """$COPYPATCH_PG_CONFIG, else /usr/lib/postgresql/15/bin/pg_config, else pg_config on PATH."""
    env = os.environ.get("COPYPATCH_PG_CONFIG")
    candidates = [Path(env)] if env else [Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin/pg_config")]
    on_path = shutil.which("pg_config")
    if not env and on_path:
        candidates.append(Path(on_path))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise PgProviderUnavailable(
        f"no pg_config found (looked at {', '.join(map(str, candidates))}); install "
        f"postgresql-server-dev-{PG_MAJOR} or set COPYPATCH_PG_CONFIG"
    )


def _pg_config(pg_config: Path) -> dict[str, str]:
    try:
        out = subprocess.run(
            [str(pg_config)], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise PgProviderUnavailable(f"could not run {pg_config}: {e}") from e
    return {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in out.splitlines())}


# -- the stencil set


def _opcode_names(server_include: Path) -> list[str]:
    """PostgreSQL's ExprEvalOp, in order, from the server's execExpr.h (EEOP_LAST left out)."""
    text = (server_include / "executor" / "execExpr.h").read_text()
    m = re.search(r"typedef enum ExprEvalOp\s*\{(.*?)\}\s*ExprEvalOp;", text, re.DOTALL)
    if m is None:
        raise StencilBuildError(f"no ExprEvalOp enum in {server_include}/executor/execExpr.h")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.DOTALL)
    return [n for n in re.findall(r"\b(EEOP_\w+)\b", body) if n != "EEOP_LAST"]


def _compile_group(target: str, server_include: Path) -> StencilGroup:
    """csrc/pgjit/template.c through the first stencil set's compiler and ELF reader, with the
    same target flags plus PostgreSQL's."""
    base = TARGETS[target]
    flags = (*base.flags, *PG_FLAGS, "-isystem", str(server_include))
    t = dataclasses.replace(base, flags=flags)
    clang = _elf.find_clang()
    obj = _elf.compile_object(clang, t, PGJIT / "template.c", [PGJIT])
    group = _elf.read_stencils(obj, t, _elf.clang_version(clang))
    # The deforming stencils reach CONTINUE and JUMP_TARGET through second declarations of
    # them (another prototype: more arguments in registers): the same holes.
    same = {"CONTINUE_DEFORM": "CONTINUE", "JUMP_TARGET_DEFORM": "JUMP_TARGET"}
    for s in group.stencils.values():
        if any(h.value in same for h in s.holes):
            s.holes = [dataclasses.replace(h, value=same.get(h.value, h.value)) for h in s.holes]
            s.trim = t.trailing_jump(s)
    return group


def _hole_value(h: Hole) -> str:
    return f"CP_PG_SYM_{h.symbol}" if h.value == "SYMBOL" else f"CP_PG_HOLE_{h.value}"


def _xmacro(name: str, items: list[str]) -> list[str]:
    return [f"#define {name}(X) \\", *[f"\tX({n}) \\" for n in items], ""]


def write_header(group: StencilGroup, digest: str, opcodes: list[str]) -> str:
    """The provider's stencil header (deterministic): X-macro lists for provider.c (opcodes,
    stencils, the helpers they call) and, under CP_PG_STENCIL_CODE, the stencils for emit.c."""
    names = list(group.stencils)
    unknown = sorted(n for n in names if n not in opcodes and not n.startswith("CP_"))
    if unknown:
        raise StencilBuildError(f"stencils for opcodes this PostgreSQL does not have: {unknown}")
    lines = [
        "/*",
        " * Generated by `python -m copypatch pg-provider build` from csrc/pgjit/template.c:",
        " * do not edit.",
        f" * target: {group.target}; compiler: {group.compiler}",
        " */",
        f'#define CP_PG_STENCILS_DIGEST "{digest}"',
        f'#define CP_PG_TARGET "{group.target}"',
        "",
        "/* PostgreSQL's opcodes, as its execExpr.h lists them (for messages) */",
        *_xmacro("CP_PG_OPCODES", opcodes),
        "/* the opcodes that have a stencil */",
        *_xmacro("CP_PG_STENCIL_OPCODES", [n for n in names if n in opcodes]),
        "/* the helpers the stencils call (PostgreSQL's functions), in hole order */",
        *_xmacro("CP_PG_SYMBOLS", group.symbols),
        "enum CpPgStencilIndex",
        "{",
        *[f"\tCP_PG_STENCIL_{n}," for n in names],
        "\tCP_PG_NSTENCILS_",
        "};",
        "",
        "#ifdef CP_PG_STENCIL_CODE",
        "enum CpPgSymbolHole",
        "{",
    ]
    for i, sym in enumerate(group.symbols):
        lines.append(f"\tCP_PG_SYM_{sym}" + (" = CP_PG_HOLE_SYMBOLS," if i == 0 else ","))
    lines += ["\tCP_PG_SYM_END_", "};", ""]
    for s in group.stencils.values():
        lines.append(f"/* {s.name}: {len(s.body)} bytes, {len(s.holes)} holes, trim {s.trim} */")
        lines.append(f"static const uint8_t cp_pg_{s.name}_body[{max(1, len(s.body))}] = {{")
        lines += _writer._bytes(s.body) or ["\t0"]
        lines.append("};")
        lines.append(f"static const CpJitHole cp_pg_{s.name}_holes[{max(1, len(s.holes))}] = {{")
        holes = [
            f"\t{{{h.offset:#x}, CP_RELOC_{h.kind}, {_hole_value(h)}, {h.addend}}},"
            for h in s.holes
        ]
        lines += holes or ["\t{0, 0, 0, 0}"]
        lines += ["};", ""]
    lines.append("static const CpJitStencil cp_pg_stencils[] = {")
    lines += [
        f"\t[CP_PG_STENCIL_{s.name}] = {{cp_pg_{s.name}_body, {len(s.body)}, {s.trim}, "
        f"cp_pg_{s.name}_holes, {len(s.holes)}}},"
        for s in group.stencils.values()
    ]
    lines += ["};", "#endif\t\t\t\t\t\t\t/* CP_PG_STENCIL_CODE */"]
    return "\n".join(lines) + "\n"


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little") + p)
    return h.hexdigest()


def _inputs() -> list[Path]:
    """Everything in this repository the provider depends on, sorted."""
    stencils = ROOT / "src" / "copypatch" / "_stencils"
    files = [
        *PGJIT.glob("*.[ch]"),
        *(ROOT / "csrc" / "jit").glob("*.[ch]"),
        *(ROOT / "csrc" / "jit").glob("*.def"),
        *(ROOT / "csrc").glob("*.h"),
        *(ROOT / "csrc").glob("*.def"),
        *stencils.glob("*.py"),
        Path(__file__),
    ]
    return sorted(p for p in set(files) if not p.name.startswith("stencils_"))


def build_dir() -> Path:
    """$COPYPATCH_PG_PROVIDER_DIR, else ~/.cache/copypatch/pg-provider (XDG_CACHE_HOME)."""
    env = os.environ.get("COPYPATCH_PG_PROVIDER_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "copypatch" / "pg-provider"


def build(pg_config: Path | None = None, out: Path | None = None, force: bool = False) -> Provider:
    """Build (or find fresh in ``out``) the provider for pg_config's installation.

    Nothing is written outside ``out`` (default: build_dir()/<version>-<arch>).
    """
    target = host_target()
    if target is None:
        raise PgProviderUnavailable("the provider needs an x86-64 or AArch64 Linux machine")
    pg_config = pg_config or find_pg_config()
    cfg = _pg_config(pg_config)
    version = cfg.get("VERSION", "")
    m = re.match(r"PostgreSQL (\d+)", version)
    if m is None or int(m.group(1)) != PG_MAJOR:
        raise PgProviderUnavailable(
            f"{pg_config} is {version or 'of an unknown version'}; the provider is written "
            f"against PostgreSQL {PG_MAJOR}'s executor"
        )
    server = Path(cfg["INCLUDEDIR-SERVER"])
    if not (server / "jit" / "jit.h").is_file():
        raise PgProviderUnavailable(
            f"no server headers in {server}: install postgresql-server-dev-{PG_MAJOR}"
        )
    provider = Provider(
        library=Path(),
        bindir=Path(cfg["BINDIR"]),
        pkglibdir=Path(cfg["PKGLIBDIR"]),
        sharedir=Path(cfg["SHAREDIR"]),
        version=version,
    )
    out = out or build_dir() / f"{PG_MAJOR}-{target}"
    lib = out / f"{LIBRARY_NAME}.so"
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which(cfg.get("CC", "gcc"))
    if cc is None:
        raise PgProviderUnavailable("no C compiler (cc) to build the provider with")
    common = [
        "-std=gnu11", "-O2", "-g", "-fPIC", *PG_FLAGS,
        "-Wall", "-Wextra", "-Werror", f"-I{PGJIT}",
    ]  # fmt: skip
    # provider.c sees PostgreSQL's headers only, emit.c and arena.c copypatch's only (pgjit.h);
    # those two export nothing (PostgreSQL 15's PGDLLEXPORT is empty: provider.c's symbols stay
    # visible, as PostgreSQL looks them up)
    hidden = "-fvisibility=hidden"
    units = [
        (PGJIT / "provider.c", ["-isystem", str(server)]),
        (PGJIT / "emit.c", [hidden, f"-I{ROOT / 'csrc' / 'jit'}", f"-I{ROOT / 'csrc'}"]),
        (ROOT / "csrc" / "jit" / "arena.c", [hidden, f"-I{ROOT / 'csrc'}"]),
    ]
    digest = _digest(
        [target.encode(), version.encode(), cc.encode(), repr((common, units)).encode(),
         (server / "executor" / "execExpr.h").read_bytes(),
         *[p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() for p in _inputs()]]
    )  # fmt: skip
    stamp = out / "digest"
    if not force and lib.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return dataclasses.replace(provider, library=lib)
    out.mkdir(parents=True, exist_ok=True)
    try:
        group = _compile_group(target, server)
    except StencilBuildError as e:
        raise PgProviderUnavailable(f"the provider's stencils: {e}") from e
    header = write_header(group, digest, _opcode_names(server))
    # in a directory of its own, so that two builds at once cannot mix their files; the results
    # are renamed into place (the header too, to be read)
    with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
        work = Path(tmp)
        (work / HEADER).write_text(header)
        objects = []
        for src, flags in units:
            obj = work / f"{src.stem}.o"
            _run([cc, *common, f"-I{work}", *flags, "-c", str(src), "-o", str(obj)])
            objects.append(str(obj))
        _run([cc, "-shared", *objects, "-o", str(work / lib.name), "-lpthread"])
        os.replace(work / lib.name, lib)
        os.replace(work / HEADER, out / HEADER)
    _atomic_write(stamp, digest)
    return dataclasses.replace(provider, library=lib)


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise PgProviderUnavailable(f"building the provider failed:\n{' '.join(cmd)}\n{r.stderr}")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# -- in a running server

#: copypatch_jit_stats(): this backend's counts, from the provider library
STATS_COLUMNS = (
    "compiled", "fallbacks", "steps", "code_bytes", "compile_ns", "last_fallback_opcode",
    "last_fallback_reason", "stencils", "deforms", "inlined", "fused", "direct",
)  # fmt: skip
_STATS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION copypatch_jit_stats(
    OUT compiled bigint, OUT fallbacks bigint, OUT steps bigint, OUT code_bytes bigint,
    OUT compile_ns bigint, OUT last_fallback_opcode text, OUT last_fallback_reason text,
    OUT stencils integer, OUT deforms bigint, OUT inlined bigint, OUT fused bigint,
    OUT direct bigint)
RETURNS record AS '$libdir/{LIBRARY_NAME}', 'copypatch_jit_stats' LANGUAGE C STRICT
"""


def stats(conn: Any) -> dict[str, Any]:
    """This session's provider counts (a psycopg connection to a cluster run with the
    provider): expressions compiled and left to the interpreter, and why the last one was."""
    with conn.cursor() as cur:
        cur.execute(_STATS_FUNCTION)
        cur.execute("SELECT * FROM copypatch_jit_stats()")
        row = cur.fetchone()
    return dict(zip(STATS_COLUMNS, row, strict=True))


# -- measuring


@dataclasses.dataclass(frozen=True)
class BenchRow:
    """One query under one JIT setting: medians over the runs, in milliseconds."""

    query: str
    jit: str  # "off", "llvm" (no optimisation, no inlining), "llvm-full", "copypatch"
    execution_ms: float  # EXPLAIN (ANALYZE, TIMING OFF)'s Execution Time (compiling included)
    jit_ms: float | None  # EXPLAIN ANALYZE's JIT Total (None with the JIT off)
    functions: int  # EXPLAIN's JIT Functions
    generation_ms: float | None = None  # the JIT block's Generation (copypatch: the whole compile)
    emission_ms: float | None = None  # its Emission (LLVM's; copypatch reports none)


BENCH_SETTINGS = ("off", "llvm", "llvm-full", "copypatch")


def bench_queries(tpch_queries: bool = True) -> dict[str, str]:
    """The bench's queries by name: the standard ones as ``SELECT count(*) FROM t WHERE q`` over
    the standard table, then TPC-H Q1 and Q6 over lineitem."""
    from . import tpch
    from .workload import QUERIES

    out = {name: f"SELECT count(*) FROM t WHERE {q}" for name, q in QUERIES.items()}
    if tpch_queries:
        out.update(tpch.QUERIES)
    return out


def run_bench(
    rows: int = 1_000_000, repeat: int = 5, sf: float | None = 0.01
) -> list[BenchRow]:
    """The bench's queries (bench_queries; TPC-H unless ``sf`` is None) in two throwaway
    clusters (one with PostgreSQL's LLVM provider, one with copypatch's), each JIT setting
    forced on for every query (jit_above_cost = 0). First every setting's rows are checked
    identical to the JIT off's (CopypatchError if not); then the settings run interleaved,
    ``repeat`` times: medians of EXPLAIN ANALYZE's execution time (TIMING OFF: no per-node clock
    reads) and, from separate runs with timing, of its JIT block."""
    import statistics

    from . import tpch
    from .pg import JitMode, PostgreSQL
    from .workload import make_table

    if rows < 1 or repeat < 1:
        raise ValueError(f"rows and repeat must be positive, not {rows} and {repeat}")
    queries = bench_queries(tpch_queries=sf is not None)
    table = make_table(rows)
    out: list[BenchRow] = []
    with PostgreSQL() as llvm, PostgreSQL(jit_provider=True) as cp:
        for db in (llvm, cp):
            db.load(table)
            if sf is not None:
                tpch.create_lineitem(db.conn, sf)
        settings: list[tuple[str, PostgreSQL, JitMode]] = [
            ("off", cp, "off"), ("llvm", llvm, "on"), ("llvm-full", llvm, "full"),
            ("copypatch", cp, "on"),
        ]  # fmt: skip
        for name, query in queries.items():
            want = None
            for label, db, jit in settings:
                with db._session(jit, False) as cur:
                    cur.execute(query)
                    got = cur.fetchall()
                if want is None:
                    want = got
                elif got != want:
                    raise CopypatchError(
                        f"{name}: {label} gives other rows than the JIT off:\n{got[:5]}\n"
                        f"the JIT off:\n{want[:5]}"
                    )
            times: dict[str, list[float]] = {label: [] for label, _, _ in settings}
            jits: dict[str, list[Any]] = {label: [] for label, _, _ in settings}
            for label, db, jit in settings:
                db.explain(query, jit=jit, timing=False)  # warm: the table in the buffers
            for _ in range(repeat):  # interleaved: a slow spell of the machine hits them all
                for label, db, jit in settings:
                    times[label].append(db.explain(query, jit=jit, timing=False).execution_time_ms)
            for _ in range(repeat):
                for label, db, jit in settings:
                    jits[label].append(db.explain(query, jit=jit).jit)

            def median(values: list[float | None]) -> float | None:
                present = [v for v in values if v is not None]
                return statistics.median(present) if present else None

            for label, _, _ in settings:
                js = [j for j in jits[label] if j is not None]
                out.append(BenchRow(
                    name, label, statistics.median(times[label]),
                    median([j.total_ms for j in js]), js[0].functions if js else 0,
                    median([j.generation_ms for j in js]), median([j.emission_ms for j in js]),
                ))  # fmt: skip
    return out


#: the earlier name
bench = run_bench


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms * 1000:.0f} us" if ms < 1 else f"{ms:.1f} ms"


def format_bench(results: list[BenchRow], rows: int, sf: float | None = None) -> str:
    """A table: per query, each setting's execution time (and its ratio to the JIT off), then
    each JIT's compile time per query (EXPLAIN's JIT Total)."""
    labels = [lab for lab in BENCH_SETTINGS if any(r.jit == lab for r in results)]
    by = {(r.query, r.jit): r for r in results}
    queries = list(dict.fromkeys(r.query for r in results))
    jitted = [lab for lab in labels if lab != "off"]
    head = (f"{'query':<14}" + "".join(f"{lab:>20}" for lab in labels)
            + "".join(f"{'jit ' + lab:>15}" for lab in jitted))  # fmt: skip
    what = f"standard table {rows:,} rows" + ("" if sf is None else f", lineitem SF {sf:g}")
    lines = [f"execution ms (x jit=off), median; JIT time per query ({what})", head]
    for q in queries:
        base = by[(q, "off")].execution_ms
        cells = [f"{by[(q, lab)].execution_ms:>11.2f} ({by[(q, lab)].execution_ms / base:4.2f})"
                 for lab in labels]  # fmt: skip
        jit = [f"{_fmt_ms(by[(q, lab)].jit_ms):>15}" for lab in jitted]
        lines.append(f"{q:<14}" + "".join(f"{c:>20}" for c in cells) + "".join(jit))
    return "\n".join(lines)


def write_bench_json(results: list[BenchRow], rows: int, sf: float | None, path: Path) -> None:
    """Every number of run_bench as JSON."""
    import json

    doc = {"rows": rows, "sf": sf, "results": [dataclasses.asdict(r) for r in results]}
    path.write_text(json.dumps(doc, indent=1) + "\n")


def plot_bench(results: list[BenchRow], rows: int, sf: float | None, path: Path) -> None:
    """A PNG chart (matplotlib): per query, each setting's execution time over the JIT off's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [lab for lab in BENCH_SETTINGS if any(r.jit == lab for r in results)]
    by = {(r.query, r.jit): r for r in results}
    queries = list(dict.fromkeys(r.query for r in results))
    fig, ax = plt.subplots(figsize=(max(8.0, 1.3 * len(queries)), 4.5))
    width = 0.8 / len(labels)
    for j, lab in enumerate(labels):
        ys = [by[(q, lab)].execution_ms / by[(q, "off")].execution_ms for q in queries]
        ax.bar([i + j * width for i in range(len(queries))], ys, width, label=lab)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(queries))])
    ax.set_xticklabels(queries, fontsize="small", rotation=15)
    ax.set_ylabel("execution time / JIT off's")
    tpch = "" if sf is None else f", TPC-H SF {sf:g}"
    ax.set_title(f"PostgreSQL 15: JIT off, LLVM, copypatch ({rows:,} rows{tpch})")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- the command line


def add_bench_arguments(ap: Any) -> None:
    """The bench's options (``pg-provider bench`` and ``bench --pg-provider``)."""
    from ._cli import positive_int

    ap.add_argument("--rows", type=positive_int, default=1_000_000,
                    help="rows of the standard table")
    ap.add_argument("--sf", type=float, default=0.01,
                    help="TPC-H scale factor of lineitem (0.01: 60,000 rows; 0: no TPC-H)")
    ap.add_argument("--repeat", type=positive_int, default=5,
                    help="runs per query and setting (median)")
    ap.add_argument("--json", dest="json_file", type=Path, metavar="FILE",
                    help="write every number as JSON")
    ap.add_argument("--plot", type=Path, metavar="FILE", help="write a PNG chart (matplotlib)")


def bench_command(prog: str, args: Any) -> int:
    """Run the bench as the command line asked, print its table."""
    from ._cli import fail

    if args.sf < 0:
        fail(prog, f"--sf must be >= 0, not {args.sf}")
    sf = args.sf or None
    try:
        results = run_bench(args.rows, args.repeat, sf)
    except PgProviderUnavailable as e:
        fail(prog, str(e))
    print(format_bench(results, args.rows, sf))
    if args.json_file is not None:
        write_bench_json(results, args.rows, sf, args.json_file)
    if args.plot is not None:
        plot_bench(results, args.rows, sf, args.plot)
    return 0


def main(argv: list[str]) -> int:
    """``python -m copypatch pg-provider build``: build the provider, print the library's path."""
    import argparse

    from ._cli import fail, one_line_errors

    prog = "python -m copypatch pg-provider"
    ap = argparse.ArgumentParser(
        prog=prog, description="copypatch's PostgreSQL JIT provider.",
        epilog=f"{prog} regress [--keep DIR] [TEST ...]: PostgreSQL's own regression suite with "
        f"the JIT off and with the provider forced on ({prog} regress --help)")
    one_line_errors(ap, prog)
    sub = ap.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="build the provider (into a cache directory)")
    b.add_argument("--pg-config", type=Path, help="the installation's pg_config "
                   f"(default: $COPYPATCH_PG_CONFIG, /usr/lib/postgresql/{PG_MAJOR}/bin/pg_config)")
    b.add_argument("--out", type=Path, help=f"where to build (default: {build_dir()}/...)")
    b.add_argument("--force", action="store_true", help="rebuild even if the build is fresh")
    m = sub.add_parser("bench", help="the standard queries and TPC-H Q1/Q6 with the JIT off, "
                       "LLVM and copypatch")
    add_bench_arguments(m)
    args = ap.parse_args(argv)
    if args.action == "bench":
        return bench_command(prog, args)
    try:
        p = build(args.pg_config, args.out, force=args.force)
    except PgProviderUnavailable as e:
        fail(prog, str(e))
    print(p.library)
    print(
        f"# for {p.version}: PostgreSQL loads it as jit_provider = '{p.library.stem}' from its "
        f"pkglibdir ({p.pkglibdir}); copypatch.pg.PostgreSQL(jit_provider=True) runs a "
        "throwaway cluster with a private copy of that directory",
        file=sys.stderr,
    )
    return 0
