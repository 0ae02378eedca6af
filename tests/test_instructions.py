"""Each optimisation lowers instructions/row for `a = 42`, in each engine (counted by callgrind)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import need_valgrind

import copypatch
from copypatch.experiment import SETTINGS
from copypatch.instructions import count

ROWS = 20_000


@pytest.fixture(scope="module")
def counts() -> dict[tuple[str, str], float]:
    need_valgrind()
    configs = [(e, s) for e in copypatch.ENGINES for s in SETTINGS]
    # each count is a valgrind subprocess: run them side by side
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = pool.map(lambda c: count("a = 42", c[0], ROWS, optimize=SETTINGS[c[1]]), configs)
        return dict(zip(configs, done))


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_each_optimisation_lowers_instructions(counts: dict[tuple[str, str], float],
                                               engine: str) -> None:
    c = {s: counts[(engine, s)] for s in SETTINGS}
    assert c["null-elision"] < c["none"]
    assert c["inlining"] < c["none"]
    assert c["both"] < min(c["null-elision"], c["inlining"])
    assert c["unfused"] < c["both"]
    assert c["fused"] < c["unfused"]  # the fused compare-and-branch
    assert c["all"] < c["fused"]  # block at a time


def test_goto_beats_switch(counts: dict[tuple[str, str], float]) -> None:
    for s in SETTINGS:
        assert counts[("goto", s)] < counts[("switch", s)]
