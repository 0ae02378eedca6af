"""The main job: every engine on the standard queries over generated data, with pyperf.

    python -m copypatch bench [--rows N] [--engine E ...] [--query SQL ...] [--no-postgres]
                              [--dsn DSN] [--json FILE] [pyperf options, e.g. --fast]

One pyperf Runner times each (query, engine) pair in worker processes (pyperf's calibration,
warm-ups and statistics); the parent process then prints one table. When PostgreSQL's server
binaries are present (or --dsn is given), the same queries run on PostgreSQL too, with its JIT off
and on, timed by EXPLAIN ANALYZE. Before timing anything, every engine's answer is checked
against every other's, and against PostgreSQL's.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Mapping

import numpy as np

#: The standard query set (issue: PostgreSQL driver and benchmark suite).
STANDARD_QUERIES = (
    "a = 42",
    "a = 42 AND b > 10",
    "a + b > 1000 OR c < 5",
    "COALESCE(b, c) > 50 AND CASE WHEN a > 50 THEN c ELSE a END < 20",
    " AND ".join(f"a <> {i}" for i in range(100, 120)) + " AND c >= 0",
    "a IN (1, 7, 42, 64, 99)",
)


def make_table(rows: int, seed: int = 42) -> dict[str, np.ndarray]:
    """The benchmark table: a int4 NOT NULL in [0, 100), b int8 with 10% NULLs, c int4."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2000, rows, dtype=np.int64)
    return {
        "a": rng.integers(0, 100, rows, dtype=np.int32),
        "b": np.ma.masked_array(b, mask=rng.random(rows) < 0.1),
        "c": rng.integers(0, 100, rows, dtype=np.int32),
    }


def scan_timer(prog: Any, table: Mapping[str, Any]) -> Callable[[int], float]:
    """A pyperf time function: `loops` filters of the whole table, in seconds."""

    def run(loops: int) -> float:
        filt = prog.filter
        t0 = time.perf_counter()
        for _ in range(loops):
            filt(table)
        return time.perf_counter() - t0

    return run


def _check_agreement(queries: list[str], engines: list[str], table: Mapping[str, Any],
                     pg: Any | None) -> None:
    import copypatch

    for q in queries:
        ref = copypatch.compile(q, table, engine=engines[0]).filter(table)
        for e in engines[1:]:
            got = copypatch.compile(q, table, engine=e).filter(table)
            if not np.array_equal(got, ref):
                raise SystemExit(f"engine {e} disagrees with {engines[0]} on {q!r}")
        if pg is not None and not np.array_equal(pg.filter(q), ref):
            raise SystemExit(f"copypatch disagrees with PostgreSQL on {q!r}")


def main(argv: list[str] | None = None) -> None:
    import pyperf

    import copypatch

    runner = pyperf.Runner(program_args=("-m", "copypatch.bench"), add_cmdline_args=_worker_args)
    ap = runner.argparser
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--engine", action="append", choices=copypatch.ENGINES)
    ap.add_argument("--query", action="append", help="SQL; repeatable (default: the standard set)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--dsn", help="a PostgreSQL server of yours (default: a throwaway cluster)")
    args = runner.parse_args(argv)
    engines = args.engine or list(copypatch.ENGINES)
    queries = args.query or list(STANDARD_QUERIES)
    table = make_table(args.rows, args.seed)
    is_worker = bool(getattr(args, "worker", False))

    pg = None
    if not is_worker and not args.no_postgres:
        pg = _start_postgres(args.dsn)
        if pg is not None:
            pg.load(table)
    try:
        if not is_worker:
            _check_agreement(queries, engines, table, pg)
        results: dict[tuple[str, str], Any] = {}
        compile_ns: dict[tuple[str, str], int] = {}
        for q in queries:
            for e in engines:
                prog = copypatch.compile(q, table, engine=e)
                compile_ns[(q, e)] = prog.compile_ns
                bench = runner.bench_time_func(f"{e}: {q}", scan_timer(prog, table))
                results[(q, e)] = bench
        if is_worker:
            return
        pg_times = _time_postgres(pg, queries) if pg is not None else {}
        _print_table(queries, engines, results, compile_ns, pg_times, args.rows)
    finally:
        if pg is not None:
            pg.close()


def _worker_args(cmd: list[str], args: Any) -> None:
    """Forward our knobs to pyperf's worker processes."""
    cmd += ["--rows", str(args.rows), "--seed", str(args.seed), "--no-postgres"]
    for e in args.engine or ():
        cmd += ["--engine", e]
    for q in args.query or ():
        cmd += ["--query", q]


def _start_postgres(dsn: str | None) -> Any | None:
    from .pg import PostgreSQL, PostgresUnavailable

    try:
        return PostgreSQL(dsn)
    except PostgresUnavailable as e:
        print(f"PostgreSQL skipped: {e}", file=sys.stderr)
        return None


def _time_postgres(pg: Any, queries: list[str]) -> dict[tuple[str, str], tuple[float, float | None]]:
    """(execution ms, JIT ms) of SELECT count(*) WHERE q, best of 3, JIT off and on."""
    out = {}
    for q in queries:
        for jit in ("off", "on"):
            best: tuple[float, float | None] | None = None
            for _ in range(3):
                _, ex = pg.count_where(q, jit=jit)
                jit_ms = ex.jit.total_ms if ex.jit is not None else None
                if best is None or ex.execution_time_ms < best[0]:
                    best = (ex.execution_time_ms, jit_ms)
            assert best is not None
            out[(q, jit)] = best
    return out


def _print_table(queries: list[str], engines: list[str], results: dict[tuple[str, str], Any],
                 compile_ns: dict[tuple[str, str], int],
                 pg_times: dict[tuple[str, str], tuple[float, float | None]], rows: int) -> None:
    print()
    head = f"{'query':<44} {'engine':<8} {'ns/row':>8} {'vs goto':>8} {'compile us':>10}"
    print(head)
    print("-" * len(head))
    for q in queries:
        short = q if len(q) <= 44 else q[:41] + "..."
        goto = results.get((q, "goto"))
        for e in engines:
            ns = results[(q, e)].median() * 1e9 / rows
            ratio = f"{goto.median() / results[(q, e)].median():.2f}x" if goto is not None else "-"
            print(f"{short:<44} {e:<8} {ns:8.2f} {ratio:>8} {compile_ns[(q, e)] / 1e3:10.1f}")
            short = ""
        for jit in ("off", "on"):
            if (q, jit) in pg_times:
                ms, jit_ms = pg_times[(q, jit)]
                jit_txt = f"{jit_ms * 1e3:10.1f}" if jit_ms is not None else f"{'-':>10}"
                print(f"{'':<44} {'pg/jit=' + jit:<8} {ms * 1e6 / rows:8.2f} {'':>8} {jit_txt}")
    print()
    print("ns/row: pyperf median of whole-table filters; pg rows: EXPLAIN ANALYZE execution time")
    print("of SELECT count(*) ... WHERE <query>, best of 3; compile us: program layout + JIT time")


if __name__ == "__main__":
    main()
