"""Instructions per row by valgrind (callgrind): every engine, and with --peers what a user would
pick instead (numpy, numexpr, DuckDB, the hand-written C loops).

    python benchmarks/count_instructions.py [--rows 200000] [--sql "a = 42" ...]
    python benchmarks/count_instructions.py --peers [--rows 200000] [--sql "a = 42" ...] [--who jit ...]

Without --peers, engines are counted with benchmarks/instructions.py (everything inside cp_scan,
divided by the rows), with every pass; prints the JIT / goto ratio, and for `a = 42` the
hand-written C loop (counted as with --peers) and the JIT / C loop ratio.

With --peers, every column counts one whole call the same way, whatever the tool: the call of
filter() (an engine, every pass) or of a peer (copypatch.peers) runs inside peers.c's
peers_measured_region, which callgrind's --toggle-collect counts, in a child that built the table
and made one call first (numexpr's and DuckDB's first-call costs are not per row). The count at
--rows and at 3x --rows are subtracted and divided by the difference of rows, so what a call
costs once (Python, ctypes, DuckDB's planning, copypatch's scan set-up) cancels out. Prints one
markdown table, a row per query, the peers then the engines. Each child compiles one program,
so callgrind's default self-modifying-code check suffices (the JIT writes code through another
mapping of the same pages: runs that free and recompile need --smc-check=all).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions
from _common import QUERIES

#: one measured call of an engine (every pass) or a peer per (query, size), in order, all kept
#: alive (so that no JIT code is written where code ran before)
CHILD = """
import json, sys, copypatch
from copypatch import peers
from copypatch.workload import make_table
who, sizes, queries = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
keep = []
for sql in queries:
    for rows in sizes:
        table = make_table(rows)
        if who in copypatch.ENGINES:
            prog = copypatch.compile(sql, table, engine=who)
            run = lambda prog=prog, table=table: prog.filter(table)
        else:
            run = peers.prepare(who, sql, table)
        run()
        peers.call_measured(run)
        keep.append((table, run))
"""


def count_calls(who: str, queries: list[str], sizes: list[int]) -> list[int]:
    """Instructions executed by each call of `who`, per query then size, in one callgrind run
    (a dump after each measured call: one total each)."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--toggle-collect=peers_measured_region", "--dump-after=peers_measured_region",
             sys.executable, "-c", CHILD, who, json.dumps(sizes), json.dumps(queries)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"callgrind failed on {who}:\n{done.stderr[-3000:]}")
        totals = []
        for part in range(1, len(queries) * len(sizes) + 1):
            text = Path(f"{out}.{part}").read_text()
            m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
            if m is None or int(m.group(1)) == 0:
                raise RuntimeError(f"callgrind counted nothing in peers_measured_region ({who})")
            totals.append(int(m.group(1)))
        return totals


def per_row(who: str, queries: list[str], rows: int) -> list[float]:
    """Instructions per row of one call, per query: the difference of the counts at 3x rows and
    at rows, divided by the difference of rows."""
    n = count_calls(who, queries, [rows, 3 * rows])
    return [(n[2 * i + 1] - n[2 * i]) / (2 * rows) for i in range(len(queries))]


def engines_main(exprs: list[str], rows: int) -> None:
    import copypatch

    results: dict[tuple[str, str], float] = {}
    for sql in exprs:
        for engine in copypatch.ENGINES:
            results[sql, engine] = n = instructions.count(sql, engine, rows)
            print(f"{engine:18s} {n:8.1f} instructions/row  {sql}")
        if "jit" in copypatch.ENGINES and "goto" in copypatch.ENGINES:
            print(f"{'jit / goto':18s} {results[sql, 'jit'] / results[sql, 'goto']:8.2f}")
    if "a = 42" in exprs:  # the hand-written C loop (copypatch.peers), the JIT's reference
        for label, peer in (("c_loop", "c-scalar"), ("c_loop_vectorized", "c-simd")):
            (n,) = per_row(peer, ["a = 42"], rows)
            print(f"{label:18s} {n:8.1f} instructions/row  a = 42 (hand-written C)")
            if "jit" in copypatch.ENGINES:
                print(f"{'jit / ' + label:18s} {results['a = 42', 'jit'] / n:8.2f}")


def peers_main(exprs: list[str], rows: int, only: list[str] | None) -> None:
    import copypatch
    from copypatch import peers

    peers.check_available()  # PeerUnavailable says what to install
    who = [w for w in [*peers.PEERS, *copypatch.ENGINES] if only is None or w in only]
    results: dict[tuple[str, str], float] = {}
    for w in who:
        for sql, n in zip(exprs, per_row(w, exprs, rows)):
            results[sql, w] = n
            print(f"{w:10s} {n:8.1f} instructions/row  {sql}", file=sys.stderr, flush=True)
    print(f"\nInstructions per row (callgrind, one whole call, {3 * rows:,} rows minus {rows:,}; "
          "engines with every pass):\n")
    print("| query | " + " | ".join(who) + " |")
    print("|---|" + "---|" * len(who))
    for sql in exprs:
        short = sql if len(sql) <= 40 else sql[:37] + "..."
        print(f"| `{short}` | " + " | ".join(f"{results[sql, w]:.1f}" for w in who) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--sql", action="append", help="repeatable; default: the standard queries")
    ap.add_argument("--peers", action="store_true",
                    help="the peers and the engines, one whole call each (the standard queries)")
    ap.add_argument("--who", action="append", metavar="NAME",
                    help="with --peers: a peer or engine to count; repeatable (default: all)")
    args = ap.parse_args()
    exprs = args.sql or list(QUERIES.values())
    if args.peers:
        peers_main(exprs, args.rows, args.who)
    else:
        engines_main(exprs, args.rows)


if __name__ == "__main__":
    main()
