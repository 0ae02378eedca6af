"""Instructions per row of a scan, counted by valgrind's callgrind (no hardware counters needed).

Only instructions executed inside cp_scan (the row loop and everything it calls: the engine, the
built-ins, deforming) are counted, so Python and compilation are excluded; the total is divided
by the number of rows. Deterministic: the same binary and input give the same count, whatever
else the machine is doing. The table is generated (seeded) in the child process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

CHILD = """
import sys, numpy as np, copypatch
rows, engine, sql, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
opt = copypatch.OPTIMIZATIONS if sys.argv[5] == "all" else tuple(p for p in sys.argv[5].split(",") if p)
from copypatch.workload import make_table
table = make_table(rows)
prog = copypatch.compile(sql, table, engine=engine, optimize=opt)
prog.filter(table) if mode == "filter" else prog.evaluate(table)
"""


def valgrind_available() -> bool:
    return shutil.which("valgrind") is not None


def count(sql: str, engine: str, rows: int, mode: str = "filter",
          optimize: tuple[str, ...] | None = None) -> float:
    """Instructions per row inside cp_scan; optimize=None means every optimisation."""
    if not valgrind_available():
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    opt = "all" if optimize is None else ",".join(optimize)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--toggle-collect=cp_scan", sys.executable, "-c", CHILD,
             str(rows), engine, sql, mode, opt],
            check=True, capture_output=True,
        )
        with open(out) as f:
            text = f.read()
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if m is None:
        raise RuntimeError("no totals in callgrind output")
    return int(m.group(1)) / rows
