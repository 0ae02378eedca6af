"""Compile latency of the JIT: the C-side copy + patch + publish, per program.

    python benchmarks/bench_compile.py -o compile.json [--fast]

Each value is the time cp_jit_compile reports (clock_gettime inside C), so Python's layout work
is excluded; the loop frees each program again, so the arena is in its steady state.
"""

from __future__ import annotations

import pyperf
from _common import COMPILE_EXPRESSIONS, make_table

import copypatch
from copypatch import jit
from copypatch.layout import Layout


def bench_jit_compile(loops: int, sql: str) -> float:
    sp = copypatch.compile(sql, make_table(16)).steps
    assert sp is not None
    layout = Layout(sp, "switch")  # the steps, laid out once; compiled `loops` times
    total_ns = 0
    for _ in range(loops):
        code = jit.JitCode(layout.state)
        total_ns += code.compile_ns
        code.close()
    return total_ns * 1e-9


def main() -> None:
    runner = pyperf.Runner()
    runner.metadata["description"] = __doc__.splitlines()[0]
    for name, sql in COMPILE_EXPRESSIONS.items():
        sp = copypatch.compile(sql, make_table(16)).steps
        nsteps = len(sp.steps) if sp is not None else 0
        runner.bench_time_func(f"jit_compile[{name}, {nsteps} steps]", bench_jit_compile, sql)


if __name__ == "__main__":
    main()
