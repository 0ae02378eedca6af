"""The type table (csrc/types.def): what SqlType reads from it, checked against numpy and PostgreSQL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from copypatch import SqlType
from copypatch.sqltypes import TYPE_NAMES, from_datum, to_datum

STORED = SqlType.stored()


def test_the_table_is_sqltype() -> None:
    # every member but the two pseudo-types is a line of the table, in CpType order
    assert [t.cp_type for t in STORED] == list(range(len(STORED)))
    assert set(SqlType) - set(STORED) == {SqlType.NUMERIC, SqlType.UNKNOWN}
    for t in (SqlType.NUMERIC, SqlType.UNKNOWN):
        with pytest.raises(TypeError, match="no numpy representation"):
            _ = t.dtype
        assert not t.is_integer and not t.is_float


@pytest.mark.parametrize("t", STORED, ids=lambda t: t.value)
def test_facts_agree_with_numpy(t: SqlType) -> None:
    assert SqlType.from_dtype(t.dtype) is t
    assert SqlType.from_oid(t.oid) is t
    assert TYPE_NAMES[t.value] is t and TYPE_NAMES[t.sql_name] is t
    if t.info.column == "PLAIN":
        assert t.dtype.itemsize == t.width
    if t.is_integer:
        lo, hi = t.int_range
        assert (lo, hi) == (np.iinfo(t.dtype).min, np.iinfo(t.dtype).max)


@pytest.mark.parametrize("t", STORED, ids=lambda t: t.value)
def test_datum_round_trip(t: SqlType) -> None:
    if t.info.datum == "BOOL":
        values: list[Any] = [False, True]
    elif t.info.datum == "INT":
        lo, hi = t.int_range
        values = [lo, lo + 1, -1, 0, 1, hi]
    else:
        finfo = np.finfo(t.dtype)
        values = [
            0.0,
            -0.0,
            1.5,
            float(finfo.max),
            -float(finfo.max),
            float(finfo.smallest_subnormal),
            float("inf"),
            float("-inf"),
        ]
    for v in values:
        d = to_datum(t, v)
        assert 0 <= d < 1 << 64
        back = from_datum(t, d)
        assert back == v and type(back) is type(v)
        if t.info.datum == "FLOAT":
            assert np.signbit(back) == np.signbit(v)
            assert d < 1 << (8 * t.width)  # a float's bits, zero-extended


def test_facts_agree_with_postgresql(pg: Any) -> None:
    import psycopg

    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for t in STORED:
            row = conn.execute(
                "SELECT oid::int, typlen, typcategory, format_type(oid, NULL) FROM pg_type "
                "WHERE typname = %s AND typnamespace = 'pg_catalog'::regnamespace",
                (t.value,),
            ).fetchone()
            assert row == (t.oid, t.width, t.info.category, t.sql_name), t
