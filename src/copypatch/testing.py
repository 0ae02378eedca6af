"""Hypothesis strategies and differential properties: every engine, and PostgreSQL, must agree.

The strategies generate what copypatch supports and nothing else: schemas of the six column types,
tables full of the values that break evaluators (NULLs, INT_MIN/INT_MAX, 0, -1, NaN, +-Infinity,
-0, huge and tiny floats) and well-typed expressions over the whole grammar (every operator,
cast, CASE, COALESCE, NULLIF, IN, BETWEEN, IS tests, AND/OR/NOT, nested up to a bound), rendered
as SQL text. Which operator applies to which types is not guessed: it is asked of copypatch's own
front end once, at import, so every generated expression is one that compile() accepts; a
CompileError on generated input is a bug of these strategies, reported as such.

The properties compare outcomes: ``("ok", values)`` with NULL as None, NaN as "NaN" and -0.0 as
"-0", or ``("error", sqlstate, message, row)``. Engines must agree on all of it, for every
optimisation setting; PostgreSQL only reports its first error's SQLSTATE, so that is what is
compared with it. A mismatch raises :class:`Mismatch`, whose message holds a regression test ready
to paste.

    from hypothesis import given
    from copypatch.testing import cases, check_engines

    @given(cases())
    def test_engines_agree(case):
        check_engines(case)
"""

from __future__ import annotations

import collections
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

import copypatch

from . import _datetime
from ._errors import CompileError, EvalError
from .analyze import analyze
from .schema import Column, Schema
from .sqltypes import TYPE_NAMES, SqlType

__all__ = [
    "TYPES",
    "Case",
    "DeclarationMismatch",
    "Expression",
    "Mismatch",
    "StrategyBug",
    "as_list",
    "cases",
    "check_engines",
    "check_hostile",
    "check_postgres",
    "checked_outcomes",
    "expressions",
    "hostile_programs",
    "make_case",
    "optimization_settings",
    "outcome",
    "postgres_outcome",
    "quals",
    "same_libm",
    "schemas",
    "table_source",
    "tables",
    "uses_libm",
    "values_of",
]

TYPES = SqlType.stored()  # every type of csrc/types.def: a new one is drawn at once
_NUMERIC_TYPES = tuple(t for t in TYPES if t.info.category == "N")
_ARITH = ("+", "-", "*", "/", "%", "&", "|", "#", "<<", ">>", "^")
_PREFIX = ("-", "+", "~", "@", "|/", "||/")
# functions called by name in generated expressions: the math functions, casts by type name, and
# a few built-ins by their pg_proc names
_CALLED = ("abs", "mod", "sqrt", "cbrt", "exp", "ln", "log", "log10", "ceil", "ceiling", "floor",
           "round", "trunc", "sign", "power", "pow", "int2", "int4", "int8", "float4", "float8",
           "bool", "int4eq", "int4pl", "int8mul", "float8div", "int24lt", "int4mod", "float48ge",
           "int2abs", "int8shl", "sin", "cos", "tan", "cot", "asin", "acos", "atan", "atan2",
           "degrees", "radians", "gcd", "lcm", "width_bucket", "sinh", "cosh", "tanh", "asinh",
           "acosh", "atanh", "sind", "cosd", "tand", "cotd", "asind", "acosd", "atand", "atan2d",
           "pi", "isfinite", "make_date", "date", "date_lt_timestamp", "timestamp_ge_date",
           "date_cmp")
# the units of date_part and date_trunc, drawn as they are spelled: PostgreSQL's names and
# abbreviations, upper case, units date_trunc lacks, and words that are no unit (errors)
_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month",
          "quarter", "year", "decade", "century", "millennium", "julian", "isoyear", "dow",
          "isodow", "doy", "epoch", "YEAR", "Mon", "msec", "us", "millenniums", "timezone",
          "now", "foo", "january")
# VARIADIC "any" functions, drawn with one to four arguments of any types (_Gen.variadic_any)
_VARIADIC_ANY = ("num_nulls", "num_nonnulls")
_CMP = ("=", "<>", "<", "<=", ">", ">=")
# the last date that has a timestamp (294276-12-31), and numpy's last timestamp (294247-01-10)
_LAST_TIMESTAMP_DAY = _datetime.TIMESTAMP_END // _datetime.USECS_PER_DAY - 1
_NUMPY_LAST_TIMESTAMP = _datetime.NUMPY_INFINITY - 1 - _datetime.UNIX_EPOCH_DAYS * _datetime.USECS_PER_DAY
# cast target spellings, all of which PostgreSQL's grammar accepts
_SPELLINGS = {t: tuple(name for name, u in TYPE_NAMES.items() if u is t) for t in TYPES}


class Mismatch(AssertionError):
    """Two engines, or copypatch and PostgreSQL, answered the same question differently."""


class StrategyBug(AssertionError):
    """copypatch rejected (CompileError) an expression these strategies generated."""


# ---- what the front end accepts, asked of the front end ------------------------------------
def _probe_schema() -> Schema:
    return Schema([Column(f"x_{t.value}", t, True) for t in TYPES])


def _operand(t: SqlType | str) -> str:
    if t == "numeric":
        return "1.5"
    if t == "unknown":
        return "NULL"
    assert isinstance(t, SqlType)
    return f"x_{t.value}"


def _type_of(text: str) -> SqlType | None:
    from .sql import parse

    try:
        node = analyze(parse(text), _probe_schema())
    except (CompileError, EvalError):
        return None
    if node.type in (SqlType.UNKNOWN, SqlType.NUMERIC):
        return None
    return node.type


@dataclass(frozen=True)
class _Signatures:
    binary: dict[SqlType, list[tuple[str, SqlType | str, SqlType | str]]]  # result -> (op, l, r)
    unary: dict[SqlType, list[tuple[str, SqlType]]]
    casts: dict[SqlType, list[SqlType]]  # target -> sources (explicit casts)
    nullif: dict[SqlType, list[tuple[SqlType, SqlType]]]  # result -> (a, b)
    calls: dict[SqlType, list[tuple[str, tuple[SqlType, ...]]]]  # result -> (function, args)
    comparable: dict[SqlType, list[SqlType]]  # x -> types y with `x = y` (and every comparison)


@lru_cache(maxsize=1)
def signatures() -> _Signatures:
    """Every operator, cast and NULLIF copypatch supports over its types, and their result types."""
    binary: dict[SqlType, list[tuple[str, SqlType | str, SqlType | str]]] = {t: [] for t in TYPES}
    operands: list[SqlType | str] = [*TYPES, "numeric"]
    for op in (*_ARITH, *_CMP):
        for lt in operands:
            for rt in operands:
                if lt == "numeric" and rt == "numeric":
                    continue
                r = _type_of(f"{_operand(lt)} {op} {_operand(rt)}")
                if r is not None:
                    binary[r].append((op, lt, rt))
    unary: dict[SqlType, list[tuple[str, SqlType]]] = {t: [] for t in TYPES}
    for op in _PREFIX:
        for t in TYPES:
            r = _type_of(f"{op} {_operand(t)}")
            if r is not None:
                unary[r].append((op, t))
    casts: dict[SqlType, list[SqlType]] = {t: [] for t in TYPES}
    for s in TYPES:
        for t in TYPES:
            if s is not t and _type_of(f"CAST({_operand(s)} AS {t.value})") is t:
                casts[t].append(s)
    nullif: dict[SqlType, list[tuple[SqlType, SqlType]]] = {t: [] for t in TYPES}
    comparable: dict[SqlType, list[SqlType]] = {t: [] for t in TYPES}
    for a in TYPES:
        for b in TYPES:
            r = _type_of(f"NULLIF({_operand(a)}, {_operand(b)})")
            if r is not None:
                nullif[r].append((a, b))
            if all(_type_of(f"{_operand(a)} {op} {_operand(b)}") for op in _CMP):
                comparable[a].append(b)
    calls: dict[SqlType, list[tuple[str, tuple[SqlType, ...]]]] = {t: [] for t in TYPES}
    from . import _pgcatalog

    for name, *argnames in sorted(_pgcatalog.FUNCTION_CALLS):
        if name not in _CALLED or not set(argnames) <= {t.value for t in TYPES}:
            continue
        argtypes = tuple(SqlType(a) for a in argnames)
        r = _type_of(f"{name}({', '.join(_operand(a) for a in argtypes)})")
        if r is not None:
            calls[r].append((name, argtypes))
    return _Signatures(binary, unary, casts, nullif, calls, comparable)


# ---- values and tables ---------------------------------------------------------------------
def _special_ints(lo: int, hi: int) -> list[int]:
    return [0, -1, 1, lo, hi, lo + 1, hi - 1, 2, -2, 7, 42, 100]


_SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, math.nan, math.inf, -math.inf, 1.5, 2.5, -2.5]
_SPECIAL_FLOAT8 = [1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
                   1e300, 1e-300, 2147483647.5, 9.2233720368547758e18, 32767.5, -32768.5]
_SPECIAL_FLOAT4 = [3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45,
                   1.1754943508222875e-38, 1e30, 1e-30, 2147483648.0, 32767.5, -32768.5]


def values_of(t: SqlType) -> st.SearchStrategy[Any]:
    """Non-NULL values of type t, biased to the edges: extremes, zero, -1, NaN, infinities, -0."""
    if t is SqlType.BOOL:
        return st.booleans()
    if t.is_integer:
        lo, hi = t.int_range
        return st.one_of(
            st.sampled_from(_special_ints(lo, hi)),
            st.integers(-100, 100),
            st.integers(lo, hi),
        )
    if t is SqlType.DATE:
        # PostgreSQL's days from 2000-01-01: its range's ends, the infinities, the last day with
        # a timestamp and the first without, leap days, and mostly the years around 2000
        return st.one_of(
            st.sampled_from([0, -1, 1, 59, -10957, _datetime.DATEVAL_NOBEGIN,
                             _datetime.DATEVAL_NOEND, _datetime.DATE_MIN, _datetime.DATE_END - 1,
                             _LAST_TIMESTAMP_DAY, _LAST_TIMESTAMP_DAY + 1]),
            st.integers(-40_000, 40_000),
            st.integers(_datetime.DATE_MIN, _datetime.DATE_END - 1),
        )
    if t is SqlType.TIMESTAMP:
        # microseconds from 2000-01-01, up to numpy's last (PostgreSQL's go 30 years further)
        day = _datetime.USECS_PER_DAY
        return st.one_of(
            st.sampled_from([0, -1, 1, day - 1, day, -10957 * day, _datetime.DT_NOBEGIN,
                             _datetime.DT_NOEND, _datetime.TIMESTAMP_MIN, _NUMPY_LAST_TIMESTAMP]),
            st.integers(-40_000 * day, 40_000 * day),
            st.integers(_datetime.TIMESTAMP_MIN, _NUMPY_LAST_TIMESTAMP),
        )
    if not t.is_float:
        raise TypeError(f"no strategy for values of type {t.sql_name}: add one to values_of")
    specials = _SPECIAL_FLOATS + (_SPECIAL_FLOAT4 if t is SqlType.FLOAT4 else _SPECIAL_FLOAT8)
    width: Literal[32, 64] = 32 if t is SqlType.FLOAT4 else 64
    return st.one_of(
        st.sampled_from(specials),
        st.integers(-100, 100).map(float),
        st.floats(width=width),
    )


@st.composite
def schemas(draw: st.DrawFn, min_columns: int = 1, max_columns: int = 6) -> Schema:
    """Columns c0, c1, ... of the supported types, each nullable or NOT NULL."""
    n = draw(st.integers(min_columns, max_columns))
    return Schema(
        [Column(f"c{i}", draw(st.sampled_from(TYPES)), draw(st.booleans())) for i in range(n)]
    )


def column_array(t: SqlType, values: list[Any]) -> np.ndarray:
    """A numpy column of type t holding values (PostgreSQL's days or microseconds for date and
    timestamp, which the column stores from 1970, infinities as numpy's extremes)."""
    if t.info.column == "PLAIN":
        return np.array(values, dtype=t.dtype)
    return np.array([_datetime.to_numpy(t.value, v) for v in values], dtype=np.int64).view(t.dtype)


@st.composite
def tables(draw: st.DrawFn, schema: Schema, min_rows: int = 0, max_rows: int = 20) -> dict[str, Any]:
    """A table for schema: plain arrays for NOT NULL columns, masked arrays for nullable ones."""
    n = draw(st.integers(min_rows, max_rows))
    out: dict[str, Any] = {}
    for c in schema.columns:
        data = column_array(c.type, draw(st.lists(values_of(c.type), min_size=n, max_size=n)))
        if c.nullable:
            mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.bool_)
            out[c.name] = np.ma.masked_array(data, mask=mask)
        else:
            out[c.name] = data
    return out


# ---- expressions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Expression:
    """A generated expression: SQL text and the type copypatch (and PostgreSQL) give it."""

    sql: str
    type: SqlType

    def __str__(self) -> str:
        return self.sql


_BARE_NUMBER = re.compile(r"\(?-?[0-9]+\)?")


def _int_literal(v: int) -> str:
    return f"({v})" if v < 0 else str(v)


def _float_text(t: SqlType, v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return repr(float(np.float32(v))) if t is SqlType.FLOAT4 else repr(float(v))


def _element_text(t: SqlType, v: Any) -> str:
    """v as an array literal's element: the type's text form, double-quoted when it has a space."""
    if t is SqlType.BOOL:
        return "t" if v else "f"
    if t.is_integer:
        return str(v)
    if t in (SqlType.DATE, SqlType.TIMESTAMP):
        text = _datetime_text(t, v)
        return f'"{text}"' if " " in text else text
    return _float_text(t, v)


def _datetime_text(t: SqlType, v: int) -> str:
    return _datetime.date_out(v) if t is SqlType.DATE else _datetime.timestamp_out(v)


@st.composite
def literals(draw: st.DrawFn, t: SqlType) -> str:
    """A constant of type t, in one of the spellings PostgreSQL reads as that type."""
    if t is SqlType.BOOL:
        v = draw(st.booleans())
        return draw(st.sampled_from(["TRUE" if v else "FALSE", f"'{'t' if v else 'f'}'::bool"]))
    v = draw(values_of(t))
    if t is SqlType.INT4:
        return draw(st.sampled_from([_int_literal(v), f"'{v}'::int4", f"CAST({_int_literal(v)} AS int4)"]))
    if t is SqlType.INT2:
        return draw(st.sampled_from([f"{_int_literal(v)}::int2", f"'{v}'::smallint"]))
    if t is SqlType.INT8:
        if -(2**31) <= v < 2**31:
            return draw(st.sampled_from([f"{_int_literal(v)}::int8", f"'{v}'::bigint"]))
        return _int_literal(v)  # PostgreSQL types a literal beyond int4 as int8
    if t in (SqlType.DATE, SqlType.TIMESTAMP):
        text = _datetime_text(t, v)
        return draw(st.sampled_from([f"'{text}'::{t.value}", f"{t.value} '{text}'",
                                     f"CAST('{text}' AS {t.value})"]))
    name = t.value
    text = _float_text(t, v)
    if math.isfinite(v) and text != "-0" and draw(st.booleans()):
        # a numeric literal cast to the float type: numeric_float4/8 of its text
        return f"{text if v >= 0 else f'({text})'}::{name}"
    return f"'{text}'::{name}"


def _numeric_literal(v: float) -> str:
    text = repr(float(v))
    if "e" not in text and "." not in text:
        text += ".0"
    return text if v >= 0 else f"({text})"


@dataclass
class _Gen:
    """The recursive generator: draws an expression of a given type within a depth budget."""

    draw: st.DrawFn
    schema: Schema
    sig: _Signatures = field(default_factory=signatures)

    def columns(self, t: SqlType) -> list[str]:
        return [c.name for c in self.schema.columns if c.type is t]

    def leaf(self, t: SqlType) -> str:
        cols = self.columns(t)
        kinds = (["column"] if cols else []) + ["literal", "null"]
        kind = self.draw(st.sampled_from(kinds))
        if kind == "column":
            return self.draw(st.sampled_from(cols))
        if kind == "literal":
            return self.draw(literals(t))
        return self.draw(st.sampled_from([f"NULL::{t.value}", f"CAST(NULL AS {t.value})"]))

    def expr(self, t: SqlType, depth: int) -> str:
        if depth <= 0 or self.draw(st.integers(0, 3)) == 0:
            return self.leaf(t)
        kinds = ["leaf", "case", "coalesce", "nullif", "cast", "minmax"]
        if self.sig.binary[t]:  # no operator of copypatch's types gives a timestamp
            kinds.append("binary")
        if self.sig.calls[t]:
            kinds.append("call")
        if t in (SqlType.FLOAT8, SqlType.TIMESTAMP):
            kinds.append("datetime_unit")
        if t is SqlType.INT4:
            kinds.append("variadic_any")
        if t is SqlType.BOOL:
            kinds += ["andor", "not", "nulltest", "booltest", "between", "in", "compare", "compare",
                      "distinct", "anyall"]
        elif self.sig.unary[t]:
            kinds.append("unary")
        kind = self.draw(st.sampled_from(kinds))
        d = depth - 1
        if kind == "leaf":
            return self.leaf(t)
        if kind in ("binary", "compare"):
            choices = self.sig.binary[t]
            if kind == "compare":
                choices = [c for c in choices if c[0] in _CMP]
            op, lt, rt = self.draw(st.sampled_from(choices))
            return f"{self.operand(lt, d)} {op} {self.operand(rt, d)}"
        if kind == "unary":
            op, at = self.draw(st.sampled_from(self.sig.unary[t]))
            inner = self.expr(at, d)
            if _BARE_NUMBER.fullmatch(inner):
                # the grammar negates a literal in place (doNegate), parentheses or not, and
                # -(-2147483648) is the int8 2147483648: keep the operand an int4/int8 value
                inner = f"CAST({inner} AS {at.value})"
            return f"{op} ({inner})"
        if kind == "cast":
            if not self.sig.casts[t]:
                return self.leaf(t)
            s = self.draw(st.sampled_from(self.sig.casts[t]))
            name = self.draw(st.sampled_from(_SPELLINGS[t]))
            inner = self.expr(s, d)
            if " " in name or self.draw(st.booleans()):
                return f"CAST({inner} AS {name})"
            return f"({inner})::{name}"
        if kind == "case":
            return self.case(t, d)
        if kind == "coalesce":
            return f"COALESCE({', '.join(self.args_maybe_null(t, d, 3))})"
        if kind == "nullif":
            a, b = self.draw(st.sampled_from(self.sig.nullif[t]))
            return f"NULLIF({self.expr(a, d)}, {self.expr(b, d)})"
        if kind == "andor":
            op = self.draw(st.sampled_from(["AND", "OR"]))
            n = self.draw(st.integers(2, 4))
            return f" {op} ".join(f"({self.expr(SqlType.BOOL, d)})" for _ in range(n))
        if kind == "not":
            return f"NOT ({self.expr(SqlType.BOOL, d)})"
        if kind == "nulltest":
            at = self.draw(st.sampled_from(TYPES))
            test = self.draw(st.sampled_from(["IS NULL", "IS NOT NULL"]))
            return f"({self.expr(at, d)}) {test}"
        if kind == "booltest":
            test = self.draw(st.sampled_from(
                ["IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", "IS UNKNOWN", "IS NOT UNKNOWN"]
            ))
            return f"({self.expr(SqlType.BOOL, d)}) {test}"
        if kind == "between":
            xt = self.draw(st.sampled_from(TYPES))
            lo_t = self.draw(st.sampled_from(self.sig.comparable[xt]))
            hi_t = self.draw(st.sampled_from(self.sig.comparable[xt]))
            neg = self.draw(st.sampled_from(["", "NOT "]))
            sym = self.draw(st.sampled_from(["", "SYMMETRIC "]))
            return (f"({self.expr(xt, d)}) {neg}BETWEEN {sym}({self.expr(lo_t, d)}) "
                    f"AND ({self.expr(hi_t, d)})")
        if kind == "in":
            return self.in_list(d)
        if kind == "call":
            # a name first, then its signature: every function is drawn as often as any other
            name = self.draw(st.sampled_from(sorted({n for n, _ in self.sig.calls[t]})))
            argtypes = self.draw(st.sampled_from([a for n, a in self.sig.calls[t] if n == name]))
            return f"{name}({', '.join(self.expr(a, d) for a in argtypes)})"
        if kind == "variadic_any":
            return self.variadic_any(d)
        if kind == "datetime_unit":
            # date_part('unit', date or timestamp) (float8), date_trunc('unit', timestamp)
            unit = self.draw(st.sampled_from(_UNITS))
            if t is SqlType.FLOAT8:
                arg_t = self.draw(st.sampled_from([SqlType.DATE, SqlType.TIMESTAMP]))
                return f"date_part('{unit}', {self.expr(arg_t, d)})"
            return f"date_trunc('{unit}', {self.expr(SqlType.TIMESTAMP, d)})"
        if kind == "distinct":
            xt = self.draw(st.sampled_from(TYPES))
            yt = self.draw(st.sampled_from(self.sig.comparable[xt]))
            neg = self.draw(st.sampled_from(["", "NOT "]))
            right = "NULL" if self.draw(st.integers(0, 5)) == 0 else f"({self.expr(yt, d)})"
            return f"({self.expr(xt, d)}) IS {neg}DISTINCT FROM {right}"
        if kind == "anyall":
            return self.any_all(d)
        if kind == "minmax":
            args = self.args_maybe_null(t, d, 4)
            return f"{self.draw(st.sampled_from(['GREATEST', 'LEAST']))}({', '.join(args)})"
        raise AssertionError(kind)

    def variadic_any(self, d: int) -> str:
        """num_nulls(...) / num_nonnulls(...): arguments of any types, untyped NULLs among them."""
        name = self.draw(st.sampled_from(_VARIADIC_ANY))
        n = self.draw(st.integers(1, 4))
        args = [self.expr(self.draw(st.sampled_from(TYPES)), d) for _ in range(n)]
        if self.draw(st.booleans()):
            args.insert(self.draw(st.integers(0, n)), "NULL")
        return f"{name}({', '.join(args)})"

    def args_maybe_null(self, t: SqlType, d: int, most: int) -> list[str]:
        """1..most expressions of type t, and sometimes a NULL literal among them."""
        n = self.draw(st.integers(1, most))
        args = [self.expr(t, d) for _ in range(n)]
        if self.draw(st.booleans()):
            args.insert(self.draw(st.integers(0, n)), "NULL")
        return args

    def operand(self, t: SqlType | str, depth: int) -> str:
        if t == "numeric":
            return _numeric_literal(self.draw(st.sampled_from(
                [1.5, 0.1, -2.5, 1e-300, 3.5e38, 1e308, 0.0, 2147483647.5, 1e-50])))
        assert isinstance(t, SqlType)
        return f"({self.expr(t, depth)})"

    def case(self, t: SqlType, d: int) -> str:
        n = self.draw(st.integers(1, 3))
        simple = self.draw(st.booleans())
        parts = ["CASE"]
        if simple:
            xt = self.draw(st.sampled_from(TYPES))
            parts.append(f"({self.expr(xt, d)})")
        for _ in range(n):
            if simple:
                wt = self.draw(st.sampled_from(self.sig.comparable[xt]))
                cond = self.expr(wt, d)
            else:
                cond = self.expr(SqlType.BOOL, d)
            parts.append(f"WHEN ({cond}) THEN ({self.expr(t, d)})")
        default = self.draw(st.sampled_from(["none", "null", "expr", "expr"]))
        if default == "null":
            parts.append("ELSE NULL")
        elif default == "expr":
            parts.append(f"ELSE ({self.expr(t, d)})")
        parts.append("END")
        return " ".join(parts)

    def any_all(self, d: int) -> str:
        """x op ANY|ALL (ARRAY[...]), the array typed by its elements or a cast: constants, or
        per row (PostgreSQL's ArrayExpr) elements that are expressions over the columns."""
        xt = self.draw(st.sampled_from(TYPES))
        et = self.draw(st.sampled_from(self.sig.comparable[xt]))
        op = self.draw(st.sampled_from(_CMP))
        n = self.draw(st.integers(0, 5))
        quant = self.draw(st.sampled_from(["ANY", "ALL", "SOME"]))
        if self.draw(st.booleans()):
            return f"({self.expr(xt, d)}) {op} {quant} ({self.per_row_array(xt, et, d)})"
        if self.draw(st.integers(0, 7)) == 0:
            # a NULL array, typed or not: NULL once the scalar is evaluated
            array = self.draw(st.sampled_from(["NULL", f"NULL::{et.value}[]"]))
            return f"({self.expr(xt, d)}) {op} {quant} ({array})"
        if self.draw(st.booleans()):
            # an array literal, '{...}': array_in reads each element with the input function of
            # the cast's type, or of the type the operator wants when there is no cast
            texts = [self.draw(st.one_of(values_of(et).map(lambda v: _element_text(et, v)),
                                         st.just("NULL"))) for _ in range(n)]
            typed = f"::{et.value}[]" if self.draw(st.booleans()) else ""
            return f"({self.expr(xt, d)}) {op} {quant} ('{{{', '.join(texts)}}}'{typed})"
        items = [self.draw(st.one_of(literals(et), st.just("NULL"))) for _ in range(n)]
        cast = self.draw(st.booleans()) or not items or all(i == "NULL" for i in items)
        array = f"ARRAY[{', '.join(items)}]" + (f"::{et.value}[]" if cast else "")
        return f"({self.expr(xt, d)}) {op} {quant} ({array})"

    def per_row_array(self, xt: SqlType, et: SqlType, d: int) -> str:
        """ARRAY[...] with at least one element an expression: of types of et's family, which
        share a common type comparable with xt (or are cast explicitly to et[]), with
        constants and NULLs among them."""
        family = [u for u in self.sig.comparable[et] if u in self.sig.comparable[xt]]
        columns = [c for u in family for c in self.columns(u)]
        n = self.draw(st.integers(1, 4))
        items = []
        for _ in range(n):
            kind = self.draw(st.sampled_from(["expr", "column", "literal", "null"]))
            it = self.draw(st.sampled_from(family))
            if kind == "literal":
                items.append(self.draw(literals(it)))
            elif kind == "null":
                items.append("NULL")
            elif kind == "column" and columns:
                items.append(f"({self.draw(st.sampled_from(columns))})")
            else:
                items.append(f"({self.expr(it, d)})")
        if not any(i.startswith("(") for i in items):
            at = self.draw(st.integers(0, n))
            items.insert(at, f"({self.expr(self.draw(st.sampled_from(family)), d)})")
        cast = f"::{et.value}[]" if self.draw(st.booleans()) else ""
        return f"ARRAY[{', '.join(items)}]{cast}"

    def in_list(self, d: int) -> str:
        xt = self.draw(st.sampled_from(TYPES))
        family = [u for u in self.sig.comparable[xt]]
        n = self.draw(st.integers(0, 6))
        items = []
        for _ in range(n):
            kind = self.draw(st.sampled_from(["literal", "literal", "null", "expr"]))
            it = self.draw(st.sampled_from(family))
            if kind == "literal":
                items.append(self.draw(literals(it)))
            elif kind == "null":
                items.append("NULL")
            else:
                items.append(self.expr(it, d))
        if not items or all(i == "NULL" for i in items):
            items.append(self.draw(literals(xt)))  # PostgreSQL's grammar needs one; NULLs alone are text
        neg = self.draw(st.sampled_from(["", "NOT "]))
        return f"({self.expr(xt, d)}) {neg}IN ({', '.join(items)})"


@st.composite
def expressions(
    draw: st.DrawFn, schema: Schema, type: SqlType | None = None, max_depth: int = 4
) -> Expression:
    """A well-typed expression over schema's columns, of the given type (or any), as SQL."""
    t = type if type is not None else draw(st.sampled_from([SqlType.BOOL, SqlType.BOOL, *TYPES]))
    sql = _Gen(draw, schema).expr(t, draw(st.integers(0, max_depth)))
    return Expression(sql, t)


@st.composite
def quals(draw: st.DrawFn, schema: Schema, max_conjuncts: int = 5) -> Expression:
    """A WHERE clause shaped like real ones, to exercise qual processing: ANDs (and ORs of ANDs)
    of short comparisons, `col = const` and `col = col` equalities (equivalence classes), and
    arithmetic that can fail (so that the order PostgreSQL evaluates quals in shows)."""
    gen = _Gen(draw, schema)

    def simple() -> str:
        t = draw(st.sampled_from(TYPES))
        kind = draw(st.sampled_from(["eq_const", "eq_col", "cmp", "risky", "any"]))
        if kind == "any":
            return gen.expr(SqlType.BOOL, 2)
        if t is SqlType.BOOL or kind == "cmp":
            return gen.expr(SqlType.BOOL, 1)
        left = gen.leaf(t)
        if kind == "eq_const":
            return f"{left} = {draw(literals(draw(st.sampled_from(gen.sig.comparable[t]))))}"
        if kind == "eq_col":
            return f"{left} = {gen.leaf(draw(st.sampled_from(gen.sig.comparable[t])))}"
        ops = [b for b in gen.sig.binary[t] if b[0] in ("/", "%", "*", "+")]
        if not ops:  # timestamp: no arithmetic gives one
            return gen.expr(SqlType.BOOL, 1)
        op, lt, rt = draw(st.sampled_from(ops))
        return f"{gen.operand(lt, 0)} {op} {gen.operand(rt, 0)} {draw(st.sampled_from(_CMP))} {gen.leaf(t)}"

    n = draw(st.integers(1, max_conjuncts))
    parts = []
    for _ in range(n):
        if draw(st.integers(0, 4)) == 0:
            parts.append("(" + " OR ".join(f"({simple()} AND {simple()})"
                                            for _ in range(draw(st.integers(2, 3)))) + ")")
        else:
            parts.append(f"({simple()})")
    return Expression(" AND ".join(parts), SqlType.BOOL)


@dataclass
class Case:
    """A table and expressions over it: one table load serves every expression."""

    schema: Schema
    table: dict[str, Any]
    expressions: list[Expression]

    def __repr__(self) -> str:
        exprs = "\n".join(f"    {e.sql!r},  # {e.type.value}" for e in self.expressions)
        return f"Case(\n  table={table_source(self.table)},\n  expressions=[\n{exprs}\n  ])"


def make_case(table: Mapping[str, Any], *sql: str) -> Case:
    """A Case from a table and SQL texts (e.g. a reproduction pasted from a Mismatch)."""
    from .compiler import make_schema
    from .sql import parse

    schema = make_schema(table)
    exprs = []
    for text in sql:
        node = analyze(parse(text), schema)
        exprs.append(Expression(text, node.type))
    return Case(schema, dict(table), exprs)


@st.composite
def cases(
    draw: st.DrawFn,
    max_depth: int = 4,
    max_rows: int = 20,
    max_expressions: int = 1,
) -> Case:
    """A schema, a table of it, and 1..max_expressions expressions over it."""
    schema = draw(schemas())
    table = draw(tables(schema, max_rows=max_rows))
    exprs = draw(st.lists(st.one_of(expressions(schema, max_depth=max_depth), quals(schema)),
                          min_size=1, max_size=max_expressions))
    return Case(schema, table, exprs)


# ---- outcomes and properties ---------------------------------------------------------------
def as_list(res: Any) -> list[Any]:
    """A filter() or evaluate() result as plain, comparable values: None for NULL, NaN as the
    string "NaN" and -0.0 as "-0" (so that == tells them apart from each other and from 0.0)."""
    out: list[Any] = []
    raw = np.ma.getdata(res)
    # datetime64 as its integers: exact, and the infinities' stand-ins are no datetime
    data = (raw.view(np.int64) if raw.dtype.kind == "M" else raw).tolist()
    nulls = np.ma.getmaskarray(res).tolist()
    for v, m in zip(data, nulls):
        if m:
            out.append(None)
        elif isinstance(v, float) and math.isnan(v):
            out.append("NaN")
        elif isinstance(v, float) and v == 0 and math.copysign(1.0, v) < 0:
            out.append("-0")
        else:
            out.append(v)
    return out


def _result(fn: Callable[..., Any], arg: Any, mode: str) -> tuple[Any, ...]:
    try:
        r = fn(arg)
    except EvalError as e:
        return ("error", e.sqlstate, e.message, e.row)
    return ("ok", as_list(r))


def optimization_settings() -> list[tuple[str, dict[str, Any]]]:
    """(label, compile() keyword arguments) for every optimisation setting worth checking:
    none, each pass alone, the default (all) and, when block_scan is among the passes, all but
    it: the row-at-a-time forms of a filter made only of fused tests (EEOP_QUAL_*, the JIT's row
    exits), which the default turns into block steps."""
    passes = getattr(copypatch, "OPTIMIZATIONS", None)
    if not passes:
        return [("default", {})]
    out: list[tuple[str, dict[str, Any]]] = [("default", {}), ("none", {"optimize": ()})]
    out += [(p, {"optimize": (p,)}) for p in passes]
    if "block_scan" in passes:
        out.append(("row at a time", {"optimize": tuple(p for p in passes if p != "block_scan")}))
    return out


def outcome(
    sql: Any, table: Mapping[str, Any], mode: str, engine: str, **compile_kwargs: Any
) -> tuple[Any, ...]:
    """copypatch's answer: ("ok", values) or ("error", sqlstate, message, row); row is None for an
    error raised by compile() (folding constants, as PostgreSQL's planner does)."""
    return outcomes(sql, table, (mode,), engine, **compile_kwargs)[mode]


def outcomes(
    sql: Any, table: Mapping[str, Any], modes: Sequence[str], engine: str, **compile_kwargs: Any
) -> dict[str, tuple[Any, ...]]:
    """outcome() for several modes, compiling once. sql: text or an already parsed expression.
    The program is verified after every pass (compile()'s debug setting), so that a pass that
    breaks a program is named, not only caught on the way out."""
    compile_kwargs.setdefault("verify_each_pass", True)
    try:
        prog = copypatch.compile(sql, table, engine=engine, **compile_kwargs)
    except EvalError as e:
        return {m: ("error", e.sqlstate, e.message, None) for m in modes}
    try:
        return {m: _result(prog.filter if m == "filter" else prog.evaluate, table, m) for m in modes}
    finally:
        prog.close()


def postgres_outcome(pg: Any, sql: str, mode: str, name: str = "t") -> tuple[Any, ...]:
    """PostgreSQL's answer on its loaded table `name`: ("ok", values) or ("error", sqlstate)."""
    r = _result(lambda n: pg.filter(sql, n) if mode == "filter" else pg.evaluate(sql, n), name, mode)
    return r[:2]


def _modes(e: Expression) -> tuple[str, ...]:
    return ("filter", "evaluate") if e.type is SqlType.BOOL else ("evaluate",)


def _strategy_check(sql: str, table: Mapping[str, Any]) -> None:
    try:
        copypatch.compile(sql, table)
    except CompileError as e:
        raise StrategyBug(f"generated input copypatch does not support: {sql!r}: {e}") from None
    except EvalError:
        pass


_rotation = itertools.count()


def check_engines(case: Case, *, counter: Callable[[], None] | None = None) -> None:
    """Every engine, under no optimisation, all of them, and one single pass (the passes take
    turns across calls), gives the same outcome for every
    expression of the case, in both modes that apply; raises Mismatch if not."""
    from .sql import parse

    every = optimization_settings()
    for e in case.expressions:
        # the default (all passes) and none on every example; the single passes take turns, so
        # that each is checked on a share of the examples at a third of the cost of all of them
        settings = every[:2] + every[2:][_rotation.__next__() % max(1, len(every) - 2):][:1]
        _strategy_check(e.sql, case.table)
        tree = parse(e.sql)  # once: the engines and settings differ after parsing
        modes = _modes(e)
        answers: dict[str, dict[str, tuple[Any, ...]]] = {}
        for engine in copypatch.ENGINES:
            for label, kw in settings:
                answers[f"{engine}/{label}"] = outcomes(tree, case.table, modes, engine, **kw)
        for mode in modes:
            by_mode = {k: v[mode] for k, v in answers.items()}
            ref = next(iter(by_mode.values()))
            if any(a != ref for a in by_mode.values()):
                raise Mismatch(_report("engines disagree", e.sql, mode, case.table, by_mode))
        if counter is not None:
            counter()


# the built-ins whose results come from the C library's libm (cbrt, exp, log, pow, trigonometry):
# exact only against a server using the same libm; glibc's differ in the last bit between
# architectures. (sqrt is correctly rounded everywhere.)
_LIBM_FUNCTIONS = frozenset({"dcbrt", "dexp", "dlog1", "dlog10", "dpow", "dsin", "dcos", "dtan",
                             "dcot", "dasin", "dacos", "datan", "datan2", "dsinh", "dcosh",
                             "dtanh", "dasinh", "dacosh", "datanh", "dsind", "dcosd", "dtand",
                             "dcotd", "dasind", "dacosd", "datand", "datan2d"})


def uses_libm(sql: str, table: Mapping[str, Any] | Schema) -> bool:
    """Whether the expression, as PostgreSQL resolves it over table's columns, calls a libm
    function (whose last bit is the platform's): `power(a, 2)`, `a ^ 2` and `||/ a` alike."""
    from .compiler import make_schema
    from .nodes import FuncExpr, walk
    from .sql import parse

    try:
        node = analyze(parse(sql), make_schema(table))
    except (CompileError, EvalError):
        return False  # no program: nothing is computed
    return any(isinstance(n, FuncExpr) and n.funcname in _LIBM_FUNCTIONS for n in walk(node))


def same_libm(pg: Any) -> bool:
    """Whether the server computes libm functions on this machine's architecture (its version()
    names the architecture it was built for): then their results must be bit-identical."""
    import platform

    cached = getattr(pg, "_copypatch_same_libm", None)
    if cached is None:
        (version,) = pg.conn.execute("SELECT version()").fetchone()
        cached = platform.machine() in version
        pg._copypatch_same_libm = cached
    return bool(cached)


def check_postgres(pg: Any, case: Case, *, name: str = "t", loaded: bool = False,
                   counter: Callable[[], None] | None = None) -> None:
    """copypatch (on the last engine, the JIT when built, all optimisations on) gives PostgreSQL's outcome for every expression: values
    and NULLs, or the first error's SQLSTATE; raises Mismatch if not. Loads the table unless
    `loaded`."""
    # psycopg prepares a query run five times; the table is re-created with other column types
    # under the same name, and a prepared plan would then fail ("cached plan must not change
    # result type"). The fuzzer's queries are all different anyway.
    pg.conn.prepare_threshold = None
    if not loaded:
        pg.load(case.table, name)
    exact_libm = same_libm(pg)
    for e in case.expressions:
        _strategy_check(e.sql, case.table)
        if not exact_libm and uses_libm(e.sql, case.schema):
            continue  # a server on another architecture: its libm's last bits are not ours
        for mode in _modes(e):
            ours = outcome(e.sql, case.table, mode, copypatch.ENGINES[-1])
            theirs = postgres_outcome(pg, e.sql, mode, name)
            if ours[:2] != theirs:
                answers = {copypatch.ENGINES[-1]: ours, "postgresql": theirs}
                raise Mismatch(_report("copypatch differs from PostgreSQL", e.sql, mode,
                                       case.table, answers))
        if counter is not None:
            counter()


# ---- reports -------------------------------------------------------------------------------
def _py(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "math.nan"
        if math.isinf(v):
            return "math.inf" if v > 0 else "-math.inf"
    return repr(v)


def table_source(table: Mapping[str, Any]) -> str:
    """Python source that rebuilds table (needs `import math, numpy as np`)."""
    parts = []
    for name, arr in table.items():
        raw = np.ma.getdata(arr)
        if raw.dtype.kind == "M":  # datetime64, rebuilt from its integers
            raw = raw.view(np.int64)
        data = "[" + ", ".join(_py(v) for v in raw.tolist()) + "]"
        dt = (f"np.{np.dtype(arr.dtype).name}" if arr.dtype.kind != "M"
              else f"np.dtype({str(arr.dtype)!r})")
        if isinstance(arr, np.ma.MaskedArray):
            mask = "[" + ", ".join(str(int(m)) for m in np.ma.getmaskarray(arr).tolist()) + "]"
            parts.append(f"{name!r}: np.ma.masked_array(np.array({data}, dtype={dt}), mask={mask})")
        else:
            parts.append(f"{name!r}: np.array({data}, dtype={dt})")
    return "{" + ", ".join(parts) + "}"


def _report(what: str, sql: str, mode: str, table: Mapping[str, Any],
            answers: Mapping[str, tuple[Any, ...]]) -> str:
    lines = [f"{what} on {mode}({sql!r})"]
    width = max(len(k) for k in answers)
    for k, v in answers.items():
        lines.append(f"  {k:<{width}}  {v!r}")
    lines += [
        "regression test:",
        f"    TABLE = {table_source(table)}",
        f"    SQL = {sql!r}",
        f"    MODE = {mode!r}",
    ]
    return "\n".join(lines)




# ---- the checking interpreter: opcodes.def's effects, proved on every run ------------------
#: how many times the checking interpreter ran each opcode, in this process (for the coverage
#: a fuzzing run reaches)
CHECKED_OPCODES: collections.Counter[str] = collections.Counter()


class DeclarationMismatch(AssertionError):
    """A step wrote a slot its opcode's effects do not declare, missed a declared write, or read
    a slot part nothing wrote: the verifier's model of the opcode is wrong."""


def _program_slots(sp: Any) -> list[Any]:
    """Every slot of a step program: the result, the temporaries, every argument slot."""
    from .steps import RESULT, Arg, Tmp

    return [RESULT, *(Tmp(k) for k in range(sp.ntmp)),
            *(Arg(f, a) for f, call in enumerate(sp.calls) for a in range(len(call.argtypes)))]


def _check_plan(sp: Any) -> tuple[bytes, list[int], bytes, list[dict[Any, Any]]]:
    """What the declarations say of every (step, slot), as check.c's plan reads it."""
    from . import _pgcatalog
    from ._core import lib
    from .opcodes import OPS
    from .steps import Arg
    from .verify import step_slots

    slots = _program_slots(sp)
    index = {d: k for k, d in enumerate(slots)}
    plan = bytearray(len(sp.steps) * len(slots))
    dest_slot: list[int] = []
    declared: list[dict[Any, Any]] = []
    for i, s in enumerate(sp.steps):
        info = OPS[s.opcode]
        mine = {slot: eff for _, slot, eff in step_slots(sp, s, info)}
        declared.append(mine)
        # A SCALARARRAYOP reads a per-row array's elements through the array that the ARRAY[...]
        # right before it made (the verifier holds them to that): they are read here too, so
        # they are not poisoned (a CHECKED read, as the ARRAY[...] declares it).
        prev = sp.steps[i - 1] if i > 0 else None
        if info.kind == "scalararrayop" and prev is not None and prev.opcode in OPS \
                and OPS[prev.opcode].kind == "arrayexpr" and prev.dest == s.dest:
            elem_reads = {slot: eff for role, slot, eff in step_slots(sp, prev, OPS[prev.opcode])
                          if role == "TMP"}
        else:
            elem_reads = {}
        dest_slot.append(index[s.dest] if s.dest is not None else -1)
        for slot, k in index.items():
            eff = mine.get(slot)
            p = 0
            read = eff.read if eff is not None else "NONE"
            if read == "NONE" and slot in elem_reads:
                read = elem_reads[slot].read
            if read == "CALLEE":
                strict = _pgcatalog.FUNCTIONS[sp.calls[s.fcinfo].funcname]["strict"]
                read = "NONULL" if strict else "CHECKED"
            if read == "NONE":
                p |= lib.CP_CHECK_POISON_VALUE | lib.CP_CHECK_POISON_NULL
            elif read == "NULL":
                p |= lib.CP_CHECK_POISON_VALUE
            elif read == "CHECKED":
                p |= lib.CP_CHECK_CHECKED
            elif read == "COPY":
                p |= lib.CP_CHECK_CHECKED | lib.CP_CHECK_COPY_SOURCE
            elif read == "NONULL":
                p |= lib.CP_CHECK_NEEDS_VALUE | lib.CP_CHECK_POISON_NULL
            if eff is not None:
                p |= {"MUST": lib.CP_CHECK_MUST_VALUE, "IFNN": lib.CP_CHECK_IFNN_VALUE}.get(
                    eff.value, 0)
                p |= lib.CP_CHECK_MUST_NULL if eff.null == "MUST" else 0
            plan[i * len(slots) + k] = p
    initially = bytearray(len(slots))
    for f, call in enumerate(sp.calls):
        for a in call.consts:
            initially[index[Arg(f, a)]] = 3  # written at compile time, value and flag
    return bytes(plan), dest_slot, bytes(initially), declared


def checked_outcomes(sp: Any, schema: Schema, table: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Run a verified step program on the checking interpreter (csrc/check.c), in every mode its
    result type allows, and return its outcomes by mode; raise DeclarationMismatch if any step
    wrote a slot part its opcode's effects do not declare, skipped a declared MUST write, or
    read a part nothing wrote this row."""
    from ._core import ffi, lib
    from .layout import Executable
    from .opcodes import OPS

    slots = _program_slots(sp)
    nslots, nsteps = len(slots), len(sp.steps)
    plan, dest_slot, initially, declared = _check_plan(sp)
    exe = Executable(sp, "switch")
    layout = exe.layout
    cslots = ffi.new("CpCheckSlot[]", max(1, nslots))
    for k, d in enumerate(slots):
        cslots[k].value, cslots[k].isnull = layout.dest(d)
    keep = {
        "plan": ffi.new("uint8_t[]", plan or b"\0"),
        "dest": ffi.new("int32_t[]", dest_slot or [0]),
        "initially": ffi.new("uint8_t[]", initially or b"\0"),
        "written": ffi.new("uint8_t[]", max(1, nsteps * nslots)),
        "violations": ffi.new("uint8_t[]", max(1, nsteps * nslots)),
        "executions": ffi.new("int64_t[]", max(1, nsteps)),
        "defined": ffi.new("uint8_t[]", max(1, nslots)),
        "saved_values": ffi.new("Datum[]", max(1, nslots)),
        "saved_nulls": ffi.new("uint8_t[]", max(1, nslots)),
        "poisoned": ffi.new("uint8_t[]", max(1, nslots)),
    }
    ck = ffi.new("CpCheck *")
    ck.nslots, ck.nsteps, ck.slots = nslots, nsteps, cslots
    ck.plan, ck.dest_slot, ck.initially = keep["plan"], keep["dest"], keep["initially"]
    ck.written, ck.violations, ck.executions = keep["written"], keep["violations"], keep["executions"]
    ck.defined, ck.saved_values = keep["defined"], keep["saved_values"]
    ck.saved_nulls, ck.poisoned = keep["saved_nulls"], keep["poisoned"]
    ck.current = -1
    layout.state.evalfunc = lib.cp_engine_check()
    # a compiled program was made for one mode (a qual's turns NULL into FALSE); raw ones for both
    modes = ["evaluate"] if sp.result_type is not SqlType.BOOL else ["filter", "evaluate"]
    if sp.mode in ("filter", "evaluate"):
        modes = [sp.mode]
    elif any(s.opcode == "EEOP_DONE_NEXTROW_FILTER" for s in sp.steps):
        modes = ["filter"]
    elif any(s.opcode == "EEOP_DONE_NEXTROW_EVALUATE" for s in sp.steps):
        modes = ["evaluate"]
    out: dict[str, tuple[Any, ...]] = {}
    for mode in modes:
        lib.cp_check_set(ck)
        try:
            values, nulls = exe.scan(schema, table, lib.CP_SCAN_FILTER if mode == "filter"
                                     else lib.CP_SCAN_EVALUATE)
            res = values if nulls is None else np.ma.MaskedArray(values, mask=nulls)
            out[mode] = ("ok", as_list(res))
        except EvalError as e:
            out[mode] = ("error", e.sqlstate, e.message, e.row)
        finally:
            lib.cp_check_abort(ck)
            lib.cp_check_set(ffi.NULL)
    for i, s in enumerate(sp.steps):
        if keep["executions"][i]:
            CHECKED_OPCODES[s.opcode] += int(keep["executions"][i])
    problems = []
    vnames = {lib.CP_CHECK_MISSED_VALUE: "did not write the value it must write",
              lib.CP_CHECK_MISSED_NULL: "did not write the NULL flag it must write",
              lib.CP_CHECK_UNDEFINED_VALUE: "read a value nothing wrote (or a NULL it checks not)",
              lib.CP_CHECK_UNDEFINED_NULL: "read a NULL flag nothing wrote"}
    for i, s in enumerate(sp.steps):
        for k, slot in enumerate(slots):
            w = keep["written"][i * nslots + k]
            eff = declared[i].get(slot)
            if w & lib.CP_CHECK_WROTE_VALUE and (eff is None or eff.value == "NONE"):
                problems.append(f"step {i} ({s.opcode}) wrote the value of {slot}, undeclared")
            if w & lib.CP_CHECK_WROTE_NULL and (eff is None or eff.null == "NONE"):
                problems.append(f"step {i} ({s.opcode}) wrote the NULL flag of {slot}, undeclared")
            bad = keep["violations"][i * nslots + k]
            for bit, what in vnames.items():
                if bad & bit:
                    problems.append(f"step {i} ({s.opcode}) {what}: {slot} "
                                    f"(declared: {OPS[s.opcode].effects})")
    exe.close()
    if problems:
        from .layout import explain_steps

        raise DeclarationMismatch("\n".join([*problems, "program:", explain_steps(sp)]))
    return out


# ---- the hostile-program fuzzer: programs aimed at the verifier's model of each step --------
_NONULL_TWINS = {"EEOP_FUNCEXPR_STRICT": ("EEOP_FUNCEXPR", "EEOP_FUNCEXPR_STRICT_ARG0",
                                          "EEOP_FUNCEXPR_STRICT_ARG1"),
                 "EEOP_CONST": ("EEOP_CONST_NOTNULL", "EEOP_CONST_NULL")}


def _insert_step(sp: Any, at: int, step: Any) -> None:
    """Insert step before step `at`, keeping every jump on the step it meant."""
    for s in sp.steps:
        if s.jumpdone > at or (s.jumpdone == at and s.jumpdone > 0):
            s.jumpdone += 1
    sp.steps.insert(at, step)


@st.composite
def hostile_programs(draw: st.DrawFn, max_mutations: int = 3) -> tuple[Any, Schema, dict[str, Any]] | None:
    """A compiled program (any optimisation setting) with up to max_mutations changes aimed at
    slot aliasing: destinations moved onto other steps' argument slots, temporaries or the
    result; temporaries shared between steps; NULL flags set without values (CONST_NULL, an
    AND's anynull); opcodes swapped for their NONULL or other variants; steps duplicated,
    dropped or inserted. Most are refused by the verifier; the rest must run as declared."""
    import copy

    from .nodes import Const
    from .opcodes import OPCODE_NAMES, OPS, inline_opcode
    from .steps import RESULT, Arg, Step, Tmp

    schema = draw(schemas(max_columns=3))
    e = draw(expressions(schema, max_depth=3))
    table = draw(tables(schema, max_rows=4))
    kw = draw(st.sampled_from(optimization_settings()))[1]
    try:
        prog = copypatch.compile(e.sql, table, **kw)
    except (CompileError, EvalError):
        return None
    if prog.steps is None:
        return None
    sp = copy.deepcopy(prog.steps)
    prog.close()
    for _ in range(draw(st.integers(1, max_mutations))):
        if not sp.steps:
            return None
        slots: list[Any] = [RESULT, *(Tmp(k) for k in range(sp.ntmp + 1)),
                            *(Arg(f, a) for f, c in enumerate(sp.calls)
                              for a in range(len(c.argtypes)))]
        i = draw(st.integers(0, len(sp.steps) - 1))
        s = sp.steps[i]
        how = draw(st.sampled_from(["dest", "dest", "tmp", "null_flag", "anynull", "twin",
                                    "opcode", "dup", "drop", "jump", "elements", "inline"]))
        if how == "dest" and s.dest is not None:
            s.dest = draw(st.sampled_from(slots))
        elif how == "tmp" and s.tmp >= 0:
            s.tmp = draw(st.integers(0, sp.ntmp))
        elif how == "null_flag":  # a NULL flag without a value, into any slot
            slot = draw(st.sampled_from(slots))
            t = draw(st.sampled_from(TYPES))
            _insert_step(sp, i, Step(draw(st.sampled_from(["EEOP_CONST_NULL", "EEOP_CONST"])),
                                     slot, const=Const(t, None)))
        elif how == "anynull":  # an AND's anynull over a temporary someone else uses
            _insert_step(sp, i, Step(draw(st.sampled_from(["EEOP_BOOL_AND_STEP_FIRST",
                                                           "EEOP_BOOL_OR_STEP"])),
                                     s.dest if s.dest is not None else RESULT,
                                     jumpdone=i + 1, tmp=draw(st.integers(0, sp.ntmp))))
        elif how == "twin" and s.opcode in _NONULL_TWINS:
            s.opcode = draw(st.sampled_from(_NONULL_TWINS[s.opcode]))
        elif how == "inline" and s.fcinfo >= 0 and OPS[s.opcode].kind == "func":
            s.opcode = inline_opcode(sp.calls[s.fcinfo].funcname, draw(st.booleans()))
            if s.opcode not in OPS:
                return None
        elif how == "opcode":
            kind = OPS[s.opcode].kind
            s.opcode = draw(st.sampled_from([n for n in OPCODE_NAMES if OPS[n].kind == kind]))
        elif how == "dup":
            _insert_step(sp, i, copy.deepcopy(s))
        elif how == "drop":
            from .passes import remove_steps

            sp.steps = remove_steps(sp.steps, [i])
        elif how == "jump" and s.jumpdone > 0:
            s.jumpdone = draw(st.integers(i + 1, len(sp.steps) - 1)) if i + 1 < len(sp.steps) else 0
        elif how == "elements" and sp.arrays:  # an IN list's array written where its elements go
            k = draw(st.integers(0, len(sp.arrays) - 1))
            _insert_step(sp, i, Step("EEOP_CONST", draw(st.sampled_from(slots)), array=k))
        sp.ntmp = max([sp.ntmp, *(s.tmp + max(1, s.nelems) for s in sp.steps),
                       *(s.dest.tmpno + 1 for s in sp.steps if isinstance(s.dest, Tmp))])
    return sp, prog.schema, table


def check_hostile(sp: Any, schema: Schema, table: Mapping[str, Any]) -> bool:
    """The hostile-program property: the verifier refuses sp (False), or every engine runs it
    with the same outcome as the checking interpreter, which finds every step doing exactly
    what its opcode declares (True). Raises Mismatch or DeclarationMismatch otherwise."""
    from .layout import Executable, explain_steps
    from .verify import verify

    try:
        verify(sp, schema)
    except CompileError:
        return False
    checked = checked_outcomes(sp, schema, table)
    from ._core import lib

    for engine in copypatch.ENGINES:
        exe = Executable(sp, engine)
        for mode, want in checked.items():
            try:
                values, nulls = exe.scan(schema, table, lib.CP_SCAN_FILTER if mode == "filter"
                                         else lib.CP_SCAN_EVALUATE)
                res = values if nulls is None else np.ma.MaskedArray(values, mask=nulls)
                got: tuple[Any, ...] = ("ok", as_list(res))
            except EvalError as e:
                got = ("error", e.sqlstate, e.message, e.row)
            if got != want:
                raise Mismatch(f"{engine} and the checking interpreter disagree on {mode}: "
                               f"{got!r} != {want!r}\n{explain_steps(sp)}\n"
                               f"TABLE = {table_source(table)}")
        exe.close()
    return True
