"""Programs: step programs laid out in C memory, bound to an engine, run over numpy columns."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fmgr
from ._core import ffi, lib
from ._datetime import check_column
from ._errors import CompileError
from .analyze import Schema
from .lower import Dest, StepProgram
from .nodes import Const
from .sqltypes import SqlType, to_datum

if TYPE_CHECKING:
    from .jit import JitCode

ENGINES = ("switch", "goto", "jit")


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

        for i, s in enumerate(sp.steps):
            st = self.steps[i]
            st.opcode = _fmgr.OPCODES[s.opcode]
            if s.dest is not None:
                st.resvalue, st.resnull = self.dest(s.dest)
            if s.opcode == "EEOP_SCAN_FETCHSOME":
                st.d.fetch.last_var = s.last_var
            elif s.attnum >= 0:  # SCAN_VAR, SCAN_COLUMN_*
                st.d.var.attnum = s.attnum
            elif s.opcode.startswith("EEOP_CONST"):
                if s.array >= 0:
                    st.d.constval.value = int(ffi.cast("uintptr_t", self.array_ptrs[s.array]))
                else:
                    k = s.const
                    assert k is not None
                    st.d.constval.isnull = k.isnull
                    st.d.constval.value = 0 if k.isnull else to_datum(k.type, k.value)
            elif s.opcode == "EEOP_MINMAX":
                st.d.minmax.values = self.tmp_values + s.tmp
                st.d.minmax.nulls = self.tmp_nulls + s.tmp
                st.d.minmax.fn_addr = _fmgr.FUNCTIONS[sp.calls[s.fcinfo].funcname][0]
                st.d.minmax.nelems = s.nelems
                st.d.minmax.op = lib.CP_MINMAX_LEAST if s.least else lib.CP_MINMAX_GREATEST
            elif s.fcinfo >= 0:
                call = sp.calls[s.fcinfo]
                st.d.func.fcinfo = self.fcinfos[s.fcinfo]
                st.d.func.fn_addr = _fmgr.FUNCTIONS[call.funcname][0]
                st.d.func.nargs = len(call.argtypes)
                st.d.func.useOr = s.use_or
            elif s.opcode.startswith("EEOP_BOOL_") and s.opcode != "EEOP_BOOL_NOT_STEP":
                st.d.boolexpr.jumpdone = s.jumpdone
                st.d.boolexpr.anynull = self.tmp_nulls + s.tmp
            elif s.opcode in ("EEOP_QUAL",):
                st.d.qualexpr.jumpdone = s.jumpdone
            elif s.opcode.startswith(("EEOP_JUMP", "EEOP_DONE_NEXTROW_")):
                st.d.jump.jumpdone = s.jumpdone
            elif s.opcode == "EEOP_CASE_TESTVAL":
                st.d.casetest.value = self.tmp_values + s.tmp
                st.d.casetest.isnull = self.tmp_nulls + s.tmp

        self.state.steps = self.steps
        self.state.steps_len = n
        for name, mode in (("EEOP_DONE_NEXTROW_FILTER", lib.CP_SCAN_FILTER),
                           ("EEOP_DONE_NEXTROW_EVALUATE", lib.CP_SCAN_EVALUATE)):
            if any(s.opcode == name for s in sp.steps):
                self.state.row_loop = 1 + mode  # the verifier allows one kind of DONE
        self.jit: JitCode | None = None
        if engine == "switch":
            self.state.evalfunc = lib.cp_engine_switch()
        elif engine == "goto":
            lib.cp_goto_prepare(self.state)
            self.state.evalfunc = lib.cp_engine_goto()
        elif engine == "jit":
            from .jit import JitCode

            self.jit = JitCode(self.state)  # points state->evalfunc at the machine code
        else:
            raise ValueError(f"unknown engine {engine!r}")

    def dest(self, d: Dest) -> tuple[Any, Any]:
        if d[0] == "result":
            return ffi.addressof(self.state, "resvalue"), ffi.addressof(self.state, "resnull")
        if d[0] == "tmp":
            return self.tmp_values + d[1], self.tmp_nulls + d[1]
        if d[0] == "arg":
            arg = self.fcinfos[d[1]].args[d[2]]
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


def describe_dest(d: Dest | None) -> str:
    if d is None:
        return ""
    if d[0] == "result":
        return "result"
    if d[0] == "tmp":
        return f"tmp{d[1]}"
    return f"fcinfo{d[1]}.arg{d[2]}"


def explain_steps(sp: StepProgram) -> str:
    """One line per step: index, opcode, operands, result target."""
    lines = []
    width = max(len(s.opcode) for s in sp.steps)
    for i, s in enumerate(sp.steps):
        ops: list[str] = []
        if s.opcode == "EEOP_SCAN_FETCHSOME":
            ops.append(f"last_var={s.last_var}")
        elif s.attnum >= 0:
            ops.append(f"attnum={s.attnum} ({s.var_name})")
        elif s.opcode.startswith("EEOP_CONST"):
            if s.array >= 0:
                t, elems = sp.arrays[s.array]
                vals = ", ".join("NULL" if c.isnull else repr(c.value) for c in elems)
                ops.append(f"array {t.value}[{vals}]")
            else:
                assert s.const is not None
                ops.append("NULL" if s.const.isnull else f"{s.const.value!r}::{s.const.type.value}")
        if s.opcode == "EEOP_MINMAX":
            which = "LEAST" if s.least else "GREATEST"
            ops.append(f"{which}(tmp{s.tmp}..tmp{s.tmp + s.nelems - 1}) "
                       f"{sp.calls[s.fcinfo].funcname}")
        elif s.fcinfo >= 0:
            call = sp.calls[s.fcinfo]
            args = []
            for a in range(len(call.argtypes)):
                c = call.consts.get(a)
                if c is not None:
                    args.append("NULL" if c.isnull else repr(c.value))
                else:
                    args.append(f"arg{a}")
            ops.append(f"{call.funcname}({', '.join(args)}) fcinfo{s.fcinfo}")
            if s.opcode == "EEOP_SCALARARRAYOP":
                ops.append("ANY" if s.use_or else "ALL")
        if s.jumpdone >= 0:
            ops.append(f"jumpdone={s.jumpdone}")
        if s.tmp >= 0 and s.opcode != "EEOP_MINMAX":
            ops.append(("anynull=" if "BOOL" in s.opcode else "caseval=") + f"tmp{s.tmp}")
        target = describe_dest(s.dest)
        line = f"{i:3d}  {s.opcode:<{width}}  {' '.join(ops)}"
        if target:
            line = f"{line:<60} -> {target}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def bind_columns(schema: Schema, table: Mapping[str, Any]) -> tuple[Any, int, list[Any]]:
    """Check a table against the schema and describe its columns to C, without copying."""
    if not isinstance(table, Mapping):
        raise TypeError(f"a table is a mapping of column name to numpy array, not {type(table).__name__}")
    cols = ffi.new("CpColumn[]", max(1, len(schema.columns)))
    keep: list[Any] = []
    nrows: int | None = None
    for i, c in enumerate(schema.columns):
        if c.name not in table:
            raise KeyError(f'table has no column "{c.name}" (it has: {", ".join(map(str, table))})')
        arr = table[c.name]
        if not isinstance(arr, np.ndarray):
            raise TypeError(f'column "{c.name}" is a {type(arr).__name__}, not a numpy array')
        if arr.ndim != 1:
            raise ValueError(f'column "{c.name}" has {arr.ndim} dimensions; columns are 1-D')
        if arr.dtype.hasobject:
            raise TypeError(f'column "{c.name}" is an object array; use a numeric or bool dtype')
        t = SqlType.from_dtype(arr.dtype)
        if t is not c.type:
            raise TypeError(
                f'column "{c.name}" has dtype {arr.dtype}, but the program was compiled for '
                f"{c.type.dtype} ({c.type.sql_name})"
            )
        if nrows is None:
            nrows = len(arr)
        elif len(arr) != nrows:
            raise ValueError(f'column "{c.name}" has {len(arr)} rows, others have {nrows}')
        data = np.ma.getdata(arr)
        cols[i].data = ffi.cast("const char *", data.ctypes.data)
        cols[i].stride = data.strides[0] if len(data) else 0
        cols[i].type = t.cp_type
        keep.append(data)
        mask: Any = np.ma.getmask(arr) if isinstance(arr, np.ma.MaskedArray) else np.ma.nomask
        if t.info.column != "PLAIN":  # datetime64: no NaT, nothing PostgreSQL cannot hold
            check_column(c.name, data, mask, t.value)
        if mask is not np.ma.nomask and mask.any():
            if not c.nullable:
                raise ValueError(f'column "{c.name}" was declared NOT NULL but holds NULLs')
            cols[i].nulls = ffi.cast("const char *", mask.ctypes.data)
            cols[i].null_stride = mask.strides[0]
            keep.append(mask)
        else:
            cols[i].nulls = ffi.NULL
    if nrows is None:
        nrows = 0
        for arr in table.values():
            nrows = len(arr)
            break
    return cols, nrows, keep


class Executable:
    """One step program bound to an engine, with its C memory."""

    def __init__(self, sp: StepProgram, engine: str) -> None:
        t0 = time.perf_counter_ns()
        self.sp = sp
        self.layout = Layout(sp, engine)
        self.compile_ns = time.perf_counter_ns() - t0
        if self.layout.jit is not None:
            # the JIT's own compile (copy + patch + publish), measured in C
            self.compile_ns = self.layout.jit.compile_ns
        self.lock = threading.Lock()  # the steps' slots are per program: one scan at a time

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
            if self.layout.jit is not None:
                self.layout.jit.close()

    def scan(self, schema: Schema, table: Mapping[str, Any], mode: int) -> tuple[Any, Any]:
        cols, nrows, keep = bind_columns(schema, table)
        if mode == lib.CP_SCAN_FILTER:
            out = np.zeros(nrows, dtype=np.bool_)
            nulls = None
        else:
            out = np.empty(nrows, dtype=self.sp.result_type.dtype)
            nulls = np.empty(nrows, dtype=np.bool_)
        info = ffi.new("CpErrorInfo *")
        with self.lock:
            rc = lib.cp_scan(
                self.layout.state, cols, len(schema.columns), nrows, mode,
                self.sp.result_type.cp_type if mode != lib.CP_SCAN_FILTER else 0,
                ffi.from_buffer(out), ffi.NULL if nulls is None else ffi.from_buffer(nulls), info,
            )
        del keep
        if rc == -2:
            which = "filter" if self.layout.state.row_loop == 1 + lib.CP_SCAN_FILTER else "evaluate"
            raise CompileError(f"the program ends in EEOP_DONE_NEXTROW_{which.upper()}: it can "
                               f"only run as {which}()")
        if rc < 0:
            raise CompileError("the table has more columns than the C core supports (1664)")
        if rc:
            _fmgr.raise_error(info, info.row)
        return out, nulls
