"""What PostgreSQL's planner does to an expression before the executor sees it.

- eval_const_expressions (optimizer/util/clauses.c): fold constant sub-expressions with the C
  core's own functions (so a folded error is PostgreSQL's error, raised at plan time), replace a
  strict call with a NULL argument by NULL, simplify AND/OR/NOT/CASE/COALESCE with constant
  inputs, push NOT down (negate_clause).
- For a WHERE clause, preprocess_qual: canonicalize_qual (find_duplicate_ors: drop constant arms,
  pull out terms common to every arm of an OR), split the top-level AND into a list of quals,
  treat constant quals as a one-time filter, move btree equalities behind the rest as
  equivalence classes do, and order the quals by estimated cost (order_qual_clauses), which is
  the order ExecQual evaluates them in, and so decides which error a row raises, if any.

The functions mirror PostgreSQL's names and structure so that they can be compared line by line.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace

from . import _fmgr
from ._catalog import catalog
from .nodes import (
    BooleanTest,
    BoolExpr,
    CaseExpr,
    CaseTestExpr,
    CoalesceExpr,
    Const,
    DistinctExpr,
    FuncExpr,
    MinMaxExpr,
    Node,
    NullIfExpr,
    NullTest,
    ScalarArrayOpExpr,
    Var,
    walk,
)
from .sqltypes import SqlType

TRUE = Const(SqlType.BOOL, True)
FALSE = Const(SqlType.BOOL, False)
NULL_BOOL = Const(SqlType.BOOL, None)

NEGATED_OP = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


# ---- eval_const_expressions ---------------------------------------------------------------
def eval_const_expressions(node: Node) -> Node:
    return _ece(node, None)


def _call(funcname: str, args: tuple[Const, ...], rettype: SqlType) -> Const:
    # the arguments' own types: the declared ones, but for VARIADIC "any" (num_nulls)
    argtypes = tuple(a.type for a in args)
    value = _fmgr.call(funcname, argtypes, tuple(a.value for a in args), rettype)
    return Const(rettype, value)  # type: ignore[arg-type]


def _is_const(n: Node) -> bool:
    return isinstance(n, Const)


def _ece(node: Node, case_val: Const | None) -> Node:
    if isinstance(node, (Var, Const)):
        return node
    if isinstance(node, CaseTestExpr):
        return case_val if case_val is not None else node
    if isinstance(node, FuncExpr):
        args = tuple(_ece(a, case_val) for a in node.args)
        # a strict function with a constant NULL input is NULL, whatever the other inputs are
        strict = catalog.FUNCTIONS[node.funcname]["strict"]
        if strict and any(isinstance(a, Const) and a.isnull for a in args):
            return Const(node.rettype, None)
        if all(isinstance(a, Const) for a in args):
            return _call(node.funcname, args, node.rettype)  # type: ignore[arg-type]
        if node.op in ("=", "<>") and node.funcname in ("booleq", "boolne"):
            simple = simplify_boolean_equality(node.funcname == "booleq", args)
            if simple is not None:
                return simple
        return replace(node, args=args)
    if isinstance(node, BoolExpr):
        if node.boolop == "NOT":
            return negate_clause(_ece(node.args[0], case_val))
        return _simplify_andor(node, case_val)
    if isinstance(node, NullTest):
        arg = _ece(node.arg, case_val)
        if isinstance(arg, Const):
            return Const(SqlType.BOOL, arg.isnull == node.isnull)
        return replace(node, arg=arg)
    if isinstance(node, BooleanTest):
        arg = _ece(node.arg, case_val)
        if isinstance(arg, Const):
            return Const(SqlType.BOOL, boolean_test(node.test, arg.value))  # type: ignore[arg-type]
        return replace(node, arg=arg)
    if isinstance(node, CaseExpr):
        return _simplify_case(node, case_val)
    if isinstance(node, CoalesceExpr):
        newargs: list[Node] = []
        for a in node.args:
            e = _ece(a, case_val)
            if isinstance(e, Const):
                if e.isnull:
                    continue  # drop NULL constant inputs
                if not newargs:
                    return e  # first input: the result
                newargs.append(e)
                break  # later inputs can never be reached
            newargs.append(e)
        if not newargs:
            return Const(node.coalescetype, None)
        return replace(node, args=tuple(newargs))
    if isinstance(node, NullIfExpr):
        a0, a1 = (_ece(a, case_val) for a in node.args)
        # if either argument is a NULL constant they can't be equal: the first is the result,
        # whether or not the other is constant (clauses.c, T_NullIfExpr)
        if any(isinstance(a, Const) and a.isnull for a in (a0, a1)):
            return a0
        if isinstance(a0, Const) and isinstance(a1, Const):
            eq = _call(node.funcname, (a0, a1), SqlType.BOOL)
            return Const(a0.type, None) if eq.value else a0
        return replace(node, args=(a0, a1))
    if isinstance(node, MinMaxExpr):
        args = tuple(_ece(a, case_val) for a in node.args)
        # folded only when every input is a constant (ece_all_arguments_const)
        if all(isinstance(a, Const) for a in args):
            return eval_minmax(replace(node, args=args))
        return replace(node, args=args)
    if isinstance(node, DistinctExpr):
        a0, a1 = (_ece(a, case_val) for a in node.args)
        # folded only when both inputs are constants (clauses.c, T_DistinctExpr)
        if isinstance(a0, Const) and isinstance(a1, Const):
            if a0.isnull or a1.isnull:
                return Const(SqlType.BOOL, a0.isnull != a1.isnull)
            eq = _call(node.funcname, (a0, a1), SqlType.BOOL)
            return Const(SqlType.BOOL, not eq.value)
        return replace(node, args=(a0, a1))
    if isinstance(node, ScalarArrayOpExpr):
        scalar = _ece(node.scalar, case_val)
        elements = tuple(_ece(e, case_val) for e in node.elements)
        node = replace(node, scalar=scalar, elements=elements)
        if isinstance(scalar, Const) and all(isinstance(e, Const) for e in elements):
            return eval_scalar_array_op(node)
        return node
    raise TypeError(f"eval_const_expressions: unexpected {type(node).__name__}")


def eval_minmax(node: MinMaxExpr) -> Const:
    """ExecEvalMinMax over constants, with the type's btree comparison function."""
    cmp = catalog.CMP_FUNCTIONS[node.minmaxtype.value]
    best: Const | None = None
    for a in node.args:
        assert isinstance(a, Const)
        if a.isnull:
            continue
        if best is None:
            best = a
            continue
        c = _call(cmp, (best, a), SqlType.INT4).value
        if (c > 0) if node.op == "LEAST" else (c < 0):  # type: ignore[operator]
            best = a
    return best if best is not None else Const(node.minmaxtype, None)


def simplify_boolean_equality(is_eq: bool, args: tuple[Node, ...]) -> Node | None:
    """`x = true` is x, `x = false` is NOT x (and <> the other way round), as PostgreSQL's
    simplify_boolean_equality; this changes a qual's cost, and so the order quals run in."""
    left, right = args
    for const, other in ((left, right), (right, left)):
        if isinstance(const, Const):
            assert not const.isnull  # a NULL argument was folded away before
            return other if bool(const.value) == is_eq else negate_clause(other)
    return None


def boolean_test(test: str, v: bool | None) -> bool:
    return {
        "IS_TRUE": v is True,
        "IS_NOT_TRUE": v is not True,
        "IS_FALSE": v is False,
        "IS_NOT_FALSE": v is not False,
        "IS_UNKNOWN": v is None,
        "IS_NOT_UNKNOWN": v is not None,
    }[test]


def eval_scalar_array_op(node: ScalarArrayOpExpr) -> Const:
    """ExecEvalScalarArrayOp on constants."""
    scalar = node.scalar
    assert isinstance(scalar, Const)
    if not node.elements:
        return Const(SqlType.BOOL, not node.use_or)
    if scalar.isnull:
        return NULL_BOOL
    resultnull = False
    for e in node.elements:
        assert isinstance(e, Const)
        if e.isnull:
            resultnull = True
            continue
        r = _call(node.funcname, (scalar, e), SqlType.BOOL).value
        if r == node.use_or:
            return Const(SqlType.BOOL, r)
    return NULL_BOOL if resultnull else Const(SqlType.BOOL, not node.use_or)


def _simplify_andor(node: BoolExpr, case_val: Const | None) -> Node:
    """simplify_and_arguments / simplify_or_arguments and their callers."""
    is_and = node.boolop == "AND"
    unprocessed = list(node.args)
    newargs: list[Node] = []
    have_null = False
    while unprocessed:
        arg = unprocessed.pop(0)
        if isinstance(arg, BoolExpr) and arg.boolop == node.boolop:
            unprocessed[:0] = arg.args  # flatten nested ANDs (ORs)
            continue
        arg = _ece(arg, case_val)
        if isinstance(arg, BoolExpr) and arg.boolop == node.boolop:
            unprocessed[:0] = arg.args  # simplification produced one, e.g. by pushing down a NOT
            continue
        if isinstance(arg, Const):
            if arg.isnull:
                have_null = True
            elif arg.value is (not is_and):
                # TRUE in an OR / FALSE in an AND decides it; later inputs are never looked at
                return Const(SqlType.BOOL, not is_and)
            continue  # TRUE in an AND / FALSE in an OR is dropped
        newargs.append(arg)
    if have_null:
        newargs.append(NULL_BOOL)
    if not newargs:
        return Const(SqlType.BOOL, is_and)
    if len(newargs) == 1:
        return newargs[0]
    return BoolExpr(node.boolop, tuple(newargs))


def _simplify_case(node: CaseExpr, case_val: Const | None) -> Node:
    newarg = _ece(node.arg, case_val) if node.arg is not None else None
    inner_val: Const | None = None
    if isinstance(newarg, Const):
        inner_val, newarg = newarg, None  # substituted into the WHEN conditions
    whens: list[tuple[Node, Node]] = []
    default: Node | None = None
    for cond, result in node.whens:
        c = _ece(cond, inner_val)
        const_true = False
        if isinstance(c, Const):
            if c.isnull or not c.value:
                continue  # an arm that can never be taken is dropped, unsimplified
            const_true = True
        r = _ece(result, inner_val)
        if not const_true:
            whens.append((c, r))
            continue
        default = r  # nothing after a constant-TRUE arm is reachable
        break
    if default is None:
        default = _ece(node.default, inner_val)
    if not whens:
        return default
    return CaseExpr(node.casetype, newarg, tuple(whens), default)


def negate_clause(node: Node) -> Node:
    """negate_clause (optimizer/prep/prepqual.c): push a NOT down as far as it goes."""
    if isinstance(node, Const):
        return NULL_BOOL if node.isnull else Const(SqlType.BOOL, not node.value)
    if isinstance(node, FuncExpr) and node.op is not None:
        neg = catalog.NEGATORS.get(node.funcname)
        if neg is not None:
            return replace(node, funcname=neg, op=NEGATED_OP[node.op])
    if isinstance(node, ScalarArrayOpExpr):
        neg = catalog.NEGATORS.get(node.funcname)
        if neg is not None:
            return replace(node, funcname=neg, use_or=not node.use_or, op=NEGATED_OP[node.op])
    if isinstance(node, BoolExpr):
        if node.boolop == "NOT":
            return node.args[0]
        other = "OR" if node.boolop == "AND" else "AND"
        return BoolExpr(other, tuple(negate_clause(a) for a in node.args))
    if isinstance(node, NullTest):
        return replace(node, isnull=not node.isnull)
    if isinstance(node, BooleanTest):
        flip = {"IS_TRUE": "IS_NOT_TRUE", "IS_NOT_TRUE": "IS_TRUE", "IS_FALSE": "IS_NOT_FALSE",
                "IS_NOT_FALSE": "IS_FALSE", "IS_UNKNOWN": "IS_NOT_UNKNOWN",
                "IS_NOT_UNKNOWN": "IS_UNKNOWN"}
        return replace(node, test=flip[node.test])
    return BoolExpr("NOT", (node,))


# ---- canonicalize_qual -------------------------------------------------------------------
def _is(node: Node, boolop: str) -> bool:
    return isinstance(node, BoolExpr) and node.boolop == boolop


def _pull(args: list[Node], boolop: str) -> list[Node]:
    out: list[Node] = []
    for a in args:
        if _is(a, boolop):
            out += _pull(list(a.args), boolop)  # type: ignore[attr-defined]
        else:
            out.append(a)
    return out


def _make(boolop: str, args: list[Node]) -> Node:
    return BoolExpr(boolop, tuple(args))


def find_duplicate_ors(qual: Node) -> Node:
    if _is(qual, "OR"):
        orlist: list[Node] = []
        for arg in qual.args:  # type: ignore[attr-defined]
            arg = find_duplicate_ors(arg)
            if isinstance(arg, Const):
                # within OR in WHERE, drop constant FALSE or NULL; TRUE decides it
                if arg.isnull or not arg.value:
                    continue
                return arg
            orlist.append(arg)
        return process_duplicate_ors(_pull(orlist, "OR"))
    if _is(qual, "AND"):
        andlist: list[Node] = []
        for arg in qual.args:  # type: ignore[attr-defined]
            arg = find_duplicate_ors(arg)
            if isinstance(arg, Const):
                # within AND in WHERE, drop constant TRUE; FALSE or NULL decides it
                if not arg.isnull and arg.value:
                    continue
                return FALSE
            andlist.append(arg)
        andlist = _pull(andlist, "AND")
        if not andlist:
            return TRUE
        if len(andlist) == 1:
            return andlist[0]
        return _make("AND", andlist)
    return qual


def _union(items: list[Node]) -> list[Node]:
    """list_union: items without repeats, in order (a set, not a list scan: inputs can be huge)."""
    if len(items) < 2:  # nothing to compare: no constant's value is read (plancache.py)
        return list(items)
    out: list[Node] = []
    seen: set[Node] = set()
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def process_duplicate_ors(orlist: list[Node]) -> Node:
    if not orlist:
        return FALSE
    if len(orlist) == 1:
        return orlist[0]
    reference: list[Node] = []
    num = 0
    for clause in orlist:
        if _is(clause, "AND"):
            sub = list(clause.args)  # type: ignore[attr-defined]
            if not reference or len(sub) < num:
                reference, num = sub, len(sub)
        else:
            reference = [clause]
            break
    reference = _union(reference)
    winners = []
    for ref in reference:
        win = True
        for clause in orlist:
            if _is(clause, "AND"):
                if ref not in clause.args:  # type: ignore[attr-defined]
                    win = False
                    break
            elif ref != clause:
                win = False
                break
        if win:
            winners.append(ref)
    if not winners:
        return _make("OR", orlist)
    neworlist: list[Node] = []
    for clause in orlist:
        if _is(clause, "AND"):
            sub = [s for s in clause.args if s not in winners]  # type: ignore[attr-defined]
            if sub:
                neworlist.append(sub[0] if len(sub) == 1 else _make("AND", sub))
            else:
                neworlist = []  # (A AND B) OR (A) is just A
                break
        else:
            if clause not in winners:
                neworlist.append(clause)
            else:
                neworlist = []
                break
    if neworlist:
        winners.append(neworlist[0] if len(neworlist) == 1 else _make("OR", _pull(neworlist, "OR")))
    if len(winners) == 1:
        return winners[0]
    return _make("AND", _pull(winners, "AND"))


def canonicalize_qual(qual: Node) -> Node:
    return find_duplicate_ors(qual)


# ---- the WHERE clause as ExecQual sees it --------------------------------------------------
CPU_OPERATOR_COST = 0.0025
MIN_ARRAY_SIZE_FOR_HASHED_SAOP = 9
@functools.cache
def _mergejoinable() -> frozenset[str]:
    return frozenset(f for f in catalog.FUNCTIONS
                     if f.endswith("eq") and f not in ("texteq", "numeric_eq"))


def _hashable(funcname: str) -> bool:
    """Whether PostgreSQL can hash the operator: same-type equality (or its negator)."""
    info = catalog.FUNCTIONS[funcname]
    return len(set(info["args"])) == 1 and funcname.endswith(("eq", "ne"))


def qual_cost(node: Node) -> float:
    """cost_qual_eval's per-tuple cost, accumulated in the walker's order as PostgreSQL does."""
    total = 0.0
    for n in walk(node):
        if isinstance(n, (FuncExpr, NullIfExpr, DistinctExpr)):
            total += catalog.FUNCTIONS[n.funcname]["cost"] * CPU_OPERATOR_COST
            if isinstance(n, FuncExpr):
                total += n.extra_cost * CPU_OPERATOR_COST
        elif isinstance(n, MinMaxExpr):
            total += CPU_OPERATOR_COST  # costed as one operator, whatever its inputs
        elif isinstance(n, ScalarArrayOpExpr):
            op_cost = 0.0 + catalog.FUNCTIONS[n.funcname]["cost"] * CPU_OPERATOR_COST
            hashed = (
                len(n.elements) >= MIN_ARRAY_SIZE_FOR_HASHED_SAOP
                and all(isinstance(e, Const) for e in n.elements)
                and _hashable(n.funcname)
            )
            total += op_cost if hashed else op_cost * len(n.elements) * 0.5
    return total


def _has_vars(node: Node) -> bool:
    return not isinstance(node, Const) and any(isinstance(n, Var) for n in walk(node))


def _is_equivalence(q: Node) -> bool:
    """A qual PostgreSQL files in an equivalence class (a mergejoinable `x = y`)."""
    return (
        isinstance(q, FuncExpr)
        and q.op == "="
        and q.funcname in _mergejoinable()
        and len(q.args) == 2
    )


@dataclass
class QualPlan:
    """The WHERE clause as the executor runs it."""

    quals: list[Node]  # ExecQual's list, in evaluation order
    constant_false: bool  # a one-time filter that is FALSE or NULL: no row can pass


def plan_qual(node: Node) -> QualPlan:
    """preprocess_qual + make_ands_implicit + one-time filters + order_qual_clauses."""
    node = canonicalize_qual(eval_const_expressions(node))
    if isinstance(node, Const):
        return QualPlan([], constant_false=node.isnull or not node.value)
    quals = list(node.args) if _is(node, "AND") else [node]  # type: ignore[attr-defined]
    # pseudoconstant quals (no Vars) are already Consts here; a FALSE one was folded above
    plain = [q for q in quals if not _is_equivalence(q)]
    ec = [q for q in quals if _is_equivalence(q)]
    # `x = x` is turned into `x IS NOT NULL` by process_equivalence
    ec = [
        NullTest(q.args[0], False) if isinstance(q, FuncExpr) and q.args[0] == q.args[1] else q
        for q in ec
    ]
    if _contradictory_constants(ec):
        return QualPlan([], constant_false=True)
    ordered = plain + _dedupe(ec)
    # a stable sort by cost, as order_qual_clauses' insertion sort
    ordered.sort(key=qual_cost)
    return QualPlan(ordered, constant_false=False)


def _dedupe(quals: list[Node]) -> list[Node]:
    """list_union of the equivalence quals. Quals of different shapes (their integer literals
    aside) cannot be equal: when no two share one, none is compared, and no literal's value is
    read (`a = 1 AND b = 2`'s plan is one for every such text: plancache.py)."""
    shapes = set()
    for q in quals:
        sh = _shape(q)
        if sh is None or sh in shapes:
            return _union(quals)
        shapes.add(sh)
    return list(quals)


def _shape(node: object) -> object:
    """node's structure, its constants' values left out (equal nodes have equal shapes; a Param
    equals the Const of its value); None if it holds a NaN elsewhere (not equal to itself,
    but a node holding one NaN object is: only _union can tell)."""
    if isinstance(node, Const):
        return (Const, node.consttype)
    if isinstance(node, Node):
        parts: list[object] = [type(node)]
        for f in fields(node):
            part = _shape(getattr(node, f.name))
            if part is None and getattr(node, f.name) is not None:
                return None
            parts.append(part)
        return tuple(parts)
    if isinstance(node, tuple):
        items: list[object] = []
        for x in node:
            part = _shape(x)
            if part is None and x is not None:
                return None
            items.append(part)
        return tuple(items)
    if isinstance(node, float) and math.isnan(node):
        return None
    return node


def _contradictory_constants(ec: list[Node]) -> bool:
    """x = c1 AND x = c2 with c1 <> c2: the equivalence class proves no row can pass."""
    consts: dict[Node, list[Const]] = {}
    for q in ec:
        if not isinstance(q, FuncExpr):
            continue
        a, b = q.args
        if isinstance(b, Const) and _has_vars(a):
            consts.setdefault(a, []).append(b)
        elif isinstance(a, Const) and _has_vars(b):
            consts.setdefault(b, []).append(a)
    for cs in consts.values():
        first = cs[0]
        for other in cs[1:]:
            eq = catalog.BINARY_OPERATORS[("=", first.type.value, other.type.value)]
            if "func" in eq and not _call(eq["func"], (first, other), SqlType.BOOL).value:
                return True
    return False
