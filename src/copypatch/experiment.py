"""The blog post's experiment, reproducible: `a = 42` on every engine x {none, null-elision, inlining, both, all}.

    python -m copypatch experiment [--rows 10000000] [--plot FILE] [--json FILE]
                                   [--count-rows 200000] [--no-count] [pyperf options]

ns/row comes from pyperf (one Runner; each configuration timed in worker processes; one progress
display for both phases, and the spread of pyperf's values in the table), instructions per row
from valgrind's callgrind (on --count-rows rows: the count per row does not depend on
the table's size, and callgrind is slow). The post found that skipping null checks on arguments
that cannot be NULL and inlining int4eq help an interpreter as much as a JIT; the table shows
what they do here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ._cli import (
    STEADIER,
    Progress,
    check_queries,
    format_spread,
    is_unstable,
    one_line_errors,
    positive_int,
    pyperf_silenced,
    quiet_pyperf,
    run_command,
    spread_percent,
)
from .passes import OPTIMIZATIONS

SETTINGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "null-elision": ("null_check_elision",),
    "inlining": ("inline_builtins",),
    "both": ("null_check_elision", "inline_builtins"),
    # every pass but the fused compare-and-branch (direct column reads, the row loop, ...)
    "unfused": tuple(p for p in OPTIMIZATIONS if p not in ("fused_compare", "block_scan")),
    # and the fused steps, a row at a time
    "fused": tuple(p for p in OPTIMIZATIONS if p != "block_scan"),
    # and every pass copypatch has: what beats "both"
    "all": OPTIMIZATIONS,
}
#: each column's technique, and whether an interpreter can use it as well as the JIT
TECHNIQUES: dict[str, tuple[str, str]] = {
    "null-elision": ("skip NULL checks of arguments that cannot be NULL", "interpreter too"),
    "inlining": ("hot built-ins as opcodes of their own, no call", "interpreter too"),
    "both": ("the two above", "interpreter too"),
    "unfused": ("+ columns read in place, the program loops over the rows", "interpreter too"),
    "fused": ("+ fused compare-and-branch steps (column op constant -> QUAL)", "interpreter too"),
    "all": (("+ block at a time: a filter of fused steps only tests CP_BLOCK_ROWS rows per step, "
             "a vectorised loop"), "interpreter too: the same bodies, one dispatch per block"),
}
#: what the JIT's code does beyond the steps (always on with engine="jit"; in every column of its
#: row), and whether an interpreter could do it too (docs/jit.md)
JIT_TECHNIQUES: dict[str, tuple[str, str]] = {
    "chain registers": (
        ("the row and the columns array in registers for the whole scan (stencil arguments), "
        "the row written back only for helpers and errors"),
        ("JIT only: an interpreter's bodies read them from its context; its loop could keep "
        "them in locals, but not across the calls it makes"),
    ),
    "column immediates": (
        "a column's address as the columns register + a patched 32-bit offset",
        "JIT only: an interpreter reads the index from the step and multiplies",
    ),
    "row exits": (
        ("a step that decides a filter's row jumps to code that stores TRUE or FALSE: the "
        "result is known by where the code is, not read back from the result slot"),
        "JIT only as code; an interpreter could add QUAL-and-store opcodes",
    ),
    "no result, lean exits": (
        ("a fused step followed only by the row exits or another fused step writes no result; "
        "a program of fused steps only keeps the row in its register until the scan ends"),
        "JIT only: stencil variants chosen per step at compile time",
    ),
    "state-relative operands": (
        ("a step's slots and call infos as the state register + a 32-bit offset (one block "
        "per program), no 64-bit address"),
        "JIT only: an interpreter loads the step's pointers",
    ),
    "short immediates": (
        ("constants that fit patched as 32-bit immediates (AArch64: movz/movk x2, not x4), "
        "the 64-bit stencil otherwise"),
        "JIT only: an interpreter has no immediates",
    ),
    "values in registers": (
        ("a value read by the next step alone (and by nothing else before its slot is written "
        "again) handed over in two registers, value and NULL flag, not through its slot"),
        ("interpreter could use it: no (a switch or goto interpreter's steps share one body per "
        "opcode: it cannot know where the next step wants its operand)"),
    ),
}
QUERY = "a = 42"


PROG = "python -m copypatch experiment"


def _worker_args(cmd: list[str], args: Any) -> None:
    cmd += ["--rows", str(args.rows), "--query", args.query]
    for e in args.engine or ():
        cmd += ["--engine", e]


def main(argv: list[str] | None = None) -> None:
    import pyperf

    import copypatch

    from .bench import scan_timer
    from .workload import make_table

    runner = pyperf.Runner(program_args=("-m", "copypatch.experiment"), add_cmdline_args=_worker_args)
    ap = runner.argparser
    one_line_errors(ap, PROG)
    ap.add_argument("--rows", type=positive_int, default=10_000_000)
    ap.add_argument("--query", default=QUERY)
    ap.add_argument("--engine", action="append", choices=copypatch.ENGINES)
    ap.add_argument("--count-rows", type=positive_int, default=200_000,
                    help="rows for the valgrind instruction counts")
    ap.add_argument("--no-count", action="store_true", help="skip the valgrind counts")
    ap.add_argument("--plot", metavar="FILE", help="write a PNG bar chart (matplotlib)")
    ap.add_argument("--json", dest="json_file", metavar="FILE", help="write every number as JSON")
    args = runner.parse_args(argv)
    is_worker = bool(args.worker)
    silenced = quiet_pyperf(args)
    engines = args.engine or list(copypatch.ENGINES)
    configs = [(e, s) for e in engines for s in SETTINGS]
    if not is_worker:
        check_queries([args.query], make_table(1))
    counting = not is_worker and not args.no_count
    if counting:
        from .instructions import count, valgrind_available

        if not valgrind_available():
            print("valgrind not found: instruction counts skipped", file=sys.stderr)
            counting = False

    ns: dict[tuple[str, str], float] = {}
    spread: dict[tuple[str, str], float | None] = {}
    instr: dict[tuple[str, str], float] = {}
    # steps: the table, a timing per configuration, [an instruction count per configuration]
    with Progress("experiment", 1 + len(configs) * (2 if counting else 1),
                  enabled=not is_worker) as progress:
        with progress.step(f"generating {args.rows:,} rows"):
            table = make_table(args.rows)
        for engine, setting in configs:
            with progress.step(f"timing {engine} / {setting} on {args.rows:,} rows"):
                prog = copypatch.compile(args.query, table, engine=engine,
                                         optimize=SETTINGS[setting])
                with pyperf_silenced(silenced):
                    bench = runner.bench_time_func(f"{engine} {setting}", scan_timer(prog, table))
                if bench is not None and not is_worker:
                    ns[(engine, setting)] = bench.median() * 1e9 / args.rows
                    spread[(engine, setting)] = spread_percent(bench)
        if is_worker:
            return
        if counting:
            for engine, setting in configs:
                with progress.step(f"counting instructions (valgrind): {engine} / {setting} "
                                   f"on {args.count_rows:,} rows"):
                    instr[(engine, setting)] = count(args.query, engine, args.count_rows,
                                                     optimize=SETTINGS[setting])
    print(format_table(args.query, engines, ns, spread, instr))
    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump({"query": args.query, "rows": args.rows, "count_rows": args.count_rows,
                       "results": [{"engine": e, "optimizations": s, "ns_per_row": ns.get((e, s)),
                                    "spread_percent": spread.get((e, s)),
                                    "instructions_per_row": instr.get((e, s))}
                                   for e, s in configs]}, f, indent=2)
        print(f"wrote {args.json_file}", file=sys.stderr)
    if args.plot:
        plot(args.plot, args.query, engines, ns, instr)
        print(f"wrote {args.plot}", file=sys.stderr)


def format_table(query: str, engines: list[str], ns: dict[tuple[str, str], float],
                 spread: dict[tuple[str, str], float | None],
                 instr: dict[tuple[str, str], float]) -> str:
    """Two blocks, one per measure: ns/row with its spread, then instructions/row if counted."""
    width = 15
    head = f"{'engine':<8}" + "".join(f"{s:>{width}}" for s in SETTINGS)
    lines = [f"{query!r}: ns/row (pyperf median) and ± its relative spread (stdev/mean)", "",
             head, "-" * len(head)]
    for e in engines:
        cells = [f"{'-':>7} {'':6}" if (e, s) not in ns
                 else f"{ns[(e, s)]:7.2f} {format_spread(spread.get((e, s)))}" for s in SETTINGS]
        lines.append(f"{e:<8}" + "".join(f"{c:>{width}}" for c in cells))
    if instr:
        lines += ["", f"{query!r}: instructions/row (callgrind)", "", head, "-" * len(head)]
        for e in engines:
            cells = [f"{instr[(e, s)]:.1f}" if (e, s) in instr else "-" for s in SETTINGS]
            lines.append(f"{e:<8}" + "".join(f"{c:>{width - 7}}       " for c in cells))
    lines += ["", "what each column adds, and who can use it (every pass runs on every engine):"]
    lines += [f"  {s:<13} {what} ({who})" for s, (what, who) in TECHNIQUES.items()]
    lines += ["", ("and what the JIT's machine code adds wherever the program allows it (engine jit "
              "only; the row exits need the row loop, so none of it but the immediates and the "
              "registers is in the first four columns):")]
    lines += [f"  {s:<23} {what} ({who})" for s, (what, who) in JIT_TECHNIQUES.items()]
    if any(is_unstable(p) for p in spread.values()):
        lines += ["", STEADIER]
    return "\n".join(line.rstrip() for line in lines)


def plot(path: str, query: str, engines: list[str], ns: dict[tuple[str, str], float],
         instr: dict[tuple[str, str], float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("ns/row", ns)] + ([("instructions/row", instr)] if instr else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    width = 0.8 / len(SETTINGS)
    for ax, (label, data) in zip(axes[0], panels):
        for j, s in enumerate(SETTINGS):
            xs = [i + j * width for i in range(len(engines))]
            ax.bar(xs, [data.get((e, s), 0.0) for e in engines], width, label=s)
        ax.set_xticks([i + width * (len(SETTINGS) - 1) / 2 for i in range(len(engines))])
        ax.set_xticklabels(engines)
        ax.set_ylabel(label)
        ax.set_title(f"{query}: {label}")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":  # pyperf's workers, and python -m copypatch.experiment
    run_command(PROG, main, sys.argv[1:])
