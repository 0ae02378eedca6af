"""Layout: step programs laid out in C memory, bound to an engine, run over numpy columns."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _fmgr
from ._core import ffi, lib
from ._datetime import check_column
from ._errors import CompileError
from ._lazy import lazy_numpy
from .nodes import Const
from .opcodes import KINDS, OPS
from .schema import Schema
from .sqltypes import SqlType, to_datum
from .steps import Arg, Dest, Result, Step, StepProgram, Tmp

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

if TYPE_CHECKING:
    from .jit import JitCode

ENGINES = ("switch", "goto", "jit")
#: how long a scan in the main thread runs between two looks at pending signals (Ctrl-C)
SCAN_SLICE_NS = 50_000_000


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return engine


class Layout:
    """The C structures of one step program: ExprState, steps, call infos, temporaries, arrays.

    Everything the steps point to is owned here, so it lives exactly as long as the program:
    one zeroed allocation, the block, holds it all (but ARRAY[...]'s per-row arrays), so that a
    copy of the block with its pointers moved is the same program elsewhere (LayoutImage: the
    plan cache's programs are laid out that way, with their constants patched in).
    """

    def __init__(self, sp: StepProgram, engine: str | None, *, image: bool = False) -> None:
        """sp laid out and bound to engine (None: to none, the program is not to run);
        image: keep the block as it was before binding, for copies (self.image)."""
        self._sp: StepProgram | None = sp
        self._make_sp: Callable[[], StepProgram] | None = None
        self.engine = engine
        steps = sp.steps
        n = len(steps)
        ntmp = max(1, sp.ntmp)
        # the block: ExprState, the steps, the temporaries' values and NULL flags, each call
        # info sized for its own arguments (args is flexible), each IN list's CpArray, values
        # and NULL flags; at 8-byte boundaries, as Datum and pointers need
        off_steps = _align(_STATE_SIZE)
        off_tmpv = off_steps + n * _STEP_SIZE
        off_tmpn = off_tmpv + 8 * ntmp
        at = _align(off_tmpn + ntmp)
        fc_offs = []
        for call in sp.calls:
            fc_offs.append(at)
            at = _align(at + _FCINFO_SIZE + _ARG_SIZE * len(call.argtypes))
        arr_offs = []
        for _, elems in sp.arrays:
            arr_offs.append(at)
            at = _align(at + _ARRAY_SIZE + 9 * max(1, len(elems)))
        self.block = ffi.new("Datum[]", at // 8)
        base = ffi.cast("char *", self.block)
        self.state = ffi.cast("ExprState *", base)
        self.steps = ffi.cast("ExprEvalStep *", base + off_steps)
        self.tmp_values = ffi.cast("Datum *", base + off_tmpv)
        self.tmp_nulls = ffi.cast("bool *", base + off_tmpn)
        self._fc_offs = fc_offs
        self._fcinfos: list[Any] | None = None
        fcinfos = self.fcinfos
        self.keep: list[Any] = []  # ARRAY[...]'s arrays' C memory
        self.array_ptrs = [self._array(base + off, t, elems)
                           for off, (t, elems) in zip(arr_offs, sp.arrays)]

        for f, call in enumerate(sp.calls):
            fc = fcinfos[f]
            fc.nargs = len(call.argtypes)
            for i, c in call.consts.items():
                fc.args[i].isnull = c.isnull
                fc.args[i].value = 0 if c.isnull else to_datum(call.argtypes[i], c.value)

        ops = OPS
        fill = _FILL
        dests: dict[Dest, tuple[Any, Any]] = {}
        opcodes = set()
        for i, s in enumerate(steps):
            st = self.steps[i]
            info = ops[s.opcode]
            st.opcode = info.code
            d = s.dest
            if d is not None:
                pair = dests.get(d)
                if pair is None:
                    pair = dests[d] = self.dest(d)
                st.resvalue, st.resnull = pair
            fill[info.kind](self, st.d, s)
            opcodes.add(info.name)

        self.state.steps = self.steps
        self.state.steps_len = n
        for name, mode in (("EEOP_DONE_NEXTROW_FILTER", lib.CP_SCAN_FILTER),
                           ("EEOP_BLOCK_NEXT_FILTER", lib.CP_SCAN_FILTER),
                           ("EEOP_DONE_NEXTROW_EVALUATE", lib.CP_SCAN_EVALUATE)):
            if name in opcodes:
                self.state.row_loop = 1 + mode  # the verifier allows one kind of DONE
        self.result_type = sp.result_type
        #: the block as it is before an engine binds it, for copies (image=True; None when a
        #: pointer leads out of the block)
        self.image = LayoutImage.of(self, arr_offs) if image else None
        self._bind(engine)

    @classmethod
    def from_image(cls, img: LayoutImage, engine: str, patch_words: Any, patch_values: Any,
                   sp: Callable[[], StepProgram]) -> Layout:
        """A copy of img's program with the Datums at patch_words (indexes of 8-byte words of
        the block) set to patch_values, bound to engine; sp makes its step program if one is
        ever asked for."""
        self = cls.__new__(cls)
        self._sp = None
        self._make_sp = sp
        self.engine = engine
        self.block = ffi.new("Datum[]", len(img.words))
        words = np.frombuffer(ffi.buffer(self.block), dtype=np.uint64)
        words[:] = img.words
        base = ffi.cast("char *", self.block)
        delta = (int(ffi.cast("uintptr_t", base)) - img.base) & 0xFFFF_FFFF_FFFF_FFFF
        words[img.relocs] += np.uint64(delta)  # wraps around, as a pointer sum does
        words[patch_words] = patch_values
        self.state = ffi.cast("ExprState *", base)
        self.steps = ffi.cast("ExprEvalStep *", base + img.off_steps)
        self.tmp_values = ffi.cast("Datum *", base + img.off_tmpv)
        self.tmp_nulls = ffi.cast("bool *", base + img.off_tmpn)
        self._fc_offs = img.fc_offs
        self._fcinfos = None
        self.keep = []
        self.result_type = img.result_type
        self.image = None
        self._bind(engine)
        return self

    @property
    def sp(self) -> StepProgram:
        if self._sp is None:
            assert self._make_sp is not None
            self._sp = self._make_sp()
        return self._sp

    def hand_over_sp(self, make: Callable[[], StepProgram]) -> None:
        """Let another owner keep the step program (the plan cache); make makes a copy of it
        if this layout's is ever asked for."""
        self._sp = None
        self._make_sp = make

    @property
    def fcinfos(self) -> list[Any]:
        if self._fcinfos is None:
            base = ffi.cast("char *", self.block)
            self._fcinfos = [ffi.cast("FunctionCallInfoBaseData *", base + off)
                             for off in self._fc_offs]
        return self._fcinfos

    def _bind(self, engine: str | None) -> None:
        self.jit: JitCode | None = None
        self.jit_ns = 0  # wall time of the JIT's part (copy + patch + publish, from Python)
        if engine is None:
            return
        if engine == "switch":
            self.state.evalfunc = lib.cp_engine_switch()
        elif engine == "goto":
            lib.cp_goto_prepare(self.state)
            self.state.evalfunc = lib.cp_engine_goto()
        elif engine == "jit":
            from .jit import JitCode

            t0 = time.perf_counter_ns()
            self.jit = JitCode(self.state)  # points state->evalfunc at the machine code
            self.jit_ns = time.perf_counter_ns() - t0
        else:
            raise ValueError(f"unknown engine {engine!r}")

    # ---- the operands of each kind: which member of ExprEvalStep.d they fill ----------------
    def _fill_none(self, d: Any, s: Step) -> None:
        pass

    def _fill_fetch(self, d: Any, s: Step) -> None:
        d.fetch.last_var = s.last_var

    def _fill_var(self, d: Any, s: Step) -> None:
        d.var.attnum = s.attnum

    def _fill_column(self, d: Any, s: Step) -> None:
        d.column.attnum = s.attnum

    def _fill_constval(self, d: Any, s: Step) -> None:
        if s.array >= 0:
            d.constval.value = int(ffi.cast("uintptr_t", self.array_ptrs[s.array]))
        else:
            k = s.const
            assert k is not None
            d.constval.isnull = k.isnull
            d.constval.value = 0 if k.isnull else to_datum(k.type, k.value)

    def _fill_func(self, d: Any, s: Step) -> None:
        call = self.sp.calls[s.fcinfo]
        d.func.fcinfo = self.fcinfos[s.fcinfo]
        d.func.fn_addr = _fmgr.FUNCTIONS[call.funcname][0]
        d.func.nargs = len(call.argtypes)

    def _fill_scalararrayop(self, d: Any, s: Step) -> None:
        call = self.sp.calls[s.fcinfo]
        d.scalararrayop.fcinfo = self.fcinfos[s.fcinfo]
        d.scalararrayop.fn_addr = _fmgr.FUNCTIONS[call.funcname][0]
        d.scalararrayop.nargs = len(call.argtypes)
        d.scalararrayop.useOr = s.use_or

    def _fill_boolexpr(self, d: Any, s: Step) -> None:
        d.boolexpr.jumpdone = s.jumpdone
        d.boolexpr.anynull = self.tmp_nulls + s.tmp

    def _fill_qualexpr(self, d: Any, s: Step) -> None:
        d.qualexpr.jumpdone = s.jumpdone

    def _fill_jump(self, d: Any, s: Step) -> None:
        d.jump.jumpdone = s.jumpdone

    def _fill_minmax(self, d: Any, s: Step) -> None:
        d.minmax.values = self.tmp_values + s.tmp
        d.minmax.nulls = self.tmp_nulls + s.tmp
        d.minmax.fn_addr = _fmgr.FUNCTIONS[self.sp.calls[s.fcinfo].funcname][0]
        d.minmax.nelems = s.nelems
        d.minmax.op = lib.CP_MINMAX_LEAST if s.least else lib.CP_MINMAX_GREATEST

    def _fill_casetest(self, d: Any, s: Step) -> None:
        d.casetest.value = self.tmp_values + s.tmp
        d.casetest.isnull = self.tmp_nulls + s.tmp

    def _fill_arrayexpr(self, d: Any, s: Step) -> None:
        arr = ffi.new("CpArray *")  # the array the step builds each row, over the temporaries
        self.keep.append(arr)
        d.arrayexpr.elemvalues = self.tmp_values + s.tmp
        d.arrayexpr.elemnulls = self.tmp_nulls + s.tmp
        d.arrayexpr.array = arr
        d.arrayexpr.nelems = s.nelems

    def _fill_colcmp(self, d: Any, s: Step) -> None:
        call = self.sp.calls[s.fcinfo]
        d.colcmp.jumpdone = s.jumpdone
        d.colcmp.attnum = s.attnum
        if s.array >= 0:  # ANY: the IN list's array
            d.colcmp.value = int(ffi.cast("uintptr_t", self.array_ptrs[s.array]))
        else:
            # verified not NULL; a copy of the call's constant (COPIED_CALL_CONSTS)
            d.colcmp.value = to_datum(call.argtypes[1], call.consts[1].value)

    def dest(self, d: Dest) -> tuple[Any, Any]:
        if isinstance(d, Result):
            return ffi.addressof(self.state, "resvalue"), ffi.addressof(self.state, "resnull")
        if isinstance(d, Tmp):
            return self.tmp_values + d.tmpno, self.tmp_nulls + d.tmpno
        if isinstance(d, Arg):
            arg = self.fcinfos[d.fcinfo].args[d.argno]
            return ffi.addressof(arg, "value"), ffi.addressof(arg, "isnull")
        raise ValueError(f"bad destination {d!r}")

    def _array(self, at: Any, t: SqlType, elems: tuple[Const, ...]) -> Any:
        arr = ffi.cast("CpArray *", at)
        values = ffi.cast("Datum *", at + _ARRAY_SIZE)
        nulls = ffi.cast("bool *", at + _ARRAY_SIZE + 8 * max(1, len(elems)))
        has_nulls = False
        for i, c in enumerate(elems):
            if c.isnull:
                nulls[i] = has_nulls = True
            else:
                values[i] = to_datum(t, c.value)
        arr.nitems = len(elems)
        arr.has_nulls = has_nulls
        arr.values = values
        arr.nulls = nulls
        return arr


def _align(n: int) -> int:
    return (n + 7) & ~7


_STATE_SIZE: int = ffi.sizeof("ExprState")
_STEP_SIZE: int = ffi.sizeof("ExprEvalStep")
_FCINFO_SIZE: int = ffi.offsetof("FunctionCallInfoBaseData", "args")
_ARG_SIZE: int = ffi.sizeof("NullableDatum")
_ARG_VALUE: int = ffi.offsetof("NullableDatum", "value")
_ARRAY_SIZE = _align(ffi.sizeof("CpArray"))
_STEP_D: int = ffi.offsetof("ExprEvalStep", "d")


def _member(kind: str) -> Any:
    """The ctype of ExprEvalStep.d's member for an operand kind (named after it)."""
    return dict(dict(ffi.typeof("ExprEvalStep").fields)["d"].type.fields)[kind].type


def _pointer_fields(ctype: Any) -> list[int]:
    """Byte offsets of a struct's data pointers (not function pointers), from cffi's view of the
    C declaration: a new operand kind's pointers are found with no edit here."""
    return [f.offset for _, f in ctype.fields if f.type.kind == "pointer"]


_CONSTVAL_VALUE: int = _STEP_D + dict(_member("constval").fields)["value"].offset
#: operand kinds with a Datum that is an IN list's address when the step has one (step.array):
#: kind -> its offset in an ExprEvalStep (a pointer cffi cannot see: moved in a copy all the same)
_ARRAY_DATUMS: dict[str, int] = {
    kind: _STEP_D + dict(_member(kind).fields)["value"].offset for kind in ("constval", "colcmp")}
#: operand kinds whose fill copies a call's constant argument into the step itself: kind ->
#: (the field of its member of ExprEvalStep.d, the argument); the plan cache patches both
COPIED_CALL_CONSTS: dict[str, tuple[str, int]] = {"colcmp": ("value", 1)}
#: operand kind -> offsets in an ExprEvalStep of its member's data pointers
_STEP_POINTERS: dict[str, list[int]] = {
    kind: [] if kind == "none" else [_STEP_D + off for off in _pointer_fields(_member(kind))]
    for kind in KINDS
}
_RESULT_POINTERS = _pointer_fields(ffi.typeof("ExprEvalStep"))  # resvalue, resnull
_STATE_POINTERS = _pointer_fields(ffi.typeof("ExprState"))  # steps
_ARRAY_POINTERS = _pointer_fields(ffi.typeof("CpArray"))  # values, nulls


class LayoutImage:
    """A laid-out program's block before an engine bound it, with the 8-byte words that are
    pointers into the block (moved by the distance between two blocks in a copy) and where each
    region of it starts."""

    def __init__(self, words: np.ndarray, base: int, relocs: np.ndarray, off_steps: int,
                 off_tmpv: int, off_tmpn: int, fc_offs: list[int], arr_offs: list[int],
                 result_type: SqlType) -> None:
        self.words = words
        self.base = base
        self.relocs = relocs
        self.off_steps = off_steps
        self.off_tmpv = off_tmpv
        self.off_tmpn = off_tmpn
        self.fc_offs = fc_offs
        self.arr_offs = arr_offs
        self.result_type = result_type

    @classmethod
    def of(cls, layout: Layout, arr_offs: list[int]) -> LayoutImage | None:
        sp = layout.sp
        base_p = ffi.cast("char *", layout.block)
        base = int(ffi.cast("uintptr_t", base_p))
        words = np.frombuffer(ffi.buffer(layout.block), dtype=np.uint64).copy()
        size = 8 * len(words)
        off_steps = int(ffi.cast("uintptr_t", layout.steps)) - base
        offsets: list[int] = list(_STATE_POINTERS)
        for i, s in enumerate(sp.steps):
            at = off_steps + i * _STEP_SIZE
            kind = OPS[s.opcode].kind
            if s.dest is not None:
                offsets += [at + off for off in _RESULT_POINTERS]
            offsets += [at + off for off in _STEP_POINTERS[kind]]
            if kind in _ARRAY_DATUMS and s.array >= 0:  # a Datum that points at an IN list
                offsets.append(at + _ARRAY_DATUMS[kind])
        for off in arr_offs:
            offsets += [off + p for p in _ARRAY_POINTERS]
        relocs = np.array(offsets, dtype=np.intp)
        if (relocs % 8).any():
            return None
        relocs //= 8
        ptrs = words[relocs]
        # every pointer leads into the block (ARRAY[...]'s arrays do not: no image)
        if ((ptrs < base) | (ptrs >= base + size)).any():
            return None
        return cls(words, base, relocs, off_steps,
                   int(ffi.cast("uintptr_t", layout.tmp_values)) - base,
                   int(ffi.cast("uintptr_t", layout.tmp_nulls)) - base,
                   list(layout._fc_offs), arr_offs, sp.result_type)

    def step_const(self, i: int) -> int:
        """The index of the word holding step i's constant (a CONST)."""
        return (self.off_steps + i * _STEP_SIZE + _CONSTVAL_VALUE) // 8

    def step_copy(self, i: int, kind: str) -> int:
        """The index of the word of step i (of operand kind `kind`) holding its copy of a call's
        constant (COPIED_CALL_CONSTS)."""
        field = COPIED_CALL_CONSTS[kind][0]
        offset: int = dict(_member(kind).fields)[field].offset
        return (self.off_steps + i * _STEP_SIZE + _STEP_D + offset) // 8

    def call_const(self, f: int, a: int) -> int:
        """The index of the word holding call info f's constant argument a."""
        return (self.fc_offs[f] + _FCINFO_SIZE + a * _ARG_SIZE + _ARG_VALUE) // 8

    def array_const(self, j: int, e: int) -> int:
        """The index of the word holding element e of IN list j."""
        return (self.arr_offs[j] + _ARRAY_SIZE) // 8 + e


#: operand kind -> the Layout method that fills its member of ExprEvalStep.d
_FILL: dict[str, Callable[[Layout, Any, Step], None]] = {
    kind: getattr(Layout, f"_fill_{kind}") for kind in KINDS
}


def describe_dest(d: Dest | None) -> str:
    return "" if d is None else str(d)


def _explain_call(sp: StepProgram, s: Step) -> str:
    call = sp.calls[s.fcinfo]
    args = []
    for a in range(len(call.argtypes)):
        c = call.consts.get(a)
        if c is not None:
            args.append("NULL" if c.isnull else repr(c.value))
        else:
            args.append(f"arg{a}")
    return f"{call.funcname}({', '.join(args)}) fcinfo{s.fcinfo}"


def _explain_constval(sp: StepProgram, s: Step) -> list[str]:
    if s.array >= 0:
        t, elems = sp.arrays[s.array]
        vals = ", ".join("NULL" if c.isnull else repr(c.value) for c in elems)
        return [f"array {t.value}[{vals}]"]
    assert s.const is not None
    return ["NULL" if s.const.isnull else f"{s.const.value!r}::{s.const.type.value}"]


def _explain_minmax(sp: StepProgram, s: Step) -> list[str]:
    which = "LEAST" if s.least else "GREATEST"
    return [f"{which}(tmp{s.tmp}..tmp{s.tmp + s.nelems - 1}) {sp.calls[s.fcinfo].funcname}"]


def _explain_colcmp(sp: StepProgram, s: Step) -> str:
    call = sp.calls[s.fcinfo]
    column = s.var_name or f"column{s.attnum}"
    if s.array >= 0:
        other = "ANY " + _explain_constval(sp, s)[0]
    else:
        other = repr(call.consts[1].value)
    return f"{call.funcname}({column}, {other}) jumpdone={s.jumpdone}"


#: operand kind -> its operands as explain shows them
_EXPLAIN: dict[str, Callable[[StepProgram, Step], list[str]]] = {
    "none": lambda sp, s: [],
    "fetch": lambda sp, s: [f"last_var={s.last_var}"],
    "var": lambda sp, s: [f"attnum={s.attnum} ({s.var_name})"],
    "column": lambda sp, s: [f"attnum={s.attnum} ({s.var_name})"],
    "constval": _explain_constval,
    "func": lambda sp, s: [_explain_call(sp, s)],
    "scalararrayop": lambda sp, s: [_explain_call(sp, s), "ANY" if s.use_or else "ALL"],
    "boolexpr": lambda sp, s: [f"jumpdone={s.jumpdone}", f"anynull=tmp{s.tmp}"],
    "qualexpr": lambda sp, s: [f"jumpdone={s.jumpdone}"],
    "jump": lambda sp, s: [f"jumpdone={s.jumpdone}"],
    "minmax": _explain_minmax,
    "casetest": lambda sp, s: [f"caseval=tmp{s.tmp}"],
    "arrayexpr": lambda sp, s: [f"ARRAY[tmp{s.tmp}..tmp{s.tmp + s.nelems - 1}]"],
    "colcmp": lambda sp, s: [_explain_colcmp(sp, s)],
}
assert tuple(_EXPLAIN) == KINDS


def explain_steps(sp: StepProgram, notes: list[str] | None = None) -> str:
    """One line per step: index, opcode, operands, result target, and the step's note if any
    (the JIT's: which operands are in its value registers, JitCode.locations())."""
    lines = []
    width = max(len(s.opcode) for s in sp.steps)
    for i, s in enumerate(sp.steps):
        ops = _EXPLAIN[OPS[s.opcode].kind](sp, s)
        target = describe_dest(s.dest)
        line = f"{i:3d}  {s.opcode:<{width}}  {' '.join(ops)}"
        if target:
            line = f"{line:<60} -> {target}"
        if notes is not None and notes[i]:
            line = f"{line}  [{notes[i]}]"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _column_view(name: str, arr: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """A column's values and NULL mask as plain 1-D ndarrays of one length, read off numpy's own
    array structs: never through anything an ndarray subclass can override (``__len__``,
    ``shape``, ``strides``, ``dtype``, ``__array__``, a MaskedArray's ``_mask``), since the scan
    trusts these numbers with raw pointers."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f'column "{name}" is a {type(arr).__name__}, not a numpy array')
    # np.asarray of an ndarray subclass is a base-class view made in C from the array struct;
    # nothing a subclass defines in Python is called (unlike len(arr) or arr.shape).
    data = np.asarray(np.ma.getdata(arr) if isinstance(arr, np.ma.MaskedArray) else arr)
    if data.ndim != 1:
        raise ValueError(f'column "{name}" has {data.ndim} dimensions; columns are 1-D')
    if not data.flags.aligned:
        data = np.require(data, requirements="A")  # C reads whole values: an aligned copy
    mask: np.ndarray | None = None
    if isinstance(arr, np.ma.MaskedArray):
        m = np.ma.getmask(arr)
        if m is not np.ma.nomask:
            # one byte per row that is 0 or 1, as C reads it (np.asarray(m, bool) copies if not)
            mask = np.asarray(m, dtype=np.bool_)
            if mask.shape != data.shape:
                raise ValueError(f'column "{name}" has a NULL mask of shape {mask.shape} for '
                                 f"{data.shape[0]} rows")
    return data, mask


def bind_columns(schema: Schema, table: Mapping[str, Any]) -> tuple[Any, int, list[Any]]:
    """Check a table against the schema and describe its columns to C, without copying.

    The row count and every pointer and stride come from _column_view, never from the objects
    the caller passed, so an array that lies about its length or layout cannot make the scan read
    outside it.
    """
    if not isinstance(table, Mapping):
        raise TypeError(f"a table is a mapping of column name to numpy array, not {type(table).__name__}")
    cols = ffi.new("CpColumn[]", max(1, len(schema.columns)))
    keep: list[Any] = []
    nrows: int | None = None
    for i, c in enumerate(schema.columns):
        if c.name not in table:
            raise KeyError(f'table has no column "{c.name}" (it has: {", ".join(map(str, table))})')
        data, mask = _column_view(c.name, table[c.name])
        if data.dtype.hasobject:
            raise TypeError(f'column "{c.name}" is an object array; use a numeric or bool dtype')
        t = SqlType.from_dtype(data.dtype)
        if t is not c.type:
            raise TypeError(
                f'column "{c.name}" has dtype {data.dtype}, but the program was compiled for '
                f"{c.type.dtype} ({c.type.sql_name})"
            )
        n = int(data.shape[0])
        if nrows is None:
            nrows = n
        elif n != nrows:
            raise ValueError(f'column "{c.name}" has {n} rows, others have {nrows}')
        cols[i].data = ffi.cast("const char *", data.ctypes.data)
        cols[i].stride = data.strides[0] if n else 0
        cols[i].type = t.cp_type
        keep.append(data)
        if t.info.column != "PLAIN":  # datetime64: no NaT, nothing PostgreSQL cannot hold
            check_column(c.name, data, mask, t.value)
        if mask is not None and mask.any():
            if not c.nullable:
                raise ValueError(f'column "{c.name}" was declared NOT NULL but holds NULLs')
            cols[i].nulls = ffi.cast("const char *", mask.ctypes.data)
            cols[i].null_stride = mask.strides[0]
            keep.append(mask)
        else:
            cols[i].nulls = ffi.NULL
    if nrows is None:
        # no column is read: the row count is any column's (no pointer is taken from it)
        nrows = 0
        for name, arr in table.items():
            nrows = (_column_view(str(name), arr)[0].shape[0] if isinstance(arr, np.ndarray)
                     else len(arr))
            break
    return cols, nrows, keep


# fork()s this process descends through. In a child only the forking thread exists: a lock
# taken before the fork by another thread (inside a scan) would never be released there.
_fork_generation = 0
_renewing = threading.Lock()  # serialises the child's threads renewing the same lock


def _after_fork_in_child() -> None:
    global _fork_generation, _renewing
    _fork_generation += 1
    _renewing = threading.Lock()  # a thread that is gone may have held this one too


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ForkSafeLock:
    """`with lock:` as threading.Lock's, except that the first use in a fork()ed child takes a
    fresh lock: what the parent's other threads held is not held in the child, where they do
    not exist. O(1) per fork, whatever the number of locks (renewing each one in an
    `after_in_child` hook would touch every program's pages in every child)."""

    __slots__ = ("_generation", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = _fork_generation

    def __enter__(self) -> None:
        if self._generation != _fork_generation:
            with _renewing:
                if self._generation != _fork_generation:
                    self._lock = threading.Lock()
                    self._generation = _fork_generation  # after the lock: a reader sees the new one
        self._lock.acquire()

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class Executable:
    """One step program bound to an engine, with its C memory."""

    def __init__(self, sp: StepProgram | None, engine: str, *,
                 layout: Layout | None = None) -> None:
        """sp laid out, or a layout made already (a copy of an image: Layout.from_image),
        whose step program is made on first use."""
        t0 = time.perf_counter_ns()
        if layout is None:
            assert sp is not None
            layout = Layout(sp, engine)
        self.layout = layout
        self.result_type = layout.result_type
        self.compile_ns = time.perf_counter_ns() - t0
        self.jit_ns = self.layout.jit_ns
        if self.layout.jit is not None:
            # the JIT's own compile (copy + patch + publish), measured in C
            self.compile_ns = self.layout.jit.compile_ns
        # the steps' slots are per program: one scan at a time (a fork()ed child starts afresh)
        self.lock = ForkSafeLock()
        self.error_info = ffi.new("CpErrorInfo *")  # used under the lock
        self.next_row = ffi.new("int64_t *")  # likewise
        self.state = self.layout.state
        self.binding = ColumnBinding()

    @property
    def sp(self) -> StepProgram:
        return self.layout.sp

    @property
    def code_size(self) -> int:
        """Bytes of machine code (0 for the interpreters)."""
        return 0 if self.layout.jit is None else self.layout.jit.code_size

    def disassemble(self) -> str:
        """The JIT's machine code, annotated with steps and holes."""
        if self.layout.jit is None:
            raise ValueError(f"engine {self.layout.engine!r} generates no machine code")
        return self.layout.jit.disassemble()

    def close(self) -> None:
        """Free the JIT's code now (the interpreters' memory goes with the Executable)."""
        with self.lock:
            self.binding.clear()  # the last table's arrays are not kept alive any longer
            if self.layout.jit is not None:
                self.layout.jit.close()

    def scan(self, schema: Schema, table: Mapping[str, Any], mode: int) -> tuple[Any, Any]:
        # the fixed cost of every filter()/evaluate(): kept to a few attribute reads and C calls
        cols, nrows, keep = self.binding.bind(schema, table)
        if mode == _FILTER:
            out = np.zeros(nrows, dtype=np.bool_)
            nulls = None
            nulls_buf = ffi.NULL
            result_type = 0
        else:
            out = np.empty(nrows, dtype=self.result_type.dtype)
            nulls = np.empty(nrows, dtype=np.bool_)
            nulls_buf = ffi.from_buffer(nulls)
            result_type = self.result_type.cp_type
        out_buf = ffi.from_buffer(out)
        # Python's signal handlers run only in the main thread, between bytecodes: there the scan
        # comes back every SCAN_SLICE_NS so that Ctrl-C is honoured (KeyboardInterrupt leaves
        # the lock released and no result); other threads scan in one call.
        slice_ns = SCAN_SLICE_NS if threading.get_ident() == threading.main_thread().ident else 0
        with self.lock:
            info, next_row = self.error_info, self.next_row
            next_row[0] = 0
            while True:
                rc = _cp_scan(self.state, cols, len(schema.columns), nrows, mode, result_type,
                              out_buf, nulls_buf, next_row, slice_ns, info)
                if rc != _PAUSED:
                    break
            if rc > 0:
                code, row = info.code, info.row
        del keep  # the arrays the columns point into, alive until the scan is over
        if rc == 0:
            return out, nulls
        if rc == -2:
            which = "filter" if self.state.row_loop == 1 + lib.CP_SCAN_FILTER else "evaluate"
            raise CompileError(f"the program ends in EEOP_DONE_NEXTROW_{which.upper()}: it can "
                               f"only run as {which}()")
        if rc < 0:
            raise CompileError("the table has more columns than the C core supports (1664)")
        err = ffi.new("CpErrorInfo *")
        err.code, err.row = code, row
        _fmgr.raise_error(err, row)
        raise AssertionError("raise_error returned")


def masked(values: np.ndarray, nulls: np.ndarray) -> np.ma.MaskedArray:
    """evaluate()'s result: the scan's values masked where the scan wrote NULL. Both arrays are
    the scan's own, so the masked array takes them as they are (a view and the mask set
    directly: half the cost of np.ma.MaskedArray(values, mask=nulls), which checks and may copy
    them); the mask is not shared, so writing into the result unmasks as it would in a copy."""
    out: Any = values.view(np.ma.MaskedArray)  # Any: numpy's stubs omit the two fields
    out._mask = nulls
    out._sharedmask = False
    return out  # type: ignore[no-any-return]


_cp_scan = lib.cp_scan
_FILTER = lib.CP_SCAN_FILTER
_PAUSED = lib.CP_SCAN_PAUSED


class ColumnBinding:
    """The last table bound to a program, reused while it is the same arrays in the same shape.

    bind_columns checks a table and describes its columns to C; that was most of a small scan's
    cost (~7 us of Python per call), and a program is mostly run over the same table again. So
    the bound C array is kept with a key of what it was made from: per column the array object
    itself, its shape, strides and dtype, and for a masked array its mask object. The binding
    holds the arrays, so none is freed or resized in place while it is bound (ndarray.resize
    refuses an array with other references, and a masked array never resizes); a different
    object, or the same one reshaped, restrided or given another dtype or mask, misses and is
    bound anew by bind_columns. Only plain dicts of exact ndarrays and MaskedArrays are reused:
    anything else (a subclass, another mapping) goes through bind_columns every time.
    """

    __slots__ = ("cols", "keep", "key", "names", "nrows", "recheck", "schema")

    def __init__(self) -> None:
        self.schema: Schema | None = None
        self.names: tuple[str, ...] = ()
        self.key: list[Any] | None = None
        self.cols: Any = None
        self.nrows = 0
        self.keep: list[Any] = []
        #: masks that held no NULLs when bound (so C was told "no nulls"): a NULL set in one
        #: since then must be seen, so they are checked again on every reuse
        self.recheck: list[Any] = []

    def bind(self, schema: Schema, table: Mapping[str, Any]) -> tuple[Any, int, list[Any]]:
        """(C columns, row count, what must stay alive while C reads them), as bind_columns."""
        if schema is not self.schema:
            self.clear()
            self.schema = schema
            # a datetime64 column's values are checked when bound (no NaT, nothing PostgreSQL
            # cannot hold): values written in place since would go unchecked, so bind every time
            self.names = (tuple(c.name for c in schema.columns)
                          if all(c.type.info.column == "PLAIN" for c in schema.columns) else ())
        found = _binding_key(self.names, table)
        # (count_nonzero: a tenth of ndarray.any()'s fixed cost, which is a ufunc reduction)
        if found is not None and found[0] == self.key and not (
                self.recheck and any(np.count_nonzero(m) for m in self.recheck)):
            return self.cols, self.nrows, self.keep
        cols, nrows, keep = bind_columns(schema, table)
        if found is None:
            self.clear()  # nothing reusable: do not keep the last table's arrays alive either
            self.schema = schema
            return cols, nrows, keep
        key, held = found
        if not _points_into(cols, held):
            self.clear()  # bind_columns made a copy (an unaligned column, say): bind every time
            self.schema = schema
            return cols, nrows, keep
        self.key = None  # while it changes, nothing matches
        self.cols, self.nrows, self.keep = cols, nrows, [*keep, *held]
        self.recheck = [held[2 * i + 1] for i in range(len(self.names))
                        if type(held[2 * i + 1]) is np.ndarray and cols[i].nulls == ffi.NULL]
        self.key = key
        return cols, nrows, self.keep

    def clear(self) -> None:
        self.schema = self.key = self.cols = None
        self.keep = self.recheck = []


def _points_into(cols: Any, held: list[Any]) -> bool:
    """Whether every bound column points into the caller's own arrays (values and mask), so that
    what the caller writes into them later is what a reused binding reads; a copy would go stale."""
    for i in range(len(held) // 2):
        arr, mask = held[2 * i], held[2 * i + 1]
        if int(ffi.cast("uintptr_t", cols[i].data)) != arr.ctypes.data:
            return False
        if cols[i].nulls != ffi.NULL and (
                type(mask) is not np.ndarray
                or int(ffi.cast("uintptr_t", cols[i].nulls)) != mask.ctypes.data):
            return False
    return True


def _binding_key(names: tuple[str, ...], table: Mapping[str, Any]) -> tuple[list[Any], list[Any]] | None:
    """What a bound table is made from (see ColumnBinding), flat, and the objects its ids name;
    None if it is not reusable. Objects go in by id(), never compared with ==, which would
    compare arrays element by element: the binding holds them, so an equal id is the same one."""
    if type(table) is not dict or not names:
        return None
    key: list[Any] = []
    held: list[Any] = []
    for name in names:
        arr = table.get(name)
        t = type(arr)
        if t is np.ndarray:
            mask = None
        elif t is np.ma.MaskedArray:
            mask = arr._mask  # type: ignore[union-attr]
            # nomask (no NULLs) can only become a mask by becoming a new object, which misses
            if type(mask) is not np.ndarray and mask is not np.ma.nomask:
                return None
        else:
            return None
        key += (id(arr), arr.shape, arr.strides, arr.dtype, id(mask))  # type: ignore[union-attr]
        held += (arr, mask)
    return key, held
