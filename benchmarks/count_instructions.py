"""Instructions per row by valgrind (callgrind), every engine and the hand-written C loop.

    python benchmarks/count_instructions.py [--rows 200000] [--sql "a = 42" ...]

Engines are counted with benchmarks/instructions.py (everything inside cp_scan, divided by the
rows); the C reference is counted the same way inside c_filter_a_eq_42. Prints a table and the
ratios the JIT's goals are stated in (JIT / goto, JIT / C loop). Each run compiles one program,
so callgrind's default self-modifying-code check suffices (the JIT writes code through another
mapping of the same pages: runs that free and recompile need --smc-check=all).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions
from _common import QUERIES, build_c_reference


def count_c_reference(rows: int, vectorize: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        exe = build_c_reference(Path(d), program=True, vectorize=vectorize)
        out = Path(d) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--toggle-collect=c_filter_a_eq_42",
                str(exe),
                str(rows),
            ],
            check=True,
            capture_output=True,
        )
        m = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.MULTILINE)
        if m is None:
            raise RuntimeError("no totals in callgrind output")
        return int(m.group(1)) / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--sql", action="append", help="repeatable; default: the standard queries")
    args = ap.parse_args()
    import copypatch

    exprs = args.sql or list(QUERIES.values())
    results: dict[tuple[str, str], float] = {}
    for sql in exprs:
        for engine in copypatch.ENGINES:
            results[sql, engine] = n = instructions.count(sql, engine, args.rows)
            print(f"{engine:18s} {n:8.1f} instructions/row  {sql}")
        if "jit" in copypatch.ENGINES and "goto" in copypatch.ENGINES:
            print(f"{'jit / goto':18s} {results[sql, 'jit'] / results[sql, 'goto']:8.2f}")
    if "a = 42" in exprs:
        for vec in (False, True):
            label = "c_loop_vectorized" if vec else "c_loop"
            n = count_c_reference(args.rows, vec)
            print(f"{label:18s} {n:8.1f} instructions/row  a = 42 (hand-written C)")
            if "jit" in copypatch.ENGINES:
                print(f"{'jit / ' + label:18s} {results['a = 42', 'jit'] / n:8.2f}")


if __name__ == "__main__":
    main()
