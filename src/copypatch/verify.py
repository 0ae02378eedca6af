"""The step-program verifier, and programs built from raw steps for experiments with opcodes.

The C engines trust their program completely: a jump past the end, an argument slot beyond a
call info, a column the scan never deformed or an IN-list array that is not one would read or
write wild memory. So every program is checked here before it is laid out in C memory, the ones
compile() lowers (a lowering bug must never reach an engine) and the ones people write by hand
with :func:`from_steps`. A bad program raises CompileError naming the first bad step.

What is checked, by a forward dataflow over the steps (jumps only go forward, as PostgreSQL's
ExecInitExpr emits them, so every program terminates and one pass in step order suffices):

- every opcode is known and every step has the operands its opcode reads: jump targets inside
  the program and after the step, call infos and their functions (by PostgreSQL name, with the
  C core's number of arguments), argument slots below the function's nargs, temporaries below
  ntmp, arrays that exist, constants of their declared type;
- SCAN_FETCHSOME covers at most the schema's columns, and every SCAN_VAR comes after (on every
  path) a FETCHSOME covering its column;
- the type of what each slot holds: every read sees a written slot (a call consumes its
  argument slots: they are written again before another call of the same call info) of the type the opcode needs
  (bool for BOOL_*/QUAL/JUMP_IF_NOT_TRUE/BOOLTEST, the function's argument types for calls, an
  IN-list array for SCALARARRAYOP), and no step overwrites a call's constant argument;
- the last reachable step cannot fall off the end, and DONE finds the program's result type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _fmgr
from . import _pgcatalog as catalog
from ._errors import CompileError
from .analyze import Schema
from .lower import Dest, FuncCall, Step, StepProgram
from .nodes import Const
from .sqltypes import TYPE_NAMES, SqlType

__all__ = ["StepsProgram", "from_steps", "verify"]

_ARRAY = "array"  # the type of an IN list's constant array (a CpArray pointer)
_CONFLICT = "conflict"  # different types on different paths
_FUNCEXPRS = ("EEOP_FUNCEXPR", "EEOP_FUNCEXPR_STRICT", "EEOP_FUNCEXPR_STRICT_ARG0",
              "EEOP_FUNCEXPR_STRICT_ARG1")
_CONSTS = ("EEOP_CONST", "EEOP_CONST_NOTNULL", "EEOP_CONST_NULL")
_SCAN_COLUMN = "EEOP_SCAN_COLUMN_"  # + type name [+ _NOTNULL]: a column read in place
_INLINE = "EEOP_INLINE_"  # + function name [+ _NONULL]: a built-in with an opcode of its own


def _calls(op: str) -> bool:
    return op in _FUNCEXPRS or op in ("EEOP_DISTINCT", "EEOP_NULLIF", "EEOP_SCALARARRAYOP", "EEOP_MINMAX") or op.startswith(_INLINE)

_JUMPING = (
    "EEOP_BOOL_AND_STEP_FIRST", "EEOP_BOOL_AND_STEP", "EEOP_BOOL_AND_STEP_LAST",
    "EEOP_BOOL_OR_STEP_FIRST", "EEOP_BOOL_OR_STEP", "EEOP_BOOL_OR_STEP_LAST",
    "EEOP_QUAL", "EEOP_JUMP", "EEOP_JUMP_IF_NULL", "EEOP_JUMP_IF_NOT_NULL",
    "EEOP_JUMP_IF_NOT_TRUE",
)
# the ends of a program: DONE returns the result; the DONE_NEXTROW_* store it in the scan's
# output and run the program again from step 0 for the next row (the row_loop pass)
_DONES = ("EEOP_DONE", "EEOP_DONE_NEXTROW_FILTER", "EEOP_DONE_NEXTROW_EVALUATE")
_NO_DEST = (*_DONES, "EEOP_SCAN_FETCHSOME", "EEOP_JUMP")
# opcodes that read their destination as a boolean and leave a boolean there
_BOOL_IN_OUT = (
    "EEOP_BOOL_AND_STEP_FIRST", "EEOP_BOOL_AND_STEP", "EEOP_BOOL_AND_STEP_LAST",
    "EEOP_BOOL_OR_STEP_FIRST", "EEOP_BOOL_OR_STEP", "EEOP_BOOL_OR_STEP_LAST",
    "EEOP_BOOL_NOT_STEP", "EEOP_QUAL", "EEOP_BOOLTEST_IS_TRUE", "EEOP_BOOLTEST_IS_NOT_TRUE",
    "EEOP_BOOLTEST_IS_FALSE", "EEOP_BOOLTEST_IS_NOT_FALSE",
)
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


def _slot(d: Any) -> tuple[Any, ...]:
    return tuple(d)


@dataclass
class _State:
    fetched: int  # columns [0, fetched) are deformed on every path here
    slots: dict[tuple[Any, ...], Any]  # slot -> type written there on every path (or CONFLICT)

    def merge(self, other: _State) -> _State:
        slots = {}
        for k, v in self.slots.items():
            if k in other.slots:
                slots[k] = v if other.slots[k] == v else _CONFLICT
        return _State(min(self.fetched, other.fetched), slots)


def verify(sp: StepProgram, schema: Schema, *, mode: str | None = None) -> StepProgram:
    """Return sp if the engines can run it safely over tables of schema; else raise CompileError
    naming the first bad step. mode: "filter" requires a boolean result."""
    steps = sp.steps
    n = len(steps) if isinstance(steps, list) else 0
    if not isinstance(steps, list) or n == 0:
        raise CompileError("invalid program: no steps")
    if n > MAX_STEPS:
        raise CompileError(f"invalid program: {n} steps (at most {MAX_STEPS})")
    ncols = len(schema.columns)
    if not isinstance(sp.ntmp, int) or not 0 <= sp.ntmp <= MAX_STEPS:
        raise CompileError(f"invalid program: ntmp {sp.ntmp!r}")
    if sp.result_type not in _VALUE_TYPES:
        raise CompileError(f"invalid program: result type {sp.result_type!r}")
    if mode == "filter" and sp.result_type is not SqlType.BOOL:
        raise CompileError(
            f"invalid program: filter needs a boolean result, not {sp.result_type.sql_name}"
        )
    _check_calls(sp)
    _check_arrays(sp)
    ends = {s.opcode for s in steps if isinstance(s, Step) and s.opcode in _DONES}
    if len(ends) > 1:
        raise CompileError(f"invalid program: it ends in both {' and '.join(sorted(ends))}; "
                           "a program either returns each row's result or loops over the rows")
    if "EEOP_DONE_NEXTROW_FILTER" in ends and sp.result_type is not SqlType.BOOL:
        raise CompileError("invalid program: EEOP_DONE_NEXTROW_FILTER needs a boolean result")
    if "EEOP_DONE_NEXTROW_EVALUATE" in ends and mode == "filter":
        raise CompileError("invalid program: EEOP_DONE_NEXTROW_EVALUATE cannot filter")

    def dest_ok(i: int, s: Step, d: Any) -> tuple[Any, ...]:
        if not isinstance(d, tuple) or not d:
            raise _fail(i, s, f"bad destination {d!r}")
        if d == ("result",):
            return d
        if len(d) == 2 and d[0] == "tmp" and _is_index(d[1], sp.ntmp):
            return d
        if len(d) == 3 and d[0] == "arg" and _is_index(d[1], len(sp.calls)):
            if _is_index(d[2], len(sp.calls[d[1]].argtypes)):
                return d
            raise _fail(i, s, f"argument slot {d[2]!r} of call info {d[1]} "
                              f"({sp.calls[d[1]].funcname} takes {len(sp.calls[d[1]].argtypes)})")
        raise _fail(i, s, f"bad destination {d!r} (calls: {len(sp.calls)}, tmps: {sp.ntmp})")

    incoming: list[_State | None] = [None] * (n + 1)
    incoming[0] = _State(0, {})

    def flow(target: int, st: _State) -> None:
        cur = incoming[target]
        incoming[target] = st if cur is None else cur.merge(st)

    for i, s in enumerate(steps):
        if not isinstance(s, Step):
            raise _fail(i, None, f"not a Step: {type(s).__name__}")
        if s.opcode not in _fmgr.OPCODES:
            raise _fail(i, None, f"unknown opcode {s.opcode!r}")
        op = s.opcode
        # exactly the operands the opcode uses: program.Layout picks which union member to fill
        # by the operands present, so a stray one would make it fill the wrong one
        used = _used_operands(op)
        for name, default in _OPERAND_DEFAULTS.items():
            if name not in used and getattr(s, name) != default:
                raise _fail(i, s, f"operand {name}={getattr(s, name)!r} means nothing to this "
                                  "opcode")
        # operands, whether or not the step is reachable: the C layout reads them all
        d: tuple[Any, ...] | None = None
        if op in _NO_DEST:
            if s.dest is not None and op != "EEOP_JUMP":
                raise _fail(i, s, "this opcode writes no result")
        else:
            d = dest_ok(i, s, s.dest)
        if op in _JUMPING:
            if not isinstance(s.jumpdone, int) or isinstance(s.jumpdone, bool):
                raise _fail(i, s, f"jump target {s.jumpdone!r}")
            if not i < s.jumpdone < n:
                raise _fail(i, s, f"jump target {s.jumpdone} outside ({i}, {n}): "
                                  "jumps go forward, to a step of the program")
        if _calls(op):
            if not _is_index(s.fcinfo, len(sp.calls)):
                raise _fail(i, s, f"call info {s.fcinfo!r} (the program has {len(sp.calls)})")
            if op.startswith(_INLINE):
                fname = sp.calls[s.fcinfo].funcname
                if op not in (_INLINE + fname, _INLINE + fname + "_NONULL"):
                    raise _fail(i, s, f"the opcode inlines another function than its call "
                                      f"info's {fname}")
        if ((op.startswith("EEOP_BOOL_") and op != "EEOP_BOOL_NOT_STEP" or op == "EEOP_CASE_TESTVAL")
                and not _is_index(s.tmp, sp.ntmp)):
            raise _fail(i, s, f"temporary {s.tmp!r} (the program has {sp.ntmp})")
        if op in _DONES[1:] and s.jumpdone != 0:
            raise _fail(i, s, f"jump target {s.jumpdone!r}: the next row starts at step 0")
        if op == "EEOP_MINMAX":
            if not _is_int(s.nelems) or s.nelems < 1:
                raise _fail(i, s, f"nelems {s.nelems!r}: GREATEST/LEAST has at least one input")
            if not _is_index(s.tmp, sp.ntmp) or s.tmp + s.nelems > sp.ntmp:
                raise _fail(i, s, f"inputs tmp{s.tmp!r}.. ({s.nelems!r} of them) outside the "
                                  f"program's {sp.ntmp} temporaries")
            if not isinstance(s.least, bool):
                raise _fail(i, s, f"least must be a bool, not {s.least!r}")
        if op == "EEOP_SCAN_FETCHSOME" and (not _is_int(s.last_var) or not 0 < s.last_var <= ncols):
            raise _fail(i, s, f"last_var {s.last_var!r} outside [1, {ncols}]: the table "
                              f"has {ncols} columns")
        if ((op == "EEOP_SCAN_VAR" or op.startswith(_SCAN_COLUMN))
                and not _is_index(s.attnum, ncols)):
            raise _fail(i, s, f"attnum {s.attnum!r} outside [0, {ncols})")
        if op.startswith(_SCAN_COLUMN):
            col = schema.columns[s.attnum]
            kind = op[len(_SCAN_COLUMN):]
            if kind not in (col.type.name, col.type.name + "_NOTNULL"):
                raise _fail(i, s, f"column {s.attnum} ({col.name}) is {col.type.value}"
                                  f"{'' if col.nullable else ' NOT NULL'}")
            if kind.endswith("_NOTNULL") and col.nullable:
                raise _fail(i, s, f"column {s.attnum} ({col.name}) is nullable")
        if op in _CONSTS:
            if _is_int(s.array) and s.array >= 0:
                if s.array >= len(sp.arrays):
                    raise _fail(i, s, f"array {s.array} (the program has {len(sp.arrays)})")
            else:
                why = check_const(s.const)
                if why:
                    raise _fail(i, s, why)
                assert s.const is not None
                if (op == "EEOP_CONST_NULL") != s.const.isnull and op != "EEOP_CONST":
                    raise _fail(i, s, "the constant's NULLness contradicts the opcode")
            if _is_int(s.array) and s.array >= 0 and op == "EEOP_CONST_NULL":
                raise _fail(i, s, "an IN list's array is not NULL")

        st = incoming[i]
        if st is None:
            continue  # unreachable: never runs
        st = _State(st.fetched, dict(st.slots))
        falls_through = True
        call: FuncCall | None = sp.calls[s.fcinfo] if _calls(op) else None

        # the helpers below run within this iteration; the defaults bind its step and state
        def read(slot: tuple[Any, ...], want: Any = None, what: str = "value",
                 st: _State = st, i: int = i, s: Step = s) -> Any:
            t = st.slots.get(slot)
            if t is None:
                raise _fail(i, s, f"reads {_describe(slot)} before anything is written there")
            if t == _CONFLICT:
                raise _fail(i, s, f"reads {_describe(slot)}, which holds different types on "
                                  "different paths")
            if want is not None and t != want:
                raise _fail(i, s, f"reads {_describe(slot)} as {_tname(want)}, but it holds "
                                  f"{_tname(t)} ({what})")
            return t

        def write(t: Any, st: _State = st, i: int = i, s: Step = s,
                  d: tuple[Any, ...] | None = d) -> None:
            assert d is not None
            # any type may pass through a slot (a CASE condition goes through its result's
            # slot, as in PostgreSQL); what the call reads is checked when it reads it
            if d[0] == "arg" and d[2] in sp.calls[d[1]].consts:
                raise _fail(i, s, f"writes to {_describe(d)}, which holds a constant")
            st.slots[d] = t

        def read_args(c: FuncCall, f: int, skip: tuple[int, ...] = (), st: _State = st,
                      read: Any = read) -> None:
            for a, t in enumerate(c.argtypes):
                if a in c.consts or a in skip:
                    continue
                read(("arg", f, a), t, f"argument {a} of {c.funcname}")
                # consumed: a call's arguments are written anew before each call, as lowering
                # does; forgetting them keeps the state as small as the expression is deep
                del st.slots[("arg", f, a)]

        if op in _DONES:
            falls_through = False
            filters = mode == "filter" or op == "EEOP_DONE_NEXTROW_FILTER"
            want = SqlType.BOOL if filters else sp.result_type
            read(("result",), want, "the program's result")
        elif op == "EEOP_SCAN_FETCHSOME":
            st.fetched = max(st.fetched, s.last_var)
        elif op == "EEOP_SCAN_VAR":
            if s.attnum >= st.fetched:
                raise _fail(i, s, f"column {s.attnum} read before a SCAN_FETCHSOME covers it "
                                  f"(columns deformed here on every path: {st.fetched})")
            write(schema.columns[s.attnum].type)
        elif op.startswith(_SCAN_COLUMN):
            write(schema.columns[s.attnum].type)
        elif op in _CONSTS:
            if s.array >= 0:
                write((_ARRAY, sp.arrays[s.array][0]))
            else:
                assert s.const is not None
                write(s.const.consttype)
        elif op in _FUNCEXPRS or op.startswith(_INLINE):
            assert call is not None
            if op.startswith(_INLINE) and len(call.argtypes) != 2:
                raise _fail(i, s, f"{call.funcname} takes {len(call.argtypes)} arguments; "
                                  "inlined built-ins take 2")
            if op == "EEOP_FUNCEXPR_STRICT_ARG1" and len(call.argtypes) < 2:
                raise _fail(i, s, f"{call.funcname} has no argument 1 to check")
            read_args(call, s.fcinfo)
            write(SqlType(catalog.FUNCTIONS[call.funcname]["rettype"]))
        elif op == "EEOP_NULLIF":
            assert call is not None
            _need_bool_binary(i, s, call)
            read_args(call, s.fcinfo)
            write(call.argtypes[0])
        elif op == "EEOP_MINMAX":
            assert call is not None
            info = catalog.FUNCTIONS[call.funcname]
            if (len(call.argtypes) != 2 or call.argtypes[0] != call.argtypes[1]
                    or info["rettype"] != "int4" or call.consts):
                raise _fail(i, s, f"{call.funcname} is not a comparison function (two arguments "
                                  "of one type, an int4 result, no constants)")
            for k in range(s.tmp, s.tmp + s.nelems):
                read(("tmp", k), call.argtypes[0], f"input {k - s.tmp} of GREATEST/LEAST")
            write(call.argtypes[0])
        elif op == "EEOP_DISTINCT":
            assert call is not None
            _need_bool_binary(i, s, call)
            read_args(call, s.fcinfo)
            write(SqlType.BOOL)
        elif op == "EEOP_SCALARARRAYOP":
            assert call is not None and d is not None
            _need_bool_binary(i, s, call)
            if 1 in call.consts:
                raise _fail(i, s, f"argument 1 of {call.funcname} takes the array's elements; "
                                  "it cannot hold a constant")
            read_args(call, s.fcinfo, skip=(1,))
            read(d, (_ARRAY, call.argtypes[1]), "an IN list's array")
            write(SqlType.BOOL)
        elif op in _BOOL_IN_OUT:
            assert d is not None
            read(d, SqlType.BOOL)
            if op == "EEOP_QUAL" and d != ("result",):
                raise _fail(i, s, "QUAL works on the result")
        elif op == "EEOP_JUMP":
            falls_through = False
        elif op in ("EEOP_JUMP_IF_NULL", "EEOP_JUMP_IF_NOT_NULL"):
            assert d is not None
            read(d, None)
        elif op == "EEOP_JUMP_IF_NOT_TRUE":
            assert d is not None
            read(d, SqlType.BOOL)
        elif op in ("EEOP_NULLTEST_ISNULL", "EEOP_NULLTEST_ISNOTNULL"):
            assert d is not None
            read(d, None)
            write(SqlType.BOOL)
        elif op == "EEOP_CASE_TESTVAL":
            write(read(("tmp", s.tmp), None, "the CASE operand"))
        else:
            raise _fail(i, s, "the verifier does not know this opcode's operands yet; "
                              "teach verify.py before running it")

        if op in _JUMPING:
            flow(s.jumpdone, st)
        if falls_through:
            if i + 1 >= n:
                raise _fail(i, s, "the program runs off its end (the last step must be DONE)")
            flow(i + 1, st)
    return sp


_OPERAND_DEFAULTS: dict[str, Any] = {"last_var": 0, "attnum": -1, "const": None, "fcinfo": -1,
                                     "use_or": False, "jumpdone": -1, "tmp": -1, "array": -1,
                                     "nelems": 0, "least": False}


def _used_operands(op: str) -> tuple[str, ...]:
    if op == "EEOP_SCAN_FETCHSOME":
        return ("last_var",)
    if op == "EEOP_SCAN_VAR" or op.startswith(_SCAN_COLUMN):
        return ("attnum",)
    if op in _CONSTS:
        return ("const", "array")
    if op == "EEOP_SCALARARRAYOP":
        return ("fcinfo", "use_or")
    if op == "EEOP_MINMAX":
        return ("fcinfo", "tmp", "nelems", "least")
    if op in _DONES[1:]:
        return ("jumpdone",)
    if _calls(op):
        return ("fcinfo",)
    if op.startswith("EEOP_BOOL_") and op != "EEOP_BOOL_NOT_STEP":
        return ("jumpdone", "tmp")
    if op in _JUMPING:
        return ("jumpdone",)
    if op == "EEOP_CASE_TESTVAL":
        return ("tmp",)
    return ()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_index(v: Any, n: int) -> bool:
    return _is_int(v) and 0 <= v < n


def _tname(t: Any) -> str:
    if isinstance(t, SqlType):
        return t.value
    if isinstance(t, tuple) and t and t[0] == _ARRAY:
        return f"{t[1].value}[] (an IN list)"
    return str(t)


def _describe(slot: tuple[Any, ...]) -> str:
    if slot[0] == "result":
        return "the result"
    if slot[0] == "tmp":
        return f"tmp{slot[1]}"
    return f"fcinfo{slot[1]}.arg{slot[2]}"


def _need_bool_binary(i: int, s: Step, call: FuncCall) -> None:
    info = catalog.FUNCTIONS[call.funcname]
    if len(call.argtypes) != 2 or info["rettype"] != "bool":
        raise _fail(i, s, f"{call.funcname} is not a boolean operator of two arguments")


def _check_calls(sp: StepProgram) -> None:
    for f, call in enumerate(sp.calls):
        where = f"call info {f}"
        if not isinstance(call, FuncCall):
            raise CompileError(f"invalid program: {where} is not a FuncCall")
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
            want = tuple(SqlType(t) for t in catalog.FUNCTIONS[call.funcname]["args"])  # type: ignore[attr-defined]
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


# ---- programs from raw steps ----------------------------------------------------------------
_STEP_KEYS = {"op", "to", "last_var", "attnum", "jump", "tmp", "const", "type", "func", "args",
              "use_or", "array", "nelems", "least"}


def _type(i: int, name: Any) -> SqlType:
    if isinstance(name, SqlType) and name in _VALUE_TYPES:
        return name
    t = TYPE_NAMES.get(name) if isinstance(name, str) else None
    if t is None or t not in _VALUE_TYPES:
        raise CompileError(f"invalid program: step {i}: unknown type {name!r}")
    return t


def _parse_dest(i: int, to: Any, call_of_step: dict[int, int]) -> Dest | None:
    """'result', 'tmp3', 'step2.arg0' (argument 0 of the call step 2 makes), or tuples."""
    if to is None:
        return None
    if isinstance(to, str):
        if to == "result":
            return ("result",)
        if to.startswith("tmp") and to[3:].isdigit():
            return ("tmp", int(to[3:]))
        if to.startswith("step") and ".arg" in to:
            a, _, b = to[4:].partition(".arg")
            if a.isdigit() and b.isdigit():
                to = ("arg", int(a), int(b))
    if isinstance(to, tuple) and len(to) == 3 and to[0] == "arg":
        if to[1] not in call_of_step:
            raise CompileError(f"invalid program: step {i}: destination {to!r}: step {to[1]} "
                               "calls no function")
        return ("arg", call_of_step[to[1]], to[2])
    if isinstance(to, tuple) and to in (("result",),) or (
        isinstance(to, tuple) and len(to) == 2 and to[0] == "tmp"
    ):
        return to
    raise CompileError(f"invalid program: step {i}: bad destination {to!r}")


def steps_program(steps: Sequence[Mapping[str, Any]], result_type: Any = "bool") -> StepProgram:
    """A StepProgram from plain step descriptions (see :func:`from_steps`); not yet verified."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise CompileError("invalid program: steps must be a list of dicts")
    if len(steps) > MAX_STEPS:
        raise CompileError(f"invalid program: {len(steps)} steps (at most {MAX_STEPS})")
    calls: list[FuncCall] = []
    arrays: list[tuple[SqlType, tuple[Const, ...]]] = []
    call_of_step: dict[int, int] = {}
    for i, d in enumerate(steps):
        if not isinstance(d, Mapping):
            raise CompileError(f"invalid program: step {i}: expected a dict, not {type(d).__name__}")
        if "func" in d:
            name = d["func"]
            if not isinstance(name, str) or name not in _fmgr.FUNCTIONS or name not in catalog.FUNCTIONS:
                raise CompileError(f"invalid program: step {i}: unknown function {name!r}")
            if _fmgr.FUNCTIONS[name][1] == -1:
                raise CompileError(f"invalid program: step {i}: {name} is variadic, which raw "
                                   "steps cannot declare")
            argtypes = tuple(SqlType(t) for t in catalog.FUNCTIONS[name]["args"])  # type: ignore[attr-defined]
            consts: dict[int, Const] = {}
            args = d.get("args", {})
            if isinstance(args, Sequence) and not isinstance(args, (str, bytes)):
                args = {a: v for a, v in enumerate(args) if not isinstance(v, _Slot)}
            if not isinstance(args, Mapping):
                raise CompileError(f"invalid program: step {i}: args must be a dict or list")
            for a, v in args.items():
                if not _is_index(a, len(argtypes)):
                    raise CompileError(f"invalid program: step {i}: {name} has no argument {a!r}")
                consts[a] = Const(argtypes[a], v)
            call_of_step[i] = len(calls)
            calls.append(FuncCall(name, argtypes, consts))
    out: list[Step] = []
    ntmp = 0
    for i, d in enumerate(steps):
        unknown = set(d) - _STEP_KEYS
        if unknown:
            raise CompileError(f"invalid program: step {i}: unknown keys {sorted(unknown)}")
        op = d.get("op")
        if not isinstance(op, str):
            raise CompileError(f"invalid program: step {i}: op must be an opcode name")
        op = op if op.startswith("EEOP_") else "EEOP_" + op
        if op not in _fmgr.OPCODES:
            raise CompileError(f"invalid program: step {i}: unknown opcode {d.get('op')!r}")
        step = Step(op, _parse_dest(i, d.get("to"), call_of_step))
        for key, attr in (("last_var", "last_var"), ("attnum", "attnum"), ("jump", "jumpdone"),
                          ("tmp", "tmp"), ("nelems", "nelems")):
            if key in d:
                if not _is_int(d[key]):
                    raise CompileError(f"invalid program: step {i}: {key} must be an int")
                setattr(step, attr, d[key])
        if "use_or" in d:
            step.use_or = bool(d["use_or"])
        if "least" in d:
            step.least = bool(d["least"])
        if i in call_of_step:
            step.fcinfo = call_of_step[i]
        if "array" in d:
            t = _type(i, d.get("type"))
            items = d["array"]
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
                raise CompileError(f"invalid program: step {i}: array must be a list")
            arrays.append((t, tuple(Const(t, v) for v in items)))
            step.array = len(arrays) - 1
        elif op in _CONSTS:
            step.const = Const(_type(i, d.get("type")), d.get("const"))
        if step.tmp >= 0:
            ntmp = max(ntmp, step.tmp + max(1, step.nelems if _is_int(step.nelems) else 1))
        if step.dest is not None and step.dest[0] == "tmp" and _is_int(step.dest[1]):
            ntmp = max(ntmp, step.dest[1] + 1)
        out.append(step)
    return StepProgram(out, calls, arrays, min(ntmp, MAX_STEPS + 1), _type(-1, result_type))


class _Slot:
    def __repr__(self) -> str:
        return "SLOT"


#: In a step's "args" list: this argument is written by another step (not a constant).
SLOT = _SLOT = _Slot()


class StepsProgram:
    """A verified program built from raw steps, bound to an engine: filter, evaluate, explain."""

    def __init__(self, sp: StepProgram, schema: Schema, engine: str) -> None:
        from .compiler import check_engine
        from .program import Executable

        check_engine(engine)
        verify(sp, schema)
        self.schema = schema
        self.engine = engine
        self.result_type = sp.result_type
        self._exe = Executable(sp, engine)

    @property
    def steps(self) -> StepProgram:
        return self._exe.sp

    def filter(self, table: Mapping[str, Any]) -> np.ndarray:
        from ._core import lib

        if self.result_type is not SqlType.BOOL:
            raise CompileError(
                f"filter needs a boolean program, not {self.result_type.sql_name}"
            )
        out, _ = self._exe.scan(self.schema, table, lib.CP_SCAN_FILTER)
        return out  # type: ignore[no-any-return]

    def evaluate(self, table: Mapping[str, Any]) -> np.ma.MaskedArray:
        from ._core import lib

        values, nulls = self._exe.scan(self.schema, table, lib.CP_SCAN_EVALUATE)
        return np.ma.MaskedArray(values, mask=nulls)

    def explain(self) -> str:
        from .program import explain_steps

        return f"engine: {self.engine}\n{explain_steps(self._exe.sp)}"

    def close(self) -> None:
        self._exe.close()


def from_steps(
    steps: Sequence[Mapping[str, Any]],
    schema: Any,
    *,
    result_type: Any = "bool",
    engine: str = "goto",
) -> StepsProgram:
    """A program from raw steps, for experiments with opcodes; verified before any engine sees it.

    Each step is a dict: ``op`` (opcode name, ``EEOP_`` optional); ``to``, where it writes
    (``"result"``, ``"tmp0"``, or ``"step2.arg0"``: argument 0 of the function step 2 calls);
    and its operands: ``last_var``, ``attnum``, ``jump`` (target step), ``tmp``, ``nelems``
    and ``least`` (MINMAX over tmp .. tmp + nelems - 1),
    ``const`` + ``type`` (a constant; const None is NULL), ``array`` + ``type`` (an IN list's
    elements), ``func`` (PostgreSQL's name, e.g. ``"int4eq"``) + ``args`` (constant arguments by
    position; ``SLOT`` or a missing key for an argument another step writes), ``use_or``.

        copypatch.from_steps([
            {"op": "SCAN_FETCHSOME", "last_var": 1},
            {"op": "SCAN_VAR", "attnum": 0, "to": "step2.arg0"},
            {"op": "FUNCEXPR_STRICT", "func": "int4eq", "args": [SLOT, 42], "to": "result"},
            {"op": "DONE"},
        ], {"a": np.int32})

    Raises CompileError, naming the step, for any program an engine could not run safely.
    """
    from .compiler import make_schema

    sch = make_schema(schema)
    return StepsProgram(steps_program(steps, result_type), sch, engine)
