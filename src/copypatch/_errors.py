"""The exceptions copypatch raises."""

from __future__ import annotations


class CopypatchError(Exception):
    """Base class of every exception copypatch raises on purpose."""


class CompileError(CopypatchError):
    """An expression or schema that copypatch cannot turn into a program.

    ``position`` is the 0-based character offset in the SQL text of the construct at fault, or
    ``None`` when the expression was built in Python (or the fault has no place in the text).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        if position is not None:
            message = f"{message} (at character {position + 1})"
        super().__init__(message)


class EvalError(CopypatchError):
    """An error PostgreSQL would raise while evaluating the expression.

    ``sqlstate`` is PostgreSQL's five-character error code (``"22003"``, ``"22012"``, ...), ``message``
    PostgreSQL's primary message, and ``row`` the index of the first row (in scan order) that failed,
    or ``None`` when the error happened while folding constants, before any row was read (PostgreSQL
    raises those at plan time).
    """

    def __init__(self, sqlstate: str, message: str, row: int | None = None) -> None:
        self.sqlstate = sqlstate
        self.message = message
        self.row = row
        where = "" if row is None else f" (row {row})"
        super().__init__(f"{message} [SQLSTATE {sqlstate}]{where}")
