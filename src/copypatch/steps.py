"""The step program: PostgreSQL's ExprEvalStep list before it is laid out in C memory.

The data every stage after parse analysis shares: lowering (lower.py) builds it, the passes
rewrite it, the verifier checks it, the layout writes it into C structures, and from_steps
(rawsteps.py) builds one from plain dicts. Each step's operands are the fields its opcode's
operand kind names (opcodes.OPERANDS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .nodes import Const
from .sqltypes import SqlType


# ---- destinations: where a step writes its value/isnull pair (its resvalue/resnull) ----------
# NamedTuples, not dataclasses: the verifier keys its state by them, and a tuple hashes in C.
class Result(NamedTuple):
    """The expression's result, ExprState.resvalue/resnull."""

    def __str__(self) -> str:
        return "result"


class Tmp(NamedTuple):
    """Temporary number tmpno of the program."""

    tmpno: int

    def __str__(self) -> str:
        return f"tmp{self.tmpno}"


class Arg(NamedTuple):
    """Argument slot `argno` of call info `fcinfo` (FunctionCallInfoBaseData.args[argno])."""

    fcinfo: int
    argno: int

    def __str__(self) -> str:
        return f"fcinfo{self.fcinfo}.arg{self.argno}"


Dest = Result | Tmp | Arg
RESULT = Result()


@dataclass
class CallInfo:
    """A call info: the function and its argument slots (constants filled in at compile time).

    maybe_null[i] says whether argument i can be NULL at run time (see may_be_null); the
    null-check elision pass reads it.
    """

    funcname: str
    argtypes: tuple[SqlType, ...]
    consts: dict[int, Const] = field(default_factory=dict)
    maybe_null: tuple[bool, ...] = ()


@dataclass
class Step:
    """One ExprEvalStep before it is laid out in C memory."""

    opcode: str  # the EEOP_* name
    dest: Dest | None
    last_var: int = 0  # SCAN_FETCHSOME
    attnum: int = -1  # SCAN_VAR
    const: Const | None = None  # CONST
    fcinfo: int = -1  # FUNCEXPR*, DISTINCT, NULLIF, SCALARARRAYOP: index into Program.calls
    use_or: bool = False  # SCALARARRAYOP
    jumpdone: int = -1  # BOOL_*, QUAL, JUMP*
    tmp: int = -1  # BOOL_* (anynull), CASE_TESTVAL (the CASE operand), MINMAX, ARRAYEXPR (first input)
    nelems: int = 0  # MINMAX, ARRAYEXPR: its inputs are tmp .. tmp + nelems - 1
    least: bool = False  # MINMAX: LEAST (else GREATEST)
    array: int = -1  # CONST of an IN list's array: index into Program.arrays
    var_name: str = ""
    var_type: SqlType | None = None  # SCAN_VAR: the column's type and nullability
    var_nullable: bool = True


@dataclass
class StepProgram:
    steps: list[Step]
    calls: list[CallInfo]
    arrays: list[tuple[SqlType, tuple[Const, ...]]]
    ntmp: int
    result_type: SqlType
    #: "filter" (ExecInitQual's program), "evaluate" (ExecInitExpr's), or None (raw steps)
    mode: str | None = None
