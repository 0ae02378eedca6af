"""The C core as Python sees it: errors and built-in functions read from its tables."""

from __future__ import annotations

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

#: PostgreSQL function name (pg_proc.prosrc) -> (fmgr function pointer, number of arguments)
FUNCTIONS: dict[str, tuple[object, int]] = {
    ffi.string(lib.cp_functions[i].name).decode(): (lib.cp_functions[i].fn, lib.cp_functions[i].nargs)
    for i in range(lib.cp_num_functions)
}


def raise_error(info: object, row: int | None) -> None:
    code = info.code  # type: ignore[attr-defined]
    if not 0 < code < len(ERRORS):
        raise RuntimeError(f"C core reported unknown error code {code}")
    sqlstate, message = ERRORS[code]
    raise EvalError(sqlstate, message, row)


def call(name: str, argtypes: tuple[SqlType, ...], args: tuple[object, ...], rettype: SqlType) -> object:
    """Call a built-in on non-NULL constants (constant folding), with the C core's own code."""
    fn, nargs = FUNCTIONS[name]
    fcinfo = ffi.new("FunctionCallInfoBaseData *")
    fcinfo.nargs = nargs
    for i, (t, v) in enumerate(zip(argtypes, args)):
        fcinfo.args[i].value = to_datum(t, v)
        fcinfo.args[i].isnull = False
    result = ffi.new("Datum *")
    info = ffi.new("CpErrorInfo *")
    if lib.cp_call_function(fn, fcinfo, result, info) != 0:
        raise_error(info, None)
    return from_datum(rettype, result[0])
