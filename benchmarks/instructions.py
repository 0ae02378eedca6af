"""Instructions per row of a scan, counted by valgrind (callgrind), per engine.

    python benchmarks/instructions.py --rows 200000 --engine goto "a = 42"

Counts only instructions executed inside cp_scan (the row loop and everything it calls), so
Python and compilation are excluded; divides by the number of rows. Deterministic: the same
binary and input give the same count, whatever else the machine does.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

CHILD = """
import sys, numpy as np, copypatch
rows, engine, sql, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rng = np.random.default_rng(42)
table = {name: rng.integers(0, 100, rows, dtype=np.int32) for name in ("a", "b", "c")}
prog = copypatch.compile(sql, table, engine=engine)
prog.filter(table) if mode == "filter" else prog.evaluate(table)
"""


def count(sql: str, engine: str, rows: int, mode: str = "filter") -> float:
    """Instructions per row inside cp_scan."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--toggle-collect=cp_scan", sys.executable, "-c", CHILD,
             str(rows), engine, sql, mode],
            check=True, capture_output=True,
        )
        text = open(out).read()
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if m is None:
        raise RuntimeError("no totals in callgrind output")
    return int(m.group(1)) / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sql", nargs="?", default="a = 42")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--engine", action="append", help="repeatable; default: every engine")
    ap.add_argument("--mode", choices=("filter", "evaluate"), default="filter")
    args = ap.parse_args()
    import copypatch

    for engine in args.engine or copypatch.ENGINES:
        print(f"{engine:8s} {count(args.sql, engine, args.rows, args.mode):8.1f} instructions/row  "
              f"({args.sql!r}, {args.rows} rows, {args.mode})")


if __name__ == "__main__":
    main()
