"""The SQL types copypatch supports, and how their values travel as numpy data and as Datums."""

from __future__ import annotations

import enum
import struct

import numpy as np


class SqlType(enum.Enum):
    """A PostgreSQL type; the value is its name in pg_type (``typname``)."""

    BOOL = "bool"
    INT2 = "int2"
    INT4 = "int4"
    INT8 = "int8"
    FLOAT4 = "float4"
    FLOAT8 = "float8"
    #: Only for literals like ``1.5``: PostgreSQL types them numeric, which copypatch lacks, so a
    #: numeric value must be cast to float4/float8 before anything computes with it.
    NUMERIC = "numeric"
    #: The type of a bare ``NULL`` before context gives it one (PostgreSQL's ``unknown``).
    UNKNOWN = "unknown"

    @property
    def sql_name(self) -> str:
        return _SQL_NAMES[self]

    @property
    def dtype(self) -> np.dtype:
        try:
            return _DTYPES[self]
        except KeyError:
            raise TypeError(f"type {self.sql_name} has no numpy representation") from None

    @property
    def cp_type(self) -> int:
        """The CpType code of the C core (api.h)."""
        return _CP_TYPES[self]

    @property
    def is_integer(self) -> bool:
        return self in (SqlType.INT2, SqlType.INT4, SqlType.INT8)

    @property
    def is_float(self) -> bool:
        return self in (SqlType.FLOAT4, SqlType.FLOAT8)

    @classmethod
    def from_dtype(cls, dtype: np.dtype) -> SqlType:
        dtype = np.dtype(dtype)
        if not dtype.isnative:
            raise TypeError(f"dtype {dtype} is not in the machine's byte order")
        for t, d in _DTYPES.items():
            if d == dtype:
                return t
        raise TypeError(
            f"unsupported column dtype {dtype}; supported: bool, int16, int32, int64, float32, float64"
        )


_SQL_NAMES = {
    SqlType.BOOL: "boolean",
    SqlType.INT2: "smallint",
    SqlType.INT4: "integer",
    SqlType.INT8: "bigint",
    SqlType.FLOAT4: "real",
    SqlType.FLOAT8: "double precision",
    SqlType.NUMERIC: "numeric",
    SqlType.UNKNOWN: "unknown",
}
_DTYPES = {
    SqlType.BOOL: np.dtype(np.bool_),
    SqlType.INT2: np.dtype(np.int16),
    SqlType.INT4: np.dtype(np.int32),
    SqlType.INT8: np.dtype(np.int64),
    SqlType.FLOAT4: np.dtype(np.float32),
    SqlType.FLOAT8: np.dtype(np.float64),
}
_CP_TYPES = {t: i for i, t in enumerate(_DTYPES)}  # order of CpType in api.h

#: Type names accepted in casts (PostgreSQL's spellings, as the grammar reduces them).
TYPE_NAMES = {
    "bool": SqlType.BOOL,
    "boolean": SqlType.BOOL,
    "int2": SqlType.INT2,
    "smallint": SqlType.INT2,
    "int4": SqlType.INT4,
    "int": SqlType.INT4,
    "integer": SqlType.INT4,
    "int8": SqlType.INT8,
    "bigint": SqlType.INT8,
    "float4": SqlType.FLOAT4,
    "real": SqlType.FLOAT4,
    "float8": SqlType.FLOAT8,
    "double precision": SqlType.FLOAT8,
    "numeric": SqlType.NUMERIC,
    "decimal": SqlType.NUMERIC,
}

_INT_BITS = {SqlType.INT2: 16, SqlType.INT4: 32, SqlType.INT8: 64}


def to_datum(t: SqlType, value: object) -> int:
    """A Python value of type t as a Datum (PostgreSQL's conventions; see csrc/copypatch.h)."""
    if t is SqlType.BOOL:
        return 1 if value else 0
    if t in _INT_BITS:
        return int(value) & 0xFFFF_FFFF_FFFF_FFFF  # type: ignore[call-overload]
    if t is SqlType.FLOAT4:
        return struct.unpack("<I", struct.pack("<f", value))[0]  # type: ignore[no-any-return]
    if t is SqlType.FLOAT8:
        return struct.unpack("<Q", struct.pack("<d", value))[0]  # type: ignore[no-any-return]
    raise TypeError(f"no Datum representation for {t.sql_name}")


def from_datum(t: SqlType, d: int) -> bool | int | float:
    """The inverse of to_datum."""
    if t is SqlType.BOOL:
        return d != 0
    if t in _INT_BITS:
        bits = _INT_BITS[t]
        v = d & ((1 << bits) - 1)
        return v - (1 << bits) if v >> (bits - 1) else v
    if t is SqlType.FLOAT4:
        return struct.unpack("<f", struct.pack("<I", d & 0xFFFF_FFFF))[0]  # type: ignore[no-any-return]
    if t is SqlType.FLOAT8:
        return struct.unpack("<d", struct.pack("<Q", d))[0]  # type: ignore[no-any-return]
    raise TypeError(f"no Datum representation for {t.sql_name}")
