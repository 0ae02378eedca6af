"""Block at a time against row at a time: ns/row of filter() with every pass but block_scan
("row") and with every pass ("block"), goto and jit, in one process, median of 15 interleaved
runs (docs/results.md, "Block at a time").

    python benchmarks/bench_block.py [rows]     # default 1,000,000
"""

from __future__ import annotations

import statistics
import sys
import time

import copypatch
from copypatch.workload import QUERIES, make_table


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t = make_table(rows)
    row_at_a_time = tuple(p for p in copypatch.OPTIMIZATIONS if p != "block_scan")
    for name in ("eq", "and", "and20", "in_list"):
        progs = {(e, o): copypatch.compile(QUERIES[name], t, engine=e, optimize=opt)
                 for e in ("goto", "jit")
                 for o, opt in (("row", row_at_a_time), ("block", copypatch.OPTIMIZATIONS))}
        ref = progs[("goto", "row")].filter(t)
        for p in progs.values():
            assert (p.filter(t) == ref).all()
        times: dict[tuple[str, str], list[int]] = {k: [] for k in progs}
        for _ in range(15):
            for k, p in progs.items():
                start = time.perf_counter_ns()
                p.filter(t)
                times[k].append(time.perf_counter_ns() - start)
        med = {k: statistics.median(v) / rows for k, v in times.items()}
        cells = "  ".join(f"{e}/{o} {med[(e, o)]:6.2f}" for e, o in progs)
        ratios = " ".join(f"{e} {med[(e, 'block')] / med[(e, 'row')]:.2f}" for e in ("goto", "jit"))
        print(f"{name:8} {cells}   block/row: {ratios}")


if __name__ == "__main__":
    main()
