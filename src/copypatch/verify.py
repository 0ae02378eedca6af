"""The step-program verifier: no program reaches an engine unless it is safe to run.

The C engines trust their program completely: a jump past the end, an argument slot beyond a
call info, a column the scan never deformed or an IN-list array that is not one would read or
write wild memory. So every program is checked here before it is laid out in C memory, the ones
compile() lowers (a lowering bug must never reach an engine) and the ones people write by hand
with :func:`copypatch.from_steps` (rawsteps.py). A bad program raises CompileError naming the
first bad step.

What is checked, by a forward dataflow over the steps (jumps only go forward, as PostgreSQL's
ExecInitExpr emits them, so every program terminates and one pass in step order suffices):

Every check is by operand kind and flag (the opcode table, csrc/opcodes.def, read through
opcodes.py), never by a list of opcode names; only the opcodes whose typing is not their kind's
and flags' have a rule of their own (_RULES, _TYPING).

- every opcode is known and every step has exactly its kind's operands: jump targets inside
  the program and after the step, call infos and their functions (by PostgreSQL name, with the
  C core's number of arguments), argument slots below the function's nargs, temporaries below
  ntmp, arrays that exist, constants of their declared type;
- SCAN_FETCHSOME covers at most the schema's columns, and every SCAN_VAR comes after (on every
  path) a FETCHSOME covering its column;
- the type of what each slot holds: every read sees a written slot (a call consumes its
  argument slots: they are written again before another call of the same call info) of the
  type the opcode needs (bool for the BOOL_IN flag, the function's argument types for calls,
  an array of the operator's right type for SCALARARRAYOP, ARRAYEXPR's elements all of one
  type), and no step overwrites a call's constant argument;
- the last reachable step cannot fall off the end, and DONE finds the program's result type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _fmgr
from . import _pgcatalog as catalog
from ._errors import CompileError
from .nodes import Const
from .opcodes import (
    KINDS,
    OPERANDS,
    OPS,
    STEP_DEFAULTS,
    OpFlag,
    OpInfo,
    column_opcode,
    inline_opcode,
)
from .schema import Schema
from .sqltypes import SqlType
from .steps import RESULT, Arg, CallInfo, Dest, Result, Step, StepProgram, Tmp

__all__ = ["check_const", "verify"]

_ARRAY = "array"  # the type of an array (a CpArray pointer): an IN list's, or ARRAY[...]'s
_CONFLICT = "conflict"  # different types on different paths
MAX_STEPS = 1 << 20
_VALUE_TYPES = {t for t in SqlType if t not in (SqlType.NUMERIC, SqlType.UNKNOWN)}


def _fail(i: int, s: Step | None, msg: str) -> CompileError:
    op = f" ({s.opcode})" if s is not None and isinstance(s.opcode, str) else ""
    return CompileError(f"invalid program: step {i}{op}: {msg}")


def check_const(c: Any, t: SqlType | None = None) -> str | None:
    """Why c is not a valid constant (of type t, if given), or None."""
    if not isinstance(c, Const):
        return f"constant must be a Const, not {type(c).__name__}"
    if not isinstance(c.consttype, SqlType) or c.consttype not in _VALUE_TYPES:
        return f"constant of unsupported type {c.consttype!r}"
    if t is not None and c.consttype is not t:
        return f"constant of type {c.consttype.value} where {t.value} is expected"
    v = c.value
    if v is None:
        return None
    ct = c.consttype
    # by how the value travels as a Datum (sqltypes.to_datum), so that a new type in
    # csrc/types.def is checked by its convention's rule
    datum = ct.info.datum
    if datum == "BOOL":
        ok = isinstance(v, (bool, np.bool_))
    elif datum == "INT":
        lo, hi = ct.int_range
        ok = (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
              and lo <= int(v) <= hi)
    else:
        ok = (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
              and _fits_float(v, ct))
    if not ok:
        return f"{v!r} is not a value of type {ct.value}"
    return None


def _fits_float(v: Any, t: SqlType) -> bool:
    """Whether a number survives the store into float type t: infinities and NaN do, a finite
    value beyond the type's largest (or an integer beyond any float) does not."""
    try:
        f = float(v)
    except OverflowError:
        return False
    return not np.isfinite(f) or abs(f) <= float(np.finfo(t.dtype).max)


@dataclass
class _State:
    fetched: int  # columns [0, fetched) are deformed on every path here
    slots: dict[Dest, Any]  # slot -> type written there on every path (or CONFLICT)

    def merge(self, other: _State) -> _State:
        slots = {}
        for k, v in self.slots.items():
            if k in other.slots:
                slots[k] = v if other.slots[k] == v else _CONFLICT
        return _State(min(self.fetched, other.fetched), slots)


def verify(sp: StepProgram, schema: Schema, *, mode: str | None = None) -> StepProgram:
    """Return sp if the engines can run it safely over tables of schema; else raise CompileError
    naming the first bad step. mode: "filter" requires a boolean result."""
    _Verifier(sp, schema, mode).run()
    return sp


class _Verifier:
    """One program's verification: the program-wide checks, then each step's operands (by its
    operand kind, _operands_<kind>) and, for a reachable step, its effect on the slots (its
    flags, and its kind's reads: _reads_<kind>). Opcodes that share a kind share their checks;
    an opcode with a typing rule of its own has it in _RULES or _TYPING."""

    def __init__(self, sp: StepProgram, schema: Schema, mode: str | None) -> None:
        self.sp = sp
        self.schema = schema
        self.mode = mode
        self.ncols = len(schema.columns)

    def run(self) -> None:
        sp = self.sp
        steps = sp.steps
        n = len(steps) if isinstance(steps, list) else 0
        if not isinstance(steps, list) or n == 0:
            raise CompileError("invalid program: no steps")
        if n > MAX_STEPS:
            raise CompileError(f"invalid program: {n} steps (at most {MAX_STEPS})")
        if not isinstance(sp.ntmp, int) or not 0 <= sp.ntmp <= MAX_STEPS:
            raise CompileError(f"invalid program: ntmp {sp.ntmp!r}")
        if sp.result_type not in _VALUE_TYPES:
            raise CompileError(f"invalid program: result type {sp.result_type!r}")
        if self.mode == "filter" and sp.result_type is not SqlType.BOOL:
            raise CompileError(
                f"invalid program: filter needs a boolean result, not {sp.result_type.sql_name}"
            )
        _check_calls(sp)
        _check_arrays(sp)
        ends = {s.opcode for s in steps
                if isinstance(s, Step) and s.opcode in OPS and OPS[s.opcode].flags & OpFlag.ENDS}
        if len(ends) > 1:
            raise CompileError(f"invalid program: it ends in both {' and '.join(sorted(ends))}; "
                               "a program either returns each row's result or loops over the rows")
        if "EEOP_DONE_NEXTROW_FILTER" in ends and sp.result_type is not SqlType.BOOL:
            raise CompileError("invalid program: EEOP_DONE_NEXTROW_FILTER needs a boolean result")
        if "EEOP_DONE_NEXTROW_EVALUATE" in ends and self.mode == "filter":
            raise CompileError("invalid program: EEOP_DONE_NEXTROW_EVALUATE cannot filter")

        # a forward dataflow: jumps only go forward, so one pass in step order sees every
        # path into a step before the step itself
        self.n = n
        self.incoming: list[_State | None] = [None] * (n + 1)
        self.incoming[0] = _State(0, {})
        for i, s in enumerate(steps):
            info = self.operands(i, s)
            st = self.incoming[i]
            if st is not None:  # else unreachable: it never runs
                self.flow(i, s, info, _State(st.fetched, dict(st.slots)))

    # ---- the operands of a step, reachable or not: the C layout reads them all --------------
    def operands(self, i: int, s: Any) -> OpInfo:
        if not isinstance(s, Step):
            raise _fail(i, None, f"not a Step: {type(s).__name__}")
        info = OPS.get(s.opcode) if isinstance(s.opcode, str) else None
        if info is None:
            raise _fail(i, None, f"unknown opcode {s.opcode!r}")
        # exactly the operands of the opcode's kind: the layout fills the kind's member of the
        # step's union from them, so any other one would be silently ignored
        used = OPERANDS[info.kind]
        for name, default in STEP_DEFAULTS.items():
            if name not in used and getattr(s, name) != default:
                raise _fail(i, s, f"operand {name}={getattr(s, name)!r} means nothing to this "
                                  "opcode")
        if info.flags & OpFlag.NO_DEST:
            if s.dest is not None:
                raise _fail(i, s, "this opcode writes no result")
        else:
            self.dest(i, s, s.dest)
        if info.flags & OpFlag.JUMPS:
            if info.flags & OpFlag.ENDS:  # the row loop's jump to the next row
                if s.jumpdone != 0:
                    raise _fail(i, s, f"jump target {s.jumpdone!r}: the next row starts at step 0")
            elif not _is_int(s.jumpdone):
                raise _fail(i, s, f"jump target {s.jumpdone!r}")
            elif not i < s.jumpdone < self.n:
                raise _fail(i, s, f"jump target {s.jumpdone} outside ({i}, {self.n}): "
                                  "jumps go forward, to a step of the program")
        _OPERAND_CHECKS[info.kind](self, i, s, info)
        rule = _RULES.get(info.name)
        if rule is not None:
            rule(self, i, s)
        return info

    def dest(self, i: int, s: Step, d: Any) -> None:
        sp = self.sp
        t = type(d)
        if t is Result:
            return
        if t is Tmp and _is_index(d.tmpno, sp.ntmp):
            return
        if t is Arg and _is_index(d.fcinfo, len(sp.calls)):
            nargs = len(sp.calls[d.fcinfo].argtypes)
            if _is_index(d.argno, nargs):
                return
            raise _fail(i, s, f"argument slot {d.argno!r} of call info {d.fcinfo} "
                              f"({sp.calls[d.fcinfo].funcname} takes {nargs})")
        if t not in (Result, Tmp, Arg):  # a bare tuple, say: lower.Dest is typed
            raise _fail(i, s, f"bad destination {d!r}")
        raise _fail(i, s, f"bad destination {d!r} (calls: {len(sp.calls)}, tmps: {sp.ntmp})")

    def tmp(self, i: int, s: Step) -> None:
        if not _is_index(s.tmp, self.sp.ntmp):
            raise _fail(i, s, f"temporary {s.tmp!r} (the program has {self.sp.ntmp})")

    def call(self, i: int, s: Step) -> CallInfo:
        if not _is_index(s.fcinfo, len(self.sp.calls)):
            raise _fail(i, s, f"call info {s.fcinfo!r} (the program has {len(self.sp.calls)})")
        return self.sp.calls[s.fcinfo]

    def _operands_none(self, i: int, s: Step, info: OpInfo) -> None:
        pass

    def _operands_fetch(self, i: int, s: Step, info: OpInfo) -> None:
        if not _is_int(s.last_var) or not 0 < s.last_var <= self.ncols:
            raise _fail(i, s, f"last_var {s.last_var!r} outside [1, {self.ncols}]: the table "
                              f"has {self.ncols} columns")

    def _operands_var(self, i: int, s: Step, info: OpInfo) -> None:
        if not _is_index(s.attnum, self.ncols):
            raise _fail(i, s, f"attnum {s.attnum!r} outside [0, {self.ncols})")

    def _operands_column(self, i: int, s: Step, info: OpInfo) -> None:
        self._operands_var(i, s, info)
        col = self.schema.columns[s.attnum]
        if info.name not in (column_opcode(col.type.name, True),
                             column_opcode(col.type.name, False)):
            raise _fail(i, s, f"column {s.attnum} ({col.name}) is {col.type.value}"
                              f"{'' if col.nullable else ' NOT NULL'}")
        if info.flags & OpFlag.NONULL and col.nullable:
            raise _fail(i, s, f"column {s.attnum} ({col.name}) is nullable")

    def _operands_constval(self, i: int, s: Step, info: OpInfo) -> None:
        if _is_int(s.array) and s.array >= 0:
            if s.array >= len(self.sp.arrays):
                raise _fail(i, s, f"array {s.array} (the program has {len(self.sp.arrays)})")
            return
        why = check_const(s.const)
        if why:
            raise _fail(i, s, why)
        assert s.const is not None
        if info.flags & OpFlag.NONULL and s.const.isnull:
            raise _fail(i, s, "the constant's NULLness contradicts the opcode")

    def _operands_func(self, i: int, s: Step, info: OpInfo) -> None:
        call = self.call(i, s)
        if info.flags & OpFlag.INLINE:
            if info.name != inline_opcode(call.funcname, bool(info.flags & OpFlag.NONULL)):
                raise _fail(i, s, f"the opcode inlines another function than its call "
                                  f"info's {call.funcname}")
            if len(call.argtypes) != 2:
                raise _fail(i, s, f"{call.funcname} takes {len(call.argtypes)} arguments; "
                                  "inlined built-ins take 2")

    def _operands_scalararrayop(self, i: int, s: Step, info: OpInfo) -> None:
        call = self.call(i, s)
        _need_bool_binary(i, s, call)
        if 1 in call.consts:
            raise _fail(i, s, f"argument 1 of {call.funcname} takes the array's elements; "
                              "it cannot hold a constant")

    def _operands_boolexpr(self, i: int, s: Step, info: OpInfo) -> None:
        self.tmp(i, s)

    def _operands_qualexpr(self, i: int, s: Step, info: OpInfo) -> None:
        if type(s.dest) is not Result:
            raise _fail(i, s, "QUAL works on the result")

    def _operands_jump(self, i: int, s: Step, info: OpInfo) -> None:
        pass

    def _operands_minmax(self, i: int, s: Step, info: OpInfo) -> None:
        call = self.call(i, s)
        if not _is_int(s.nelems) or s.nelems < 1:
            raise _fail(i, s, f"nelems {s.nelems!r}: GREATEST/LEAST has at least one input")
        if not _is_index(s.tmp, self.sp.ntmp) or s.tmp + s.nelems > self.sp.ntmp:
            raise _fail(i, s, f"inputs tmp{s.tmp!r}.. ({s.nelems!r} of them) outside the "
                              f"program's {self.sp.ntmp} temporaries")
        if not isinstance(s.least, bool):
            raise _fail(i, s, f"least must be a bool, not {s.least!r}")
        info_ = catalog.FUNCTIONS[call.funcname]
        if (len(call.argtypes) != 2 or call.argtypes[0] != call.argtypes[1]
                or info_["rettype"] != "int4" or call.consts):
            raise _fail(i, s, f"{call.funcname} is not a comparison function (two arguments "
                              "of one type, an int4 result, no constants)")

    def _operands_casetest(self, i: int, s: Step, info: OpInfo) -> None:
        self.tmp(i, s)

    def _operands_arrayexpr(self, i: int, s: Step, info: OpInfo) -> None:
        if not _is_int(s.nelems) or s.nelems < 1:
            raise _fail(i, s, f"nelems {s.nelems!r}: an array built per row has at least one "
                              "element (an empty one is a constant)")
        if not _is_index(s.tmp, self.sp.ntmp) or s.tmp + s.nelems > self.sp.ntmp:
            raise _fail(i, s, f"elements tmp{s.tmp!r}.. ({s.nelems!r} of them) outside the "
                              f"program's {self.sp.ntmp} temporaries")

    # ---- what a reachable step does to the slots ---------------------------------------------
    def flow(self, i: int, s: Step, info: OpInfo, st: _State) -> None:
        self.st, self.i, self.s = st, i, s
        typing = _TYPING.get(info.name)
        if typing is None:
            written = _READS[info.kind](self, s)
        else:
            written = typing(self, s)  # instead of its kind's
        flags = info.flags
        d = s.dest
        if flags & OpFlag.READS_DEST:
            assert d is not None  # checked with the operands
            self.read(d, SqlType.BOOL if flags & OpFlag.BOOL_IN else None)
        if flags & OpFlag.ENDS:
            want = SqlType.BOOL if self.mode == "filter" else self.sp.result_type
            self.read(RESULT, want, "the program's result")
        if flags & OpFlag.BOOL_OUT:
            written = SqlType.BOOL
        if written is not None:
            assert d is not None
            self.write(d, written)
        if flags & OpFlag.JUMPS and not flags & OpFlag.ENDS:
            self.merge(s.jumpdone, st)
        if not flags & OpFlag.NO_FALLTHROUGH:
            if i + 1 >= self.n:
                raise _fail(i, s, "the program runs off its end (the last step must be DONE)")
            self.merge(i + 1, st)

    def merge(self, target: int, st: _State) -> None:
        cur = self.incoming[target]
        self.incoming[target] = st if cur is None else cur.merge(st)

    def read(self, slot: Dest, want: Any = None, what: str = "value") -> Any:
        t = self.st.slots.get(slot)
        if t is None:
            raise _fail(self.i, self.s, f"reads {_describe(slot)} before anything is written "
                                        "there")
        if t == _CONFLICT:
            raise _fail(self.i, self.s, f"reads {_describe(slot)}, which holds different types "
                                        "on different paths")
        if want is not None and t != want:
            raise _fail(self.i, self.s, f"reads {_describe(slot)} as {_tname(want)}, but it "
                                        f"holds {_tname(t)} ({what})")
        return t

    def write(self, d: Dest, t: Any) -> None:
        # any type may pass through a slot (a CASE condition goes through its result's slot,
        # as in PostgreSQL); what the call reads is checked when it reads it
        if type(d) is Arg and d.argno in self.sp.calls[d.fcinfo].consts:
            raise _fail(self.i, self.s, f"writes to {_describe(d)}, which holds a constant")
        self.st.slots[d] = t

    def read_args(self, s: Step, skip: tuple[int, ...] = ()) -> None:
        c = self.sp.calls[s.fcinfo]
        slots = self.st.slots
        for a, t in enumerate(c.argtypes):
            if a in c.consts or a in skip:
                continue
            slot = Arg(s.fcinfo, a)
            self.read(slot, t, f"argument {a} of {c.funcname}")
            # consumed: a call's arguments are written anew before each call, as lowering
            # does; forgetting them keeps the state as small as the expression is deep
            del slots[slot]

    # each returns the type the step writes to its destination (None: it writes nothing, or
    # what its flags say)
    def _reads_none(self, s: Step) -> Any:
        return None

    def _reads_fetch(self, s: Step) -> Any:
        self.st.fetched = max(self.st.fetched, s.last_var)
        return None

    def _reads_var(self, s: Step) -> Any:
        if s.attnum >= self.st.fetched:
            raise _fail(self.i, s, f"column {s.attnum} read before a SCAN_FETCHSOME covers it "
                                   f"(columns deformed here on every path: {self.st.fetched})")
        return self.schema.columns[s.attnum].type

    def _reads_column(self, s: Step) -> Any:
        return self.schema.columns[s.attnum].type

    def _reads_constval(self, s: Step) -> Any:
        if s.array >= 0:
            return (_ARRAY, self.sp.arrays[s.array][0])
        assert s.const is not None
        return s.const.consttype

    def _reads_func(self, s: Step) -> Any:
        self.read_args(s)
        return SqlType(catalog.FUNCTIONS[self.sp.calls[s.fcinfo].funcname]["rettype"])

    def _reads_scalararrayop(self, s: Step) -> Any:
        call = self.sp.calls[s.fcinfo]
        self.read_args(s, skip=(1,))
        assert s.dest is not None
        self.read(s.dest, (_ARRAY, call.argtypes[1]), "the array of ANY/ALL")
        return None  # BOOL_OUT

    def _reads_boolexpr(self, s: Step) -> Any:
        return None

    _reads_qualexpr = _reads_jump = _reads_boolexpr

    def _reads_minmax(self, s: Step) -> Any:
        t = self.sp.calls[s.fcinfo].argtypes[0]
        for k in range(s.tmp, s.tmp + s.nelems):
            self.read(Tmp(k), t, f"input {k - s.tmp} of GREATEST/LEAST")
        return t

    def _reads_casetest(self, s: Step) -> Any:
        return self.read(Tmp(s.tmp), None, "the CASE operand")

    def _reads_arrayexpr(self, s: Step) -> Any:
        # the array's type is its elements': one value type, which the first one sets
        t = self.read(Tmp(s.tmp), None, "element 0 of ARRAY[...]")
        if t not in _VALUE_TYPES:
            raise _fail(self.i, s, f"element 0 of ARRAY[...] is {_tname(t)}, not a value")
        for k in range(s.tmp + 1, s.tmp + s.nelems):
            self.read(Tmp(k), t, f"element {k - s.tmp} of ARRAY[...]")
        return (_ARRAY, t)


# every operand kind has both methods: a kind added to the C table fails here, at import
_OPERAND_CHECKS: dict[str, Callable[[_Verifier, int, Step, OpInfo], None]] = {
    kind: getattr(_Verifier, f"_operands_{kind}") for kind in KINDS
}
_READS: dict[str, Callable[[_Verifier, Step], Any]] = {
    kind: getattr(_Verifier, f"_reads_{kind}") for kind in KINDS
}


# ---- opcodes with a rule of their own, beyond their kind's and flags' ---------------------------
def _const_null(v: _Verifier, i: int, s: Step) -> None:
    if s.array >= 0:
        raise _fail(i, s, "an IN list's array is not NULL")
    assert s.const is not None
    if not s.const.isnull:
        raise _fail(i, s, "the constant's NULLness contradicts the opcode")


def _bool_binary(v: _Verifier, i: int, s: Step) -> None:
    _need_bool_binary(i, s, v.sp.calls[s.fcinfo])


def _strict_arg1(v: _Verifier, i: int, s: Step) -> None:
    call = v.sp.calls[s.fcinfo]
    if len(call.argtypes) < 2:
        raise _fail(i, s, f"{call.funcname} has no argument 1 to check")


#: operand checks of single opcodes, run after their kind's
_RULES: dict[str, Callable[[_Verifier, int, Step], None]] = {
    "EEOP_CONST_NULL": _const_null,
    "EEOP_DISTINCT": _bool_binary,  # a IS DISTINCT FROM b: "=" between the two
    "EEOP_NULLIF": _bool_binary,
    "EEOP_FUNCEXPR_STRICT_ARG1": _strict_arg1,
}


def _nullif_type(v: _Verifier, s: Step) -> Any:
    v.read_args(s)
    return v.sp.calls[s.fcinfo].argtypes[0]  # NULLIF(a, b) is a or NULL


#: reads and result types of single opcodes that are not their kind's
_TYPING: dict[str, Callable[[_Verifier, Step], Any]] = {
    "EEOP_NULLIF": _nullif_type,
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_index(v: Any, n: int) -> bool:
    return _is_int(v) and 0 <= v < n


def _tname(t: Any) -> str:
    if isinstance(t, SqlType):
        return t.value
    if isinstance(t, tuple) and t and t[0] == _ARRAY:
        return f"{t[1].value}[] (an array)"
    return str(t)


def _describe(slot: Dest) -> str:
    return "the result" if isinstance(slot, Result) else str(slot)


def _need_bool_binary(i: int, s: Step, call: CallInfo) -> None:
    info = catalog.FUNCTIONS[call.funcname]
    if len(call.argtypes) != 2 or info["rettype"] != "bool":
        raise _fail(i, s, f"{call.funcname} is not a boolean operator of two arguments")


def _check_calls(sp: StepProgram) -> None:
    for f, call in enumerate(sp.calls):
        where = f"call info {f}"
        if not isinstance(call, CallInfo):
            raise CompileError(f"invalid program: {where} is not a CallInfo")
        if call.funcname not in _fmgr.FUNCTIONS or call.funcname not in catalog.FUNCTIONS:
            raise CompileError(f"invalid program: {where}: unknown function {call.funcname!r}")
        nargs = _fmgr.FUNCTIONS[call.funcname][1]
        if nargs == -1:  # VARIADIC "any" (num_nulls): any number of arguments of any types
            nargs = len(call.argtypes)
            want = tuple(call.argtypes)
            if not nargs or not all(t in _VALUE_TYPES for t in want):
                raise CompileError(f"invalid program: {where}: {call.funcname} takes one or "
                                   "more arguments of copypatch's types")
        else:
            want = tuple(SqlType(t) for t in catalog.FUNCTIONS[call.funcname]["args"])
        if len(want) != nargs or tuple(call.argtypes) != want:
            raise CompileError(
                f"invalid program: {where}: {call.funcname} takes "
                f"({', '.join(t.value for t in want)}), not "
                f"({', '.join(getattr(t, 'value', repr(t)) for t in call.argtypes)})"
            )
        for a, c in call.consts.items():
            if not _is_index(a, nargs):
                raise CompileError(f"invalid program: {where}: constant for argument {a!r}, "
                                   f"but {call.funcname} takes {nargs}")
            why = check_const(c, want[a])
            if why:
                raise CompileError(f"invalid program: {where}, argument {a}: {why}")


def _check_arrays(sp: StepProgram) -> None:
    for k, arr in enumerate(sp.arrays):
        if not (isinstance(arr, tuple) and len(arr) == 2 and arr[0] in _VALUE_TYPES):
            raise CompileError(f"invalid program: array {k}: expected (type, constants)")
        t, elems = arr
        if len(elems) > (1 << 31) - 1:
            raise CompileError(f"invalid program: array {k} has too many elements")
        for e in elems:
            why = check_const(e, t)
            if why:
                raise CompileError(f"invalid program: array {k}: {why}")
