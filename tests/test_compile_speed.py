"""compile()'s stages and their timings, verification once or after every pass, and the reuse of
a bound table by filter()/evaluate() (issue 14)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

import copypatch
from copypatch import CompileError, passes, program

TABLE = {"a": np.array([1, 42, 7], dtype=np.int32),
         "b": np.ma.masked_array([5, 0, 9], mask=[False, True, False], dtype=np.int64)}


def test_timings_cover_every_stage() -> None:
    prog = copypatch.compile("a = 42 OR b > 6", TABLE, engine="jit")
    t = prog.timings
    assert [f.name for f in fields(t)] == ["parse", "analyse", "plan", "lower", "passes",
                                           "verify", "layout", "jit"]
    assert all(getattr(t, f.name) > 0 for f in fields(t))
    assert t.total == sum(getattr(t, f.name) for f in fields(t))
    text = prog.explain(timings=True)
    assert text.startswith(prog.explain()) and text.splitlines()[-1].startswith("Timing: Parse ")
    # the interpreters have no JIT stage; a Python-built expression is not parsed
    t = copypatch.compile(copypatch.col("a") == 42, TABLE, engine="goto").timings
    assert t.jit == 0 and t.lower > 0


def _broken_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(sp: Any) -> Any:
        sp.steps[-2] = replace(sp.steps[-2], jumpdone=len(sp.steps) + 100)
        return sp

    monkeypatch.setitem(passes.PASSES, "row_loop", bad)  # the last pass


def test_verification_once_on_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the program is verified once, after the passes; a broken pass is still caught."""
    calls = []
    real = program.verify
    monkeypatch.setattr(program, "verify", lambda *a, **k: calls.append(1) or real(*a, **k))
    copypatch.compile("a = 42", TABLE, verify_each_pass=False)
    assert len(calls) == 1
    _broken_pass(monkeypatch)
    with pytest.raises(CompileError, match="jump target"):
        copypatch.compile("a = 42", TABLE, verify_each_pass=False)


def test_verify_each_pass_names_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_pass(monkeypatch)
    with pytest.raises(CompileError, match="jump target") as ei:
        copypatch.compile("a = 42", TABLE, verify_each_pass=True)
    assert "found after the row_loop pass" in getattr(ei.value, "__notes__", [])


def test_the_tests_verify_each_pass() -> None:
    assert program.VERIFY_EACH_PASS  # tests/conftest.py turns it on
