"""The plan cache: a text compiled from a cached plan gives what a cold compile of it gives."""

from __future__ import annotations

import random

import numpy as np
import pytest

import copypatch
from copypatch import plancache

TABLE = {
    "a": np.arange(-40, 40, dtype=np.int32),
    "b": np.ma.MaskedArray(np.arange(80, dtype=np.int64) * 3 - 100,
                           mask=np.arange(80) % 7 == 0),
    "x": np.linspace(-5, 5, 80),
}

#: shapes with holes {0}, {1}, ...: some replayable, some whose plan depends on the values
#: (folding, equivalence classes, duplicate quals), which must be compiled cold every time
SHAPES = [
    "a <> {0}",
    "a <> {0} AND a <> {1} AND b > {2}",
    "a = {0} AND a = {1}",
    "a = {0} AND b = {1}",
    "a = {0} AND b = {1} AND a = {2}",
    "a = {0} AND b = {1} AND a = {1} AND b = {0}",
    "a = {0} OR a = {1}",
    "a > {0} OR a > {1}",
    "a IN ({0}, {1}, {2})",
    "b NOT IN ({0}, {1}, -{2})",
    "a + {0} > {1}",
    "{0} + {1} > a",
    "a * {0} < b - {1}",
    "a > -{0} AND a < - -{1} AND a <> -({2})",
    "a BETWEEN {0} AND {1}",
    "a BETWEEN SYMMETRIC {0} AND {1}",
    "coalesce(b, {0}) = {1}",
    "CASE WHEN a > {0} THEN {1} ELSE {2} END",
    "greatest(a, {0}, {1}) > {2}",
    "nullif(a, {0}) IS NULL",
    "a / {0} > {1}",
    "a % {0} = {1}",
    "x > {0} AND x < {1}",
    "a::int8 > {0}",
    "b = {0}",
    "a {0} > 1",  # not valid SQL for any value
    "a > {0} / {1}",
]

VALUES = [0, 1, 2, 3, 7, 40, 100, 2147483647, 2**31, 9223372036854775807, 10**20]


def _run(text: str, engine: str) -> tuple[str, str, object]:
    """What compile() and running the program give: its explain(), and the results or error."""
    try:
        prog = copypatch.compile(text, TABLE, engine=engine)
    except copypatch.CopypatchError as e:
        return "error", f"{type(e).__name__}: {e}", None
    try:
        if prog.result_type is copypatch.SqlType.BOOL:
            out: object = prog.filter(TABLE).tolist()
        else:
            r = prog.evaluate(TABLE)
            out = (r.filled(0).tolist(), np.ma.getmaskarray(r).tolist())
    except copypatch.CopypatchError as e:
        out = f"{type(e).__name__}: {e}"
    return "ok", prog.explain(), out


@pytest.mark.parametrize("engine", ["switch", "jit"])
def test_warm_equals_cold(engine: str) -> None:
    rng = random.Random(14)
    replayed = 0
    for shape in SHAPES:
        nholes = shape.count("{")
        first = [rng.choice(VALUES) for _ in range(nholes)]
        plancache.clear()
        copypatch.compile(shape.format(*first), TABLE, engine=engine) if _ok(shape, first) else None
        for _ in range(12):
            values = [rng.choice(VALUES + [rng.randrange(-50, 50)]) for _ in range(nholes)]
            text = shape.format(*values)
            warm = _run(text, engine)
            replayed += _was_replayed(text, engine)
            plancache.clear()
            cold = _run(text, engine)
            assert warm == cold, text
            # the next text finds this one's plan, if it was kept
    assert replayed > 50  # the cache does replay plans


def _ok(shape: str, values: list[int]) -> bool:
    try:
        copypatch.compile(shape.format(*values), TABLE)
    except copypatch.CopypatchError:
        return False
    return True


def _was_replayed(text: str, engine: str) -> bool:
    try:
        return copypatch.compile(text, TABLE, engine=engine).plan_cached
    except copypatch.CopypatchError:
        return False


def test_value_dependent_plans_are_not_kept() -> None:
    plancache.clear()
    # x = 1 AND x = 2 is a contradiction PostgreSQL's equivalence classes find: a FALSE filter
    copypatch.compile("a = 1 AND a = 1", TABLE)
    p = copypatch.compile("a = 1 AND a = 2", TABLE)
    assert not p.plan_cached and p.explain() == "one-time filter is FALSE: no row is scanned"
    copypatch.compile("a > 1 + 1", TABLE)  # folded: the plan holds 2, no literal
    with pytest.raises(copypatch.EvalError, match="division by zero"):
        copypatch.compile("a > 1 / 0", TABLE)
    copypatch.compile("a > 2 AND a < 5", TABLE)
    q = copypatch.compile("a > 3 AND a < 9", TABLE)
    assert q.plan_cached
    assert q.filter(TABLE).tolist() == ((TABLE["a"] > 3) & (TABLE["a"] < 9)).tolist()
    assert "Timing" in q.explain(timings=True)


def test_a_replayed_program_is_its_own() -> None:
    """The cache hands out copies: changing one program's steps changes no other."""
    plancache.clear()
    p = copypatch.compile("a <> 5", TABLE)
    q = copypatch.compile("a <> 6", TABLE)
    assert q.plan_cached
    assert p.steps is not None and q.steps is not None
    assert p.steps.calls[0].consts[1].value == 5 and q.steps.calls[0].consts[1].value == 6
    q.steps.calls[0].consts[1] = p.steps.calls[0].consts[1]
    r = copypatch.compile("a <> 7", TABLE)
    assert r.plan_cached and r.steps is not None and r.steps.calls[0].consts[1].value == 7
    assert r.filter(TABLE).tolist() == (TABLE["a"] != 7).tolist()
    # the other program of a replayed one is compiled from its text
    assert r.evaluate(TABLE).tolist() == (TABLE["a"] != 7).tolist()


@pytest.mark.parametrize("text", [
    "a <> 1.5", "a <> 1e3", "a <> 0x10", "a <> 1_000", "a1 <> 1", "a <> 3000000000",
    "a <> '1'::int4", "a <> 1 -- 2", "a <> /* 3 */ 4", "a <> $1",
])
def test_shape_leaves_out_what_only_the_scanner_knows(text: str) -> None:
    got = plancache.shape(text)
    if got is not None:  # only the plain integers are holes; the rest stays in the key
        key, values, _ = got
        assert "1.5" in key or "1e3" in key or "0x10" in key or "1_000" in key or "a1" in key
        assert values in ([], [1])


def test_a_longer_text_gets_the_checks_of_its_length() -> None:
    """parse() checks the nesting of a text over MAX_PARSE_NESTING characters and refuses one
    over MAX_SQL_LENGTH: a plan of a short text is not replayed for a long one of its shape."""
    from copypatch.sql import MAX_PARSE_NESTING, MAX_SQL_LENGTH

    plancache.clear()
    copypatch.compile("a <> 1", TABLE)
    assert copypatch.compile("a <> 2", TABLE).plan_cached
    long_one = "a <> " + "0" * MAX_PARSE_NESTING + "3"  # leading zeros: still 3
    p = copypatch.compile(long_one, TABLE)
    assert not p.plan_cached and p.filter(TABLE).tolist() == (TABLE["a"] != 3).tolist()
    with pytest.raises(copypatch.CompileError, match="longer than"):
        copypatch.compile("a <> " + "0" * MAX_SQL_LENGTH + "3", TABLE)


def test_literal_sites_follow_the_grammars_negation() -> None:
    """An A_Const is at its digits, or at the first minus sign the grammar folded into it."""
    text = "a <> -(- 3) AND a - 4 > - 0 AND b <> 5"
    found = plancache.shape(text)
    assert found is not None and found.values == [3, 4, 0, 5]
    sites = plancache.LiteralSites(text, found)
    assert sites.get(text.index("3")) == (0, 1, 3)
    assert sites.get(text.index("-(")) == (0, 1, 3)  # two minus signs
    assert sites.get(text.index("- 3")) == (0, -1, -3)
    assert sites.get(text.index("4")) == (1, 1, 4)
    assert sites.get(text.index("- 0")) == (2, -1, 0)
    assert sites.get(text.index("a - 4") + 2) == (1, -1, -4)  # no A_Const is there (a - 4)
    assert sites.get(text.index("<>")) is None and sites.get(text.index("b")) is None


def test_a_forked_child_is_not_stopped_by_a_lock_its_parent_held() -> None:
    """A fork() while another thread holds the cache's lock: the child's compile() proceeds."""
    import os
    import signal

    copypatch.compile("a > 1", TABLE)
    plancache._LOCK.__enter__()  # held, as by another thread, when fork() comes
    try:
        pid = os.fork()
        if pid == 0:  # the child: a hang is killed by the alarm, and fails the test
            signal.alarm(60)
            ok = False
            try:
                p = copypatch.compile("a > 2", TABLE)
                ok = p.plan_cached and p.filter(TABLE).tolist() == (TABLE["a"] > 2).tolist()
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        plancache._LOCK.__exit__(None, None, None)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_a_fused_in_list_points_into_its_own_copy(engine: str) -> None:
    """A fused IN list (EEOP_QUAL_ANY_*) keeps its array's address in a Datum, which cffi does
    not see as a pointer: a warm copy must move it too. Before, the copy read the array of the
    block the image was made from, freed by then (found after merging the fused steps)."""
    plancache.clear()
    table = {"a": np.arange(100, dtype=np.int32)}
    copypatch.compile("a IN (1, 2, 3)", table, engine=engine).close()
    progs = [copypatch.compile(f"a IN ({k}, {k + 1}, {k + 2})", table, engine=engine)
             for k in range(0, 90, 10)]
    # churn the allocator: blocks of the same size, written and freed
    for k in range(200):
        copypatch.compile(f"a IN ({k % 97}, 98, 99) AND a > -{k}", table, engine=engine).close()
    for k, prog in zip(range(0, 90, 10), progs):
        assert "a cached plan" in prog.explain(timings=True)
        assert np.flatnonzero(prog.filter(table)).tolist() == [k, k + 1, k + 2]
        prog.close()
