"""The C core as Python sees it: errors and built-in functions read from its tables."""

from __future__ import annotations

from typing import Any

from . import opcodes
from ._core import ffi, lib
from ._errors import EvalError
from .sqltypes import SqlType, from_datum, to_datum

# opcode name -> number and back, for the modules that want only these: the opcode table
# itself, with each opcode's operands and flags, is opcodes.py
OPCODES: dict[str, int] = opcodes.OPCODES
OPCODE_NAMES: list[str] = opcodes.OPCODE_NAMES

ERRORS: list[tuple[str, str]] = [
    (ffi.string(lib.cp_error_sqlstates[i]).decode(), ffi.string(lib.cp_error_messages[i]).decode())
    for i in range(lib.cp_num_errors)
]

#: PostgreSQL function name (pg_proc.prosrc) -> (fmgr function pointer, number of arguments,
#: -1 for a variadic function such as num_nulls)
FUNCTIONS: dict[str, tuple[object, int]] = {
    ffi.string(lib.cp_functions[i].name).decode(): (lib.cp_functions[i].fn, lib.cp_functions[i].nargs)
    for i in range(lib.cp_num_functions)
}
#: the strict functions that return NULL for some non-NULL arguments (functions.def's
#: FCINFO_NULL): their result may be NULL even when no argument can be
RETURNS_NULL: frozenset[str] = frozenset(
    ffi.string(lib.cp_functions[i].name).decode()
    for i in range(lib.cp_num_functions) if lib.cp_functions[i].returns_null
)


def raise_error(info: object, row: int | None) -> None:
    code = info.code  # type: ignore[attr-defined]
    if not 0 < code < len(ERRORS):
        raise RuntimeError(f"C core reported unknown error code {code}")
    sqlstate, message = ERRORS[code]
    raise EvalError(sqlstate, message, row)


def new_fcinfo(nargs: int) -> Any:
    """A call info with room for exactly nargs arguments (fmgr's SizeForFunctionCallInfo)."""
    fcinfo = ffi.new("FunctionCallInfoBaseData *", {"args": nargs})
    fcinfo.nargs = nargs
    return fcinfo


def call(name: str, argtypes: tuple[SqlType, ...], args: tuple[object, ...], rettype: SqlType) -> object:
    """Call a built-in on constants (constant folding), with the C core's own code. None is a
    NULL argument, which only a non-strict function (num_nulls) is ever called with."""
    fn, _ = FUNCTIONS[name]
    fcinfo = new_fcinfo(len(args))
    for i, (t, v) in enumerate(zip(argtypes, args)):
        fcinfo.args[i].value = 0 if v is None else to_datum(t, v)
        fcinfo.args[i].isnull = v is None
    result = ffi.new("Datum *")
    info = ffi.new("CpErrorInfo *")
    if lib.cp_call_function(fn, fcinfo, result, info) != 0:
        raise_error(info, None)
    if fcinfo.isnull:  # a strict function may still return NULL (date_part of infinity)
        return None
    return from_datum(rettype, result[0])
