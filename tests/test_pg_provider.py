"""copypatch as PostgreSQL's JIT provider: every query gives the same rows, NULLs and SQLSTATEs
with the JIT off and with the provider forced on (jit_above_cost = 0), EXPLAIN shows the provider
compiled the expressions, an expression with an opcode it has no stencil for is left to the
interpreter, counted, and the server never crashes.

The corpus: the standard queries and the JIT tests' expressions as WHERE clauses and target
lists, and the fuzzers' tables and expressions (copypatch.testing) at COPYPATCH_PROVIDER_EXAMPLES
(default 150).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from helpers import JIT_EXPRESSIONS, unavailable
from hypothesis import HealthCheck, given, settings

from copypatch import pgprovider, testing
from copypatch._errors import EvalError
from copypatch.workload import QUERIES, make_table

EXAMPLES = int(os.environ.get("COPYPATCH_PROVIDER_EXAMPLES", "150"))
TARGET_LISTS = [
    "a + 1, b * 2, c - a",
    "COALESCE(b, c), CASE WHEN a > 50 THEN c ELSE a END, b IS NULL",
    "a = 42 OR b > 10, NOT (c < 5), nullif(a, 3)",
    "a IN (1, 7, 42, 64, 99), b IS DISTINCT FROM 7, (b = 4) IS NOT TRUE",
    "abs(a - 50) % 7, b::float8 / 3, c::text",
]


@pytest.fixture(scope="module")
def db() -> Iterator[Any]:
    """A throwaway cluster run with the provider, the standard table loaded as t."""
    from copypatch.pg import PostgreSQL, PostgresUnavailable

    try:
        pg = PostgreSQL(jit_provider=True)
    except pgprovider.PgProviderUnavailable as e:
        unavailable(f"the provider cannot be built: {e}")
    except PostgresUnavailable as e:
        unavailable(f"no PostgreSQL server for the tests: {e}")
    pg.conn.prepare_threshold = None  # tables are re-created with other column types
    try:
        pg.load(make_table(500))
        yield pg
    finally:
        pg.close()


@pytest.fixture(autouse=True)
def server_alive(request: pytest.FixtureRequest) -> Iterator[None]:
    """A server crash is a failure, whichever test it happened in."""
    yield
    if "db" in request.fixturenames:
        pg = request.getfixturevalue("db")
        assert pg.cluster is not None and pg.cluster.running, "the server died"
        assert "terminated by signal" not in pg.cluster.logfile.read_text(errors="replace")


def answer(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """fn(*args, **kwargs) as ("ok", values) or ("error", sqlstate)."""
    try:
        return ("ok", testing.as_list(fn(*args, **kwargs)))
    except EvalError as e:
        return ("error", e.sqlstate)


def rows(pg: Any, query: str, jit: str) -> tuple[Any, ...]:
    """A query's rows (sorted: ordering is not the point), or its SQLSTATE."""
    try:
        with pg._session(jit, False) as cur:
            cur.execute(query)
            got = cur.fetchall()
    except EvalError as e:
        return ("error", e.sqlstate)
    return ("ok", sorted(got, key=repr))


def stats(pg: Any) -> dict[str, Any]:
    return pgprovider.stats(pg.conn)


def test_the_build_command_prints_the_library() -> None:
    from elftools.elf.elffile import ELFFile

    try:
        pgprovider.find_pg_config()
    except pgprovider.PgProviderUnavailable as e:
        unavailable(str(e))
    done = subprocess.run([sys.executable, "-m", "copypatch", "pg-provider", "build"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    lib = done.stdout.strip()
    with open(lib, "rb") as f:
        dynsym = ELFFile(f).get_section_by_name(".dynsym")
        exported = {s.name for s in dynsym.iter_symbols() if s["st_shndx"] != "SHN_UNDEF"}
    assert {"_PG_jit_provider_init", "Pg_magic_func", "copypatch_jit_stats"} <= exported
    # nothing of copypatch's runtime leaks into the server's namespace
    assert not {s for s in exported if s.startswith("cp_")}


def test_a_bad_pg_config_is_a_clear_error(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "copypatch", "pg-provider", "build", "--pg-config",
         str(tmp_path / "no-pg_config")],
        capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "could not run" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sql", [*JIT_EXPRESSIONS, "a / (a - 42) > 0", "b * 100000000000000000 > 0"])
def test_quals_same_with_the_provider(db: Any, sql: str) -> None:
    before = stats(db)
    off = answer(db.filter, sql, jit="off")
    on = answer(db.filter, sql, jit="on")
    assert on == off
    after = stats(db)
    assert after["compiled"] > before["compiled"], "the provider compiled nothing"
    assert after["fallbacks"] == before["fallbacks"], after["last_fallback_reason"]


@pytest.mark.parametrize("targets", TARGET_LISTS)
def test_target_lists_same_with_the_provider(db: Any, targets: str) -> None:
    query = f"SELECT {targets} FROM t WHERE a % 3 <> 1"
    before = stats(db)
    assert rows(db, query, "on") == rows(db, query, "off")
    after = stats(db)
    assert after["compiled"] >= before["compiled"] + 2  # the qual and the projection
    assert after["fallbacks"] == before["fallbacks"], after["last_fallback_reason"]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_explain_shows_the_provider_compiled(db: Any, name: str) -> None:
    res = db.explain(f"SELECT a, b FROM t WHERE {QUERIES[name]}", jit="on")
    assert res.jit is not None and res.jit.functions >= 2, res.plan.get("JIT")
    assert res.jit.generation_ms is not None and res.jit.optimization_ms == 0
    assert db.explain(f"SELECT a FROM t WHERE {QUERIES[name]}", jit="off").jit is None


def test_an_opcode_without_a_stencil_falls_back_visibly(db: Any) -> None:
    """A row comparison's EEOP_ROWCOMPARE_STEP (two jump targets) has no stencil yet: that
    expression is interpreted, counted and named; the others are compiled; the answer is
    PostgreSQL's."""
    query = "SELECT a, b FROM t WHERE (a, b) < (40, 700) AND c > 3"
    notices: list[str] = []
    db.conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    before = stats(db)
    try:
        with db._session("on", False) as cur:
            cur.execute("SET LOCAL client_min_messages = debug1")
            cur.execute(query)
            on = sorted(cur.fetchall(), key=repr)
    finally:
        db.conn.remove_notice_handler(db.conn._notice_handlers[-1])
    assert ("ok", on) == rows(db, query, "off")
    after = stats(db)
    assert after["fallbacks"] > before["fallbacks"]
    assert after["last_fallback_opcode"] == "EEOP_ROWCOMPARE_STEP", after
    msg = "copypatch JIT: expression left to the interpreter: no stencil for EEOP_ROWCOMPARE_STEP"
    assert msg in notices, notices


def test_errors_name_the_same_sqlstate(db: Any) -> None:
    for sql in ("a / (c - c) > 1", "(b * 9223372036854775) > 0", "sqrt(a - 99.5) > 1"):
        off = answer(db.evaluate, sql, jit="off")
        assert off[0] == "error", sql
        assert answer(db.evaluate, sql, jit="on") == off, sql


_CORPUS = {"compiled": 0, "fallbacks": 0, "queries": 0}


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=testing.cases(max_expressions=3))
def test_fuzzers_corpus_same_with_the_provider(db: Any, case: testing.Case) -> None:
    """The fuzzers' tables and expressions, as WHERE clauses and target lists."""
    db.load(case.table, "fz")
    before = stats(db)
    for e in case.expressions:
        modes = ("filter", "evaluate") if e.type.value == "bool" else ("evaluate",)
        for mode in modes:
            run = db.filter if mode == "filter" else db.evaluate
            off = answer(run, e.sql, "fz", jit="off")
            on = answer(run, e.sql, "fz", jit="on")
            assert _same(on, off), f"{mode} {e.sql!r} over {testing.table_source(case.table)}"
            _CORPUS["queries"] += 1
    after = stats(db)
    _CORPUS["compiled"] += after["compiled"] - before["compiled"]
    _CORPUS["fallbacks"] += after["fallbacks"] - before["fallbacks"]


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a == b:
        return True
    # evaluate() reads a float column through numpy: NaN == NaN there is as_list's "NaN"
    return (a[0] == b[0] == "ok" and len(a[1]) == len(b[1]) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a[1], b[1])))


def test_corpus_fraction_compiled(db: Any) -> None:
    """Run after the corpus: at least 95 % of its expressions compiled without fallback (the
    issue's goal), reported."""
    if _CORPUS["queries"] == 0:
        test_fuzzers_corpus_same_with_the_provider(db)  # run alone: make the corpus first
    total = _CORPUS["compiled"] + _CORPUS["fallbacks"]
    assert total > 0
    fraction = _CORPUS["compiled"] / total
    print(f"\nprovider corpus: {_CORPUS['queries']} queries, {total} expressions, "
          f"{fraction:.1%} compiled without fallback")
    assert fraction >= 0.95, _CORPUS


def test_aggregates_and_joins_same_with_the_provider(db: Any) -> None:
    """Plans beyond a scan (inner and outer slots, aggregates by value and by reference, strict
    and not, ordered, grouped and hashed, sorts, windows): the same rows, all compiled."""
    queries = [
        "SELECT count(*), sum(a), avg(b), max(c), min(b) FROM t",
        ("SELECT c % 5, sum(b), avg(a), string_agg(a::text, ',' ORDER BY a, b), "
         "count(DISTINCT a) FROM t GROUP BY c % 5"),
        "SELECT array_agg(b ORDER BY b) FILTER (WHERE a < 5), bool_and(b > 3), every(c > 0) FROM t",
        "SELECT a, count(b) FROM t GROUP BY ROLLUP (a) HAVING sum(c) > 100",
        "SELECT x.a, y.c FROM t x JOIN t y ON x.a = y.c AND x.b < y.b WHERE x.c < 5",
        "SELECT a, count(*), sum(b), max(c) FROM t GROUP BY a HAVING count(*) > 3",
        "SELECT a, b FROM t WHERE b > (SELECT avg(b) FROM t) ORDER BY a, b LIMIT 20",
        "SELECT DISTINCT c % 7, b IS NULL FROM t",
        "SELECT a, row_number() OVER (PARTITION BY c ORDER BY b) FROM t WHERE a < 10",
    ]
    before = stats(db)
    for q in queries:
        assert rows(db, q, "on") == rows(db, q, "off"), q
    after = stats(db)
    assert after["compiled"] > before["compiled"]
    assert after["fallbacks"] == before["fallbacks"], after["last_fallback_reason"]


def test_numpy_round_trip_of_the_standard_table(db: Any) -> None:
    """The loaded table is what the other tests think it is (a test that can fail)."""
    n = answer(db.filter, "a >= 0", jit="on")
    assert n[0] == "ok" and sum(n[1]) == 500
    assert np.asarray(n[1]).dtype == np.bool_


def test_the_bench_command_times_every_setting(tmp_path: Any) -> None:
    """`bench --pg-provider` (pgprovider.run_bench) runs every standard query and TPC-H Q1/Q6
    with the JIT off, LLVM and copypatch, rows checked identical first (its numbers are the
    report's, not asserted: speed lives in benchmarks)."""
    import json

    try:
        pgprovider.find_pg_config()
    except pgprovider.PgProviderUnavailable as e:
        unavailable(str(e))
    out = subprocess.run(
        [sys.executable, "-m", "copypatch", "bench", "--pg-provider", "--rows", "2000", "--sf",
         "0.0005", "--repeat", "1", "--json", str(tmp_path / "b.json"), "--plot",
         str(tmp_path / "b.png")],
        capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "b.png").stat().st_size > 1000
    names = [*QUERIES, "tpch_q1", "tpch_q6"]
    assert all(q in out.stdout for q in names), out.stdout
    doc = json.loads((tmp_path / "b.json").read_text())
    results = [pgprovider.BenchRow(**r) for r in doc["results"]]
    assert {(r.query, r.jit) for r in results} == {
        (q, j) for q in names for j in pgprovider.BENCH_SETTINGS}
    for r in results:
        assert r.execution_ms > 0
        assert (r.jit_ms is None) == (r.jit == "off"), r
        assert (r.functions == 0) == (r.jit == "off"), r
        if r.jit == "copypatch":  # the provider reports its whole compile as Generation
            assert r.generation_ms is not None and r.emission_ms == 0.0, r


@pytest.mark.parametrize("sql, inlined, fused", [
    ("a = 42", 0, 1),  # a NOT NULL column against a constant: CP_QUAL_VAR_int4eq_NOTNULL
    ("b > 1000", 0, 1),  # a nullable one: CP_QUAL_VAR_int8gt
    ("b < 3", 0, 1),  # a NULL's Datum is 0 (< 3): the NULL check is what leaves it out
    ("a + c > 100 OR b - 7 < 3", 4, 0),  # int4pl _NONULL, int8mi with a NULL check
    ("c / (a - 42) > 0", 3, 0),  # division by zero from the inlined body: 22012
    ("a::float8 * 1e308 * 10 > 0", 3, 0),  # float overflow from the inlined body: 22003
    ("42 = a", 1, 0),  # the constant first: inlined, not fused
    ("CASE WHEN a > 50 THEN c ELSE a END < 20", 2, 0),  # NOT NULL in every branch: _NONULL
    ("CASE WHEN a > 50 THEN b ELSE c END < 20", 2, 0),  # a nullable branch: NULL checked
    ("(a - c) * 2 > 50", 3, 0),  # CP_VAR_VAR_int4mi_NOTNULL, then _NONULL calls
    ("b - c < 1900 AND c + b > 7", 4, 0),  # CP_VAR_VAR_int84mi, _int48pl: a NULL b checked
    ("a IN (1, 7, 42, 64, 99)", 1, 0),  # CP_SCALARARRAYOP_int4eq over the deconstructed array
    ("b IN (3, NULL, 1500)", 1, 0),  # a NULL element: NULL where no element matches
    ("b NOT IN (3, 1500)", 1, 0),  # <> ALL, NULL scalars
    ("c = ANY('{}'::int4[])", 1, 0),  # empty: FALSE
    ("NOT (c <> ALL('{}'::int4[]))", 1, 0),  # empty: TRUE for ALL
    ("b::float8 = ANY('{{1.5, 2}, {7, 1999}}'::float8[])", 1, 0),  # two dimensions
])  # fmt: skip
def test_inlined_builtins_same_with_the_provider(db: Any, sql: str, inlined: int,
                                                 fused: int) -> None:
    """inline.def's functions, matched by PostgreSQL's fn_addr, run copypatch's bodies
    (functions_arith.h) inside PostgreSQL: the same rows, NULLs and SQLSTATEs as the JIT off,
    and counted (inlined calls, fused Var-op-Const quals)."""
    before = stats(db)
    got = answer(db.filter, sql, jit="on")
    after = stats(db)
    assert got == answer(db.filter, sql, jit="off")
    assert after["inlined"] - before["inlined"] == inlined, after
    assert after["fused"] - before["fused"] == fused, after
    # as a target list too, where a NULL is not the same as FALSE
    assert answer(db.evaluate, sql, jit="on") == answer(db.evaluate, sql, jit="off")


def test_deform_left_out_when_the_qual_reads_the_tuple(db: Any) -> None:
    """A qual whose only reads of the scan are fused comparisons of NOT NULL fixed-width
    columns at known offsets reads the tuple's data itself (CP_QUAL_TUP_<f>): no deform,
    counted as direct; when up to two such quals come first and others follow, the deform is
    put off until after them (counted as direct too). The same rows as the JIT off for every
    width of the prefix, NULLs after it, a column with a missing value (added later: deformed)
    and quals that read columns after a nullable one."""
    with db.conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS dq")
        cur.execute("CREATE TABLE dq (s int2 NOT NULL, i int4 NOT NULL, l int8 NOT NULL, "
                    "f float8 NOT NULL, n int4, k int4 NOT NULL)")
        cur.execute("INSERT INTO dq SELECT g % 300, g % 97, g * 1000003, g / 7.0, "
                    "CASE WHEN g % 5 = 0 THEN NULL ELSE g END, g % 11 "
                    "FROM generate_series(1, 2000) g")
        cur.execute("ALTER TABLE dq ADD COLUMN m int4 NOT NULL DEFAULT 7")
        cur.execute("INSERT INTO dq VALUES (1, 2, 3, 4.5, NULL, 6, 8)")
        # a nullable column added without a default: older tuples do not have it (NULL)
        cur.execute("DROP TABLE IF EXISTS dn")
        cur.execute("CREATE TABLE dn (i int4 NOT NULL)")
        cur.execute("INSERT INTO dn SELECT g FROM generate_series(1, 300) g")
        cur.execute("ALTER TABLE dn ADD COLUMN n int4")
        cur.execute("INSERT INTO dn SELECT g, g FROM generate_series(1, 300) g")
    db.conn.commit()
    cases = [  # (qual, read directly)
        ("s = 42::int2", True), ("i = 42", True), ("l > 1000003000", True),
        ("f < 10.5", True), ("i = 42 AND l < 50000000 AND f >= 2", True),
        ("i = 42 OR NOT (f > 100)", False), ("m = 7", False), ("m = 8 AND i = 2", False),
        # the deform put off until after the first quals
        ("i <> 3 AND k = 4", True),
        ("s > 3::int2 AND l > 0 AND n < 1000", True), ("i = 2 AND m = 8", False),
        ("i <> 3 AND l > 0 AND f > 1 AND k = 4", False),  # three before k: not worth it
        # a nullable column after NOT NULL fixed-width ones only: at a known offset when
        # present (the null bitmap read), in tuples that have it (k NOT NULL after it)
        ("n < 1000", True), ("n > 100 AND i <> 3", True), ("n <> 5 AND k = 4", True),
        ("dn: n > 3", False), ("dn: n < 100 OR i = 7", False),  # not every tuple has n
    ]
    for qual, direct in cases:
        table, _, qual = qual.rpartition(": ")
        q = f"SELECT count(*), sum(i) FROM {table or 'dq'} WHERE {qual}"
        before = stats(db)
        got = rows(db, q, "on")
        after = stats(db)
        assert got == rows(db, q, "off") and got[0] == "ok", qual
        assert after["compiled"] > before["compiled"], qual
        assert after["direct"] - before["direct"] == int(direct), (qual, after)


def test_count_is_inlined(db: Any) -> None:
    """count(*) and count(x) (int8inc, int8inc_any) run inlined (int8pl_impl) in the
    aggregate's transition steps: the same counts, plain, grouped, hashed and with NULLs."""
    queries = [
        "SELECT count(*), count(b) FROM t WHERE a > 10",
        "SELECT c % 7, count(*), count(b), sum(a) FROM t GROUP BY 1 ORDER BY 1",
        "SELECT count(*) FILTER (WHERE b IS NULL), count(DISTINCT c) FROM t",
        "SELECT a, count(b) FROM t GROUP BY a HAVING count(*) > 3",
    ]
    for q in queries:
        before = stats(db)
        got = rows(db, q, "on")
        after = stats(db)
        assert got == rows(db, q, "off") and got[0] == "ok", q
        assert after["inlined"] > before["inlined"], q


def test_tpch_same_with_the_provider(db: Any) -> None:
    """TPC-H Q1 and Q6 over a generated lineitem (numeric, date, char(1)): the same rows with
    the provider forced on, every expression compiled."""
    from copypatch import tpch

    tpch.create_lineitem(db.conn, 0.001)
    before = stats(db)
    for name, q in tpch.QUERIES.items():
        off = rows(db, q, "off")
        assert off[0] == "ok" and off[1], name
        assert rows(db, q, "on") == off, name
    after = stats(db)
    assert after["compiled"] > before["compiled"]
    assert after["fallbacks"] == before["fallbacks"], after


def test_the_docs_example_runs() -> None:
    """docs/pgprovider.md's Python example runs as written."""
    import re
    from pathlib import Path

    try:
        pgprovider.find_pg_config()
    except pgprovider.PgProviderUnavailable as e:
        unavailable(str(e))
    doc = (Path(__file__).resolve().parents[1] / "docs" / "pgprovider.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    scope: dict[str, Any] = {}
    exec(compile(code, "docs/pgprovider.md", "exec"), scope)  # noqa: S102
    assert scope["db"].cluster is not None and not scope["db"].cluster.running  # stopped after


def test_deforming_is_compiled_for_the_descriptor(db: Any) -> None:
    """Scans deform in stencils specialised for the descriptor: offsets known at compile time
    for the NOT NULL fixed-width prefix, then the null bitmap for nullable columns, run-time
    alignment, widths by value and by reference, varlena (short and long headers); the answers
    are PostgreSQL's."""
    with db.conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS dfm")
        cur.execute("CREATE TABLE dfm (k0 int4 NOT NULL, n8 int8 NOT NULL, nm name NOT NULL, "
                    "b0 bool NOT NULL, i2 int2, i4 int4 NOT NULL, f8 float8, b bool, d date, "
                    "i8 int8, t text, k int4, u uuid, f4 float4)")
        cur.execute("INSERT INTO dfm SELECT g, g * 7, 'n' || g, g % 2 = 0, "
                    "CASE WHEN g % 5 = 0 THEN NULL ELSE g % 300 END, g, g / 7.0, g % 3 = 0, "
                    "date '2020-01-01' + g, CASE WHEN g % 11 = 0 THEN NULL ELSE g * 1000 END, "
                    "CASE WHEN g % 7 = 0 THEN NULL WHEN g % 13 = 0 THEN repeat('x', 200 + g) "
                    "ELSE g::text END, g % 13, "
                    "CASE WHEN g % 4 = 0 THEN NULL ELSE md5(g::text)::uuid END, g / 3.0 "
                    "FROM generate_series(1, 3000) g")
    queries = [
        "SELECT k0, n8, nm, b0 FROM dfm WHERE k0 % 3 = 0",  # the known prefix alone
        "SELECT i4, f8, i8, d FROM dfm WHERE i2 > 100 AND (i8 IS NULL OR b)",
        "SELECT k, i4, length(t), t FROM dfm WHERE k > 3",  # behind a varlena
        "SELECT u, f4, nm FROM dfm WHERE f4 > 10 OR u IS NULL",  # by reference, after NULLs
        "SELECT * FROM dfm WHERE t LIKE 'x%' OR i2 IS NULL",
    ]
    for q in queries:
        before = stats(db)
        assert rows(db, q, "on") == rows(db, q, "off"), q
        assert stats(db)["deforms"] > before["deforms"], q
    fixed = queries[1]
    # jit_tuple_deforming = off: expressions compiled, deforming left to PostgreSQL
    before = stats(db)
    with db._session("on", False) as cur:
        cur.execute("SET LOCAL jit_tuple_deforming = off")
        cur.execute(fixed)
        got = sorted(cur.fetchall(), key=repr)
    assert ("ok", got) == rows(db, fixed, "off")
    after = stats(db)
    assert after["compiled"] > before["compiled"] and after["deforms"] == before["deforms"]


def test_parallel_workers_run_the_provider_too(db: Any) -> None:
    """A parallel plan: the workers load the provider and compile their own copies; the leader's
    EXPLAIN sums their JIT functions; the answer is PostgreSQL's."""
    q = "SELECT count(*), sum(a), max(b) FROM t WHERE b > 10 OR c < 3"
    force = ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size")
    with db._session("on", True) as cur:
        for name in force:
            cur.execute(f"SET LOCAL {name} = 0")
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + q)
        (doc,) = cur.fetchone()
        cur.execute(q)
        on = cur.fetchall()
    assert ("ok", on) == rows(db, q, "off")
    plan = doc[0]["Plan"]
    assert plan.get("Workers Launched", 0) > 0 or any(
        p.get("Workers Launched", 0) > 0 for p in plan.get("Plans", [])), plan
    assert doc[0]["JIT"]["Functions"] > 2  # the workers' too
