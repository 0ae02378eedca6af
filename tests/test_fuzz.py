"""Differential fuzzing: every engine and optimisation setting agree, and agree with PostgreSQL.

Sizes come from the environment, small by default so that a local `pytest` stays quick:
COPYPATCH_FUZZ_EXAMPLES (engine against engine, default 300) and COPYPATCH_FUZZ_PG_EXAMPLES
(against PostgreSQL, default 150) count (table, expression) pairs; COPYPATCH_FUZZ_SEED picks a
random sequence instead of hypothesis's fixed derandomized one. CI runs the large sizes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import copypatch
from copypatch import fuzz, testing
from copypatch.sqltypes import SqlType

ENGINE_EXAMPLES = int(os.environ.get("COPYPATCH_FUZZ_EXAMPLES", "300"))
PG_EXAMPLES = int(os.environ.get("COPYPATCH_FUZZ_PG_EXAMPLES", "150"))
SEED = int(os.environ["COPYPATCH_FUZZ_SEED"]) if os.environ.get("COPYPATCH_FUZZ_SEED") else None


def _run(examples: int, postgres: Any = None) -> None:
    res = fuzz.run(examples, postgres=postgres, seed_value=SEED)
    if res.failure is not None:
        raise res.failure
    assert res.examples >= examples
    print(f"\n{res.examples} examples ({res.cases} tables) in {res.seconds:.1f}s")


def test_engines_agree() -> None:
    """switch == goto == jit, under every optimisation setting: values, NULLs, errors and rows."""
    _run(ENGINE_EXAMPLES)


def test_same_as_postgres(pg: Any) -> None:
    """copypatch == PostgreSQL: values, NULLs, and the first error's SQLSTATE."""
    _run(PG_EXAMPLES, postgres=pg)


# ---- the strategies themselves ---------------------------------------------------------------
@given(st.data())
def test_expressions_have_their_type(data: st.DataObject) -> None:
    schema = data.draw(testing.schemas())
    t = data.draw(st.sampled_from(testing.TYPES))
    e = data.draw(testing.expressions(schema, t, max_depth=3))
    table = data.draw(testing.tables(schema, max_rows=3))
    try:
        prog = copypatch.compile(e.sql, table)
    except copypatch.EvalError:
        return
    assert prog.result_type is t, e.sql


@given(testing.schemas().flatmap(lambda s: testing.tables(s, min_rows=1, max_rows=5)))
def test_table_source_round_trips(table: dict[str, Any]) -> None:
    import math  # noqa: F401  (used by the evaluated source)

    rebuilt = eval(testing.table_source(table))
    assert list(rebuilt) == list(table)
    for name, arr in table.items():
        other = rebuilt[name]
        assert other.dtype == arr.dtype and type(other) is type(arr)
        a, b = np.ma.getdata(arr), np.ma.getdata(other)
        assert a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True)
        assert np.array_equal(np.ma.getmaskarray(arr), np.ma.getmaskarray(other))


def test_every_type_has_special_values() -> None:
    for t in testing.TYPES:
        assert t is SqlType.BOOL or testing.signatures().binary[t] or testing.signatures().casts[t]


def test_mismatch_message_is_a_regression_test() -> None:
    table = {"a": np.ma.masked_array(np.array([1, 2], dtype=np.int32), mask=[0, 1])}
    msg = testing._report("engines disagree", "a = 1", "filter", table,
                          {"switch": ("ok", [True, False]), "goto": ("ok", [False, False])})
    assert "SQL = 'a = 1'" in msg and "TABLE = {'a': np.ma.masked_array(" in msg
    assert "switch" in msg and "goto" in msg


def test_cli_fuzz(capsys: Any) -> None:
    from copypatch.__main__ import main

    try:
        main(["fuzz", "--examples", "20", "--seed", "1"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "examples" in out and "no mismatch" in out
