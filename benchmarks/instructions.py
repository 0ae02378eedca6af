"""Instructions per row of a scan, counted by valgrind (callgrind), per engine.

    python benchmarks/instructions.py --rows 200000 --engine goto --optimize none "a = 42"

Counts only instructions executed inside cp_scan (the row loop and everything it calls), so
Python and compilation are excluded; divides by the number of rows (copypatch.instructions).
"""

from __future__ import annotations

import argparse

from copypatch.instructions import count

__all__ = ["count"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sql", nargs="?", default="a = 42")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--engine", action="append", help="repeatable; default: every engine")
    ap.add_argument("--mode", choices=("filter", "evaluate"), default="filter")
    ap.add_argument("--optimize", default="all",
                    help="comma-separated pass names, 'none', or 'all' (default)")
    args = ap.parse_args()
    import copypatch

    opt = None if args.optimize == "all" else tuple(
        p for p in args.optimize.split(",") if p and p != "none")
    for engine in args.engine or copypatch.ENGINES:
        n = count(args.sql, engine, args.rows, args.mode, opt)
        print(f"{engine:8s} {n:8.1f} instructions/row  "
              f"({args.sql!r}, {args.rows} rows, {args.mode}, optimize={args.optimize})")


if __name__ == "__main__":
    main()
