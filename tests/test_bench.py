"""The main job and every benchmark script: they run, and the engines give PostgreSQL's rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import need_valgrind, unavailable

import copypatch
from copypatch.bench import LEVELS, level_passes
from copypatch.experiment import SETTINGS
from copypatch.testing import as_list
from copypatch.workload import STANDARD_QUERIES, make_table

ROOT = Path(__file__).resolve().parents[1]
PYPERF_QUICK = ["-p", "1", "-n", "1", "-w", "0", "-l", "1"]  # one process, one value, no warm-up


@pytest.fixture(scope="module")
def loaded(pg: Any) -> tuple[Any, dict[str, np.ndarray]]:
    table = make_table(3000, seed=7)
    pg.load(table, "bench_t")
    return pg, table


@pytest.mark.parametrize("query", STANDARD_QUERIES)
def test_standard_queries_match_postgres_row_for_row(loaded: Any, query: str) -> None:
    pg, table = loaded
    want_rows = pg.filter(query, "bench_t")
    want_values = as_list(pg.evaluate(query, "bench_t"))
    if query == "a = 42 AND b > 10":
        assert None in want_values  # NULLs really are compared
    for engine in copypatch.ENGINES:
        for level in LEVELS:
            prog = copypatch.compile(query, table, engine=engine, optimize=level_passes(level))
            assert np.array_equal(prog.filter(table), want_rows), (engine, level)
            assert as_list(prog.evaluate(table)) == want_values, (engine, level)


#: a hang detector, not a speed bound: emulation (the aarch64 run under qemu) gets three times as
#: long, since every pyperf worker is a new emulated Python
TIMEOUT = 900 if os.environ.get("COPYPATCH_ARM64_QEMU") else 300


def run(args: list[str], timeout: float = TIMEOUT) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_main_job_runs_end_to_end_with_postgres(pg: Any, tmp_path: Path) -> None:
    del pg  # the fixture proves server binaries exist (or fails in CI); bench starts its own
    out = run(["-m", "copypatch", "bench", "--rows", "2000", "--query", "a = 42",
               "--json", str(tmp_path / "b.json"), "--plot", str(tmp_path / "b.png"),
               "-o", str(tmp_path / "pyperf.json"), *PYPERF_QUICK])
    assert "pg ns/row" in out and "a = 42" in out
    doc = json.loads((tmp_path / "b.json").read_text())
    assert {r["engine"] for r in doc["engines"]} == set(copypatch.ENGINES)
    assert all("spread_percent" in r for r in doc["engines"])  # None here: one value each
    assert {r["jit"] for r in doc["postgres"]} == {"off", "on"}
    assert (tmp_path / "b.png").stat().st_size > 1000
    # pyperf's own JSON, for python -m pyperf compare_to
    run(["-m", "pyperf", "compare_to", str(tmp_path / "pyperf.json"), str(tmp_path / "pyperf.json")])


def test_experiment_runs(tmp_path: Path) -> None:
    out = run(["-m", "copypatch", "experiment", "--rows", "2000", "--no-count",
               "--plot", str(tmp_path / "e.png"), "--json", str(tmp_path / "e.json"), *PYPERF_QUICK])
    assert "null-elision" in out
    doc = json.loads((tmp_path / "e.json").read_text())
    assert len(doc["results"]) == len(copypatch.ENGINES) * len(SETTINGS)
    assert "fused compare-and-branch" in out
    assert all("spread_percent" in r for r in doc["results"])


@pytest.mark.parametrize(
    "script, args",
    [
        ("benchmarks/bench_rows.py", ["--rows", "2000"]),
        # one size: every stage is a pyperf worker process, which is seconds each under qemu
        ("benchmarks/bench_compile.py", ["--stages", "--expression", "10 terms"]),
    ],
)
def test_benchmark_scripts_run(script: str, args: list[str], tmp_path: Path) -> None:
    run([script, *args, "-o", str(tmp_path / "out.json"), *PYPERF_QUICK])
    assert json.loads((tmp_path / "out.json").read_text())["benchmarks"]


def test_instruction_counter_runs() -> None:
    need_valgrind()
    out = run(["benchmarks/instructions.py", "--rows", "2000", "--engine", "goto", "a = 42"])
    assert "instructions/row" in out


def test_pg_instruction_counter_runs(pg: Any, tmp_path: Path) -> None:
    """benchmarks/pg_instructions.py: callgrind on single-user backends, at a tiny size; the
    counts are exact: copypatch's provider runs a = 42 in fewer instructions per row than
    PostgreSQL's interpreter, and and20's 21 conjuncts in more than a = 42's one (each query's
    own code is what runs and is counted, not a stale translation of the previous one's)."""
    del pg  # the fixture proves server binaries exist (or fails in CI); the script starts its own
    need_valgrind()
    from copypatch import pgprovider

    try:
        pgprovider.find_pg_config()
    except pgprovider.PgProviderUnavailable as e:
        unavailable(str(e))
    out = run(["benchmarks/pg_instructions.py", "--rows", "1500", "--small", "500", "--query",
               "eq", "--query", "and20", "--setting", "off", "--setting", "copypatch", "--json",
               str(tmp_path / "i.json")])
    assert "instructions/row" in out
    counts = json.loads((tmp_path / "i.json").read_text())["instructions_per_row"]
    assert 0 < counts["copypatch"]["eq"] < counts["off"]["eq"], counts
    assert counts["copypatch"]["and20"] > counts["copypatch"]["eq"] + 100, counts
