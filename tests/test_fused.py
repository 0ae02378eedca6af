"""The fused compare-and-branch steps (fused_compare) and the IN list's inlined ANY/ALL: the same
answers, NULLs and errors (with the first failing row) as PostgreSQL's program, on every engine."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import error, run_all, values

import copypatch
from copypatch.testing import outcome

NULLS = [False, True, False, False, True, False, False, False]
TABLE = {
    "a": np.array([42, 7, -3, 2**31 - 1, -2**31, 0, 99, 64], dtype=np.int32),  # NOT NULL
    "b": np.ma.masked_array(np.array([11, 10, 5, 2**62, -2**62, 0, 12, 10], dtype=np.int64),
                            mask=NULLS),  # nullable
    "c": np.array([1, 0, 3, 0, 5, 6, 7, 8], dtype=np.int32),
    "f": np.ma.masked_array(np.array([0.5, np.nan, -np.inf, 2.0, 1.0, 0.0, np.inf, -0.0]),
                            mask=NULLS[::-1]),
}


#: every pass but block_scan, which makes a program of fused QUALs a block program (test_block.py)
ROW_AT_A_TIME = tuple(p for p in copypatch.OPTIMIZATIONS if p != "block_scan")


def opcodes(sql: str, mode: str = "filter") -> list[str]:
    prog = copypatch.compile(sql, TABLE, optimize=ROW_AT_A_TIME)
    return [line.split()[1] for line in prog.explain(mode).splitlines()[1:]]


@pytest.mark.parametrize("sql, fused", [
    ("a = 42", ["EEOP_QUAL_int4eq_NOTNULL"]),
    ("b > 10", ["EEOP_QUAL_int84gt"]),  # nullable, and across int8/int4
    ("a = 42 AND b > 10", ["EEOP_QUAL_int84gt", "EEOP_QUAL_int4eq_NOTNULL"]),
    ("42 < a", ["EEOP_QUAL_int4gt_NOTNULL"]),  # the constant on the left: commuted
    ("10 >= b", ["EEOP_QUAL_int84le"]),
    ("a < 5::int8", ["EEOP_QUAL_int48lt_NOTNULL"]),
    ("f <= 1.0 AND f <> 'NaN'", ["EEOP_QUAL_float8le", "EEOP_QUAL_float8ne"]),
])
def test_fused_forms_agree(sql: str, fused: list[str]) -> None:
    got = opcodes(sql)
    assert [o for o in got if o.startswith("EEOP_QUAL_")] == fused, got
    assert "EEOP_QUAL" not in got and not any(o.startswith("EEOP_SCAN_COLUMN") for o in got)
    assert values(sql, TABLE, "filter") == outcome(sql, TABLE, "filter", "switch", optimize=())[1]


def test_only_a_qual_is_fused() -> None:
    # CASE WHEN tests its condition with JUMP_IF_NOT_TRUE, into a slot of its own: not fused
    for sql in ("CASE WHEN a > 50 THEN c ELSE a END < 20", "CASE WHEN b > 5 THEN c ELSE a END < 20",
                "CASE WHEN b > 5 THEN b END", "(CASE WHEN a > 50 THEN 1 END) IS NULL"):
        for mode in ("filter", "evaluate"):
            if mode == "filter" and copypatch.compile(sql, TABLE).result_type is not copypatch.SqlType.BOOL:
                continue
            ops = opcodes(sql, mode)
            assert "EEOP_JUMP_IF_NOT_TRUE" in ops
            assert not any(o.startswith("EEOP_QUAL_int") for o in ops), ops
            run_all(sql, TABLE, mode)


def test_jumps_into_a_fused_pattern_are_not_fused() -> None:
    # OR jumps past its operands; a QUAL's conjuncts run in order: every form agrees
    for sql in ("a = 42 OR b > 10", "(a = 42 OR c = 0) AND b > 10", "NOT (a = 42) AND b <= 10",
                "a = 42 AND (b > 10) IS NULL", "b = 10 AND a <> 7 AND c >= 0 AND f > 0"):
        run_all(sql, TABLE, "filter")
        run_all(sql, TABLE, "evaluate")


def test_errors_report_the_first_failing_row_after_a_fused_step() -> None:
    # the division runs only for the rows the fused step lets through: the first with c = 0
    sql = "a < 100 AND 100 / c > 1"
    assert "EEOP_QUAL_int4lt_NOTNULL" in opcodes(sql)
    assert error(sql, TABLE, "filter") == ("22012", "division by zero", 1)
    sql = "b > 10 AND 100 / c > 1"  # row 1 (c = 0) has b NULL: the next c = 0 is row 3
    assert error(sql, TABLE, "filter") == ("22012", "division by zero", 3)


@pytest.mark.parametrize("sql, fused", [
    ("a IN (1, 7, 42, 64, 99)", "EEOP_QUAL_ANY_int4eq_NOTNULL"),
    ("b IN (10, 11, NULL)", "EEOP_QUAL_ANY_int8eq"),  # NULL elements and values: never TRUE
    ("f IN (0.5, 'NaN', NULL)", "EEOP_QUAL_ANY_float8eq"),
    ("a < ANY (ARRAY[0, NULL])", "EEOP_QUAL_ANY_int4lt_NOTNULL"),
    ("a = ANY (ARRAY[]::int4[])", "EEOP_QUAL_ANY_int4eq_NOTNULL"),  # empty: FALSE
    ("a IN (1, 7) AND b IN (10, 12)", "EEOP_QUAL_ANY_int8eq"),
])
def test_in_list_fused_in_a_qual(sql: str, fused: str) -> None:
    ops = opcodes(sql)
    assert fused in ops and "EEOP_QUAL" not in ops, ops
    assert values(sql, TABLE, "filter") == outcome(sql, TABLE, "filter", "switch", optimize=())[1]


def test_in_list_not_fused() -> None:
    # ALL, and NOT IN (<> ALL), keep their SCALARARRAYOP (inlined); so does a per-row array
    for sql in ("a NOT IN (1, 7, 42)", "a >= ALL (ARRAY[0, NULL])", "b > ANY (ARRAY[a, c])"):
        ops = opcodes(sql)
        assert any(o.startswith("EEOP_SCALARARRAYOP_") for o in ops), ops
        assert not any(o.startswith("EEOP_QUAL_ANY") for o in ops), ops
        run_all(sql, TABLE, "filter")


@pytest.mark.parametrize("sql", [
    "a IN (1, 7, 42, 64, 99)",
    "a IN (1, NULL, 42)",  # a NULL element: NULL where no element matches
    "a NOT IN (1, 7, 42)",  # <> ALL
    "a NOT IN (1, NULL)",
    "b IN (10, 11, NULL)",  # a NULL scalar
    "b NOT IN (10, 11)",
    "a = ANY (ARRAY[]::int4[])",  # empty: FALSE for ANY, TRUE for ALL, even for NULL
    "b <> ALL (ARRAY[]::int8[])",
    "b = ANY (ARRAY[]::int8[])",
    "a < ANY (ARRAY[0, NULL])",
    "a >= ALL (ARRAY[0, NULL])",
    "b > ALL (ARRAY[a, c])",  # a per-row array
    "f IN (0.5, 'NaN', NULL)",
])
def test_in_list_inlined_keeps_nulls(sql: str) -> None:
    ops = opcodes(sql, "evaluate")
    assert any(o.startswith("EEOP_SCALARARRAYOP_") for o in ops), ops
    reference = outcome(sql, TABLE, "evaluate", "switch", optimize=())
    assert run_all(sql, TABLE, "evaluate") == reference
    assert run_all(sql, TABLE, "filter")[0] == "ok"
