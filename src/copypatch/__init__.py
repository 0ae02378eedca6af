"""copypatch: PostgreSQL's expression evaluation, as step programs, interpreters and a JIT."""

from ._errors import CompileError, CopypatchError, EvalError
from .analyze import Column, Schema
from .compiler import compile
from .expr import case, coalesce, col, func, greatest, least, lit, nullif
from .layout import ENGINES
from .passes import OPTIMIZATIONS
from .program import Program
from .rawsteps import SLOT, RawProgram, StepsProgram, from_steps
from .sqltypes import SqlType

__all__ = [
    "ENGINES",
    "OPTIMIZATIONS",
    "SLOT",
    "Column",
    "CompileError",
    "CopypatchError",
    "EvalError",
    "Program",
    "RawProgram",
    "Schema",
    "SqlType",
    "StepsProgram",  # RawProgram's old name
    "case",
    "coalesce",
    "col",
    "compile",
    "from_steps",
    "func",
    "greatest",
    "least",
    "lit",
    "nullif",
]
__version__ = "0.1.0"
