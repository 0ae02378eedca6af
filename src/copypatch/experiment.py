"""The blog post's experiment, reproducible: `a = 42` on every engine x {none, null-elision, inlining, both, all}.

    python -m copypatch experiment [--rows 10000000] [--plot FILE] [--json FILE]
                                   [--count-rows 200000] [--no-count] [pyperf options]

ns/row comes from pyperf (one Runner; each configuration timed in worker processes), instructions
per row from valgrind's callgrind (on --count-rows rows: the count per row does not depend on
the table's size, and callgrind is slow). The post found that skipping null checks on arguments
that cannot be NULL and inlining int4eq help an interpreter as much as a JIT; the table shows
what they do here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .passes import OPTIMIZATIONS

SETTINGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "null-elision": ("null_check_elision",),
    "inlining": ("inline_builtins",),
    "both": ("null_check_elision", "inline_builtins"),
    # and every pass copypatch has (direct column reads, the row loop, ...): what beats "both"
    "all": OPTIMIZATIONS,
}
QUERY = "a = 42"


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
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--query", default=QUERY)
    ap.add_argument("--engine", action="append", choices=copypatch.ENGINES)
    ap.add_argument("--count-rows", type=int, default=200_000,
                    help="rows for the valgrind instruction counts")
    ap.add_argument("--no-count", action="store_true", help="skip the valgrind counts")
    ap.add_argument("--plot", metavar="FILE", help="write a PNG bar chart (matplotlib)")
    ap.add_argument("--json", dest="json_file", metavar="FILE", help="write every number as JSON")
    args = runner.parse_args(argv)
    is_worker = bool(getattr(args, "worker", False))
    engines = args.engine or list(copypatch.ENGINES)
    configs = [(e, s) for e in engines for s in SETTINGS]
    table = make_table(args.rows)

    ns: dict[tuple[str, str], float] = {}
    for i, (engine, setting) in enumerate(configs, 1):
        if not is_worker:
            print(f"[{i}/{len(configs)}] timing {engine} / {setting} on {args.rows:,} rows",
                  file=sys.stderr, flush=True)
        prog = copypatch.compile(args.query, table, engine=engine, optimize=SETTINGS[setting])
        bench = runner.bench_time_func(f"{engine} {setting}", scan_timer(prog, table))
        if bench is not None and not is_worker:
            ns[(engine, setting)] = bench.median() * 1e9 / args.rows
    if is_worker:
        return

    instr: dict[tuple[str, str], float] = {}
    if not args.no_count:
        from .instructions import count, valgrind_available

        if not valgrind_available():
            print("valgrind not found: instruction counts skipped", file=sys.stderr)
        else:
            for i, (engine, setting) in enumerate(configs, 1):
                print(f"[{i}/{len(configs)}] counting instructions: {engine} / {setting}",
                      file=sys.stderr, flush=True)
                instr[(engine, setting)] = count(args.query, engine, args.count_rows,
                                                 optimize=SETTINGS[setting])
    text = format_table(args.query, engines, ns, instr)
    print(text)
    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump({"query": args.query, "rows": args.rows, "count_rows": args.count_rows,
                       "results": [{"engine": e, "optimizations": s, "ns_per_row": ns.get((e, s)),
                                    "instructions_per_row": instr.get((e, s))}
                                   for e, s in configs]}, f, indent=2)
    if args.plot:
        plot(args.plot, args.query, engines, ns, instr)
        print(f"wrote {args.plot}", file=sys.stderr)


def format_table(query: str, engines: list[str], ns: dict[tuple[str, str], float],
                 instr: dict[tuple[str, str], float]) -> str:
    lines = [f"{query!r}: ns/row (pyperf median) | instructions/row (callgrind)", ""]
    head = f"{'engine':<8}" + "".join(f"{s:>20}" for s in SETTINGS)
    lines += [head, "-" * len(head)]
    for e in engines:
        cells = []
        for s in SETTINGS:
            t = ns.get((e, s))
            n = instr.get((e, s))
            cells.append(f"{'-' if t is None else f'{t:.2f}':>7} | {'-' if n is None else f'{n:.1f}':>6}")
        lines.append(f"{e:<8}" + "".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


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


if __name__ == "__main__":
    main()
