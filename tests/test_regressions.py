"""Bugs the differential fuzzer found, each with its minimal reproduction, on every engine and
optimisation setting, and against PostgreSQL."""

from __future__ import annotations

import math  # noqa: F401  (reproductions may spell NaN and infinities with it)
from typing import Any

import numpy as np
import pytest

from copypatch import testing


def check(pg: Any, sql: str, table: dict[str, Any], expected: dict[str, tuple[Any, ...]]) -> None:
    """Every engine and setting gives `expected` (mode -> outcome[:2]), and so does PostgreSQL."""
    case = testing.make_case(table, sql)
    testing.check_engines(case)
    for mode, want in expected.items():
        assert testing.outcome(sql, table, mode, "switch")[:2] == want
    if pg is not None:
        testing.check_postgres(pg, case, name="regression")


@pytest.fixture
def pgdb(request: Any) -> Any:
    return request.getfixturevalue("pg")


def test_nullif_with_a_null_constant_argument_is_its_first_argument(pgdb: Any) -> None:
    # eval_const_expressions returns NULLIF's first argument as soon as either argument is a
    # NULL constant, without evaluating the other: no overflow from c2 + c2 (clauses.c)
    table = {"c2": np.array([0, -32768], dtype=np.int16)}
    check(pgdb, "NULLIF(NULL::int2, (c2) + (c2))", table, {"evaluate": ("ok", [None, None])})
    check(pgdb, "NULLIF((c2) + (c2), NULL::int2)", table,
          {"evaluate": ("error", "22003")})
