"""Expressions before type resolution: what the SQL parser and the Python builder both produce.

These mirror PostgreSQL's raw parse tree (A_Expr, A_Const, ColumnRef, TypeCast, ...). Build them in
Python with :func:`col` and :func:`lit` and the usual operators::

    (col("a") == 42) | (col("b") > 6)          # a = 42 OR b > 6
    ~col("flag") & col("x").is_null()          # NOT flag AND x IS NULL
    (col("a") + col("b")).cast("int8") > 1000  # CAST(a + b AS int8) > 1000

Python's ``&``, ``|`` and ``~`` stand for AND, OR and NOT (``and``/``or``/``not`` cannot be
overloaded); ``==`` and ``!=`` build comparisons, so expressions are not hashable by value.
``position`` is the node's 0-based offset in the SQL text, or None for built expressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class Expr:
    """Base of raw expression nodes; operators build bigger expressions."""

    position: int | None

    def _bin(self, op: str, other: object, reverse: bool = False) -> Expr:
        o = as_expr(other)
        return Op(op, (o, self) if reverse else (self, o))

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return self._bin("=", other)

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return self._bin("<>", other)

    def __lt__(self, other: object) -> Expr:
        return self._bin("<", other)

    def __le__(self, other: object) -> Expr:
        return self._bin("<=", other)

    def __gt__(self, other: object) -> Expr:
        return self._bin(">", other)

    def __ge__(self, other: object) -> Expr:
        return self._bin(">=", other)

    def __add__(self, other: object) -> Expr:
        return self._bin("+", other)

    def __radd__(self, other: object) -> Expr:
        return self._bin("+", other, True)

    def __sub__(self, other: object) -> Expr:
        return self._bin("-", other)

    def __rsub__(self, other: object) -> Expr:
        return self._bin("-", other, True)

    def __mul__(self, other: object) -> Expr:
        return self._bin("*", other)

    def __rmul__(self, other: object) -> Expr:
        return self._bin("*", other, True)

    def __truediv__(self, other: object) -> Expr:
        return self._bin("/", other)

    def __rtruediv__(self, other: object) -> Expr:
        return self._bin("/", other, True)

    def __mod__(self, other: object) -> Expr:
        return self._bin("%", other)

    def __rmod__(self, other: object) -> Expr:
        return self._bin("%", other, True)

    def __neg__(self) -> Expr:
        return Op("-", (self,))

    def __pos__(self) -> Expr:
        return Op("+", (self,))

    def __and__(self, other: object) -> Expr:
        return BoolOp("AND", (self, as_expr(other)))

    def __rand__(self, other: object) -> Expr:
        return BoolOp("AND", (as_expr(other), self))

    def __or__(self, other: object) -> Expr:
        return BoolOp("OR", (self, as_expr(other)))

    def __ror__(self, other: object) -> Expr:
        return BoolOp("OR", (as_expr(other), self))

    def __invert__(self) -> Expr:
        return BoolOp("NOT", (self,))

    def __bool__(self) -> bool:
        raise TypeError(
            "a copypatch expression has no truth value: use & | ~ for AND OR NOT, "
            "and avoid chained comparisons like 1 < col('a') < 5"
        )

    __hash__ = object.__hash__

    def is_null(self) -> Expr:
        return NullTest(self, True)

    def is_not_null(self) -> Expr:
        return NullTest(self, False)

    def is_true(self) -> Expr:
        return BoolTest(self, "IS_TRUE")

    def is_not_true(self) -> Expr:
        return BoolTest(self, "IS_NOT_TRUE")

    def is_false(self) -> Expr:
        return BoolTest(self, "IS_FALSE")

    def is_not_false(self) -> Expr:
        return BoolTest(self, "IS_NOT_FALSE")

    def is_unknown(self) -> Expr:
        return BoolTest(self, "IS_UNKNOWN")

    def is_not_unknown(self) -> Expr:
        return BoolTest(self, "IS_NOT_UNKNOWN")

    def between(self, low: object, high: object) -> Expr:
        return Between(self, as_expr(low), as_expr(high), False)

    def not_between(self, low: object, high: object) -> Expr:
        return Between(self, as_expr(low), as_expr(high), True)

    def isin(self, *items: object) -> Expr:
        return In(self, tuple(as_expr(i) for i in items), False)

    def notin(self, *items: object) -> Expr:
        return In(self, tuple(as_expr(i) for i in items), True)

    def cast(self, typename: str) -> Expr:
        return Cast(self, typename)

    def is_distinct_from(self, other: object) -> Expr:
        return Distinct((self, as_expr(other)), False)

    def is_not_distinct_from(self, other: object) -> Expr:
        return Distinct((self, as_expr(other)), True)

    def any(self, op: str, *items: object) -> Expr:
        """self op ANY (ARRAY[items])"""
        return ArrayOp(op, self, tuple(as_expr(i) for i in items), True)

    def all(self, op: str, *items: object) -> Expr:
        """self op ALL (ARRAY[items])"""
        return ArrayOp(op, self, tuple(as_expr(i) for i in items), False)


# eq=False everywhere: __eq__ builds comparisons; structural equality is not needed on raw trees.
@dataclass(eq=False)
class ColumnRef(Expr):
    name: str
    position: int | None = None


@dataclass(eq=False)
class Literal(Expr):
    """A constant as written. kind: "int" (value: int), "numeric" (value: the literal's text),
    "bool" (value: bool), "null" (value: None) or "string" (value: str; only as the operand of
    a cast, e.g. ``'NaN'::float8``, where the type's input function reads it)."""

    kind: str
    value: object
    position: int | None = None
    #: where PostgreSQL's A_Const is in the text (its location, which pglast's tree has not):
    #: the plan cache's literal site (plancache.literal_sites)
    site: int | None = None


@dataclass(eq=False)
class Op(Expr):
    """A binary or unary operator: = <> < <= > >= + - * / %, unary - and +."""

    op: str
    args: tuple[Expr, ...]
    position: int | None = None


@dataclass(eq=False)
class BoolOp(Expr):
    op: str  # "AND", "OR", "NOT"
    args: tuple[Expr, ...]
    position: int | None = None


@dataclass(eq=False)
class NullTest(Expr):
    arg: Expr
    isnull: bool  # IS NULL (True) or IS NOT NULL (False)
    position: int | None = None


@dataclass(eq=False)
class BoolTest(Expr):
    arg: Expr
    test: str  # IS_TRUE, IS_NOT_TRUE, IS_FALSE, IS_NOT_FALSE, IS_UNKNOWN, IS_NOT_UNKNOWN
    position: int | None = None


@dataclass(eq=False)
class CaseWhen(Expr):
    """CASE [arg] WHEN cond THEN result ... [ELSE default] END (nodes.CaseExpr once analysed;
    testing.Case is something else: a table and expressions for the fuzzers)."""

    arg: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None
    position: int | None = None


@dataclass(eq=False)
class Coalesce(Expr):
    args: tuple[Expr, ...]
    position: int | None = None


@dataclass(eq=False)
class NullIf(Expr):
    args: tuple[Expr, Expr]
    position: int | None = None


@dataclass(eq=False)
class In(Expr):
    arg: Expr
    items: tuple[Expr, ...]
    negated: bool
    position: int | None = None


@dataclass(eq=False)
class Between(Expr):
    arg: Expr
    low: Expr
    high: Expr
    negated: bool
    symmetric: bool = False
    position: int | None = None


@dataclass(eq=False)
class Distinct(Expr):
    """a IS DISTINCT FROM b, or IS NOT DISTINCT FROM when negated."""

    args: tuple[Expr, Expr]
    negated: bool
    position: int | None = None


@dataclass(eq=False)
class ArrayOp(Expr):
    """arg op ANY (ARRAY[items]) when use_or, else arg op ALL (ARRAY[items])."""

    op: str
    arg: Expr
    items: tuple[Expr, ...]
    use_or: bool
    position: int | None = None
    #: the element type of an empty ARRAY[]::type[]
    array_type: str | None = None
    #: '{...}' without a cast: the elements are string literals of the operator's right type
    untyped: bool = False
    #: the array is NULL (NULL::int4[], or an untyped NULL when untyped): items is empty
    array_isnull: bool = False


@dataclass(eq=False)
class FuncCall(Expr):
    """name(args): a built-in function called by name (abs, mod, sqrt, int4eq, float8, ...)."""

    name: str
    args: tuple[Expr, ...]
    position: int | None = None


@dataclass(eq=False)
class MinMax(Expr):
    """GREATEST(args) or LEAST(args)."""

    op: str  # "GREATEST" or "LEAST"
    args: tuple[Expr, ...]
    position: int | None = None


@dataclass(eq=False)
class Cast(Expr):
    arg: Expr
    typename: str
    position: int | None = None


def col(name: str) -> Expr:
    """A column of the table, by name."""
    return ColumnRef(name)


def lit(value: object) -> Expr:
    """A literal, typed as PostgreSQL types the same literal written in SQL.

    int -> int4 if it fits, else int8 (else numeric); float -> numeric, as ``1.5`` in SQL is (cast
    it, e.g. ``lit(1.5).cast("float8")``, or compare it with a float column); bool; None -> NULL.
    """
    if isinstance(value, Expr):
        return value
    if value is None:
        return Literal("null", None)
    if isinstance(value, bool):
        return Literal("bool", value)
    if isinstance(value, int):
        return Literal("int", value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            # PostgreSQL has no such literal; 'NaN'::float8 is the SQL spelling
            return Cast(Literal("string", repr(value)), "float8")
        return Literal("numeric", repr(value))
    raise TypeError(f"cannot make a SQL literal of {type(value).__name__} {value!r}")


def case(*whens: tuple[object, object], else_: object = None, arg: object = None) -> Expr:
    """CASE WHEN cond THEN result ... ELSE else_ END (or CASE arg WHEN value THEN ...)."""
    return CaseWhen(
        None if arg is None else as_expr(arg),
        tuple((as_expr(c), as_expr(r)) for c, r in whens),
        None if else_ is None else as_expr(else_),
    )


def coalesce(*args: object) -> Expr:
    return Coalesce(tuple(as_expr(a) for a in args))


def nullif(a: object, b: object) -> Expr:
    return NullIf((as_expr(a), as_expr(b)))


def func(name: str, *args: object) -> Expr:
    """A built-in function called by name: ``func("abs", col("a"))`` is abs(a)."""
    return FuncCall(name, tuple(as_expr(a) for a in args))


def greatest(*args: object) -> Expr:
    return MinMax("GREATEST", tuple(as_expr(a) for a in args))


def least(*args: object) -> Expr:
    return MinMax("LEAST", tuple(as_expr(a) for a in args))


def as_expr(value: object) -> Expr:
    return value if isinstance(value, Expr) else lit(value)


ExprLike = Expr | str

__all__ = [
    "ArrayOp",
    "Between",
    "BoolOp",
    "BoolTest",
    "CaseWhen",
    "Cast",
    "Coalesce",
    "ColumnRef",
    "Distinct",
    "Expr",
    "FuncCall",
    "In",
    "Literal",
    "MinMax",
    "NullIf",
    "NullTest",
    "Op",
    "as_expr",
    "case",
    "coalesce",
    "col",
    "func",
    "greatest",
    "least",
    "lit",
    "nullif",
]
