"""copypatch: PostgreSQL's expression evaluation, as step programs, interpreters and a JIT."""

from ._errors import CompileError, CopypatchError, EvalError
from .compiler import compile
from .expr import case, coalesce, col, func, greatest, least, lit, nullif
from .layout import ENGINES
from .passes import OPTIMIZATIONS
from .program import Program
from .rawsteps import SLOT, RawProgram, StepsProgram, from_steps
from .schema import Column, Schema
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
