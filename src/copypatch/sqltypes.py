"""The SQL types copypatch supports, and how their values travel as numpy data and as Datums."""

from __future__ import annotations

import enum
import functools
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._core import ffi, lib

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TypeInfo:
    """What the C core's type table (csrc/types.def, read through cp_types) says of one type."""

    code: int  #: its CpType code
    sql_name: str  #: format_type()'s name
    dtype_name: str  #: the numpy dtype of a column, by name (numpy is imported on first use)
    datum: str  #: how a value sits in a Datum: "INT" (sign-extended), "BOOL" or "FLOAT" (bits)
    column: str  #: how a value sits in a column: "PLAIN" (the element is the C value),
    #: "UNIX_DAYS" or "UNIX_USECS" (numpy's datetime64[D] or [us], counted from 1970)
    oid: int  #: pg_type.oid
    width: int  #: bytes of the C value (pg_type.typlen)
    category: str  #: pg_type.typcategory

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of a column."""
        return _dtype(self)


class SqlType(enum.Enum):
    """A PostgreSQL type; the value is its name in pg_type (``typname``).

    Every member but the two pseudo-types at the end is a line of csrc/types.def, from which its
    facts come (checked at import: a type in the table without its member here fails loudly).
    """

    BOOL = "bool"
    INT2 = "int2"
    INT4 = "int4"
    INT8 = "int8"
    FLOAT4 = "float4"
    FLOAT8 = "float8"
    DATE = "date"
    TIMESTAMP = "timestamp"
    #: Only for literals like ``1.5``: PostgreSQL types them numeric, which copypatch lacks, so a
    #: numeric value must be cast to float4/float8 before anything computes with it.
    NUMERIC = "numeric"
    #: The type of a bare ``NULL`` before context gives it one (PostgreSQL's ``unknown``).
    UNKNOWN = "unknown"

    @property
    def info(self) -> TypeInfo:
        """The C core's facts about this type; TypeError for the pseudo-types, which have none."""
        try:
            return _INFO[self]
        except KeyError:
            raise TypeError(f"type {self.sql_name} has no numpy representation") from None

    @property
    def sql_name(self) -> str:
        info = _INFO.get(self)
        return info.sql_name if info is not None else self.value

    @property
    def dtype(self) -> np.dtype:
        return self.info.dtype

    @property
    def cp_type(self) -> int:
        """The CpType code of the C core (csrc/types.def)."""
        return self.info.code

    @property
    def oid(self) -> int:
        return self.info.oid

    @property
    def width(self) -> int:
        """Bytes of a value (pg_type.typlen)."""
        return self.info.width

    @property
    def is_integer(self) -> bool:
        info = _INFO.get(self)
        return info is not None and info.datum == "INT" and info.category == "N"

    @property
    def is_float(self) -> bool:
        info = _INFO.get(self)
        return info is not None and info.datum == "FLOAT"

    @property
    def int_range(self) -> tuple[int, int]:
        """The smallest and largest value of a type held as a signed integer."""
        if self.info.datum != "INT":
            raise TypeError(f"type {self.sql_name} is not held as an integer")
        half = 1 << (8 * self.info.width - 1)
        return -half, half - 1

    @classmethod
    def stored(cls) -> tuple[SqlType, ...]:
        """The types a column or a result can have, in the C core's order (CpType)."""
        return tuple(_INFO)

    @classmethod
    def from_dtype(cls, dtype: np.dtype) -> SqlType:
        import numpy as np

        dtype = np.dtype(dtype)
        if not dtype.isnative:
            raise TypeError(f"dtype {dtype} is not in the machine's byte order")
        for t, info in _INFO.items():
            if info.dtype == dtype:
                return t
        raise TypeError(f"unsupported column dtype {dtype}; supported: {SUPPORTED_DTYPES}")

    @classmethod
    def from_oid(cls, oid: int) -> SqlType | None:
        """The type with this pg_type OID, or None if copypatch has no such type."""
        return _BY_OID.get(oid)


# the Datum conventions of copypatch.h, with the numpy kind of a C value held that way
_DATUM_DTYPE_KINDS = {"BOOL": "b", "INT": "i", "FLOAT": "f"}


def _read_type_table() -> dict[SqlType, TypeInfo]:
    out: dict[SqlType, TypeInfo] = {}
    for code in range(lib.cp_num_types):
        c = lib.cp_types[code]
        name = ffi.string(c.name).decode()
        t = SqlType.__members__.get(name)
        if t is None or t.value != name.lower():
            raise RuntimeError(
                f"csrc/types.def has type {name}, which SqlType lacks (add {name} = "
                f"{name.lower()!r} to src/copypatch/sqltypes.py)"
            )
        info = TypeInfo(
            code,
            ffi.string(c.sql_name).decode(),
            ffi.string(c.dtype).decode(),
            ffi.string(c.datum).decode(),
            ffi.string(c.column).decode(),
            c.oid,
            c.width,
            c.category.decode(),
        )
        if info.datum not in _DATUM_DTYPE_KINDS:
            raise RuntimeError(
                f"csrc/types.def: {name}'s Datum convention {info.datum} is not one to_datum knows"
            )
        out[t] = info
    return out


@functools.cache
def _dtype(info: TypeInfo) -> np.dtype:
    import numpy as np

    dtype = np.dtype(info.dtype_name)
    # a PLAIN column holds the C value itself: the dtype must be the C type's twin
    kind = _DATUM_DTYPE_KINDS[info.datum]
    if info.column == "PLAIN" and (dtype.itemsize, dtype.kind) != (info.width, kind):
        raise RuntimeError(
            f"csrc/types.def: {info.sql_name}'s column dtype {dtype} does not hold "
            f"its {info.width}-byte C value"
        )
    return dtype


_INFO = _read_type_table()
_BY_OID = {info.oid: t for t, info in _INFO.items()}
#: The numpy dtypes of columns, for messages.
SUPPORTED_DTYPES = ", ".join(info.dtype_name for info in _INFO.values())

#: Type names accepted in casts (PostgreSQL's spellings, as the grammar reduces them): each
#: type's typname and format_type() name, and the grammar's other aliases.
TYPE_NAMES = {
    **{name: t for t in SqlType.stored() for name in (t.value, t.sql_name)},
    "int": SqlType.INT4,
    "timestamp without time zone": SqlType.TIMESTAMP,
    "numeric": SqlType.NUMERIC,
    "decimal": SqlType.NUMERIC,
}

_FLOAT_FORMATS = {4: "f", 8: "d"}  # struct's format of a float of that many bytes


def to_datum(t: SqlType, value: object) -> int:
    """A Python value of type t as a Datum (PostgreSQL's conventions; see csrc/copypatch.h)."""
    info = t.info
    if info.datum == "BOOL":
        return 1 if value else 0
    if info.datum == "INT":
        v: int = int(value)  # type: ignore[call-overload]
        return v & 0xFFFF_FFFF_FFFF_FFFF
    if info.datum == "FLOAT":
        return int.from_bytes(struct.pack("<" + _FLOAT_FORMATS[info.width], value), "little")
    raise TypeError(f"no Datum representation for {t.sql_name}")


def from_datum(t: SqlType, d: int) -> bool | int | float:
    """The inverse of to_datum."""
    info = t.info
    if info.datum == "BOOL":
        return d != 0
    if info.datum == "INT":
        bits = 8 * info.width
        v = d & ((1 << bits) - 1)
        return v - (1 << bits) if v >> (bits - 1) else v
    if info.datum == "FLOAT":
        raw = (d & ((1 << (8 * info.width)) - 1)).to_bytes(info.width, "little")
        return struct.unpack("<" + _FLOAT_FORMATS[info.width], raw)[0]  # type: ignore[no-any-return]
    raise TypeError(f"no Datum representation for {t.sql_name}")
