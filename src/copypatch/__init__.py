"""copypatch: PostgreSQL's expression evaluation, as step programs, interpreters and a JIT."""

from ._errors import CompileError, CopypatchError, EvalError
from .analyze import Column, Schema
from .compiler import Program, compile
from .expr import case, coalesce, col, func, greatest, least, lit, nullif
from .passes import OPTIMIZATIONS
from .program import ENGINES
from .sqltypes import SqlType
from .verify import SLOT, StepsProgram, from_steps

__all__ = [
    "ENGINES",
    "OPTIMIZATIONS",
    "SLOT",
    "Column",
    "CompileError",
    "CopypatchError",
    "EvalError",
    "Program",
    "Schema",
    "SqlType",
    "StepsProgram",
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
