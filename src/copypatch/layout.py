"""Layout: step programs laid out in C memory, bound to an engine, run over numpy columns."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fmgr
from ._core import ffi, lib
from ._datetime import check_column
from ._errors import CompileError
from .nodes import Const
from .opcodes import KINDS, OPS
from .schema import Schema
from .sqltypes import SqlType, to_datum
from .steps import Arg, Dest, Result, Step, StepProgram, Tmp

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

    Everything the steps point to is owned here, so it lives exactly as long as the program.
    """

    def __init__(self, sp: StepProgram, engine: str) -> None:
        self.sp = sp
        self.engine = engine
        n = len(sp.steps)
        self.state = ffi.new("ExprState *")
        self.steps = ffi.new("ExprEvalStep[]", n)
        # one allocation per call info, each sized for its own arguments (args is flexible)
        self.fcinfos = [_fmgr.new_fcinfo(len(call.argtypes)) for call in sp.calls]
        self.tmp_values = ffi.new("Datum[]", max(1, sp.ntmp))
        self.tmp_nulls = ffi.new("bool[]", max(1, sp.ntmp))
        self.keep: list[Any] = []  # arrays' C memory
        self.array_ptrs = [self._array(t, elems) for t, elems in sp.arrays]

        for f, call in enumerate(sp.calls):
            fc = self.fcinfos[f]
            for i, c in call.consts.items():
                fc.args[i].isnull = c.isnull
                fc.args[i].value = 0 if c.isnull else to_datum(call.argtypes[i], c.value)

        ops = OPS
        fill = _FILL
        for i, s in enumerate(sp.steps):
            st = self.steps[i]
            info = ops[s.opcode]
            st.opcode = info.code
            if s.dest is not None:
                st.resvalue, st.resnull = self.dest(s.dest)
            fill[info.kind](self, st.d, s)

        self.state.steps = self.steps
        self.state.steps_len = n
        for name, mode in (("EEOP_DONE_NEXTROW_FILTER", lib.CP_SCAN_FILTER),
                           ("EEOP_DONE_NEXTROW_EVALUATE", lib.CP_SCAN_EVALUATE)):
            if any(s.opcode == name for s in sp.steps):
                self.state.row_loop = 1 + mode  # the verifier allows one kind of DONE
        self.jit: JitCode | None = None
        self.jit_ns = 0  # wall time of the JIT's part (copy + patch + publish, from Python)
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
            d.colcmp.value = to_datum(call.argtypes[1], call.consts[1].value)  # verified not NULL

    def dest(self, d: Dest) -> tuple[Any, Any]:
        if isinstance(d, Result):
            return ffi.addressof(self.state, "resvalue"), ffi.addressof(self.state, "resnull")
        if isinstance(d, Tmp):
            return self.tmp_values + d.tmpno, self.tmp_nulls + d.tmpno
        if isinstance(d, Arg):
            arg = self.fcinfos[d.fcinfo].args[d.argno]
            return ffi.addressof(arg, "value"), ffi.addressof(arg, "isnull")
        raise ValueError(f"bad destination {d!r}")

    def _array(self, t: SqlType, elems: tuple[Const, ...]) -> Any:
        arr = ffi.new("CpArray *")
        values = ffi.new("Datum[]", max(1, len(elems)))
        nulls = ffi.new("bool[]", max(1, len(elems)))
        for i, c in enumerate(elems):
            nulls[i] = c.isnull
            values[i] = 0 if c.isnull else to_datum(t, c.value)
        arr.nitems = len(elems)
        arr.has_nulls = any(c.isnull for c in elems)
        arr.values = values
        arr.nulls = nulls
        self.keep += [arr, values, nulls]
        return arr


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


def explain_steps(sp: StepProgram) -> str:
    """One line per step: index, opcode, operands, result target."""
    lines = []
    width = max(len(s.opcode) for s in sp.steps)
    for i, s in enumerate(sp.steps):
        ops = _EXPLAIN[OPS[s.opcode].kind](sp, s)
        target = describe_dest(s.dest)
        line = f"{i:3d}  {s.opcode:<{width}}  {' '.join(ops)}"
        if target:
            line = f"{line:<60} -> {target}"
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

    def __init__(self, sp: StepProgram, engine: str) -> None:
        t0 = time.perf_counter_ns()
        self.sp = sp
        self.layout = Layout(sp, engine)
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
            out = np.empty(nrows, dtype=self.sp.result_type.dtype)
            nulls = np.empty(nrows, dtype=np.bool_)
            nulls_buf = ffi.from_buffer(nulls)
            result_type = self.sp.result_type.cp_type
        out_buf = ffi.from_buffer(out)
        # Python's signal handlers run only in the main thread, between bytecodes: there the scan
        # comes back every SCAN_SLICE_NS so that Ctrl-C is honoured (KeyboardInterrupt leaves
        # the lock released and no result); other threads scan in one call.
        slice_ns = SCAN_SLICE_NS if threading.current_thread() is threading.main_thread() else 0
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
        if found is not None and found[0] == self.key and not (
                self.recheck and any(m.any() for m in self.recheck)):
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
