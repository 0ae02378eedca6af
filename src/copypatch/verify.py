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
- what each slot holds, by the opcode's effects (opcodes.def's fourth column: every slot it
  reads and writes, value and NULL flag apart), never by a list of opcode names: every read sees
  a written slot of the type the opcode needs (bool for the BOOL_IN flag, the function's
  argument types for calls, an array for SCALARARRAYOP, ARRAYEXPR's
  elements all of one type, each ARRAYEXPR consumed by the SCALARARRAYOP right after it); a CHECKED read needs a value
  wherever the flag is false, a NONULL read a value and no possible NULL (NULLness is part of the
  state); a NULL flag written alone leaves no readable value (no stale value is ever read); a
  LAST_USE step consumes the argument slots and temporaries it reads (they are written again
  before another read); no step overwrites a call's constant argument or touches one slot in
  two roles;
- the last reachable step cannot fall off the end, and DONE finds the program's result type.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _fmgr
from ._catalog import catalog
from ._errors import CompileError
from ._lazy import lazy_numpy
from .nodes import Const, Param, unread_value
from .opcodes import (
    BLOCK_END,
    KINDS,
    OPERANDS,
    OPS,
    STEP_DEFAULTS,
    Effect,
    OpFlag,
    OpInfo,
    column_opcode,
    inline_opcode,
    is_block_qual,
    qual_opcode,
    scalararrayop_opcode,
)
from .schema import Schema
from .sqltypes import SqlType
from .steps import RESULT, Arg, CallInfo, Dest, Result, Step, StepProgram, Tmp

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

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
    # read past a Param's count of reads (nodes.py): whether a value passes here is no decision
    # of the plan's (a plan cache's literal is of int4 and in range whatever its value)
    v = unread_value(c)
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
        text = repr(v)
        if len(text) > 40:  # 10**400: say which number, not all of its digits
            text = f"{text[:20]}...({len(text)} characters)"
        return f"{text} is not a value of type {ct.value}"
    return None


def _fits_float(v: Any, t: SqlType) -> bool:
    """Whether a number survives the store into float type t: infinities and NaN do, a finite
    value beyond the type's largest (or an integer beyond any float) does not."""
    try:
        f = float(v)
    except OverflowError:
        return False
    return not np.isfinite(f) or abs(f) <= float(np.finfo(t.dtype).max)


# what the verifier knows of a slot on every path to a step: (type, value, may_be_null)
#   type         what was written there (a SqlType, an IN list's (_ARRAY, type, nonempty,
#                has_nulls), _FLAG for a NULL flag written alone, or _CONFLICT)
#   value        _ALWAYS: the value is written; _IFNN: written wherever the flag is false;
#                _NONE: not readable at all (a flag set over a stale value: a step that sets a
#                NULL flag leaves no stale value readable)
#   may_be_null  whether the flag can be true here: NONULL reads need False
# a slot absent from the state has neither value nor flag written
_NONE, _IFNN, _ALWAYS = 0, 1, 2
_FLAG = "flag"  # a temporary holding only a NULL flag (AND/OR's anynull)
SlotState = tuple[Any, int, bool]
_Written = dict[str, tuple[Any, bool]]  # role -> (type, may be NULL) a step writes there


@dataclass
class _State:
    fetched: int  # columns [0, fetched) are deformed on every path here
    slots: dict[Dest, SlotState]

    def merge(self, other: _State) -> _State:
        slots = {}
        for k, (t, v, n) in self.slots.items():
            o = other.slots.get(k)
            if o is not None:
                slots[k] = (t if o[0] == t else _CONFLICT, min(v, o[1]), n or o[2])
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
        # the mode the program was made for, unless the caller names one
        self.mode = mode if mode is not None else sp.mode
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
        if "EEOP_DONE_NEXTROW_FILTER" in ends and self.mode == "evaluate":
            raise CompileError("invalid program: EEOP_DONE_NEXTROW_FILTER cannot evaluate")

        # a forward dataflow: jumps only go forward, so one pass in step order sees every
        # path into a step before the step itself
        self.n = n
        self.incoming: list[_State | None] = [None] * (n + 1)
        # a call's constant arguments are written once, at compile time, and stay: kept out
        # of the state, which is copied at every step
        self.consts: dict[Dest, SlotState] = {
            Arg(f, a): (c.consttype, _ALWAYS, c.isnull)
            for f, call in enumerate(sp.calls) for a, c in call.consts.items()
        }
        self.incoming[0] = _State(0, {})
        self.slots: list[list[tuple[str, Dest, Effect]]] = []
        for i, s in enumerate(steps):
            info = self.operands(i, s)
            st = self.incoming[i]
            if st is not None:  # else unreachable: it never runs
                self.flow(i, s, info, _State(st.fetched, dict(st.slots)))
        self.block_program(steps)

    def block_program(self, steps: list[Any]) -> None:
        """A block program (the block_scan pass) is block steps, each jumping to the block end,
        then the block end, which loops back to step 0: nothing else can run between them (the
        steps write no slot and read none, so the dataflow below has nothing more to check),
        and the output mask it fills is a filter's."""
        n = len(steps)
        names = [s.opcode if isinstance(s, Step) else None for s in steps]
        if BLOCK_END not in names and not any(isinstance(o, str) and is_block_qual(o) for o in names):
            return
        if self.mode == "evaluate" or self.sp.result_type is not SqlType.BOOL:
            raise CompileError("invalid program: a block program fills a filter's mask: it can "
                               "only filter")
        if names[-1] != BLOCK_END or n < 2:
            raise CompileError(f"invalid program: a block program ends in {BLOCK_END}, after at "
                               "least one block step")
        for i, s in enumerate(steps[:-1]):
            if not (isinstance(s.opcode, str) and is_block_qual(s.opcode)):
                raise _fail(i, s, "a block program is block steps and the block end only")
            if s.jumpdone != n - 1:
                raise _fail(i, s, f"jump target {s.jumpdone!r}: a block step jumps to the block "
                                  f"end, step {n - 1}")

    # ---- the operands of a step, reachable or not: the C layout reads them all --------------
    def operands(self, i: int, s: Any) -> OpInfo:
        if not isinstance(s, Step):
            raise _fail(i, None, f"not a Step: {type(s).__name__}")
        info = OPS.get(s.opcode) if isinstance(s.opcode, str) else None
        if info is None:
            raise _fail(i, None, f"unknown opcode {s.opcode!r}")
        # exactly the operands of the opcode's kind: the layout fills the kind's member of the
        # step's union from them, so any other one would be silently ignored
        unused, get_unused, defaults = _UNUSED[info.kind]
        if get_unused(s) != defaults:
            for name in unused:
                if getattr(s, name) != STEP_DEFAULTS[name]:
                    raise _fail(i, s, f"operand {name}={getattr(s, name)!r} means nothing to "
                                      "this opcode")
        if info.flags & OpFlag.NO_DEST:
            if s.dest is not None:
                raise _fail(i, s, "this opcode writes no result")
        else:
            self.dest(i, s, s.dest)
        if info.flags & OpFlag.JUMPS:
            if info.flags & OpFlag.ENDS or info.name == BLOCK_END:  # the jump to the next row
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
        slots = step_slots(self.sp, s, info)
        seen: dict[Dest, str] = {}
        for role, slot, _ in slots:
            if slot in seen:  # one slot in two roles: no declaration says what that does
                raise _fail(i, s, f"{_describe(slot)} is both its {seen[slot].lower()} and "
                                  f"its {role.lower()}")
            seen[slot] = role
        self.slots.append(slots)
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
        if not info.flags & OpFlag.CALLS and info.name != scalararrayop_opcode(call.funcname):
            raise _fail(i, s, f"the opcode inlines another comparison than its call info's "
                              f"{call.funcname}")
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
        # The array points at its elements' temporaries: the SCALARARRAYOP that reads it comes
        # right after, on its destination, and nothing jumps in between, so no step can write an
        # element (say, a pointer) between the array's making and its reading.
        steps = self.sp.steps
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if not (isinstance(nxt, Step) and nxt.opcode in OPS and OPS[nxt.opcode].kind == "scalararrayop"
                and nxt.dest == s.dest):
            raise _fail(i, s, "ARRAY[...] must be read at once by the SCALARARRAYOP after it, on "
                              "the same destination")
        if any(isinstance(o, Step) and o.jumpdone == i + 1 and o.opcode in OPS
               and OPS[o.opcode].flags & OpFlag.JUMPS for o in steps):
            raise _fail(i, s, f"a jump to step {i + 1} would reach its SCALARARRAYOP without this "
                              "ARRAY[...]")

    def _operands_colcmp(self, i: int, s: Step, info: OpInfo) -> None:
        self._operands_var(i, s, info)
        call = self.call(i, s)
        col = self.schema.columns[s.attnum]
        nonull = bool(info.flags & OpFlag.NONULL)
        any_ = _is_int(s.array) and s.array >= 0
        block = is_block_qual(info.name)
        if info.name != qual_opcode(call.funcname, nonull, any_, block):
            raise _fail(i, s, f"the opcode compares with another function than its call info's "
                              f"{call.funcname}, or {'without' if any_ else 'with'} an array")
        if nonull and col.nullable:
            raise _fail(i, s, f"column {s.attnum} ({col.name}) is nullable")
        if type(s.dest) is not Result and not block:  # a block step's is the output mask
            raise _fail(i, s, "a fused QUAL works on the result")
        if len(call.argtypes) != 2 or call.argtypes[0] != col.type:
            raise _fail(i, s, f"{call.funcname} does not compare column {s.attnum} ({col.name}, "
                              f"{col.type.value})")
        if any_:
            if s.array >= len(self.sp.arrays):
                raise _fail(i, s, f"array {s.array} (the program has {len(self.sp.arrays)})")
            if self.sp.arrays[s.array][0] != call.argtypes[1] or call.consts:
                raise _fail(i, s, f"{call.funcname} does not compare with the array's elements")
            return
        const = call.consts.get(1)
        if const is None or const.isnull:
            raise _fail(i, s, f"{call.funcname} does not compare column {s.attnum} ({col.name}) "
                              "with a non-NULL constant")

    # ---- what a reachable step does to the slots ---------------------------------------------
    # Derived from the opcode's effects (opcodes.def's fourth column): which slots it reads, how,
    # and which it writes, value and NULL flag apart. Only *what* it writes there (its type, and
    # whether it can be NULL) comes from the kind's _reads_<kind> (or a rule of _TYPING).
    def flow(self, i: int, s: Step, info: OpInfo, st: _State) -> None:
        self.st, self.i, self.s = st, i, s
        slots = self.slots[i]
        got: dict[str, SlotState] = {}  # role -> what it read there (its first slot's)
        read_all: dict[str, list[SlotState]] = {}
        for role, slot, eff in slots:
            mode = eff.read
            if mode == "NONE":
                continue
            if mode == "CALLEE":  # a strict function reads its arguments without NULL checks
                strict = catalog.FUNCTIONS[self.sp.calls[s.fcinfo].funcname]["strict"]
                mode = "NONULL" if strict else "CHECKED"
            state = self.read_slot(slot, mode, role)
            got.setdefault(role, state)
            read_all.setdefault(role, []).append(state)
        flags = info.flags
        if flags & OpFlag.ENDS:
            want = SqlType.BOOL if self.mode == "filter" else self.sp.result_type
            self.want(RESULT, got["RESULT"], want, "the program's result")
        if flags & OpFlag.BOOL_IN:
            self.want(s.dest, got["DEST"], SqlType.BOOL)
        typing = _TYPING.get(info.name)
        written = (typing or _READS[info.kind])(self, s, got, read_all)
        if flags & OpFlag.BOOL_OUT and "DEST" in written:
            written["DEST"] = (SqlType.BOOL, written["DEST"][1])
        copied = (next((got[role] for role, _, e in slots if e.read == "COPY"), None)
                  if info.name in _COPIES else None)
        for role, slot, eff in slots:
            if eff.value != "NONE" or eff.null != "NONE":
                self.write(slot, eff, written[role], copied if role == "DEST" else None,
                           role == "DEST")
        # a call consumes its argument slots, AND/OR's last step its anynull, GREATEST its
        # inputs: they are written anew before any other read, as lowering does; forgetting
        # them keeps the state as small as the expression is deep
        if flags & OpFlag.LAST_USE:
            for role, slot, eff in slots:
                if role != "DEST" and role != "RESULT" and eff.read != "NONE":
                    st.slots.pop(slot, None)
        # an edge taken only on a NULL destination is dead where none can be there (COALESCE
        # after a NOT NULL argument), and one taken only on a non-NULL one knows it is not NULL
        never_null = s.dest is not None and s.dest in st.slots and not st.slots[s.dest][2]
        if flags & OpFlag.JUMPS and not flags & OpFlag.ENDS and info.name != BLOCK_END and not (
                flags & OpFlag.JUMPS_IF_NULL and never_null):
            self.merge(s.jumpdone, self.refined(st, flags & OpFlag.JUMPS_IF_NOT_NULL))
        if flags & OpFlag.FALLS_IF_NULL and never_null:
            return
        if not flags & OpFlag.NO_FALLTHROUGH:
            if i + 1 >= self.n:
                raise _fail(i, s, "the program runs off its end (the last step must be DONE)")
            self.merge(i + 1, self.refined(st, flags & OpFlag.FALLS_IF_NOT_NULL))

    def refined(self, st: _State, notnull: int) -> _State:
        """st along an edge the step takes only when its destination's flag is false."""
        d = self.s.dest
        if not notnull or d is None or d not in st.slots:
            return st
        t, v, _ = st.slots[d]
        out = _State(st.fetched, dict(st.slots))
        out.slots[d] = (t, v, False)
        return out

    def merge(self, target: int, st: _State) -> None:
        cur = self.incoming[target]
        self.incoming[target] = _State(st.fetched, dict(st.slots)) if cur is None else cur.merge(st)

    def read_slot(self, slot: Dest, mode: str, role: str) -> SlotState:
        """What the step reads in slot, as `mode` (CpSlotRead) reads it: a NULL flag that was
        written; a value that was written where the flag says it is not NULL; no NULL at all
        where the step checks none."""
        state = self.st.slots.get(slot) or self.consts.get(slot)
        if state is None:
            raise _fail(self.i, self.s,
                        f"reads {_describe(slot)} before anything is written there")
        t, v, maybe_null = state
        if t == _CONFLICT:
            raise _fail(self.i, self.s, f"reads {_describe(slot)}, which holds different types "
                                        "on different paths")
        if mode != "NULL" and v == _NONE:
            raise _fail(self.i, self.s, f"reads the value of {_describe(slot)}, but only its NULL "
                                        "flag was written there (the value is stale)")
        if mode == "NONULL" and maybe_null:
            raise _fail(self.i, self.s, f"reads {_describe(slot)} without a NULL check, but it "
                                        "can be NULL there")
        return state

    def want(self, slot: Dest | None, state: SlotState, want: Any, what: str = "value") -> None:
        assert slot is not None  # a destination, checked with the operands
        t = state[0]
        if _base(t) != _base(want):
            raise _fail(self.i, self.s, f"reads {_describe(slot)} as {_tname(want)}, but it "
                                        f"holds {_tname(t)} ({what})")

    def read(self, slot: Dest, want: Any = None, what: str = "value") -> Any:
        """The type of what a CHECKED read of slot finds (of type want, if given)."""
        state = self.read_slot(slot, "CHECKED", "")
        if want is not None:
            self.want(slot, state, want, what)
        return state[0]

    def write(self, slot: Dest, eff: Effect, content: tuple[Any, bool],
              copied: SlotState | None, is_dest: bool) -> None:
        # any type may pass through a slot (a CASE condition goes through its result's slot,
        # as in PostgreSQL); what the call reads is checked when it reads it
        if type(slot) is Arg and slot.argno in self.sp.calls[slot.fcinfo].consts:
            raise _fail(self.i, self.s, f"writes to {_describe(slot)}, which holds a constant")
        t, maybe_null = content
        old = self.st.slots.get(slot)
        if "MAY" in (eff.value, eff.null):
            if old is None:  # written on some paths through the step only: nothing is known
                return
            if not is_dest:  # the destination's typing says what it holds in every case
                t = t if old[0] == t else _CONFLICT
                maybe_null = maybe_null or old[2]
        if eff.value == "MUST":
            v = _ALWAYS
        elif eff.value == "IFNN":
            v = _IFNN
        elif eff.value == "MAY" or eff.null == "NONE":
            v = old[1] if old is not None else _NONE
        else:  # a flag written over a value nobody wrote with it
            v = _NONE
        if eff.null == "NONE":
            maybe_null = old[2] if old is not None else True
        if copied is not None:  # a copy is no more readable than what it copied
            v = min(v, copied[1])
        self.st.slots[slot] = (t, v, maybe_null)

    # each returns what the step writes, by role: (type, may it be NULL), for the roles its
    # effects write; got has what it read, by role (read_all: every slot of the role)
    def _reads_none(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        if "DEST" not in got:
            return {}
        # BOOL_NOT_STEP keeps the flag (its effects write none); the tests leave a boolean
        return {"DEST": (SqlType.BOOL, False)}

    def _reads_fetch(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        self.st.fetched = max(self.st.fetched, s.last_var)
        return {}

    def _reads_var(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        if s.attnum >= self.st.fetched:
            raise _fail(self.i, s, f"column {s.attnum} read before a SCAN_FETCHSOME covers it "
                                   f"(columns deformed here on every path: {self.st.fetched})")
        col = self.schema.columns[s.attnum]
        return {"DEST": (col.type, col.nullable)}

    def _reads_column(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        col = self.schema.columns[s.attnum]
        return {"DEST": (col.type, col.nullable)}

    def _reads_constval(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        if s.array >= 0:
            t, elems = self.sp.arrays[s.array]
            return {"DEST": ((_ARRAY, t, bool(elems), any(c.isnull for c in elems)), False)}
        assert s.const is not None
        return {"DEST": (s.const.consttype, s.const.isnull)}

    def read_args(self, s: Step, got_all: dict[str, list[SlotState]]) -> bool:
        """Check the types of the call's arguments; whether any can be NULL."""
        c = self.sp.calls[s.fcinfo]
        maybe_null = False
        for a, t in enumerate(c.argtypes):
            slot = Arg(s.fcinfo, a)
            state = self.st.slots.get(slot) or self.consts.get(slot)
            if state is None:  # not read by this opcode (its effects say)
                continue
            self.want(slot, state, t, f"argument {a} of {c.funcname}")
            maybe_null = maybe_null or state[2]
        return maybe_null

    def _reads_func(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        maybe_null = self.read_args(s, read_all)
        name = self.sp.calls[s.fcinfo].funcname
        # a strict built-in is NULL only for a NULL argument; the non-strict ones (num_nulls)
        # count NULLs and are never NULL (lower.may_be_null says the same)
        strict = catalog.FUNCTIONS[name]["strict"]
        return {"DEST": (SqlType(catalog.FUNCTIONS[name]["rettype"]), strict and maybe_null)}

    def _reads_scalararrayop(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        call = self.sp.calls[s.fcinfo]
        scalar_null = self.read_args(s, read_all)
        array = got["DEST"][0]
        self.want(s.dest, got["DEST"], (_ARRAY, call.argtypes[1]), "the array of ANY/ALL")
        _, _, nonempty, has_nulls = array
        # ExecEvalScalarArrayOp: an empty array is never NULL; else a NULL scalar or element is
        return {"DEST": (SqlType.BOOL, nonempty and (scalar_null or has_nulls)),
                "ARG1": (call.argtypes[1], False)}

    def _reads_boolexpr(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        # anynull: whether an input so far was NULL; the result is NULL if it is, at the end
        anynull = got["DEST"][2] or ("TMP" in got and got["TMP"][2])
        return {"TMP": (_FLAG, anynull), "DEST": (SqlType.BOOL, anynull)}

    def _reads_qualexpr(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        return {"DEST": (SqlType.BOOL, False)}  # a NULL conjunct becomes FALSE

    def _reads_jump(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        return {}

    def _reads_minmax(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        t = self.sp.calls[s.fcinfo].argtypes[0]
        for k, state in enumerate(read_all["TMP"]):
            self.want(Tmp(s.tmp + k), state, t, f"input {k} of GREATEST/LEAST")
        # NULL inputs are ignored: NULL only if all of them are
        return {"DEST": (t, all(state[2] for state in read_all["TMP"]))}

    def _reads_arrayexpr(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        # the array's type is its elements': one value type, which the first one sets; it is
        # never NULL, and holds a NULL where an element may be one
        states = read_all["TMP"]
        t = states[0][0]
        if t not in _VALUE_TYPES:
            raise _fail(self.i, s, f"element 0 of ARRAY[...] is {_tname(t)}, not a value")
        for k, state in enumerate(states[1:], 1):
            self.want(Tmp(s.tmp + k), state, t, f"element {k} of ARRAY[...]")
        return {"DEST": ((_ARRAY, t, True, any(state[2] for state in states)), False)}

    def _reads_colcmp(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        return {"DEST": (SqlType.BOOL, False)}  # a NULL column value compares FALSE

    def _reads_casetest(self, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
        t, _, maybe_null = got["TMP"]
        return {"DEST": (t, maybe_null)}  # a copy of the CASE operand


def step_slots(sp: StepProgram, s: Step, info: OpInfo) -> list[tuple[str, Dest, Effect]]:
    """The slots step s touches, with what it does to each: its opcode's effects, resolved
    against its operands (an ARG0/ARG1 effect overrides ARGS' for that argument). Shared by the
    verifier and the checking interpreter's test (copypatch.testing)."""
    out: list[tuple[str, Dest, Effect]] = []
    effects = info.effects
    for role, eff in effects.items():
        if role == "DEST":
            if s.dest is not None:
                out.append((role, s.dest, eff))
        elif role == "RESULT":
            out.append((role, RESULT, eff))
        elif role == "TMP":
            n = s.nelems if info.kind in ("minmax", "arrayexpr") else 1
            out += [(role, Tmp(k), eff) for k in range(s.tmp, s.tmp + n)]
        else:
            nargs = len(sp.calls[s.fcinfo].argtypes)
            for a in range(nargs):
                if role == "ARGS" and f"ARG{a}" in effects:
                    continue
                if role in ("ARGS", f"ARG{a}"):
                    out.append((role, Arg(s.fcinfo, a), eff))
    return out



#: operand kind -> the Step fields it does not use, a getter of them all, and their defaults
_UNUSED: dict[str, tuple[tuple[str, ...], Callable[[Step], Any], Any]] = {}
for _kind in KINDS:
    _names = tuple(n for n in STEP_DEFAULTS if n not in OPERANDS[_kind])
    # attrgetter of one name gives the value, of several a tuple: compare like with like
    _UNUSED[_kind] = (_names, operator.attrgetter(*_names) if _names else (lambda s: ()),
                      tuple(STEP_DEFAULTS[n] for n in _names) if len(_names) != 1
                      else STEP_DEFAULTS[_names[0]])
#: the opcodes that copy what they read (a COPY read): others need not look for one
_COPIES = frozenset(op.name for op in OPS.values()
                    if any(e.read == "COPY" for e in op.effects.values()))

# every operand kind has both methods: a kind added to the C table fails here, at import
_OPERAND_CHECKS: dict[str, Callable[[_Verifier, int, Step, OpInfo], None]] = {
    kind: getattr(_Verifier, f"_operands_{kind}") for kind in KINDS
}
_READS: dict[str, Callable[[_Verifier, Step, dict[str, SlotState], Any], _Written]] = {
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


def _nullif_type(v: _Verifier, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
    v.read_args(s, read_all)
    return {"DEST": (v.sp.calls[s.fcinfo].argtypes[0], True)}  # NULLIF(a, b) is a or NULL


def _distinct_type(v: _Verifier, s: Step, got: dict[str, SlotState], read_all: Any) -> _Written:
    v.read_args(s, read_all)
    return {"DEST": (SqlType.BOOL, False)}  # NULL is not distinct from NULL: never NULL


#: reads and result types of single opcodes that are not their kind's
_TYPING: dict[str, Callable[[_Verifier, Step, dict[str, SlotState], Any], _Written]] = {
    "EEOP_NULLIF": _nullif_type,
    "EEOP_DISTINCT": _distinct_type,
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_index(v: Any, n: int) -> bool:
    return _is_int(v) and 0 <= v < n


def _base(t: Any) -> Any:
    """A type as reads compare it: an IN list's array by its element type alone."""
    return t[:2] if isinstance(t, tuple) and t and t[0] == _ARRAY else t


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
        # an IN list of integers is most of a big program: its plain elements checked at once
        lo, hi = t.int_range if t.info.datum == "INT" else (1, 0)
        for e in elems:
            if (type(e) in (Const, Param) and e.consttype is t
                    and type(v := unread_value(e)) is int and lo <= v <= hi):
                continue  # what check_const would find: a Const of type t, an int in range
            why = check_const(e, t)
            if why:
                raise CompileError(f"invalid program: array {k}: {why}")
