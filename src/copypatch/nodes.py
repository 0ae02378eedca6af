"""Typed expression trees: PostgreSQL's primnodes after parse analysis.

The analyzer (analyze.py) makes these from raw expressions; the planner (planner.py) folds
constants in them; lower.py turns them into steps. Nodes are frozen dataclasses compared by value,
which the planner needs (PostgreSQL's equal(), e.g. to pull common terms out of ORs).
Operators and casts are both FuncExpr, as in PostgreSQL after planning (OpExpr differs only in
how it prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .sqltypes import SqlType


@dataclass(frozen=True)
class Node:
    @property
    def type(self) -> SqlType:
        raise NotImplementedError


@dataclass(frozen=True)
class Var(Node):
    """A column: attno is its 0-based index in the table."""

    attno: int
    name: str
    vartype: SqlType
    nullable: bool

    @property
    def type(self) -> SqlType:
        return self.vartype


@dataclass(frozen=True)
class Const(Node):
    """A constant; value is a Python bool/int/float of consttype, or None when isnull."""

    consttype: SqlType
    value: bool | int | float | None

    @property
    def isnull(self) -> bool:
        return self.value is None

    @property
    def type(self) -> SqlType:
        return self.consttype

    def __repr__(self) -> str:
        return f"Const({self.consttype.value} {self.value!r})"


class _CountedValue:
    """Param.value, a data descriptor over the dataclass field: each read is noted in the
    Param's ParamReads (the other attributes are plain, and cost nothing more)."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        reads = d["reads"]
        if reads is not None and reads.active:
            reads.read = True
        return d["_value"]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_value"] = value  # Const's frozen __init__ sets it with object.__setattr__


def unread_value(c: Const) -> Any:
    """c's value, not counted as a read of a Param's (for the verifier: whether a value passes
    its checks is no decision of the plan's)."""
    return c.__dict__["_value"] if isinstance(c, Param) else c.value


class LiteralSites(Protocol):
    """Where the literals a plan cache abstracts are in the text (plancache.LiteralSites)."""

    def get(self, position: int) -> tuple[int, int, int] | None:
        """(literal index, sign, the value) of the A_Const at position, if it is one's."""


class ParamReads:
    """Whether anything read a Param's value while it was active: one per compile(), shared by
    the Params of its literals (no global state: compiles in other threads do not mix)."""

    __slots__ = ("active", "read")

    def __init__(self) -> None:
        self.active = True
        self.read = False


class Param(Const):
    """An integer literal of SQL text that compile()'s plan cache abstracts: a Const whose value
    is literal number `index` of the text (times `sign`, for the minus signs the grammar folded
    in; index -1 when it is no literal's).

    Equal to the Const of its value and used the same way, but every read of its value (by
    anything: folding, comparing, hashing, printing) is noted in `reads` while that is active:
    a plan made with none, from analysis to the last pass, made no decision by the value, and
    the cache may replay it with other values (plancache.py).
    """

    index: int
    sign: int
    reads: ParamReads | None

    def __init__(self, consttype: SqlType, value: bool | float | None, index: int = -1,
                 sign: int = 1, reads: ParamReads | None = None) -> None:
        super().__init__(consttype, value)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "sign", sign)
        object.__setattr__(self, "reads", reads)

    @property
    def isnull(self) -> bool:
        return False  # a number is never NULL: no read of the value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Const):  # a Const's generated __eq__ wants the same class
            return self.consttype is other.consttype and self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.consttype, self.value))  # the generated Const.__hash__'s


setattr(Param, "value", _CountedValue())  # noqa: B010 (after the class: the field stays Const's)

@dataclass(frozen=True)
class FuncExpr(Node):
    """A call of a built-in (always strict here); op is the operator it came from, if any."""

    funcname: str
    args: tuple[Node, ...]
    rettype: SqlType
    op: str | None = None
    #: operator costs PostgreSQL pays that this node does not show: an integer compared with a
    #: numeric literal is int4_numeric + numeric_gt there, one exact integer comparison here
    extra_cost: float = 0.0

    @property
    def type(self) -> SqlType:
        return self.rettype


@dataclass(frozen=True)
class BoolExpr(Node):
    boolop: str  # AND, OR, NOT
    args: tuple[Node, ...]

    @property
    def type(self) -> SqlType:
        return SqlType.BOOL


@dataclass(frozen=True)
class NullTest(Node):
    arg: Node
    isnull: bool

    @property
    def type(self) -> SqlType:
        return SqlType.BOOL


@dataclass(frozen=True)
class BooleanTest(Node):
    arg: Node
    test: str  # IS_TRUE, IS_NOT_TRUE, IS_FALSE, IS_NOT_FALSE, IS_UNKNOWN, IS_NOT_UNKNOWN

    @property
    def type(self) -> SqlType:
        return SqlType.BOOL


@dataclass(frozen=True)
class CaseTestExpr(Node):
    """The operand of a simple CASE, inside its WHEN conditions."""

    casetype: SqlType

    @property
    def type(self) -> SqlType:
        return self.casetype


@dataclass(frozen=True)
class CaseExpr(Node):
    casetype: SqlType
    arg: Node | None
    whens: tuple[tuple[Node, Node], ...]
    default: Node

    @property
    def type(self) -> SqlType:
        return self.casetype


@dataclass(frozen=True)
class CoalesceExpr(Node):
    coalescetype: SqlType
    args: tuple[Node, ...]

    @property
    def type(self) -> SqlType:
        return self.coalescetype


@dataclass(frozen=True)
class NullIfExpr(Node):
    """NULLIF(a, b): NULL if funcname(a, b) (an equality) is true, else a."""

    funcname: str
    args: tuple[Node, Node]

    @property
    def type(self) -> SqlType:
        return self.args[0].type


@dataclass(frozen=True)
class MinMaxExpr(Node):
    """GREATEST/LEAST: NULL inputs are ignored; NULL only when all of them are."""

    minmaxtype: SqlType
    op: str  # "GREATEST" or "LEAST"
    args: tuple[Node, ...]

    @property
    def type(self) -> SqlType:
        return self.minmaxtype


@dataclass(frozen=True)
class DistinctExpr(Node):
    """a IS DISTINCT FROM b: funcname is the equality; NULL is not distinct from NULL, distinct
    from any value, and the result is never NULL. IS NOT DISTINCT FROM is NOT over it."""

    funcname: str
    args: tuple[Node, Node]

    @property
    def type(self) -> SqlType:
        return SqlType.BOOL


@dataclass(frozen=True)
class ScalarArrayOpExpr(Node):
    """scalar op ANY (array) when use_or, else scalar op ALL (array): IN and NOT IN lists."""

    funcname: str
    use_or: bool
    scalar: Node
    elemtype: SqlType
    elements: tuple[Node, ...]  # all Const once the planner has folded them
    op: str = "="

    @property
    def type(self) -> SqlType:
        return SqlType.BOOL


def walk(node: Node):  # type: ignore[no-untyped-def]
    """Every node of the tree, parents first."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (FuncExpr, BoolExpr, CoalesceExpr, NullIfExpr, DistinctExpr, MinMaxExpr)):
        return tuple(node.args)
    if isinstance(node, (NullTest, BooleanTest)):
        return (node.arg,)
    if isinstance(node, CaseExpr):
        out: list[Node] = [] if node.arg is None else [node.arg]
        for c, r in node.whens:
            out += [c, r]
        return (*out, node.default)
    if isinstance(node, ScalarArrayOpExpr):
        return (node.scalar, *node.elements)
    return ()
