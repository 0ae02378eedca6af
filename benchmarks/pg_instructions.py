"""Instructions per row inside PostgreSQL, counted by valgrind (callgrind), per JIT setting.

    python benchmarks/pg_instructions.py --rows 300000 --small 100000

The standard table is loaded twice into a throwaway cluster run with copypatch's provider: as
t_big (--rows) and as t_small (its first --small rows, the same columns and NOT NULL
constraints). The cluster is shut down and every setting (the JIT off, LLVM without
optimisation, LLVM with optimisation and inlining, copypatch) runs the queries
(``SELECT count(*) FROM t WHERE q``) in one single-user backend (``postgres --single``) under
callgrind, which counts only the instructions of standard_ExecutorRun and what it calls
(--toggle-collect) and dumps them after every call (--dump-after): planning, executor start-up
and the session are left out. Per row is the difference between the two tables over the
difference of their sizes, so whatever a query pays once (LLVM's lazy compile, the first
page's reads) cancels. Callgrind counts are exact: a rerun gives the same numbers, up to a few
instructions of hash-table noise.

--smc-check=all is needed: copypatch's arena writes code through one mapping of a memfd and runs
it through another, and a file mapping is not checked for self-modified code by default, so a
later query's code at a freed chunk's address would run the earlier query's stale translation.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from copypatch.workload import QUERIES, make_table

SETTINGS: dict[str, dict[str, str]] = {
    "off": {"jit": "off"},
    "llvm": {"jit": "on", "jit_provider": "llvmjit", "jit_above_cost": "0",
             "jit_inline_above_cost": "-1", "jit_optimize_above_cost": "-1"},
    "llvm-full": {"jit": "on", "jit_provider": "llvmjit", "jit_above_cost": "0",
                  "jit_inline_above_cost": "0", "jit_optimize_above_cost": "0"},
    "copypatch": {"jit": "on", "jit_provider": "copypatch", "jit_above_cost": "0",
                  "jit_inline_above_cost": "-1", "jit_optimize_above_cost": "-1"},
}  # fmt: skip


def _ir(path: Path) -> int:
    """The instructions (Ir) a callgrind dump counted."""
    text = path.read_text()
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if m is None:
        raise RuntimeError(f"no summary in {path}")
    return int(m.group(1))


def count(queries: dict[str, str], rows: int, small: int,
          settings: list[str]) -> dict[str, dict[str, float]]:  # fmt: skip
    """{setting: {query name: instructions per row}}."""
    from copypatch.pg import PostgreSQL

    if not 0 < small < rows:
        raise ValueError(f"--small must be in 1..{rows - 1}, not {small}")
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    out: dict[str, dict[str, float]] = {}
    with PostgreSQL(jit_provider=True) as db:
        db.load(make_table(rows), "t_big")
        with db.conn.cursor() as cur:
            cur.execute("CREATE TABLE t_small (LIKE t_big INCLUDING ALL)")
            cur.execute(f"INSERT INTO t_small SELECT * FROM t_big WHERE _rowid < {small}")
            cur.execute("VACUUM (FREEZE, ANALYZE) t_small")
            cur.execute("VACUUM (FREEZE, ANALYZE) t_big")  # no hint bits set while counting
        cluster = db.cluster
        assert cluster is not None
        db.conn.close()
        cluster.shutdown()
        # each query once to warm up (LLVM initialises itself on its first compile), then on
        # each table: one dump after each ExecutorRun
        warm = [(name, "t_small") for name in queries]
        order = [(name, t) for name in queries for t in ("t_small", "t_big")]
        text = "".join(f"SELECT count(*) FROM {t} WHERE {queries[name]}\n"
                       for name, t in warm + order)  # fmt: skip
        for setting in settings:
            dump = cluster.dir / f"callgrind-{setting}"
            prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}",
                      "--toggle-collect=standard_ExecutorRun",
                      "--dump-after=standard_ExecutorRun", "--smc-check=all"]
            cluster.single_user(text, settings=SETTINGS[setting], prefix=prefix, timeout=3600)
            dumps = sorted(cluster.dir.glob(f"callgrind-{setting}.*"),
                           key=lambda p: int(p.suffix[1:]))  # fmt: skip
            if len(dumps) != len(warm) + len(order):
                raise RuntimeError(f"{setting}: {len(dumps)} callgrind dumps for "
                                   f"{len(warm) + len(order)} queries")
            counts = {key: _ir(p) for key, p in zip(order, dumps[len(warm):], strict=True)}
            out[setting] = {
                name: (counts[(name, "t_big")] - counts[(name, "t_small")]) / (rows - small)
                for name in queries
            }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000, help="rows of the bigger table")
    ap.add_argument("--small", type=int, help="rows of the smaller one (default: rows / 3)")
    ap.add_argument("--query", action="append", choices=sorted(QUERIES),
                    help="a standard query by name; repeatable (default: all)")
    ap.add_argument("--setting", action="append", choices=list(SETTINGS),
                    help="repeatable (default: all)")
    ap.add_argument("--json", metavar="FILE", type=Path, help="write the counts as JSON")
    args = ap.parse_args(argv)
    queries = {n: QUERIES[n] for n in (args.query or QUERIES)}
    settings = args.setting or list(SETTINGS)
    small = args.small or args.rows // 3
    res = count(queries, args.rows, small, settings)
    print(f"instructions/row in standard_ExecutorRun, SELECT count(*) FROM t WHERE q "
          f"({args.rows:,} - {small:,} rows)")
    print(f"{'query':<14}" + "".join(f"{s:>12}" for s in settings))
    for name in queries:
        print(f"{name:<14}" + "".join(f"{res[s][name]:>12.0f}" for s in settings))
    if args.json:
        doc: dict[str, Any] = {"rows": args.rows, "small": small, "instructions_per_row": res}
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
