"""The SQL front end, the Python builder, compile errors and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import values

import copypatch
from copypatch import CompileError, case, coalesce, col, func, greatest, least, lit, nullif

T = {
    "a": np.array([1, 42, 7], dtype=np.int32),
    "b": np.ma.masked_array([5, 0, 9], mask=[False, True, False], dtype=np.int64),
    "f": np.array([0.5, 1.5, 2.5]),
    "flag": np.array([True, False, True]),
}


@pytest.mark.parametrize(
    "built, sql",
    [
        ((col("a") == 42) | (col("b") > 6), "a = 42 OR b > 6"),
        (~col("flag") & col("b").is_null(), "NOT flag AND b IS NULL"),
        ((col("a") + col("b")).cast("int8") > 1000, "CAST(a + b AS int8) > 1000"),
        (-col("a") * 2 - 1 < col("b") / 3 % 2, "-a * 2 - 1 < b / 3 % 2"),
        (col("a").isin(1, 7, None), "a IN (1, 7, NULL)"),
        (col("a").notin(1, 7), "a NOT IN (1, 7)"),
        (col("a").between(1, 10), "a BETWEEN 1 AND 10"),
        (case((col("a") > 5, 1), else_=0) == 1, "CASE WHEN a > 5 THEN 1 ELSE 0 END = 1"),
        (coalesce(col("b"), col("a")) > 4, "COALESCE(b, a) > 4"),
        (nullif(col("a"), 42).is_not_null(), "NULLIF(a, 42) IS NOT NULL"),
        (col("f") > 1.0, "f > 1.0"),
        (col("flag").is_not_false(), "flag IS NOT FALSE"),
        (lit(3) - col("a") >= 0, "3 - a >= 0"),
        (col("a").is_distinct_from(col("b")), "a IS DISTINCT FROM b"),
        (col("a").is_not_distinct_from(None), "a IS NOT DISTINCT FROM NULL"),
        (col("a").any("=", 1, 42), "a = ANY (ARRAY[1, 42])"),
        (col("b").all("<", 7, None), "b < ALL (ARRAY[7, NULL])"),
        (func("abs", col("a") - 42) > func("sqrt", col("f")), "abs(a - 42) > sqrt(f)"),
        (func("mod", col("a"), 5) == 2, "mod(a, 5) = 2"),
        (greatest(col("a"), col("b"), 3) > least(col("f"), 1.0), "GREATEST(a, b, 3) > LEAST(f, 1.0)"),
    ],
)
def test_builder_matches_sql(built: copypatch.expr.Expr, sql: str) -> None:  # type: ignore[name-defined]
    p1 = copypatch.compile(built, T)
    p2 = copypatch.compile(sql, T)
    assert p1.explain() == p2.explain()
    assert values(built, T, "filter") == values(sql, T, "filter")


def test_builder_expression_has_no_truth_value() -> None:
    with pytest.raises(TypeError, match="truth value"):
        bool(col("a") == 1)


@pytest.mark.parametrize(
    "sql, match, position",
    [
        ("a = ", "syntax error", None),
        ("zz = 1", 'column "zz" does not exist', 0),
        ("a = 1 AND nope > 2", 'column "nope" does not exist', 10),
        ("a + flag > 1", "operator does not exist: integer \\+ boolean", 2),
        ("a AND flag", "argument of AND must be type boolean, not type integer", None),
        ("a + 1.5 > 2", "numeric", 2),
        ("f + 1.5 * a > 1", "numeric", None),
        ("a LIKE 'x'", "unsupported syntax: AEXPR_LIKE", 2),
        ("lower(a) = 1", "function lower\\(integer\\) does not exist or is not supported", 0),
        ("abs(flag) = 1", "function abs\\(boolean\\) does not exist", 0),
        ("sqrt(2.0) > f", "numeric", 0),
        ("count(*) > 1", "aggregate or window", 0),
        ("sum(a) OVER () > 1", "aggregate or window", 0),
        ("abs(x => a) > 1", "named function argument", None),
        ("num_nulls(VARIADIC ARRAY[a, 1]) = 1", "VARIADIC array\\) is not supported", 0),
        ("num_nulls() = 0", "function num_nulls\\(\\) does not exist", 0),
        ("gcd(a, 1.5) > 1", "numeric", 0),
        ("gcd(flag, 1) > 1", "function gcd\\(boolean, integer\\) does not exist", 0),
        ("width_bucket(f, 0, 1.5, 3) = 1", "numeric", 0),
        ("a = ANY(b_array)", "ANY/ALL over anything but ARRAY", None),
        ("a = ANY(ARRAY[b, 1.5])", "numeric", None),
        ("a = ANY(ARRAY[b, flag])", "ARRAY types bigint and boolean cannot be matched", None),
        ("a = ANY(ARRAY[b, f]::int4[] || ARRAY[1])", "ANY/ALL over anything but ARRAY", None),
        ("a = ANY(ARRAY[])", "syntax error|empty array", None),
        ("a = ANY(ARRAY[[1]])", "multidimensional", None),
        ("a = ANY('{{1},{2}}')", "multidimensional array literals", None),
        ("a = ANY('[1:2]={1,2}')", "dimension decorations", None),
        ("a + ANY(ARRAY[1])", "requires operator to yield boolean", None),
        ("a IS DISTINCT FROM flag", "operator does not exist: integer = boolean", None),
        ("a !~ 'x'", "operator !~ is not supported", None),
        ("GREATEST(a, flag)", "GREATEST types integer and boolean cannot be matched", None),
        ("(SELECT 1) = a", "unsupported syntax", None),
        ("a::text = 'x'", 'type "text" is not supported', None),
        ("CASE WHEN a > 1 THEN flag ELSE a END", "CASE types boolean and integer cannot be matched", None),
        ("NULL + NULL > 1", "operator is not unique", None),
        ("t.a = 1", "qualified column reference", 0),
        ("a = 1; DROP TABLE t", "expected one expression", None),
        ("1 FROM t", "syntax error", None),
    ],
)
def test_compile_errors(sql: str, match: str, position: int | None) -> None:
    with pytest.raises(CompileError, match=match) as ei:
        copypatch.compile(sql, T)
    if position is not None:
        assert ei.value.position == position


def test_where_requires_boolean() -> None:
    prog = copypatch.compile("a + 1", T)
    assert values("a + 1", T) == [2, 43, 8]
    with pytest.raises(CompileError, match="argument of WHERE must be type boolean"):
        prog.filter(T)


def test_schema_forms() -> None:
    schema = {"a": np.int32, "b": (np.int64, True), "f": "float64", "flag": np.dtype(bool)}
    prog = copypatch.compile("a = 42 OR b > 6", schema)
    assert prog.filter(T).tolist() == [False, True, True]
    # a nullable column may be given as a plain array
    prog.filter({**T, "b": np.array([5, 0, 9], dtype=np.int64)})


@pytest.mark.parametrize(
    "table, exc, match",
    [
        ({**T, "a": np.array([1, 2, 3], dtype=np.int64)}, TypeError, "dtype int64"),
        ({**T, "a": np.array([1, 2], dtype=np.int32)}, ValueError, "rows"),
        ({**T, "a": np.array([1, 2, 3], dtype=object)}, TypeError, "object"),
        ({**T, "a": [1, 2, 3]}, TypeError, "not a numpy array"),
        ({k: v for k, v in T.items() if k != "a"}, KeyError, "no column"),
        ({**T, "a": np.zeros((3, 1), dtype=np.int32)}, ValueError, "dimensions"),
        ({**T, "a": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], dtype=np.int32)}, ValueError,
         "NOT NULL"),
        ({**T, "a": np.array([1, 2, 3], dtype=">i4")}, TypeError, "byte order"),
        ([1, 2, 3], TypeError, "mapping"),
    ],
)
def test_bad_tables(table: object, exc: type, match: str) -> None:
    prog = copypatch.compile("a = 42", T)
    with pytest.raises(exc, match=match):
        prog.filter(table)  # type: ignore[arg-type]


def test_bad_compile_arguments() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        copypatch.compile("a = 1", T, engine="llvm")
    with pytest.raises(TypeError, match="unsupported column dtype"):
        copypatch.compile("a = 1", {"a": np.array(["x"])})
    with pytest.raises(TypeError):
        copypatch.compile(42, T)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        copypatch.compile("a = 1", "a int")  # type: ignore[arg-type]
    with pytest.raises(CompileError, match="NUL"):
        copypatch.compile("a = 1\x00", T)
    with pytest.raises(CompileError, match="not valid Unicode"):
        copypatch.compile("\ud800c0 = 1", T)  # a lone surrogate: pglast cannot encode it


def test_columns_are_not_copied_and_strides_work() -> None:
    big = np.arange(20, dtype=np.int32)
    view = {"a": big[::2]}  # every other value: a strided view, read in place
    assert values("a % 4 = 0", view, "filter") == [v % 4 == 0 for v in big[::2].tolist()]
    masked = np.ma.masked_array(np.arange(10, dtype=np.int32), mask=np.arange(10) % 3 == 0)
    t = {"a": masked[::-1]}
    assert values("a IS NULL", t) == [v % 3 == 0 for v in range(9, -1, -1)]


def test_empty_and_constant_tables() -> None:
    empty = {"a": np.array([], dtype=np.int32)}
    assert copypatch.compile("a = 1", empty).filter(empty).tolist() == []
    assert copypatch.compile("a + 1", empty).evaluate(empty).tolist() == []
    t = {"a": np.array([1, 2], dtype=np.int32)}
    assert values("true", t, "filter") == [True, True]
    assert values("NULL::bool", t, "filter") == [False, False]
    assert values("1 + 1", t) == [2, 2]


def test_deep_nesting_is_a_clean_error() -> None:
    deep = "(" * 3000 + "a" + ")" * 3000 + " = 1"
    try:
        prog = copypatch.compile(deep, T)
    except CompileError:
        return
    assert prog.filter(T).tolist() == [True, False, False]
    chain = " + ".join(["a"] * 5000) + " > 0"
    with pytest.raises(CompileError):
        copypatch.compile(chain, T)


def test_close() -> None:
    prog = copypatch.compile("a = 1", T)
    prog.close()
    with pytest.raises(ValueError, match="closed"):
        prog.filter(T)


@pytest.mark.parametrize("depth", range(300, 1000, 50))
def test_nesting_between_the_parser_and_the_compiler(depth: int) -> None:
    """Deep enough for the parser, too deep for the recursive analysis and planning: either it
    compiles and runs, or CompileError; never RecursionError (found at depth 350-450)."""
    forms = ["-(" * depth + "a" + ")" * depth, "abs(" * depth + "a" + ")" * depth,
             "(a + " * depth + "1" + ")" * depth, "NOT (" * depth + "a > 1" + ")" * depth,
             "GREATEST(" * depth + "a" + ")" * depth]
    for sql in forms:
        for engine in copypatch.ENGINES:
            try:
                prog = copypatch.compile(sql, T, engine=engine)
                prog.evaluate(T)
                prog.explain("evaluate")
            except CompileError:
                pass


def test_num_nulls_takes_up_to_func_max_args() -> None:
    """VARIADIC "any": any number of arguments up to PostgreSQL's FUNC_MAX_ARGS (100), each call
    info sized for its own."""
    for engine in ("switch", "goto", "jit"):
        prog = copypatch.compile("num_nulls(" + ", ".join(["b"] * 100) + ") = 100", T, engine=engine)
        assert prog.filter(T).tolist() == [False, True, False]
    with pytest.raises(CompileError, match="cannot pass more than 100 arguments"):
        copypatch.compile("num_nulls(" + ", ".join(["b"] * 101) + ") = 0", T)
