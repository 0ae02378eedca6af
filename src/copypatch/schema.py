"""A table's columns as a compiled expression sees them: PostgreSQL's TupleDesc, cut down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._errors import CompileError
from .sqltypes import SqlType


@dataclass(frozen=True)
class Column:
    """One column of a schema: its name, type and whether it may hold NULLs."""

    name: str
    type: SqlType
    nullable: bool


class Schema:
    """The columns an expression may refer to, in table order."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.by_name = {c.name: i for i, c in enumerate(self.columns)}
        if len(self.by_name) != len(self.columns):
            raise CompileError("duplicate column names in schema")

    def __repr__(self) -> str:
        cols = ", ".join(
            f"{c.name} {c.type.value}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )
        return f"Schema({cols})"
