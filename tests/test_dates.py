"""date and timestamp: numpy columns, the forms copypatch reads and refuses, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import copypatch
from copypatch import CompileError, EvalError
from copypatch import _datetime as dtm
from copypatch.sqltypes import SqlType
from copypatch.testing import as_list, column_array, values_of

DAYS = np.array(["2000-01-01", "1969-12-31", "2024-02-29"], dtype="datetime64[D]")


@given(values_of(SqlType.DATE))
def test_date_out_and_in_are_a_round_trip(v: int) -> None:
    assert dtm.date_in(dtm.date_out(v)) == v


@given(values_of(SqlType.TIMESTAMP))
def test_timestamp_out_and_in_are_a_round_trip(v: int) -> None:
    assert dtm.timestamp_in(dtm.timestamp_out(v)) == v


@given(st.sampled_from([SqlType.DATE, SqlType.TIMESTAMP]).flatmap(
    lambda t: st.tuples(st.just(t), st.lists(values_of(t), max_size=5))))
def test_columns_round_trip_through_every_engine(tv: tuple[SqlType, list[int]]) -> None:
    t, values = tv
    table = {"c": column_array(t, values)}
    for engine in copypatch.ENGINES:
        got = copypatch.compile("c", table, engine=engine).evaluate(table)
        assert as_list(got) == table["c"].view(np.int64).tolist()


def test_infinities_are_numpy_extremes() -> None:
    table = {"d": DAYS}
    got = copypatch.compile(
        "CASE WHEN d > '2000-01-01' THEN date 'infinity' ELSE date '-infinity' END", table
    ).evaluate(table)
    assert got.view(np.int64).tolist() == [dtm.NUMPY_MINUS_INFINITY, dtm.NUMPY_MINUS_INFINITY,
                                            dtm.NUMPY_INFINITY]
    inf = np.array([np.iinfo(np.int64).max], dtype=np.int64).view("datetime64[D]")
    assert copypatch.compile("isfinite(d) OR d = 'infinity'", {"d": inf}).filter({"d": inf})[0]


@pytest.mark.parametrize("bad", ["NaT", "-4714-11-23"])
def test_nat_and_out_of_range_values_are_refused_when_bound(bad: str) -> None:
    col = np.array(["2000-01-01", bad], dtype="datetime64[D]")
    prog = copypatch.compile("d IS NULL", {"d": col})
    with pytest.raises(ValueError, match=r'column "d" holds .* in row 1'):
        prog.filter({"d": col})


def test_a_masked_nat_is_null() -> None:
    col = np.ma.masked_array(np.array(["2000-01-01", "NaT"], dtype="datetime64[us]"), mask=[False, True])
    got = copypatch.compile("t IS NULL", {"t": col}).filter({"t": col})
    assert got.tolist() == [False, True]


def test_a_timestamp_past_numpy_raises() -> None:
    table = {"d": DAYS}
    with pytest.raises(EvalError) as e:
        copypatch.compile("CASE WHEN d IS NOT NULL THEN date '294250-01-01'::timestamp END",
                          table).evaluate(table)
    assert e.value.sqlstate == "22008"


@pytest.mark.parametrize("sql, message", [
    ("d = '+infinity'", "not supported"),
    ("d = 'January 8, 1999'", "not supported"),
    ("d = '1/8/1999'", "not supported"),
    ("d = 'today'", "current time"),
    ("d < '2000-01-01 10:00:00+02'::timestamp", "not supported"),
    ("d < '2000-01-01 10:00:00.'::timestamp", "not supported"),
    ("extract(year from d) = 2000", "EXTRACT returns numeric"),
    ("date_trunc('day', d) = d", "timestamptz"),
    ("d::timestamp - d::timestamp IS NULL", "interval"),
    ("date_part(CASE WHEN d IS NULL THEN 'year' END, d) = 1", "string literal"),
    ("d < timestamp(3) '2000-01-01'", "unsupported syntax"),
])
def test_what_is_refused_says_so(sql: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        copypatch.compile(sql, {"d": DAYS})


def test_a_bad_unit_raises_only_for_a_row() -> None:
    empty = {"d": DAYS[:0]}
    assert copypatch.compile("date_part('foo', d) = 1", empty).filter(empty).tolist() == []
    nulls = {"d": np.ma.masked_array(DAYS, mask=[True, True, True])}
    assert copypatch.compile("date_part('foo', d) = 1", nulls).filter(nulls).tolist() == [False] * 3
