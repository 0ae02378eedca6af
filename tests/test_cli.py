"""The command line: a user error is one line on stderr and exit status 2; bench's stdout is its
table, with no pyperf output in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_bench import PYPERF_QUICK, ROOT

from copypatch._cli import STEADIER, run_command
from copypatch.bench import Timing, format_table


def cli(*args: str, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "copypatch", *args], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


NO_PG = ["--no-postgres", "--rows", "100", *PYPERF_QUICK]


@pytest.mark.parametrize("args, says", [
    (["nosuch"], "unknown command 'nosuch'"),
    (["explain"], "required: sql"),
    (["explain", "a = ", "a:int32"], "syntax error"),
    (["explain", "zz = 1", "a:int32"], 'column "zz" does not exist'),
    (["explain", "a = 1", "a:complex128"], "unsupported column dtype complex128"),
    (["explain", "a = 1", "a:nosuchtype"], "'a:nosuchtype'"),
    (["explain", "a = 1", ":int32"], "expected name:dtype"),
    (["explain", "a = 1 / 0", "a:int32"], "division by zero"),  # PostgreSQL's plan-time error
    (["bench", "--rows", "-5"], "argument --rows: must be at least 1, not -5"),
    (["bench", "--rows", "0"], "argument --rows: must be at least 1, not 0"),
    (["bench", "--rows", "many"], "argument --rows: expected a positive integer"),
    (["bench", "--seed", "-1"], "argument --seed"),
    (["bench", "--engine", "nosuch"], "invalid choice: 'nosuch'"),
    (["bench", "--optimize", "some"], "invalid choice: 'some'"),
    (["bench", *NO_PG, "--query", "a = "], "syntax error"),
    (["bench", *NO_PG, "--query", "zz = 1"], 'column "zz" does not exist'),
    # an error while the rows are checked, under the progress display
    (["bench", *NO_PG, "--query", "a / (c - c) > 0"], "division by zero"),
    (["bench", "--query", "a = 1", "--dsn", "host=/nonexistent connect_timeout=2"],
     "could not connect to PostgreSQL"),
    (["experiment", "--rows", "-1"], "argument --rows"),
    (["experiment", "--count-rows", "0"], "argument --count-rows"),
    (["experiment", "--query", "zz = 1"], 'column "zz" does not exist'),
    (["experiment", "--engine", "nosuch"], "invalid choice: 'nosuch'"),
    (["fuzz", "--examples", "-5"], "argument --examples: must be at least 1, not -5"),
    (["fuzz", "--examples", "0"], "argument --examples"),
    (["fuzz", "--max-depth", "0"], "argument --max-depth"),
    (["fuzz", "--max-rows", "-1"], "argument --max-rows"),
    (["fuzz", "--nosuch"], "unrecognized arguments: --nosuch"),
])
def test_user_error_is_one_line_and_status_2(args: list[str], says: str) -> None:
    done = cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("python -m copypatch") and says in done.stderr, done.stderr


def test_unreachable_postgres_is_a_user_error_for_fuzz() -> None:
    done = cli("fuzz", "--postgres", "--examples", "1",
               env={"COPYPATCH_PG_DSN": "host=/nonexistent connect_timeout=2"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "could not connect to PostgreSQL ($COPYPATCH_PG_DSN)" in done.stderr


def test_a_bug_keeps_its_traceback() -> None:
    def main(argv: list[str]) -> None:
        raise RuntimeError("a bug of ours")

    with pytest.raises(RuntimeError, match="a bug of ours"):
        run_command("python -m copypatch test", main, [])


# ---- what bench prints ----------------------------------------------------------------------
def table_end() -> str:
    """The table's last line when no cell is unstable (the end of its footer)."""
    return format_table([], [], [], {}, {}, 1).splitlines()[-1]


def assert_only_the_table(done: subprocess.CompletedProcess[str]) -> None:
    """stdout is the table and nothing else: no pyperf result lines, no warning block."""
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr
    assert "Mean +- std dev" not in done.stdout
    assert done.stdout.lstrip().startswith("query ")  # nothing before the table
    assert done.stdout.rstrip().splitlines()[-1] in (table_end(), STEADIER)


def test_bench_prints_its_table_and_nothing_else(tmp_path: Path) -> None:
    done = cli("bench", "--rows", "20000", "--no-postgres", "--query", "a = 42",
               "--json", str(tmp_path / "b.json"),
               "-p", "1", "-n", "2", "-w", "0", "-l", "1")  # PYPERF_QUICK, but two values: a spread
    assert_only_the_table(done)
    assert f"wrote {tmp_path / 'b.json'}" in done.stderr  # on stderr, so stdout ends with the table
    doc = json.loads((tmp_path / "b.json").read_text())
    spreads = [r["spread_percent"] for r in doc["engines"]]
    assert all(isinstance(p, float) and p >= 0 for p in spreads)  # two values: a spread


def test_bench_verbose_keeps_pyperf_output() -> None:
    done = cli("bench", *NO_PG, "--query", "a = 42", "--engine", "goto", "--optimize", "all", "-v")
    assert done.returncode == 0, done.stderr
    assert "Run 1: " in done.stdout  # pyperf's verbose per-run lines


def test_spread_is_said_once_in_the_table() -> None:
    def table(spread: float | None) -> str:
        timings = {("a = 42", "goto", lv): Timing(10.0, spread, 1000) for lv in ("none", "all")}
        return format_table(["a = 42"], ["goto"], ["none", "all"], timings, {}, 1000)

    steady, unsteady, single = table(2.0), table(12.5), table(None)
    assert " 2.0% " in steady and "!" not in steady and STEADIER not in steady
    assert unsteady.count("12.5%!") == 2 and unsteady.count(STEADIER) == 1
    assert unsteady.splitlines()[-1] == STEADIER
    assert "!" not in single and STEADIER not in single


def test_the_acceptance_command(pg: Any) -> None:
    """The issue's acceptance: the default command line at 20,000 rows, with PostgreSQL. Takes
    1-2 minutes on an idle 2-core machine (36 benchmarks of 10 worker processes each)."""
    del pg  # the fixture proves server binaries exist (or fails in CI); bench starts its own
    done = cli("bench", "--rows", "20000", timeout=1800)
    assert_only_the_table(done)
    assert "pg ns/row" in done.stdout and "PostgreSQL skipped" not in done.stderr
