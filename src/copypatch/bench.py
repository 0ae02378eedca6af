"""The main job: every engine and optimisation level on the standard queries, with pyperf, beside PostgreSQL.

    python -m copypatch bench [--rows N] [--engine E ...] [--query SQL ...] [--optimize none|all ...]
                              [--no-postgres] [--dsn DSN] [--peers] [--json FILE] [--plot FILE]
                              [pyperf options: --rigorous, -o FILE for compare_to, ...]

One pyperf Runner times each (query, engine, optimisation level) in worker processes (pyperf's
calibration, warm-ups and statistics; --fast unless you ask for --rigorous or set --processes).
The parent shows one progress display on stderr and prints one table on stdout, with the relative
spread of pyperf's values in place of pyperf's own output (which -v brings back). When PostgreSQL's server binaries are present (or --dsn is
given), the same table is loaded into PostgreSQL and each query runs there too, with its JIT off
and on, timed by EXPLAIN ANALYZE. Before anything is timed, every engine's rows are checked
against PostgreSQL's (and against each other), and the run stops on any difference.

With --peers, what a user would pick instead (copypatch.peers: numpy, numexpr, DuckDB and the
hand-written C loop of each standard query, one thread each) runs beside the engines, in the same
table, JSON and plot, timed the same way on the same rows; each peer's rows are checked against
copypatch's first, and a peer that disagrees stops the run.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._cli import (
    SPREAD_HEAD,
    STEADIER,
    Progress,
    check_queries,
    fail,
    format_spread,
    is_unstable,
    non_negative_int,
    one_line_errors,
    positive_int,
    pyperf_silenced,
    quiet_pyperf,
    run_command,
    shorten,
    spread_percent,
)
from .workload import STANDARD_QUERIES, make_table

PROG = "python -m copypatch bench"

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


def peer_timer(prepare: Callable[[], Callable[[], Any]]) -> Callable[[int], float]:
    """A pyperf time function: `loops` runs of a peer over the whole table, in seconds. The peer
    is prepared on the first call, untimed: only the worker that times it pays for its imports
    (pyarrow's and DuckDB's are seconds under emulation)."""
    prepared: list[Callable[[], Any]] = []

    def timed(loops: int) -> float:
        if not prepared:
            prepared.append(prepare())
        run = prepared[0]
        t0 = time.perf_counter()
        for _ in range(loops):
            run()
        return time.perf_counter() - t0

    return timed


def check_agreement(query: str, engines: list[str], levels: list[str],
                    table: Mapping[str, Any], pg: Any | None) -> np.ndarray:
    """Every configuration returns the same rows as PostgreSQL (or as each other without it);
    returns them."""
    import copypatch

    # copypatch first: an expression that fails on a row is the user's error, and our EvalError
    # says so in one line, where PostgreSQL's would surface as a psycopg exception
    got = {(e, lv): copypatch.compile(query, table, engine=e, optimize=level_passes(lv)).filter(table)
           for e in engines for lv in levels}
    who, ref = ("PostgreSQL", pg.filter(query)) if pg is not None else (
        "the first engine", next(iter(got.values())))
    for (e, lv), rows in got.items():
        if not np.array_equal(rows, ref):
            bad = int(np.flatnonzero(rows != ref)[0])
            raise SystemExit(f"{e}/{lv} disagrees with {who} on {query!r} at row {bad}")
    return np.asarray(ref)


def check_peers(query: str, names: list[str], table: Mapping[str, Any], want: np.ndarray) -> None:
    """Every peer keeps copypatch's rows (WHERE's: a NULL result drops the row)."""
    from .peers import prepare

    for p in names:
        rows = np.asarray(prepare(p, query, table)())
        if rows.dtype != np.bool_ or rows.shape != want.shape:
            raise SystemExit(f"peer {p} returned {rows.dtype} {rows.shape}, not one bool per row, "
                             f"on {query!r}")
        if not np.array_equal(rows, want):
            bad = int(np.flatnonzero(rows != want)[0])
            raise SystemExit(f"peer {p} disagrees with copypatch on {query!r} at row {bad}")


@dataclass
class Timing:
    """One configuration's result: pyperf's median per row, the spread of its values, compile time."""

    ns_per_row: float
    spread: float | None  # stdev/mean of pyperf's values, in %; None with a single value
    compile_ns: int  # the layout (jit: copy + patch only)
    compile_total_ns: int = 0  # compile() end to end, SQL text to a runnable program (median)


def compile_total_ns(query: str, table: Mapping[str, Any], engine: str, passes: tuple[str, ...],
                     runs: int = 7) -> int:
    """compile() end to end (parse to JIT), median of `runs`: what a query pays before its first row."""
    import copypatch

    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        prog = copypatch.compile(query, table, engine=engine, optimize=passes)
        times.append(time.perf_counter_ns() - t0)
        prog.close()
    return sorted(times)[len(times) // 2]


def _pg_provider_bench(argv: list[str]) -> None:
    """``bench --pg-provider [--rows N] [--sf X] [--repeat R] [--json FILE]``."""
    import argparse

    from . import pgprovider

    prog = f"{PROG} --pg-provider"
    ap = argparse.ArgumentParser(prog=prog, description="The standard queries and TPC-H Q1/Q6 "
                                 "inside PostgreSQL: JIT off, LLVM, LLVM opt+inline, copypatch.")
    one_line_errors(ap, prog)
    pgprovider.add_bench_arguments(ap)
    pgprovider.bench_command(prog, ap.parse_args(argv))


def main(argv: list[str] | None = None) -> None:
    import pyperf

    import copypatch

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--pg-provider" in argv:
        # inside PostgreSQL: the JIT off, LLVM and copypatch's provider (pgprovider.run_bench)
        return _pg_provider_bench([a for a in argv if a != "--pg-provider"])
    if not {"--fast", "--rigorous", "--worker", "--processes", "-p"} & set(argv):
        argv.insert(0, "--fast")  # 18+ benchmarks: pyperf's quick mode unless asked otherwise
    runner = pyperf.Runner(program_args=("-m", "copypatch.bench"), add_cmdline_args=_worker_args)
    ap = runner.argparser
    one_line_errors(ap, PROG)
    ap.add_argument("--rows", type=positive_int, default=1_000_000)
    ap.add_argument("--seed", type=non_negative_int, default=42)
    ap.add_argument("--engine", action="append", choices=copypatch.ENGINES)
    ap.add_argument("--query", action="append", help="SQL; repeatable (default: the standard set)")
    ap.add_argument("--optimize", action="append", choices=LEVELS,
                    help="optimisation level; repeatable (default: none and all)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--dsn", help="a PostgreSQL server of yours (default: a throwaway cluster)")
    ap.add_argument("--peers", action="store_true",
                    help="also numpy, numexpr, DuckDB and hand-written C loops, one thread each "
                         "(pip install 'copypatch[peers]'; the C loops need a C compiler)")
    ap.add_argument("--json", dest="json_file", metavar="FILE", help="write every number as JSON")
    ap.add_argument("--plot", metavar="FILE", help="write a PNG chart (matplotlib)")
    args = runner.parse_args(argv)
    engines = args.engine or list(copypatch.ENGINES)
    queries = args.query or list(STANDARD_QUERIES)
    levels = args.optimize or list(LEVELS)
    is_worker = bool(args.worker)
    silenced = quiet_pyperf(args)
    if not is_worker:
        check_queries(queries, make_table(1))
    peer_names, peer_queries = _peers_wanted(args.peers, queries, is_worker)
    configs = [(q, e, lv) for q in queries for e in engines for lv in levels]
    peer_configs = [(q, p) for q in peer_queries for p in peer_names]
    want_pg = not is_worker and not args.no_postgres
    # steps: the table, [PostgreSQL: start, load], a check per query, a timing per configuration,
    # [PostgreSQL: a timing per query]
    pg_steps = 2 + len(queries) if want_pg else 0
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(
            Progress("bench", 1 + len(queries) + len(configs) + len(peer_configs) + pg_steps,
                     enabled=not is_worker))
        if peer_names and len(peer_queries) < len(queries) and not is_worker:
            progress.note("peers: they know only the standard queries (copypatch.workload), "
                          "so they run on those only")
        with progress.step(f"generating {args.rows:,} rows (seed {args.seed})"):
            table = make_table(args.rows, args.seed)
        pg = None
        if want_pg:
            with progress.step("starting PostgreSQL" if args.dsn is None else "connecting to --dsn"):
                pg = _start_postgres(args.dsn, progress)
            if pg is None:  # the attempt was one step; loading and timing it are off
                progress.set_total(2 + len(queries) + len(configs) + len(peer_configs))
            else:
                stack.callback(pg.close)
                with progress.step("loading the table into PostgreSQL"):
                    pg.load(table)
        against = "PostgreSQL's" if pg is not None else "each other's"
        for q in ([] if is_worker else queries):
            with progress.step(f"checking rows against {against}: {shorten(q, 40)}"):
                rows = check_agreement(q, engines, levels, table, pg)
                if q in peer_queries:
                    check_peers(q, peer_names, table, rows)
        timings: dict[tuple[str, str, str], Timing] = {}
        for q, e, lv in configs:
            with progress.step(f"timing {e}/{lv}: {shorten(q, 40)}"):
                prog = copypatch.compile(q, table, engine=e, optimize=level_passes(lv))
                # with one level the name leaves it out, so that runs at two levels are
                # comparable with python -m pyperf compare_to
                name = f"{e}: {q}" if len(levels) == 1 else f"{e}/{lv}: {q}"
                with pyperf_silenced(silenced):
                    b = runner.bench_time_func(name, scan_timer(prog, table))
                if b is not None and not is_worker:
                    timings[(q, e, lv)] = Timing(
                        b.median() * 1e9 / args.rows, spread_percent(b), prog.compile_ns,
                        compile_total_ns(q, table, e, level_passes(lv)))
        peer_times: dict[tuple[str, str], Timing] = {}
        for q, p in peer_configs:
            with progress.step(f"timing peer {p}: {shorten(q, 40)}"):
                from .peers import prepare

                with pyperf_silenced(silenced):
                    b = runner.bench_time_func(
                        f"{p}: {q}", peer_timer(functools.partial(prepare, p, q, table)))
                if b is not None and not is_worker:
                    peer_times[(q, p)] = Timing(b.median() * 1e9 / args.rows, spread_percent(b), 0)
        if is_worker:
            return
        pg_times: dict[tuple[str, str], PgTiming] = {}
        if pg is not None:
            for q in queries:
                with progress.step(f"timing PostgreSQL, JIT off and on: {shorten(q, 40)}"):
                    pg_times.update(time_postgres(pg, [q]))
        pg_version = pg.server_version if pg is not None else None
    print(format_table(queries, engines, levels, timings, pg_times, args.rows, peer_times))
    if args.json_file:
        write_json(args.json_file, args.rows, queries, engines, levels, timings, pg_times,
                   pg_version, peer_times)
        print(f"wrote {args.json_file}", file=sys.stderr)
    if args.plot:
        plot(args.plot, queries, engines, levels, timings, pg_times, args.rows, peer_times)
        print(f"wrote {args.plot}", file=sys.stderr)


def _peers_wanted(wanted: bool, queries: list[str], is_worker: bool) -> tuple[list[str], list[str]]:
    """The peers to run and the queries they run (the standard ones among `queries`); with
    --peers where a peer cannot run, the command fails saying what to install."""
    if not wanted:
        return [], []
    from .peers import PEERS, PeerUnavailable, check_available, query_name

    if not is_worker:
        try:
            check_available()
        except PeerUnavailable as e:
            fail(PROG, f"--peers: {e}")
    return list(PEERS), [q for q in queries if query_name(q) is not None]


def _worker_args(cmd: list[str], args: Any) -> None:
    """Forward our knobs to pyperf's worker processes."""
    cmd += ["--rows", str(args.rows), "--seed", str(args.seed), "--no-postgres"]
    if args.peers:
        cmd.append("--peers")
    for e in args.engine or ():
        cmd += ["--engine", e]
    for q in args.query or ():
        cmd += ["--query", q]
    for lv in args.optimize or ():
        cmd += ["--optimize", lv]


def _start_postgres(dsn: str | None, progress: Progress) -> Any | None:
    """A PostgreSQL to compare with: the server --dsn names (which must answer: the user asked for
    it), else $COPYPATCH_PG_DSN or a throwaway cluster, skipped with a note when there is none."""
    from .pg import PostgreSQL, PostgresUnavailable

    if dsn is not None:
        return PostgreSQL(dsn)
    try:
        return PostgreSQL()
    except PostgresUnavailable as e:
        progress.note(f"PostgreSQL skipped: {e}")
        return None


#: (execution ms, JIT ms, planning ms) of one query on PostgreSQL
PgTiming = tuple[float, float | None, float]


def time_postgres(pg: Any, queries: list[str]) -> dict[tuple[str, str], PgTiming]:
    """(execution ms, JIT ms, planning ms) of SELECT count(*) WHERE q, JIT off and on: the run
    with the best execution time of 5, and the best planning time of the 5."""
    out = {}
    for q in queries:
        for jit in ("off", "on"):
            runs = []
            for _ in range(5):
                _, ex = pg.count_where(q, jit=jit)
                runs.append((ex.execution_time_ms, ex.jit.total_ms if ex.jit is not None else None,
                             ex.planning_time_ms))
            best = min(runs, key=lambda r: r[0])
            out[(q, jit)] = (best[0], best[1], min(r[2] for r in runs))
    return out


def _vs_goto(timings: Mapping[tuple[str, str, str], Timing], q: str, lv: str,
             ns_per_row: float) -> str:
    base = timings.get((q, "goto", lv))
    return f"{base.ns_per_row / ns_per_row:6.2f}x" if base else "      -"


def format_table(queries: list[str], engines: list[str], levels: list[str],
                 timings: Mapping[tuple[str, str, str], Timing],
                 pg_times: Mapping[tuple[str, str], PgTiming], rows: int,
                 peer_times: Mapping[tuple[str, str], Timing] | None = None) -> str:
    peer_times = peer_times or {}
    head = (f"{'query':<36} {'engine':<8} {'opt':<4} {'ns/row':>7} {SPREAD_HEAD} {'vs goto':>7} "
            f"{'compile us':>10} {'compile()':>9} | {'pg ns/row':>9} {'pg+jit':>7} "
            f"{'pg plan us':>10} {'pg jit ms':>9}")
    lines = ["", head, "-" * len(head)]
    # peers are compared with goto at its best level timed (every pass, if it ran)
    goto_level = "all" if "all" in levels else (levels[0] if levels else "all")
    for q in queries:
        short = shorten(q, 36)
        pg_off, pg_on = pg_times.get((q, "off")), pg_times.get((q, "on"))
        pg_cols = (f"{pg_off[0] * 1e6 / rows:9.2f} {pg_on[0] * 1e6 / rows:7.2f} "
                   f"{pg_off[2] * 1e3:10.1f} {(pg_on[1] or 0):9.2f}"
                   ) if pg_off and pg_on else f"{'-':>9} {'-':>7} {'-':>10} {'-':>9}"
        for e in engines:
            for lv in levels:
                t = timings[(q, e, lv)]
                lines.append(f"{short:<36} {e:<8} {lv:<4} {t.ns_per_row:7.2f} "
                             f"{format_spread(t.spread)} "
                             f"{_vs_goto(timings, q, lv, t.ns_per_row):>7} "
                             f"{t.compile_ns / 1e3:10.1f} {t.compile_total_ns / 1e3:9.1f} | "
                             f"{pg_cols}")
                short, pg_cols = "", ""
        for (pq, p), t in peer_times.items():
            if pq == q:
                lines.append(f"{short:<36} {p:<8} {'-':<4} {t.ns_per_row:7.2f} "
                             f"{format_spread(t.spread)} "
                             f"{_vs_goto(timings, q, goto_level, t.ns_per_row):>7} "
                             f"{'-':>10} {'-':>9} |")
                short = ""
    lines += ["",
              "ns/row: pyperf median of whole-table filters; ±: relative spread of pyperf's values",
              "(stdev/mean); vs goto: speed-up over the goto interpreter at the same optimisation",
              "level; compile us: the program's layout (jit: copy + patch only); compile(): us end to",
              "end, SQL text to a runnable program (median of 7). pg: SELECT count(*) WHERE <query>,",
              "EXPLAIN ANALYZE execution time (best of 5; includes reading and deforming heap",
              "tuples), JIT off and on (jit_above_cost=0), its planning time (us, best of 5) and",
              "the JIT's compile time (ms)."]
    if peer_times:
        from .peers import PEERS

        lines += ["",
                  f"peers (--peers; vs goto: against goto/{goto_level}), each returning one bool per",
                  "row as filter() does, checked against copypatch's rows before timing:"]
        lines += [f"  {p.name:<8} {p.how}" for p in PEERS.values()
                  if any(name == p.name for _, name in peer_times)]
    if any(is_unstable(t.spread) for t in [*timings.values(), *peer_times.values()]):
        lines.append(STEADIER)
    return "\n".join(line.rstrip() for line in lines)


def write_json(path: str, rows: int, queries: list[str], engines: list[str], levels: list[str],
               timings: Mapping[tuple[str, str, str], Timing],
               pg_times: Mapping[tuple[str, str], PgTiming],
               postgres_version: int | None,
               peer_times: Mapping[tuple[str, str], Timing] | None = None) -> None:
    from .peers import PEERS

    doc = {
        "rows": rows,
        "postgres_version": postgres_version,
        "engines": [
            {"query": q, "engine": e, "optimize": lv, "ns_per_row": t.ns_per_row,
             "spread_percent": t.spread, "compile_ns": t.compile_ns,
             "compile_total_ns": t.compile_total_ns}
            for q in queries for e in engines for lv in levels
            for t in [timings[(q, e, lv)]]
        ],
        "postgres": [
            {"query": q, "jit": jit, "execution_ms": t[0], "jit_ms": t[1], "planning_ms": t[2],
             "ns_per_row": t[0] * 1e6 / rows}
            for (q, jit), t in pg_times.items()
        ],
        "peers": [
            {"query": q, "peer": p, "how": PEERS[p].how, "ns_per_row": t.ns_per_row,
             "spread_percent": t.spread}
            for (q, p), t in (peer_times or {}).items()
        ],
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def plot(path: str, queries: list[str], engines: list[str], levels: list[str],
         timings: Mapping[tuple[str, str, str], Timing],
         pg_times: Mapping[tuple[str, str], PgTiming], rows: int,
         peer_times: Mapping[tuple[str, str], Timing] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: list[tuple[str, list[float]]] = [
        (f"{e}/{lv}", [timings[(q, e, lv)].ns_per_row for q in queries]) for e in engines for lv in levels
    ]
    for jit in ("off", "on"):
        if all((q, jit) in pg_times for q in queries):
            series.append((f"pg jit={jit}", [pg_times[(q, jit)][0] * 1e6 / rows for q in queries]))
    peer_times = peer_times or {}
    for p in dict.fromkeys(name for _, name in peer_times):
        # a query the peers do not know (not a standard one) gets no bar
        series.append((p, [peer_times[(q, p)].ns_per_row if (q, p) in peer_times else 0.0
                           for q in queries]))
    fig, ax = plt.subplots(figsize=(max(8, 2.2 * len(queries)), 4.5))
    width = 0.8 / len(series)
    colors = plt.get_cmap("tab20" if len(series) > 10 else "tab10").colors  # type: ignore[attr-defined]
    for j, (label, ys) in enumerate(series):
        ax.bar([i + j * width for i in range(len(queries))], ys, width, label=label,
               color=colors[j % len(colors)])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(queries))])
    ax.set_xticklabels([q if len(q) <= 24 else q[:21] + "..." for q in queries], fontsize="small",
                       rotation=15)
    ax.set_ylabel("ns/row")
    ax.set_title(f"copypatch engines vs PostgreSQL 15{' and peers' if peer_times else ''}, "
                 f"{rows:,} rows")
    ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":  # pyperf's workers, and python -m copypatch.bench
    run_command(PROG, main, sys.argv[1:])
