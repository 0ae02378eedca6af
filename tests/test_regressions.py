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


def test_a_deep_operator_chain_is_a_compile_error_not_a_segfault() -> None:
    # pglast builds its tree by C recursion: `a + a + ... + a` with 50,000 terms overflowed the C
    # stack inside pglast.parse_sql and killed the process. The front end now bounds the
    # nesting from the tokens before building a tree. Run in a child so a regression fails
    # this test instead of killing pytest.
    import subprocess
    import sys

    code = (
        "import numpy as np, copypatch\n"
        "t = {'a': np.arange(3, dtype=np.int32)}\n"
        "for sql in (' + '.join(['a'] * 50000) + ' > 0', 'a' + '::int8' * 40000 + ' = 1',\n"
        "            '- ' * 60000 + 'a = 1'):\n"
        "    try:\n"
        "        copypatch.compile(sql, t)\n"
        "    except copypatch.CompileError as e:\n"
        "        assert 'nested' in str(e) or 'syntax' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError('compiled')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_many_distinct_equalities_plan_in_linear_time() -> None:
    # the equivalence-class deduplication (list_union) scanned a list per qual: 4,000
    # `a + i = a` quals took 15 s; a set makes it linear
    import time

    import copypatch

    table = {"a": np.arange(3, dtype=np.int32)}
    sql = " AND ".join(f"a + {i} = a" for i in range(4000))
    t0 = time.perf_counter()
    for engine in copypatch.ENGINES:
        assert copypatch.compile(sql, table, engine=engine).filter(table).tolist() == [False] * 3
    assert time.perf_counter() - t0 < 30


def test_boolean_equality_with_a_constant_is_simplified_before_quals_are_ordered(pgdb: Any) -> None:
    # eval_const_expressions turns `b = true` into `b` (simplify_boolean_equality), whose cost is
    # 0, so PostgreSQL runs it before the overflowing qual; found by review, not by the fuzzer
    table = {"i2": np.array([1, 32767], dtype=np.int16), "b": np.array([True, False])}
    for sql in ("(i2 * 2::int2) IS NULL AND b = true", "(i2 * 2::int2) IS NULL AND true = b",
                "(i2 * 2::int2) IS NULL AND b <> false", "(i2 * 2::int2) IS NULL AND NOT (b = false)"):
        check(pgdb, sql, table, {"filter": ("ok", [False, False])})
    check(pgdb, "(i2 * 2::int2) IS NULL AND b = false", table, {"filter": ("error", "22003")})


def test_integer_input_reads_the_digits_before_the_trailing_characters(pgdb: Any) -> None:
    # int2in/int4in/int8in accumulate the digits first: a prefix out of range is 22003 even when
    # junk follows ('32769.0' for int2); junk after a prefix in range is 22P02 ('32768.0');
    # only ASCII digits count. Found by the fuzzer through an array literal.
    import copypatch

    table = {"c0": np.array([], dtype=np.int16), "c1": np.array([], dtype=np.int64)}
    cases = [
        ("c0 = ANY ('{32769.0}')", ("error", "22003")),
        ("c0 = ANY ('{32768.0}')", ("error", "22P02")),
        ("c0 = '32769.0'", ("error", "22003")),
        ("c0 = '-32768'", ("ok", [])),
        ("c0 = ' +12 '", ("ok", [])),
        ("c0 = '\u0661'", ("error", "22P02")),
        ("c1 = '99999999999999999999x'", ("error", "22003")),
    ]
    pgdb.load(table, "regression")
    for sql, want in cases:
        for engine in copypatch.ENGINES:
            assert testing.outcome(sql, table, "filter", engine)[:2] == want, (sql, engine)
        assert testing.postgres_outcome(pgdb, sql, "filter", "regression") == want, sql
