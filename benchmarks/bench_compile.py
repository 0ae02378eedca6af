"""Compile latency: compile() end to end and per stage, cold and warm, and the JIT's copy + patch.

    python benchmarks/bench_compile.py -o compile.json [--fast] [--engine jit] [--stages]
        [--expression "1000 terms" ...] [--clock cpu] [--no-warm] [--warm-stages]
    python -m pyperf compare_to before.json compile.json

compile[<expr>] is copypatch.compile() end to end and cold (SQL text to a runnable program,
every pass, verification on; the plan cache is emptied before each compile, outside the timed
part, so every stage runs); compile[<expr>].<stage> is the part of it Program.timings gives to
one stage (parse, analyse, plan, lower, passes, verify, layout, jit), from the same compiles.
compile_warm[<expr>] is compile() of a text of the same shape with other constants (each loop a
different one of 50 texts: the constants shifted), which the plan cache answers by copying the
program laid out for the first and patching the constants in (copypatch/plancache.py); with
--warm-stages, its stages too. The expressions are the AND chain `a <> 0 AND a <> 1 ...` of 1, 10,
100 and 1000 terms and an IN list of 1000 (issue 14's table). jit_compile[...] is the time
cp_jit_compile reports (clock_gettime inside C) for the standard queries, with Python's layout
work excluded; the loop frees each program again, so the arena is in its steady state.
"""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
import pyperf
from _common import COMPILE_EXPRESSIONS, make_table

import copypatch
from copypatch import jit
from copypatch.layout import Layout

try:
    from copypatch.program import Timings

    STAGES = tuple(f.name for f in fields(Timings))
except ImportError:  # a copypatch from before Program.timings, to compare_to: end to end only
    STAGES = ()
try:
    from copypatch.plancache import clear as clear_plan_cache
except ImportError:  # a copypatch from before the plan cache: every compile is cold
    def clear_plan_cache() -> None:
        pass

#: issue 14's expressions: an AND chain of n terms, and an IN list of 1000
def sizes(shift: int = 0) -> dict[str, str]:
    """The expressions, their constants shifted by `shift` (a text of the same shape)."""
    return {
        "1 term": f"a <> {shift}",
        **{f"{n} terms": " AND ".join(f"a <> {i + shift}" for i in range(n))
           for n in (10, 100, 1000)},
        "IN list of 1000": "a IN (" + ", ".join(str(i + shift) for i in range(1000)) + ")",
    }


SIZES = sizes()
TABLE = {"a": np.arange(16, dtype=np.int32)}


#: the clock of the end-to-end benchmarks: wall time, or (--clock cpu) the process's CPU time,
#: which time spent waiting for a core on a loaded machine does not inflate
CLOCKS = {"wall": pyperf.perf_counter, "cpu": time.process_time}
CLOCK = ["wall"]


def _compiles(loops: int, texts: list[str], engine: str, stage: str | None, cold: bool) -> float:
    """`loops` compiles of the texts in turn (cold: with the plan cache emptied before each,
    outside the timed part): their wall (or CPU) time, or the time Program.timings gives
    `stage`."""
    compile_ = copypatch.compile
    total_ns = 0
    clock = CLOCKS[CLOCK[0]]
    for i in range(loops):
        if cold:
            clear_plan_cache()
        t0 = clock()
        prog = compile_(texts[i % len(texts)], TABLE, engine=engine)
        t1 = clock()
        total_ns += int((t1 - t0) * 1e9) if stage is None else getattr(prog.timings, stage)
        prog.close()
    return total_ns * 1e-9


def bench_compile(loops: int, sql: str, engine: str, stage: str | None) -> float:
    """`loops` cold compiles of sql."""
    return _compiles(loops, [sql], engine, stage, cold=True)


def bench_compile_warm(loops: int, name: str, engine: str, stage: str | None) -> float:
    """`loops` compiles of texts of one shape with other constants, after one of them."""
    texts = [sizes(shift)[name] for shift in range(50)]
    copypatch.compile(texts[-1], TABLE, engine=engine).close()
    return _compiles(loops, texts, engine, stage, cold=False)


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


def add_cmdline_args(cmd: list[str], args: object) -> None:
    cmd += ["--engine", args.engine, "--clock", args.clock]  # type: ignore[attr-defined]
    for name in args.expression or ():  # type: ignore[attr-defined]
        cmd += ["--expression", name]
    if args.stages:  # type: ignore[attr-defined]
        cmd.append("--stages")
    if args.no_warm:  # type: ignore[attr-defined]
        cmd.append("--no-warm")
    if args.warm_stages:  # type: ignore[attr-defined]
        cmd.append("--warm-stages")


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=add_cmdline_args)
    runner.argparser.add_argument("--engine", default="jit", choices=copypatch.ENGINES)
    runner.argparser.add_argument("--stages", action="store_true",
                                  help="also each stage of compile() (Program.timings)")
    runner.argparser.add_argument("--no-jit-compile", action="store_true",
                                  help="leave out the copy + patch benchmarks of the standard queries")
    runner.argparser.add_argument("--expression", action="append", choices=list(SIZES),
                                  help="only this expression of the table (repeatable)")
    runner.argparser.add_argument("--no-warm", action="store_true",
                                  help="leave out the warm compiles (the plan cache's)")
    runner.argparser.add_argument("--warm-stages", action="store_true",
                                  help="also each stage of the warm compiles")
    runner.argparser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                                  help="time compile() by the wall clock or by CPU time")
    args = runner.parse_args()
    CLOCK[0] = args.clock
    runner.metadata["description"] = __doc__.splitlines()[0]
    for name in args.expression or SIZES:
        sql = SIZES[name]
        runner.bench_time_func(f"compile[{name}]", bench_compile, sql, args.engine, None)
        if args.stages:
            for stage in STAGES:
                runner.bench_time_func(f"compile[{name}].{stage}", bench_compile, sql,
                                       args.engine, stage)
        if args.no_warm:
            continue
        runner.bench_time_func(f"compile_warm[{name}]", bench_compile_warm, name, args.engine,
                               None)
        if args.warm_stages:
            for stage in STAGES:
                runner.bench_time_func(f"compile_warm[{name}].{stage}", bench_compile_warm,
                                       name, args.engine, stage)
    if args.no_jit_compile:
        return
    for name, sql in COMPILE_EXPRESSIONS.items():
        sp = copypatch.compile(sql, make_table(16)).steps
        nsteps = len(sp.steps) if sp is not None else 0
        runner.bench_time_func(f"jit_compile[{name}, {nsteps} steps]", bench_jit_compile, sql)


if __name__ == "__main__":
    main()
