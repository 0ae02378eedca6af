"""Per-row cost of a filter scan: every engine on the standard queries, and the hand-written C
loop (a = 42, copypatch.peers; the whole set is python -m copypatch bench --peers).

    python benchmarks/bench_rows.py -o rows.json [--rows 1000000] [--fast]
    python -m pyperf compare_to rows.json other.json

Values are per row (pyperf's inner_loops = rows), so the unit reads as ns/row. call[...] is the
fixed cost of one filter() or evaluate() call: a whole call over a table of one row (issue 14's
goal: 3 us), with the table bound as a program keeps it between calls.
"""

from __future__ import annotations

import pyperf
from _common import QUERIES, make_table

import copypatch
from copypatch import peers


def bench_engine(loops: int, sql: str, engine: str, nrows: int) -> float:
    t = make_table(nrows)
    prog = copypatch.compile(sql, t, engine=engine)
    prog.filter(t)  # warm
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        prog.filter(t)
    return pyperf.perf_counter() - t0


def bench_call(loops: int, sql: str, method: str) -> float:
    t = make_table(1)
    run = getattr(copypatch.compile(sql, t, engine="jit"), method)
    run(t)  # binds the table
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        run(t)
    return pyperf.perf_counter() - t0


def bench_c_loop(loops: int, nrows: int, vectorize: bool) -> float:
    run = peers.prepare("c-simd" if vectorize else "c-scalar", QUERIES["eq"], make_table(nrows))
    run()
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        run()
    return pyperf.perf_counter() - t0


def main() -> None:
    runner = pyperf.Runner()
    runner.argparser.add_argument("--rows", type=int, default=1_000_000)
    runner.argparser.add_argument("--engine", action="append", help="repeatable; default: all")
    args = runner.parse_args()
    runner.metadata["description"] = __doc__.splitlines()[0]
    runner.metadata["rows"] = args.rows
    nrows = args.rows
    for name, sql in QUERIES.items():
        for engine in args.engine or copypatch.ENGINES:
            runner.bench_time_func(
                f"rows[{name}, {engine}]", bench_engine, sql, engine, nrows, inner_loops=nrows
            )
    for method in ("filter", "evaluate"):
        runner.bench_time_func(f"call[{method}, 1 row]", bench_call, QUERIES["and"], method)
    runner.bench_time_func("rows[eq, c_loop]", bench_c_loop, nrows, False, inner_loops=nrows)
    runner.bench_time_func(
        "rows[eq, c_loop_vectorized]", bench_c_loop, nrows, True, inner_loops=nrows
    )


if __name__ == "__main__":
    main()
