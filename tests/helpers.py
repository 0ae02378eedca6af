"""Run an expression on every engine, check they agree, and return the common answer; and the
rule for tests whose tool is missing."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np
import pytest

import copypatch
from copypatch import EvalError

#: every optimisation setting the tests compare: none (PostgreSQL's program), each pass alone, all
SETTINGS: list[tuple[str, ...]] = [
    (),
    *((p,) for p in copypatch.OPTIMIZATIONS),
    copypatch.OPTIMIZATIONS,
]


def outcome(sql: Any, table: Mapping[str, Any], mode: str, engine: str,
            optimize: tuple[str, ...] = copypatch.OPTIMIZATIONS) -> tuple[Any, ...]:
    """("ok", values) or ("error", sqlstate, message, row): comparable across engines."""
    prog = copypatch.compile(sql, table, engine=engine, optimize=optimize)
    try:
        if mode == "filter":
            return ("ok", prog.filter(table).tolist())
        res = prog.evaluate(table)
        return ("ok", as_list(res))
    except EvalError as e:
        return ("error", e.sqlstate, e.message, e.row)


def as_list(res: np.ma.MaskedArray) -> list[Any]:
    """Values with None for NULL; NaN as the string "NaN" and -0.0 kept apart from 0.0."""
    out: list[Any] = []
    for v, m in zip(res.data.tolist(), np.ma.getmaskarray(res).tolist()):
        if m:
            out.append(None)
        elif isinstance(v, float) and math.isnan(v):
            out.append("NaN")
        elif isinstance(v, float) and v == 0 and np.signbit(v):
            out.append("-0")
        else:
            out.append(v)
    return out


def run_all(sql: Any, table: Mapping[str, Any], mode: str = "evaluate") -> tuple[Any, ...]:
    """The outcome on every engine and optimisation setting, asserting that they are all the same."""
    results = {
        (e, o): outcome(sql, table, mode, e, o) for e in copypatch.ENGINES for o in SETTINGS
    }
    first = results[(copypatch.ENGINES[0], ())]
    for (engine, opt), r in results.items():
        assert r == first, f"{engine} with optimize={opt} disagrees on {sql!r}: {r} vs {first}"
    return first


def values(sql: Any, table: Mapping[str, Any], mode: str = "evaluate") -> list[Any]:
    r = run_all(sql, table, mode)
    assert r[0] == "ok", f"{sql!r} failed: {r}"
    return r[1]  # type: ignore[no-any-return]


def error(sql: Any, table: Mapping[str, Any], mode: str = "evaluate") -> tuple[str, str, int | None]:
    r = run_all(sql, table, mode)
    assert r[0] == "error", f"{sql!r} did not fail: {r}"
    return r[1], r[2], r[3]


#: the JIT tests' table and expressions (tests/test_jit.py, tests/test_arm64.py)
JIT_TABLE = {
    "a": np.arange(-50, 150, dtype=np.int32),
    "b": np.arange(200, dtype=np.int64) % 17,
    "c": np.ma.masked_array(np.arange(200, dtype=np.int32) % 9, mask=np.arange(200) % 5 == 0),
}
JIT_EXPRESSIONS = [
    "a = 42",
    "a = 42 AND b > 10",
    "a + b > 1000 OR c < 5",
    "CASE WHEN a > 3 THEN b ELSE coalesce(c, 1) END > 2",
    "a IN (1, 2, 42, 99) AND NOT (c IS NULL)",
    "nullif(a, 3) IS NULL OR (b = 4) IS NOT TRUE",
]


# -- tools the tests need ---------------------------------------------------------------------------


def unavailable(reason: str) -> NoReturn:
    """A tool or header a test needs is missing: skip locally, but fail in CI (CI=true), where
    every test must run and .ci/run installs everything. `reason` names what to install."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: no test may be skipped)", pytrace=False)
    pytest.skip(reason)


def need_valgrind() -> None:
    from copypatch.instructions import valgrind_available

    if not valgrind_available():
        unavailable("valgrind not found: instruction counts need it (apt-get install valgrind)")
