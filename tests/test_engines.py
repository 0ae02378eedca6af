"""Every opcode and operator, NULL logic, errors and extreme values, on every engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import error, run_all, values

import copypatch
from copypatch import EvalError

I2 = np.iinfo(np.int16)
I4 = np.iinfo(np.int32)
I8 = np.iinfo(np.int64)
NAN = "NaN"
T, F, N = True, False, None


def nullable(data: list, dtype: object) -> np.ma.MaskedArray:
    mask = [v is None for v in data]
    filled = [0 if v is None else v for v in data]
    return np.ma.masked_array(np.array(filled, dtype=dtype), mask=mask)


# the three-valued grid: every pair of (TRUE, FALSE, NULL)
GRID = {
    "p": nullable([T, T, T, F, F, F, N, N, N], np.bool_),
    "q": nullable([T, F, N, T, F, N, T, F, N], np.bool_),
}


def test_issue_snippet() -> None:
    table = {
        "a": np.array([1, 42, 7], dtype=np.int32),
        "b": np.ma.masked_array([5, 0, 9], mask=[False, True, False], dtype=np.int64),
    }
    for engine in copypatch.ENGINES:
        prog = copypatch.compile("a = 42 OR b > 6", table, engine=engine)
        assert prog.filter(table).tolist() == [False, True, True]
        res = prog.evaluate(table)
        assert res.tolist() == [False, True, True]
        assert "EEOP_BOOL_OR_STEP_FIRST" in prog.explain()


def test_a_eq_42_lowers_like_postgres() -> None:
    t = {"a": np.arange(100, dtype=np.int32)}
    prog = copypatch.compile("a = 42", t, optimize=())
    ops = [line.split()[1] for line in prog.explain().splitlines()[1:]]
    assert ops == ["EEOP_SCAN_FETCHSOME", "EEOP_SCAN_VAR", "EEOP_FUNCEXPR_STRICT", "EEOP_QUAL",
                   "EEOP_DONE"]
    # the constant lives in the call's argument slot, stored once
    assert "int4eq(arg0, 42)" in prog.explain()
    assert values("a = 42", t, "filter") == [i == 42 for i in range(100)]


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("p AND q", [T, F, N, F, F, F, N, F, N]),
        ("p OR q", [T, T, T, T, F, N, T, N, N]),
        ("NOT p", [F, F, F, T, T, T, N, N, N]),
        ("p AND q AND p", [T, F, N, F, F, F, N, F, N]),
        ("p OR q OR p", [T, T, T, T, F, N, T, N, N]),
        ("p IS TRUE", [T, T, T, F, F, F, F, F, F]),
        ("p IS NOT TRUE", [F, F, F, T, T, T, T, T, T]),
        ("p IS FALSE", [F, F, F, T, T, T, F, F, F]),
        ("p IS NOT FALSE", [T, T, T, F, F, F, T, T, T]),
        ("p IS UNKNOWN", [F, F, F, F, F, F, T, T, T]),
        ("p IS NOT UNKNOWN", [T, T, T, T, T, T, F, F, F]),
        ("q IS NULL", [F, F, T, F, F, T, F, F, T]),
        ("q IS NOT NULL", [T, T, F, T, T, F, T, T, F]),
        ("p = q", [T, F, N, F, T, N, N, N, N]),
        ("p < q", [F, F, N, T, F, N, N, N, N]),
        ("p <> q", [F, T, N, T, F, N, N, N, N]),
    ],
)
def test_three_valued_logic(sql: str, expected: list) -> None:
    assert values(sql, GRID) == expected
    assert values(sql, GRID, "filter") == [v is True for v in expected]


def test_and_or_short_circuit_skips_errors() -> None:
    t = {"a": np.array([0, 1, 2], dtype=np.int32), "z": np.zeros(3, dtype=np.int32)}
    # PostgreSQL evaluates left to right and stops once the result is known
    assert error("a >= 1 OR a / z = 1", t) == ("22012", "division by zero", 0)
    assert values("a < 0 AND a / z = 1", t) == [F, F, F]
    assert values("a >= 0 OR a / z = 1", t) == [T, T, T]


INTS = {
    "i2": np.array([0, 1, -1, I2.max, I2.min], dtype=np.int16),
    "i4": np.array([0, 1, -1, I4.max, I4.min], dtype=np.int32),
    "i8": np.array([0, 1, -1, I8.max, I8.min], dtype=np.int64),
    "one": np.array([1, 1, 1, 1, 1], dtype=np.int32),
    "zero": np.array([0, 0, 0, 0, 0], dtype=np.int32),
    "m1": np.array([-1, -1, -1, -1, -1], dtype=np.int32),
}


@pytest.mark.parametrize(
    "sql, sqlstate, message, row",
    [
        ("i4 + one", "22003", "integer out of range", 3),
        ("i4 - one", "22003", "integer out of range", 4),
        ("i4 * 2", "22003", "integer out of range", 3),
        ("i2 + 1::int2", "22003", "smallint out of range", 3),
        ("i2 * 2::int2", "22003", "smallint out of range", 3),
        ("i8 + 1", "22003", "bigint out of range", 3),
        ("i8 * 2", "22003", "bigint out of range", 3),
        ("-i4", "22003", "integer out of range", 4),
        ("-i2", "22003", "smallint out of range", 4),
        ("-i8", "22003", "bigint out of range", 4),
        ("i4 / m1", "22003", "integer out of range", 4),
        ("i8 / m1", "22003", "bigint out of range", 4),
        ("i2 / (-1)::int2", "22003", "smallint out of range", 4),
        ("i4 / zero", "22012", "division by zero", 0),
        ("i8 % zero", "22012", "division by zero", 0),
        ("i2 % 0::int2", "22012", "division by zero", 0),
        ("i4::int2", "22003", "smallint out of range", 3),
        ("i8::int4", "22003", "integer out of range", 3),
        ("i8::int2", "22003", "smallint out of range", 3),
    ],
)
def test_integer_errors(sql: str, sqlstate: str, message: str, row: int) -> None:
    assert error(sql, INTS) == (sqlstate, message, row)


def test_integer_edge_values() -> None:
    assert values("i4 % m1", INTS) == [0, 0, 0, 0, 0]  # INT_MIN % -1 is 0, not a trap
    assert values("i8 % m1", INTS) == [0, 0, 0, 0, 0]
    assert values("i4 / 2", INTS) == [0, 0, 0, I4.max // 2, I4.min // 2]
    assert values("-7 / 2 + i4 * 0", INTS) == [-3] * 5  # truncates toward zero
    assert values("-7 % 2 + i4 * 0", INTS) == [-1] * 5
    assert values("i2 + i4", {**INTS, "i4": INTS["zero"]}) == INTS["i2"].tolist()
    assert values("i4::int8 + 1", INTS) == [1, 2, 0, I4.max + 1, I4.min + 1]
    assert values("i2::int8 * i4", INTS) == [0, 1, 1, I2.max * I4.max, I2.min * I4.min]
    assert values("i8 = i4", INTS) == [T, T, T, F, F]
    assert values("i2 < i8", INTS) == [F, F, F, T, F]


FLOATS = {
    "f8": np.array([0.0, -0.0, math.nan, math.inf, -math.inf, 1.5, 1.7e308, 5e-324]),
    "f4": np.array([0.0, -0.0, math.nan, math.inf, -math.inf, 1.5, 3.4e38, 1e-45], dtype=np.float32),
}


def test_float_comparisons_follow_postgres() -> None:
    # NaN equals NaN and sorts above everything; -0 equals 0
    assert values("f8 = 'NaN'::float8", FLOATS) == [F, F, T, F, F, F, F, F]
    assert values("f8 > 'Infinity'::float8", FLOATS) == [F, F, T, F, F, F, F, F]
    assert values("f8 < 'NaN'::float8", FLOATS) == [T, T, F, T, T, T, T, T]
    assert values("f8 = 0", FLOATS) == [T, T, F, F, F, F, F, F]
    assert values("f8 >= f8", FLOATS) == [T] * 8
    assert values("f4 <> f4", FLOATS) == [F] * 8
    assert values("f4 = f8", {"f4": FLOATS["f4"], "f8": FLOATS["f4"].astype(np.float64)}) == [T] * 8


@pytest.mark.parametrize(
    "sql, sqlstate, message, row",
    [
        ("f8 * 10", "22003", "value out of range: overflow", 6),
        ("f8 + f8", "22003", "value out of range: overflow", 6),
        ("f8 * 0.1::float8", "22003", "value out of range: underflow", 7),
        ("f8 / 0", "22012", "division by zero", 0),
        ("f4 * 10::float4", "22003", "value out of range: overflow", 6),
        ("f4 / 0::float4", "22012", "division by zero", 0),
        ("f8::float4", "22003", "value out of range: overflow", 6),
        ("f8::int4", "22003", "integer out of range", 2),
        ("f4::int8", "22003", "bigint out of range", 2),
    ],
)
def test_float_errors(sql: str, sqlstate: str, message: str, row: int) -> None:
    assert error(sql, FLOATS) == (sqlstate, message, row)


def test_float_arithmetic_edges() -> None:
    t = {"f": np.array([math.nan, math.inf, -0.0, 2.5, -2.5, 0.5])}
    assert values("f / 0", {"f": np.array([math.nan])}) == [NAN]  # NaN / 0 is NaN
    assert values("f + 1", t) == [NAN, math.inf, 1.0, 3.5, -1.5, 1.5]
    assert values("-f", t) == [NAN, -math.inf, 0.0, -2.5, 2.5, -0.5]
    assert values("f * 0", {"f": np.array([-1.0])}) == ["-0"]
    assert values("f::int4", {"f": np.array([2.5, -2.5, 0.5, 1.5, 2147483647.4])}) == [
        2, -2, 0, 2, 2147483647]  # rint: round half to even
    assert values("(f * 0 + 1)::float4", {"f": np.array([1.0])}) == [1.0]
    assert error("f::float4", {"f": np.array([1e-50])})[1] == "value out of range: underflow"


def test_float4_arithmetic_is_single_precision() -> None:
    t = {"x": np.array([16777216.0], dtype=np.float32)}
    assert values("x + 1::float4", t) == [16777216.0]  # float4 + float4 stays float4
    assert values("x + 1", t) == [16777217.0]  # float4 + int4 resolves to float84pl


def test_casts() -> None:
    t = {"b": np.array([True, False]), "i": np.array([0, 7], dtype=np.int32)}
    assert values("b::int4", t) == [1, 0]
    assert values("i::bool", t) == [F, T]
    assert values("i::float4 / 2", t) == [0.0, 3.5]
    assert values("CAST(i AS float8) / 2", t) == [0.0, 3.5]
    assert values("i::int2::int8", t) == [0, 7]
    assert values("'NaN'::float8 = i::float8", t) == [F, F]
    assert values("1.5::float8 + i", t) == [1.5, 8.5]
    assert values("2.5::int4 + i", t) == [3, 10]  # numeric rounds half away from zero
    assert values("' 12 '::int4 + i", t) == [12, 19]


SMALL = {
    "a": nullable([1, 42, None, -5, 0], np.int32),
    "b": nullable([10, None, 30, 40, 0], np.int64),
    "f": nullable([0.5, 1.5, None, math.nan, -0.0], np.float64),
}


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("CASE WHEN a > 0 THEN 1 WHEN a < 0 THEN -1 ELSE 0 END", [1, 1, 0, -1, 0]),
        ("CASE a WHEN 42 THEN b WHEN 1 THEN 7 END", [7, None, None, None, None]),
        ("CASE WHEN a > 100 THEN 1 END", [None] * 5),
        ("CASE WHEN b > 20 THEN f ELSE a END", [1.0, 42.0, None, NAN, 0.0]),
        ("COALESCE(a, b, 99)", [1, 42, 30, -5, 0]),
        ("COALESCE(b, a)", [10, 42, 30, 40, 0]),
        ("COALESCE(NULL, a)", [1, 42, None, -5, 0]),
        ("NULLIF(a, 42)", [1, None, None, -5, 0]),
        ("NULLIF(a, b)", [1, 42, None, -5, None]),
        ("NULLIF(f, 'NaN')", [0.5, 1.5, None, None, "-0"]),
        ("a IN (1, 42, 7)", [T, T, None, F, F]),
        ("a IN (1, NULL)", [T, None, None, None, None]),
        ("a NOT IN (1, 42)", [F, F, None, T, T]),
        ("a NOT IN (1, NULL)", [F, None, None, None, None]),
        ("a IN (b, 1)", [T, None, None, F, T]),
        ("a IN (b, 1, 2)", [T, None, None, F, T]),
        ("a IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 42)", [T, T, None, F, F]),
        ("a BETWEEN 0 AND 42", [T, T, None, F, T]),
        ("a NOT BETWEEN 0 AND 42", [F, F, None, T, F]),
        ("a BETWEEN SYMMETRIC 42 AND 0", [T, T, None, F, T]),
        ("a BETWEEN 42 AND 0", [F, F, None, F, F]),
        ("a IS DISTINCT FROM b", [T, T, T, T, F]),
        ("a IS NOT DISTINCT FROM b", [F, F, F, F, T]),
        ("a IS NOT DISTINCT FROM NULL", [F, F, T, F, F]),
        ("a = ANY (ARRAY[1, NULL])", [T, None, None, None, None]),
        ("a <> ALL (ARRAY[]::int4[])", [T, T, T, T, T]),
        # per-row arrays (EEOP_ARRAYEXPR): elements that are column values
        ("a = ANY (ARRAY[b, 1])", [T, None, None, F, T]),
        ("a <> ALL (ARRAY[b, a + 1, 5])", [T, None, None, T, F]),
        ("a = ANY (ARRAY[a, NULL])", [T, T, None, T, T]),
        ("a > ALL (ARRAY[b - 100, a - 1])", [T, None, None, T, T]),
        ("f = ANY (ARRAY[a, b])", [F, None, None, F, T]),  # int8[] compared as float8
        ("a = ANY (ARRAY[NULL, b]::int8[])", [None, None, None, None, T]),
        ("a = ANY (ARRAY[CASE WHEN b = ANY (ARRAY[a, 10]) THEN 1 ELSE 42 END, 0])",
         [T, T, None, F, T]),
        ("abs(a - 1)", [0, 41, None, 6, 1]),
        ("a & 3", [1, 2, None, 3, 0]),
        ("GREATEST(a, b)", [10, 42, 30, 40, 0]),
        ("LEAST(a, b, NULL)", [1, 42, 30, -5, 0]),
        ("LEAST(f, 1)", [0.5, 1.0, 1.0, 1.0, "-0"]),
        ("a << 31", [-2147483648, 0, None, -2147483648, 0]),
        ("a << 33", [2, 84, None, -10, 0]),  # the count is taken modulo 32, as PostgreSQL on x86-64 and ARM64
        ("a + b", [11, None, None, 35, 0]),
        ("a + NULL", [None] * 5),
        ("-a", [-1, -42, None, 5, 0]),
        ("+a", [1, 42, None, -5, 0]),
    ],
)
def test_expressions(sql: str, expected: list) -> None:
    assert values(sql, SMALL) == expected


def test_per_row_array_evaluation_order() -> None:
    # PostgreSQL's order: the scalar, then every element in order (no short circuit, even for
    # a NULL scalar or a match), then the comparisons; row 0 has a = 1
    cases = {
        "a = ANY (ARRAY[a + 2147483647, 1 / (a - 1)])": "22003",
        "a = ANY (ARRAY[1 / (a - 1), a + 2147483647])": "22012",
        "a + 2147483647 = ANY (ARRAY[1 / (a - 1), b])": "22003",
        "NULL::int4 = ANY (ARRAY[b, 1 / (a - 1)])": "22012",
        "a = ANY (ARRAY[a, 1 / (a - 1)])": "22012",
        "a <> ALL (ARRAY[a, 1 / (a - 1)])": "22012",
        "a = ANY (ARRAY[b, f]::int8[])": "22003",  # NaN::int8, row 3
    }
    for sql, sqlstate in cases.items():
        for mode in ("evaluate", "filter"):
            code, _, row = error(sql, SMALL, mode)
            assert (code, row) == (sqlstate, 3 if "f]" in sql else 0), sql


def test_per_row_array_from_python() -> None:
    a, b = copypatch.col("a"), copypatch.col("b")
    assert values(a.any("=", b, 1), SMALL) == [T, None, None, F, T]
    assert values(a.all("<>", b, a + 1, 5), SMALL, "filter") == [T, F, F, T, F]


def test_first_failing_row_is_reported() -> None:
    t = {"a": np.array([5, 0, 3, 0], dtype=np.int32)}
    assert error("10 / a > 1", t) == ("22012", "division by zero", 1)
    assert error("10 / a > 1", t, "filter") == ("22012", "division by zero", 1)


def test_constant_folding_errors_at_compile_time() -> None:
    t = {"a": np.array([], dtype=np.int32)}
    with pytest.raises(EvalError) as ei:
        copypatch.compile("a = 1 / 0", t)
    assert (ei.value.sqlstate, ei.value.row) == ("22012", None)
    with pytest.raises(EvalError, match="integer out of range"):
        copypatch.compile("a > 2147483647 + 1", t)
    with pytest.raises(EvalError) as ei:
        copypatch.compile("CASE WHEN a > 0 THEN 'pos'::int4 END = 1", t)
    assert ei.value.sqlstate == "22P02"
    # a CASE arm is folded even if no row will ever take it, as in PostgreSQL
    with pytest.raises(EvalError):
        copypatch.compile("CASE WHEN a > 0 THEN 1 / 0 ELSE 1 END = 1", t)


def test_constant_folding_follows_the_planner() -> None:
    t = {"a": np.array([0, 1], dtype=np.int32)}
    # these never evaluate 1/0: simplification drops it first
    assert values("false AND 1 / 0 = 1", t) == [F, F]
    assert values("CASE WHEN false THEN 1 / 0 ELSE a END", t) == [0, 1]
    assert values("COALESCE(a, 2, 1 / 0)", t) == [0, 1]  # inputs after a constant are dropped
    with pytest.raises(EvalError):
        copypatch.compile("COALESCE(a, 1 / 0)", t)  # ... but those before it are folded
    # a strict function with a NULL input is NULL, without evaluating the other input
    assert values("a / 0 + NULL", t) == [None, None]
    assert values("(a / 0 = 1) AND NULL", t, "filter") == [F, F]  # one-time filter: no scan


def test_where_clause_quals_are_ordered_by_cost() -> None:
    # PostgreSQL runs the cheaper qual first, so `a = 1` protects the division
    t = {"a": np.array([0, 1], dtype=np.int32), "z": np.array([0, 1], dtype=np.int32)}
    assert values("10 / z > 1 AND a = 1", t, "filter") == [F, T]
    # as a SELECT-list expression, it is evaluated as written
    assert error("10 / z > 1 AND a = 1", t)[0] == "22012"


def test_every_opcode_is_exercised() -> None:
    t = {"a": nullable([1, None, 3], np.int32), "b": nullable([T, F, None], np.bool_)}
    exprs = [
        "a = 1", "a = 1 AND b", "a = 1 AND b AND a = 3", "a = 1 OR b OR a = 3", "NOT b", "b IS TRUE", "b IS NOT TRUE",
        "b IS FALSE", "b IS NOT FALSE", "a IS NULL", "a IS NOT NULL", "COALESCE(a, 2)",
        "CASE a WHEN 1 THEN 10 ELSE 20 END", "NULLIF(a, 1)", "a IN (1, 2)", "1", "a + 1",
        "a IS DISTINCT FROM 1", "GREATEST(a, 2)", "a = ANY (ARRAY[a, 2])",
    ]
    seen = set()
    for sql in exprs:
        for mode in ("filter", "evaluate"):
            prog = copypatch.compile(sql, t, optimize=())
            try:
                text = prog.explain(mode)
            except copypatch.CompileError:
                continue
            seen |= {w for w in text.split() if w.startswith("EEOP_")}
            run_all(sql, t, mode)
    from copypatch._fmgr import OPCODE_NAMES

    # PostgreSQL's opcodes: those before the optimised variants (test_optimize.py covers those)
    base = OPCODE_NAMES[: OPCODE_NAMES.index("EEOP_FUNCEXPR_STRICT_ARG0")]
    # no SQL we accept lowers to these two; test_raw_steps runs them
    missing = set(base) - seen - {"EEOP_FUNCEXPR", "EEOP_JUMP_IF_NULL"}
    assert not missing, f"opcodes no test exercises: {sorted(missing)}"


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_raw_steps(engine: str) -> None:
    """EEOP_FUNCEXPR (non-strict call) and EEOP_JUMP_IF_NULL, from hand-written steps."""
    from copypatch._core import lib

    from copypatch.layout import Executable
    from copypatch.nodes import Const
    from copypatch.schema import Column, Schema
    from copypatch.sqltypes import SqlType
    from copypatch.steps import RESULT, Arg, CallInfo, Step, StepProgram

    schema = Schema([Column("a", SqlType.INT4, True)])
    table = {"a": nullable([1, None, 5], np.int32)}
    steps = [
        Step("EEOP_SCAN_FETCHSOME", None, last_var=1),
        Step("EEOP_SCAN_VAR", RESULT, attnum=0, var_name="a"),
        Step("EEOP_JUMP_IF_NULL", RESULT, jumpdone=5),
        Step("EEOP_SCAN_VAR", Arg(0, 0), attnum=0, var_name="a"),
        Step("EEOP_FUNCEXPR", RESULT, fcinfo=0),
        Step("EEOP_DONE", None),
    ]
    calls = [CallInfo("int4pl", (SqlType.INT4, SqlType.INT4), {1: Const(SqlType.INT4, 10)})]
    exe = Executable(StepProgram(steps, calls, [], 0, SqlType.INT4), engine)
    vals, nulls = exe.scan(schema, table, lib.CP_SCAN_EVALUATE)
    assert nulls.tolist() == [False, True, False]
    assert vals[[0, 2]].tolist() == [11, 15]
