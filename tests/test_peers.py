"""The peers (copypatch.peers): each gives PostgreSQL's rows on every standard query, bench --peers
times them beside the engines, and the instruction counter counts them."""

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
from test_bench import PYPERF_QUICK, run

import copypatch
from copypatch import peers
from copypatch.bench import _peers_wanted, check_peers
from copypatch.workload import QUERIES, STANDARD_QUERIES, make_table


def need_peers() -> None:
    try:
        peers.check_available()
    except peers.PeerUnavailable as e:
        unavailable(f"{e} (.ci/run installs the test extra, which has them)")


@pytest.fixture(scope="module")
def loaded(pg: Any) -> tuple[Any, dict[str, np.ndarray]]:
    need_peers()
    table = make_table(3000, seed=7)
    pg.load(table, "peers_t")
    return pg, table


@pytest.mark.parametrize("query", STANDARD_QUERIES)
def test_every_peer_gives_postgres_rows(loaded: Any, query: str) -> None:
    pg, table = loaded
    want = pg.filter(query, "peers_t")
    assert np.array_equal(copypatch.compile(query, table).filter(table), want)
    for name in peers.PEERS:
        got = peers.prepare(name, query, table)()
        assert got.dtype == np.bool_ and got.shape == want.shape, name
        assert np.array_equal(got, want), (name, int(np.flatnonzero(got != want)[0]))
        assert np.array_equal(peers.prepare(name, query, table)(), want), name  # again: no state


def test_the_table_has_the_rows_where_nulls_decide() -> None:
    """NULL OR true keeps a row and NULL AND x drops it: the agreement test sees such rows."""
    t = peers.columns(make_table(3000, seed=7))
    assert (t.b_null & (t.c < 5)).any()  # or_arith: b NULL, kept by c < 5
    assert (t.b_null & (t.a == 42)).any() or (t.b_null & (t.c > 50)).any()


def test_every_standard_query_has_every_peer() -> None:
    """One list of queries (copypatch.workload.QUERIES): a new one needs its peers written."""
    assert set(peers.NUMPY) == set(peers.NUMEXPR) == set(QUERIES)
    source = (Path(peers.__file__).parent / "peers.c").read_text()
    for name in QUERIES:
        assert f"FILTER({name})" in source, name


def test_a_peer_that_disagrees_is_an_error() -> None:
    need_peers()
    table = make_table(500, seed=3)
    rows = copypatch.compile("a = 42", table).filter(table)
    check_peers("a = 42", list(peers.PEERS), table, rows)  # agrees
    wrong = rows.copy()
    wrong[7] = not wrong[7]
    with pytest.raises(SystemExit, match="peer c-scalar disagrees with copypatch on 'a = 42' at row 7"):
        check_peers("a = 42", list(peers.PEERS), table, wrong)


def test_peers_refuse_what_they_were_not_written_for() -> None:
    table = make_table(10)
    with pytest.raises(ValueError, match="only the standard queries"):
        peers.prepare("numpy", "a = 43", table)
    with pytest.raises(ValueError, match="column a: the peers are written for int32, not int64"):
        peers.prepare("numpy", "a = 42", {**table, "a": table["a"].astype(np.int64)})
    with pytest.raises(ValueError, match="columns a, b, c"):
        peers.prepare("numpy", "a = 42", {"a": table["a"]})


def test_no_c_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no cached library to fall back on
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang
    monkeypatch.delenv("CC", raising=False)
    peers.c_library.cache_clear()
    try:
        with pytest.raises(peers.PeerUnavailable, match="need a C compiler, and there is none"):
            peers.prepare("c-scalar", "a = 42", make_table(10))
        monkeypatch.setenv("CC", "no-such-cc")
        with pytest.raises(peers.PeerUnavailable, match="'no-such-cc' \\(from \\$CC\\) is not on PATH"):
            peers.prepare("c-simd", "a = 42", make_table(10))
    finally:
        peers.c_library.cache_clear()


def test_the_c_loops_are_built_once_and_cached(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    peers.c_library.cache_clear()
    try:
        peers.c_library(False)
        built = sorted((tmp_path / "copypatch").glob("peers-scalar-*.so"))
        assert len(built) == 1
        mtime = built[0].stat().st_mtime_ns
        peers.c_library.cache_clear()
        peers.c_library(False)  # a new process would do this: the file is reused, not rebuilt
        assert sorted((tmp_path / "copypatch").glob("*.so")) == built
        assert built[0].stat().st_mtime_ns == mtime
    except peers.PeerUnavailable as e:
        unavailable(str(e))
    finally:
        peers.c_library.cache_clear()


def test_bench_peers_runs_end_to_end(tmp_path: Path) -> None:
    need_peers()
    query = "a = 42 AND b > 10"
    # six pyperf workers (goto and the five peers), each a Python start: minutes under qemu
    out = run(["-m", "copypatch", "bench", "--rows", "2000", "--no-postgres", "--peers",
               "--query", query, "--engine", "goto", "--optimize", "all",
               "--json", str(tmp_path / "b.json"), "--plot", str(tmp_path / "b.png"),
               *PYPERF_QUICK], timeout=900)
    for name, peer in peers.PEERS.items():
        assert f"  {name:<8} {peer.how}" in out
    doc = json.loads((tmp_path / "b.json").read_text())
    assert {(r["query"], r["peer"]) for r in doc["peers"]} == {(query, p) for p in peers.PEERS}
    assert all(r["ns_per_row"] > 0 for r in doc["peers"])
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_peers_run_the_standard_queries_only() -> None:
    need_peers()
    names, queries = _peers_wanted(True, ["a = 42", "a - c > 3", "a IN (1, 7, 42, 64, 99)"], False)
    assert names == list(peers.PEERS)
    assert queries == ["a = 42", "a IN (1, 7, 42, 64, 99)"]
    assert _peers_wanted(False, ["a = 42"], False) == ([], [])


def test_bench_peers_says_what_to_install_when_a_peer_cannot_run(tmp_path: Path) -> None:
    env_cc = {"CC": "no-such-cc", "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "copypatch", "bench", "--peers", "--no-postgres",
                           "--rows", "100", "--query", "a = 42"], env={**os.environ, **env_cc},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("(from $CC) is not on PATH"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_instruction_counter_counts_the_peers() -> None:
    need_valgrind()
    need_peers()
    out = run(["benchmarks/count_instructions.py", "--peers", "--rows", "2000",
               "--sql", "a = 42 AND b > 10", "--who", "c-scalar", "--who", "numpy",
               "--who", "jit"])
    row = next(line for line in out.splitlines() if line.startswith("| `a = 42 AND b > 10`"))
    c_scalar, numpy_, jit = (float(x) for x in row.split("|")[2:5])
    # the scalar C loop: a handful of instructions a row; the JIT, block at a time (block_scan),
    # about as many (it went below the scalar loop: no order between them is asserted)
    assert 2 <= c_scalar <= 30 and 0 < numpy_ < 100 and 0.5 < jit < 500, row
