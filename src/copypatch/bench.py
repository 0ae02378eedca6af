"""The main job: every engine and optimisation level on the standard queries, with pyperf, beside PostgreSQL.

    python -m copypatch bench [--rows N] [--engine E ...] [--query SQL ...] [--optimize none|all ...]
                              [--no-postgres] [--dsn DSN] [--json FILE] [--plot FILE]
                              [pyperf options: --rigorous, -o FILE for compare_to, ...]

One pyperf Runner times each (query, engine, optimisation level) in worker processes (pyperf's
calibration, warm-ups and statistics; --fast unless you ask for --rigorous or set --processes);
the parent process prints one table. When PostgreSQL's server binaries are present (or --dsn is
given), the same table is loaded into PostgreSQL and each query runs there too, with its JIT off
and on, timed by EXPLAIN ANALYZE. Before anything is timed, every engine's rows are checked
against PostgreSQL's (and against each other), and the run stops on any difference.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .workload import STANDARD_QUERIES, make_table

LEVELS = ("none", "all")  # optimisation levels: PostgreSQL's program, and every pass


def scan_timer(prog: Any, table: Mapping[str, Any]) -> Callable[[int], float]:
    """A pyperf time function: `loops` filters of the whole table, in seconds."""

    def run(loops: int) -> float:
        filt = prog.filter
        t0 = time.perf_counter()
        for _ in range(loops):
            filt(table)
        return time.perf_counter() - t0

    return run


def level_passes(level: str) -> tuple[str, ...]:
    import copypatch

    return () if level == "none" else copypatch.OPTIMIZATIONS


def check_agreement(queries: list[str], engines: list[str], levels: list[str],
                    table: Mapping[str, Any], pg: Any | None) -> None:
    """Every configuration returns the same rows as PostgreSQL (or as each other without it)."""
    import copypatch

    for q in queries:
        ref = pg.filter(q) if pg is not None else None
        for e in engines:
            for level in levels:
                got = copypatch.compile(q, table, engine=e, optimize=level_passes(level)).filter(table)
                if ref is None:
                    ref = got
                elif not np.array_equal(got, ref):
                    who = "PostgreSQL" if pg is not None else "the first engine"
                    bad = int(np.flatnonzero(got != ref)[0])
                    raise SystemExit(f"{e}/{level} disagrees with {who} on {q!r} at row {bad}")


def main(argv: list[str] | None = None) -> None:
    import pyperf

    import copypatch

    argv = list(sys.argv[1:] if argv is None else argv)
    if not {"--fast", "--rigorous", "--worker", "--processes", "-p"} & set(argv):
        argv.insert(0, "--fast")  # 18+ benchmarks: pyperf's quick mode unless asked otherwise
    runner = pyperf.Runner(program_args=("-m", "copypatch.bench"), add_cmdline_args=_worker_args)
    ap = runner.argparser
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--engine", action="append", choices=copypatch.ENGINES)
    ap.add_argument("--query", action="append", help="SQL; repeatable (default: the standard set)")
    ap.add_argument("--optimize", action="append", choices=LEVELS,
                    help="optimisation level; repeatable (default: none and all)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--dsn", help="a PostgreSQL server of yours (default: a throwaway cluster)")
    ap.add_argument("--json", dest="json_file", metavar="FILE", help="write every number as JSON")
    ap.add_argument("--plot", metavar="FILE", help="write a PNG chart (matplotlib)")
    args = runner.parse_args(argv)
    engines = args.engine or list(copypatch.ENGINES)
    queries = args.query or list(STANDARD_QUERIES)
    levels = args.optimize or list(LEVELS)
    is_worker = bool(getattr(args, "worker", False))
    if not is_worker:
        print(f"generating {args.rows:,} rows (seed {args.seed})", file=sys.stderr, flush=True)
    table = make_table(args.rows, args.seed)

    pg = None
    if not is_worker and not args.no_postgres:
        pg = _start_postgres(args.dsn)
        if pg is not None:
            print("loading the table into PostgreSQL", file=sys.stderr, flush=True)
            pg.load(table)
    try:
        if not is_worker:
            print("checking every engine's rows against "
                  + ("PostgreSQL's" if pg is not None else "each other"), file=sys.stderr, flush=True)
            check_agreement(queries, engines, levels, table, pg)
        configs = [(q, e, lv) for q in queries for e in engines for lv in levels]
        results: dict[tuple[str, str, str], Any] = {}
        compile_ns: dict[tuple[str, str, str], int] = {}
        for i, (q, e, lv) in enumerate(configs, 1):
            if not is_worker:
                print(f"[{i}/{len(configs)}] {e}/{lv}: {q}", file=sys.stderr, flush=True)
            prog = copypatch.compile(q, table, engine=e, optimize=level_passes(lv))
            compile_ns[(q, e, lv)] = prog.compile_ns
            # with one level the name leaves it out, so that runs at two levels are comparable
            # with python -m pyperf compare_to
            name = f"{e}: {q}" if len(levels) == 1 else f"{e}/{lv}: {q}"
            results[(q, e, lv)] = runner.bench_time_func(name, scan_timer(prog, table))
        if is_worker:
            return
        ns = {k: b.median() * 1e9 / args.rows for k, b in results.items()}
        pg_times: dict[tuple[str, str], tuple[float, float | None]] = {}
        if pg is not None:
            print("timing PostgreSQL (EXPLAIN ANALYZE, JIT off and on)", file=sys.stderr, flush=True)
            pg_times = time_postgres(pg, queries)
        print(format_table(queries, engines, levels, ns, compile_ns, pg_times, args.rows))
        if args.json_file:
            write_json(args.json_file, args.rows, queries, engines, levels, ns, compile_ns,
                       pg_times, pg)
        if args.plot:
            plot(args.plot, queries, engines, levels, ns, pg_times, args.rows)
            print(f"wrote {args.plot}", file=sys.stderr)
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
    for lv in args.optimize or ():
        cmd += ["--optimize", lv]


def _start_postgres(dsn: str | None) -> Any | None:
    from .pg import PostgreSQL, PostgresUnavailable

    try:
        return PostgreSQL(dsn)
    except PostgresUnavailable as e:
        print(f"PostgreSQL skipped: {e}", file=sys.stderr)
        return None


def time_postgres(pg: Any, queries: list[str]) -> dict[tuple[str, str], tuple[float, float | None]]:
    """(execution ms, JIT ms) of SELECT count(*) WHERE q, best of 5, JIT off and on."""
    out = {}
    for q in queries:
        for jit in ("off", "on"):
            runs = []
            for _ in range(5):
                _, ex = pg.count_where(q, jit=jit)
                runs.append((ex.execution_time_ms, ex.jit.total_ms if ex.jit is not None else None))
            out[(q, jit)] = min(runs, key=lambda r: r[0])
    return out


def format_table(queries: list[str], engines: list[str], levels: list[str],
                 ns: dict[tuple[str, str, str], float], compile_ns: dict[tuple[str, str, str], int],
                 pg_times: dict[tuple[str, str], tuple[float, float | None]], rows: int) -> str:
    head = (f"{'query':<36} {'engine':<6} {'opt':<4} {'ns/row':>7} {'vs goto':>7} "
            f"{'compile us':>10} | {'pg ns/row':>9} {'pg+jit':>7} {'pg jit ms':>9}")
    lines = ["", head, "-" * len(head)]
    for q in queries:
        short = q if len(q) <= 36 else q[:33] + "..."
        pg_off, pg_on = pg_times.get((q, "off")), pg_times.get((q, "on"))
        pg_cols = (f"{pg_off[0] * 1e6 / rows:9.2f} {pg_on[0] * 1e6 / rows:7.2f} "  # type: ignore[index]
                   f"{(pg_on[1] or 0):9.2f}") if pg_off and pg_on else f"{'-':>9} {'-':>7} {'-':>9}"
        for e in engines:
            for lv in levels:
                base = ns.get((q, "goto", lv))
                ratio = f"{base / ns[(q, e, lv)]:6.2f}x" if base else "      -"
                lines.append(f"{short:<36} {e:<6} {lv:<4} {ns[(q, e, lv)]:7.2f} {ratio:>7} "
                             f"{compile_ns[(q, e, lv)] / 1e3:10.1f} | {pg_cols}")
                short, pg_cols = "", ""
    lines += ["",
              "ns/row: pyperf median of whole-table filters; vs goto: speed-up over the goto",
              "interpreter at the same optimisation level; compile us: the program's layout (jit:",
              "copy + patch only). pg: SELECT count(*) WHERE <query>, EXPLAIN ANALYZE execution time",
              "(best of 5; includes reading and deforming heap tuples), JIT off and on",
              "(jit_above_cost=0), and the JIT's compile time."]
    return "\n".join(lines)


def write_json(path: str, rows: int, queries: list[str], engines: list[str], levels: list[str],
               ns: dict[tuple[str, str, str], float], compile_ns: dict[tuple[str, str, str], int],
               pg_times: dict[tuple[str, str], tuple[float, float | None]], pg: Any | None) -> None:
    doc = {
        "rows": rows,
        "postgres_version": pg.server_version if pg is not None else None,
        "engines": [
            {"query": q, "engine": e, "optimize": lv, "ns_per_row": ns[(q, e, lv)],
             "compile_ns": compile_ns[(q, e, lv)]}
            for q in queries for e in engines for lv in levels
        ],
        "postgres": [
            {"query": q, "jit": jit, "execution_ms": t[0], "jit_ms": t[1],
             "ns_per_row": t[0] * 1e6 / rows}
            for (q, jit), t in pg_times.items()
        ],
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def plot(path: str, queries: list[str], engines: list[str], levels: list[str],
         ns: dict[tuple[str, str, str], float],
         pg_times: dict[tuple[str, str], tuple[float, float | None]], rows: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: list[tuple[str, list[float]]] = [
        (f"{e}/{lv}", [ns[(q, e, lv)] for q in queries]) for e in engines for lv in levels
    ]
    for jit in ("off", "on"):
        if all((q, jit) in pg_times for q in queries):
            series.append((f"pg jit={jit}", [pg_times[(q, jit)][0] * 1e6 / rows for q in queries]))
    fig, ax = plt.subplots(figsize=(max(8, 2.2 * len(queries)), 4.5))
    width = 0.8 / len(series)
    for j, (label, ys) in enumerate(series):
        ax.bar([i + j * width for i in range(len(queries))], ys, width, label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(queries))])
    ax.set_xticklabels([q if len(q) <= 24 else q[:21] + "..." for q in queries], fontsize="small",
                       rotation=15)
    ax.set_ylabel("ns/row")
    ax.set_title(f"copypatch engines vs PostgreSQL 15, {rows:,} rows")
    ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
