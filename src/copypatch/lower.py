"""Lowering: typed expression trees to step programs, as PostgreSQL's ExecInitExpr does.

Each node becomes steps that write its value to a destination chosen by the parent: the
expression's result (ExprState.resvalue), an argument slot of a function call's call info, or a
temporary. A function argument that is a constant is stored in its slot once, here, and emits no
step; PostgreSQL does the same (and still null-checks it on every row, which the optimisation
passes remove). Jumps are patched once their target is known, like ExprEvalPushStep's callers.
"""

from __future__ import annotations

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
from .steps import RESULT, Arg, CallInfo, Dest, Result, Step, StepProgram, Tmp

__all__ = [
    "RESULT",
    "Arg",
    "CallInfo",
    "Dest",
    "Lowerer",
    "Result",
    "Step",
    "StepProgram",
    "Tmp",
    "lower_expr",
    "lower_qual",
    "may_be_null",
]



class Lowerer:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.calls: list[CallInfo] = []
        self.arrays: list[tuple[SqlType, tuple[Const, ...]]] = []
        self.ntmp = 0
        self.caseval: list[int] = []  # stack of the tmps holding CASE operands

    def push(self, step: Step) -> int:
        self.steps.append(step)
        return len(self.steps) - 1

    def new_tmp(self) -> int:
        self.ntmp += 1
        return self.ntmp - 1

    def setup(self, nodes: list[Node]) -> None:
        """ExecCreateExprSetupSteps: deform the scan slot up to the last column used."""
        attnos = [n.attno for root in nodes for n in walk(root) if isinstance(n, Var)]
        if attnos:
            self.push(Step("EEOP_SCAN_FETCHSOME", None, last_var=max(attnos) + 1))

    def lower(self, node: Node, dest: Dest) -> None:
        """ExecInitExprRec."""
        if isinstance(node, Var):
            self.push(Step("EEOP_SCAN_VAR", dest, attnum=node.attno, var_name=node.name,
                           var_type=node.vartype, var_nullable=node.nullable))
        elif isinstance(node, Const):
            self.push(Step("EEOP_CONST", dest, const=node))
        elif isinstance(node, FuncExpr):
            f = self.call(node.funcname, node.args)
            strict = catalog.FUNCTIONS[node.funcname]["strict"]
            self.push(Step("EEOP_FUNCEXPR_STRICT" if strict else "EEOP_FUNCEXPR", dest, fcinfo=f))
        elif isinstance(node, BoolExpr):
            self.bool_expr(node, dest)
        elif isinstance(node, NullTest):
            self.lower(node.arg, dest)
            self.push(Step("EEOP_NULLTEST_ISNULL" if node.isnull else "EEOP_NULLTEST_ISNOTNULL", dest))
        elif isinstance(node, BooleanTest):
            self.lower(node.arg, dest)
            opcode = {
                "IS_TRUE": "EEOP_BOOLTEST_IS_TRUE",
                "IS_NOT_TRUE": "EEOP_BOOLTEST_IS_NOT_TRUE",
                "IS_FALSE": "EEOP_BOOLTEST_IS_FALSE",
                "IS_NOT_FALSE": "EEOP_BOOLTEST_IS_NOT_FALSE",
                "IS_UNKNOWN": "EEOP_NULLTEST_ISNULL",  # the same test for a boolean
                "IS_NOT_UNKNOWN": "EEOP_NULLTEST_ISNOTNULL",
            }[node.test]
            self.push(Step(opcode, dest))
        elif isinstance(node, CaseExpr):
            self.case(node, dest)
        elif isinstance(node, CaseTestExpr):
            self.push(Step("EEOP_CASE_TESTVAL", dest, tmp=self.caseval[-1]))
        elif isinstance(node, CoalesceExpr):
            jumps = []
            for arg in node.args:
                self.lower(arg, dest)
                jumps.append(self.push(Step("EEOP_JUMP_IF_NOT_NULL", dest)))
            for j in jumps:
                self.steps[j].jumpdone = len(self.steps)
        elif isinstance(node, NullIfExpr):
            f = self.call(node.funcname, node.args)
            self.push(Step("EEOP_NULLIF", dest, fcinfo=f))
        elif isinstance(node, MinMaxExpr):
            # each input into a temporary of its own, then EEOP_MINMAX over them
            first = self.ntmp
            self.ntmp += len(node.args)
            for i, a in enumerate(node.args):
                self.lower(a, Tmp(first + i))
            f = self.call(catalog.CMP_FUNCTIONS[node.minmaxtype.value], ())  # slots unused
            self.push(Step("EEOP_MINMAX", dest, fcinfo=f, tmp=first, nelems=len(node.args),
                           least=node.op == "LEAST"))
        elif isinstance(node, DistinctExpr):
            f = self.call(node.funcname, node.args)
            self.push(Step("EEOP_DISTINCT", dest, fcinfo=f))
        elif isinstance(node, ScalarArrayOpExpr):
            # the scalar into the operator's first argument, the array into the destination
            f = self.call(node.funcname, (node.scalar,), nconst=False)
            consts = tuple(e for e in node.elements if isinstance(e, Const))
            if len(consts) == len(node.elements):
                self.arrays.append((node.elemtype, consts))  # folded by the planner
                self.push(Step("EEOP_CONST", dest, array=len(self.arrays) - 1))
            else:
                # a per-row ArrayExpr: every element, in order, into a temporary of its own,
                # then EEOP_ARRAYEXPR builds the array over them (errors come in that order)
                first = self.ntmp
                self.ntmp += len(node.elements)
                for k, e in enumerate(node.elements):
                    self.lower(e, Tmp(first + k))
                self.push(Step("EEOP_ARRAYEXPR", dest, tmp=first, nelems=len(node.elements)))
            self.push(Step("EEOP_SCALARARRAYOP", dest, fcinfo=f, use_or=node.use_or))
        else:
            raise TypeError(f"cannot lower {type(node).__name__}")

    def call(self, funcname: str, args: tuple[Node, ...], nconst: bool = True) -> int:
        """ExecInitFunc: a call info whose argument slots receive the arguments' values."""
        info = catalog.FUNCTIONS[funcname]
        f = len(self.calls)
        # VARIADIC "any" (num_nulls) takes its arguments' own types, as many as there are
        argtypes = (tuple(a.type for a in args) if info["args"] == ("any",)
                    else tuple(SqlType(t) for t in info["args"]))
        call = CallInfo(funcname, argtypes,
                        maybe_null=tuple(may_be_null(a) for a in args) + (True,) * (len(argtypes) - len(args)))
        self.calls.append(call)
        for i, arg in enumerate(args):
            if nconst and isinstance(arg, Const):
                call.consts[i] = arg  # stored once, no step
            else:
                self.lower(arg, Arg(f, i))
        return f

    def bool_expr(self, node: BoolExpr, dest: Dest) -> None:
        if node.boolop == "NOT":
            self.lower(node.args[0], dest)
            self.push(Step("EEOP_BOOL_NOT_STEP", dest))
            return
        kind = "AND" if node.boolop == "AND" else "OR"
        anynull = self.new_tmp()
        jumps = []
        n = len(node.args)
        for i, arg in enumerate(node.args):
            self.lower(arg, dest)
            suffix = "_FIRST" if i == 0 else "_LAST" if i == n - 1 else ""
            jumps.append(self.push(Step(f"EEOP_BOOL_{kind}_STEP{suffix}", dest, tmp=anynull)))
        for j in jumps:
            self.steps[j].jumpdone = len(self.steps)

    def case(self, node: CaseExpr, dest: Dest) -> None:
        if node.arg is not None:
            t = self.new_tmp()
            self.lower(node.arg, Tmp(t))
            self.caseval.append(t)
        done_jumps = []
        for cond, result in node.whens:
            self.lower(cond, dest)
            skip = self.push(Step("EEOP_JUMP_IF_NOT_TRUE", dest))
            self.lower(result, dest)
            done_jumps.append(self.push(Step("EEOP_JUMP", None)))
            self.steps[skip].jumpdone = len(self.steps)
        self.lower(node.default, dest)
        for j in done_jumps:
            self.steps[j].jumpdone = len(self.steps)
        if node.arg is not None:
            self.caseval.pop()

    def program(self, result_type: SqlType, mode: str) -> StepProgram:
        return StepProgram(self.steps, self.calls, self.arrays, self.ntmp, result_type, mode)


def may_be_null(node: Node, caseval: Node | None = None) -> bool:
    """Whether node can evaluate to NULL for some row: NOT NULL columns, non-null constants and
    strict built-ins of non-null inputs (none of ours returns NULL otherwise) cannot."""
    if isinstance(node, Var):
        return node.nullable
    if isinstance(node, Const):
        return node.isnull
    if isinstance(node, FuncExpr):
        # the only non-strict built-ins, num_nulls and num_nonnulls, count NULLs: never NULL
        if node.funcname in _fmgr.RETURNS_NULL:
            return True
        return catalog.FUNCTIONS[node.funcname]["strict"] and any(
            may_be_null(a, caseval) for a in node.args)
    if isinstance(node, BoolExpr):
        return any(may_be_null(a, caseval) for a in node.args)
    if isinstance(node, (NullTest, BooleanTest, DistinctExpr)):
        return False
    if isinstance(node, CaseExpr):
        inner = node.arg if node.arg is not None else caseval
        return any(may_be_null(r, inner) for _, r in node.whens) or may_be_null(node.default, inner)
    if isinstance(node, CaseTestExpr):
        return True if caseval is None else may_be_null(caseval)
    if isinstance(node, (CoalesceExpr, MinMaxExpr)):
        return all(may_be_null(a, caseval) for a in node.args)
    if isinstance(node, ScalarArrayOpExpr):
        return bool(node.elements) and (
            may_be_null(node.scalar, caseval) or any(may_be_null(e, caseval) for e in node.elements)
        )
    return True  # NULLIF, and anything new: assume the worst


def lower_qual(quals: list[Node]) -> StepProgram:
    """ExecInitQual: each conjunct, then a QUAL step that leaves early on FALSE or NULL."""
    lw = Lowerer()
    lw.setup(quals)
    qual_steps = []
    for q in quals:
        lw.lower(q, RESULT)
        qual_steps.append(lw.push(Step("EEOP_QUAL", RESULT)))
    for j in qual_steps:
        lw.steps[j].jumpdone = len(lw.steps)
    lw.push(Step("EEOP_DONE", None))
    return lw.program(SqlType.BOOL, "filter")


def lower_expr(node: Node) -> StepProgram:
    """ExecInitExpr: the expression's value into the result, then DONE."""
    lw = Lowerer()
    lw.setup([node])
    lw.lower(node, RESULT)
    lw.push(Step("EEOP_DONE", None))
    return lw.program(node.type, "evaluate")
