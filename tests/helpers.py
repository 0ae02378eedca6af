"""The tests' shared pieces, on top of copypatch.testing: an expression's common answer on every
engine and optimisation setting, the JIT tests' table, and the rule for tests whose tool is missing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np
import pytest

import copypatch
from copypatch import testing
from copypatch.workload import STANDARD_QUERIES

#: every optimisation setting the tests compare: none (PostgreSQL's program), each pass alone, all
SETTINGS = [kwargs for _, kwargs in testing.optimization_settings()]


def run_all(sql: Any, table: Mapping[str, Any], mode: str = "evaluate") -> tuple[Any, ...]:
    """The outcome on every engine and optimisation setting, asserting that they are all the same."""
    first: tuple[Any, ...] | None = None
    for engine in copypatch.ENGINES:
        for kwargs in SETTINGS:
            r = testing.outcome(sql, table, mode, engine, **kwargs)
            if first is None:
                first = r
            assert r == first, f"{engine} with {kwargs} disagrees on {sql!r}: {r} vs {first}"
    assert first is not None
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
#: the standard queries, and two that reach the opcodes those do not (NULLIF, boolean tests)
JIT_EXPRESSIONS = [
    *STANDARD_QUERIES,
    "CASE WHEN a > 3 THEN b ELSE coalesce(c, 1) END > 2 AND NOT (c IS NULL)",
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


def gone(pid: int) -> bool:
    """Whether process pid has exited (a zombie answers too: Cluster reaps its server, so a
    zombie would be a bug)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
