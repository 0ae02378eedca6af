"""Tests of copypatch.pg against a real PostgreSQL server (no mocks)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import gone as _gone

import copypatch.pg as pgmod
from copypatch._errors import EvalError
from copypatch.pg import Cluster, PostgreSQL, PostgresUnavailable

SRC = Path(pgmod.__file__).resolve().parents[1]


# -- finding binaries


def test_no_binaries_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("COPYPATCH_PG_BINDIR", str(empty))
    monkeypatch.setenv("PATH", str(empty))  # no pg_config, no postgres
    monkeypatch.setattr(pgmod, "SEARCH_GLOBS", (str(tmp_path / "nothing-*" / "bin"),))
    monkeypatch.delenv("COPYPATCH_PG_DSN", raising=False)

    with pytest.raises(PostgresUnavailable) as info:
        pgmod.find_bindir()
    msg = str(info.value)
    assert f"COPYPATCH_PG_BINDIR={empty}" in msg
    assert "pg_config" in msg and "PATH" in msg
    assert str(tmp_path / "nothing-*" / "bin") in msg
    assert "apt-get install postgresql" in msg and "COPYPATCH_PG_DSN" in msg

    with pytest.raises(PostgresUnavailable):
        Cluster()
    with pytest.raises(PostgresUnavailable, match="not found"):
        PostgreSQL()


def test_bindir_env_and_glob_order(
    pg_bindir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("COPYPATCH_PG_BINDIR", str(pg_bindir))
    assert pgmod.find_bindir() == pg_bindir

    # Fallback globs: the highest version wins, and directories without the programs are passed.
    monkeypatch.delenv("COPYPATCH_PG_BINDIR")
    for v in ("9", "10", "99"):
        (tmp_path / "pgs" / v / "bin").mkdir(parents=True)
    for prog in ("postgres", "initdb"):
        for v in ("9", "10"):
            exe = tmp_path / "pgs" / v / "bin" / prog
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
    monkeypatch.setattr(pgmod, "SEARCH_GLOBS", (str(tmp_path / "pgs" / "*" / "bin"),))
    assert pgmod.find_bindir() == tmp_path / "pgs" / "10" / "bin"


# -- cluster lifecycle


def test_cluster_lifecycle(pg_bindir: Path) -> None:
    with Cluster(pg_bindir) as c:
        pid, d = c.pid, c.dir
        assert pid is not None and c.running
        assert c.datadir.is_dir() and str(c.dir) in c.dsn
        with PostgreSQL(c.dsn) as db:
            db.load({"a": np.arange(5, dtype=np.int32)})
            assert db.filter("a % 2 = 0").tolist() == [True, False, True, False, True]
            assert db.cluster is None  # it did not start this server, so it must not stop it
        assert c.running
    assert _gone(pid)
    assert not d.exists()
    assert not c.running
    c.stop()  # harmless the second time

    with pytest.raises(RuntimeError, match="boom"), Cluster(pg_bindir) as c2:
        pid2, d2 = c2.pid, c2.dir
        raise RuntimeError("boom")
    assert pid2 is not None and _gone(pid2)
    assert not d2.exists()


def test_owned_cluster_stops_on_close(pg_bindir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPYPATCH_PG_DSN", raising=False)
    monkeypatch.setenv("COPYPATCH_PG_BINDIR", str(pg_bindir))
    db = PostgreSQL()
    assert db.cluster is not None and db.cluster.pid is not None
    pid, d = db.cluster.pid, db.cluster.dir
    assert db.server_version >= 100000
    db.close()
    db.close()
    assert _gone(pid) and not d.exists()


def test_startup_failure_reports_server_log(pg_bindir: Path) -> None:
    with pytest.raises(PostgresUnavailable) as info:
        Cluster(pg_bindir, settings={"shared_buffers": "lots"})
    msg = str(info.value)
    assert "during startup" in msg
    assert "shared_buffers" in msg  # from the server log's own complaint
    d = Path(msg.split("data directory ")[1].split(")")[0]).parent
    assert d.name.startswith("copypatch-pg-") and not d.exists()


_CHILD = """
import signal, sys, time
# a child inherits an ignored SIGINT (a shell's background job, say), and Python then installs
# no KeyboardInterrupt handler: install it, as an interactive Python has it
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {src!r})
from copypatch.pg import Cluster
mode = {mode!r}
c = Cluster({bindir!r})
print(c.pid, c.dir, flush=True)
if mode == "exit":
    sys.exit(0)  # no stop(): atexit must clean up
if mode == "SIGINT":
    with c:
        time.sleep(60)
time.sleep(60)
"""


@pytest.mark.parametrize("mode", ["SIGTERM", "SIGINT", "exit"])
def test_cleanup_on_signal_and_exit(pg_bindir: Path, mode: str) -> None:
    code = _CHILD.format(src=str(SRC), mode=mode, bindir=str(pg_bindir))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=120)[1]
        pid_s, d_s = line.split()
        pid, d = int(pid_s), Path(d_s)
        assert d.exists()
        if mode != "exit":
            proc.send_signal(getattr(signal, mode))
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if mode == "SIGTERM":
        assert rc == -signal.SIGTERM  # still dies of SIGTERM, as without the handler
    assert _gone(pid), f"server {pid} still running after {mode}"
    assert not d.exists()


# -- loading and reading back


def _bits(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def test_round_trip_every_dtype(pg: PostgreSQL) -> None:
    f4 = np.float32
    ii2, ii4, ii8 = np.iinfo(np.int16), np.iinfo(np.int32), np.iinfo(np.int64)
    f4_vals = [
        np.nan, np.inf, -np.inf, -0.0, 0.0, np.finfo(f4).smallest_subnormal, -np.finfo(f4).max,
        np.finfo(f4).max, f4(0.1), f4(1) / f4(3), np.finfo(f4).tiny, 16777217.0,
    ]  # fmt: skip
    f8_vals = [
        np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, -np.finfo(np.float64).max,
        np.finfo(np.float64).max, 0.1, 1 / 3, 2.2250738585072014e-308, 2.0**53 + 2,
    ]  # fmt: skip
    n = len(f8_vals)
    nulls = np.zeros(n, dtype=bool)
    nulls[[2, 7, 11]] = True

    def ints(dt: Any, info: Any) -> np.ndarray[Any, Any]:
        base = [info.min, info.max, 0, -1, 1, info.min + 1, info.max - 1, 42, -42, 7, 8, 9]
        return np.array(base, dtype=dt)

    table: dict[str, np.ndarray[Any, Any]] = {
        "bo": np.array([True, False] * (n // 2)),
        "i2": ints(np.int16, ii2),
        "i4": ints(np.int32, ii4),
        "i8": ints(np.int64, ii8),
        "f4": np.array(f4_vals, dtype=np.float32),
        "f8": np.array(f8_vals, dtype=np.float64),
        "bo_n": np.ma.MaskedArray(np.array([False, True] * (n // 2)), mask=nulls),
        "i2_n": np.ma.MaskedArray(ints(np.int16, ii2), mask=nulls),
        "i4_n": np.ma.MaskedArray(ints(np.int32, ii4), mask=nulls),
        "i8_n": np.ma.MaskedArray(ints(np.int64, ii8), mask=nulls),
        "f4_n": np.ma.MaskedArray(np.array(f4_vals[::-1], dtype=np.float32), mask=nulls),
        "f8_n": np.ma.MaskedArray(np.array(f8_vals[::-1], dtype=np.float64), mask=nulls),
        "nomask": np.ma.MaskedArray(np.arange(n, dtype=np.int64), mask=np.ma.nomask),
        "big_endian": np.arange(n, dtype=">i4"),
    }
    pg.load(table, "rt")

    # The schema: mapped types, NOT NULL exactly for plain arrays, _rowid last.
    rows = pg.conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = 'rt'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    types = {"bo": "boolean", "i2": "smallint", "i4": "integer", "i8": "bigint"}
    types |= {"f4": "real", "f8": "double precision"}
    expected = [(k, types[k], True) for k in types]
    expected += [(k + "_n", types[k], False) for k in types]
    expected += [("nomask", "bigint", False), ("big_endian", "integer", True)]
    expected += [("_rowid", "bigint", True)]
    assert rows == expected

    for name, col in table.items():
        got = pg.evaluate(f'"{name}"', "rt")
        assert isinstance(got, np.ma.MaskedArray)
        assert got.dtype == col.dtype.newbyteorder("="), name
        want_mask = np.ma.getmaskarray(col)
        assert np.array_equal(np.ma.getmaskarray(got), want_mask), name
        g, w = got.data[~want_mask], np.asarray(col)[~want_mask]
        if g.dtype.kind == "f":
            # Bit-exact (this is what tells -0.0 from 0.0 and keeps subnormals); NaN by isnan,
            # since its payload may change on the way through Python floats.
            assert np.array_equal(np.isnan(g), np.isnan(w)), name
            ok = ~np.isnan(w)
            assert np.array_equal(_bits(g[ok]), _bits(w[ok].astype(g.dtype))), name
        else:
            assert np.array_equal(g, w), name

    # -0.0 really is negative zero on the server too, and float4 values were not widened.
    f8 = pg.evaluate("f8", "rt")
    assert np.signbit(f8[3]) and f8[3] == 0
    assert pg.filter("f4 = 0.1::float4", "rt").tolist() == [i == 8 for i in range(n)]
    assert pg.filter("f8 = 'NaN'", "rt")[0] and pg.filter("f8 = '-Infinity'", "rt")[2]
    assert pg.evaluate("i8_n = -9223372036854775808", "rt").tolist()[:3] == [True, False, None]


def test_load_large_table_shape(pg: PostgreSQL) -> None:
    rng = np.random.default_rng(1)
    n = 100_000
    a = rng.integers(-(2**31), 2**31, n).astype(np.int32)
    b = np.ma.MaskedArray(rng.standard_normal(n), mask=rng.random(n) < 0.3)
    pg.load({"a": a, "b": b}, "big")
    assert pg.conn.execute("SELECT count(*), count(b) FROM big").fetchone() == (n, b.count())
    assert np.array_equal(pg.filter("a >= 0", "big"), a >= 0)
    got = pg.evaluate("b", "big")
    assert np.array_equal(got.mask, b.mask)
    assert np.array_equal(got.compressed(), b.compressed())
    pg.conn.execute("DROP TABLE big")


def test_load_rejects_bad_tables(pg: PostgreSQL) -> None:
    with pytest.raises(TypeError, match="float16"):
        pg.load({"x": np.zeros(3, dtype=np.float16)}, "bad")
    with pytest.raises(TypeError, match="complex128"):
        pg.load({"x": np.ma.MaskedArray(np.zeros(3, dtype=complex))}, "bad")
    with pytest.raises(ValueError, match="rows"):
        pg.load({"x": np.zeros(3, dtype=np.int32), "y": np.zeros(4, dtype=np.int32)}, "bad")
    with pytest.raises(ValueError, match="_rowid"):
        pg.load({"_rowid": np.zeros(3, dtype=np.int32)}, "bad")


def test_empty_table(pg: PostgreSQL) -> None:
    pg.load({"a": np.zeros(0, dtype=np.int64), "b": np.ma.MaskedArray(np.zeros(0))}, "empty")
    assert pg.filter("a > 0", "empty").shape == (0,)
    got = pg.evaluate("a + b", "empty")
    assert got.shape == (0,) and got.dtype == np.float64
    assert pg.count_where("true", "empty")[0] == 0


def test_unreachable_dsn(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match="could not connect"):
        PostgreSQL(f"host={tmp_path} port=1 user=nobody dbname=nothing", connect_timeout=2)


def test_statement_timeout(pg: PostgreSQL, nulls_table: dict[str, Any]) -> None:
    with PostgreSQL(pg.dsn, statement_timeout_ms=50) as db:
        with pytest.raises(EvalError) as info:
            db.filter("(SELECT true FROM pg_sleep(a))")
        assert info.value.sqlstate == "57014"  # query_canceled
        assert db.filter("a = 3").sum() == 1


# -- queries


@pytest.fixture
def nulls_table(pg: PostgreSQL) -> dict[str, np.ndarray[Any, Any]]:
    table: dict[str, np.ndarray[Any, Any]] = {
        "a": np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.int32),
        "b": np.ma.MaskedArray(
            np.array([5, 7, 9, 6, 10, 1, 8, 0], dtype=np.int32),
            mask=[False, True, False, False, True, False, False, True],
        ),
    }
    pg.load(table, "t")
    return table


def test_filter_with_nulls(pg: PostgreSQL, nulls_table: dict[str, Any]) -> None:
    got = pg.filter("b > 6")
    assert got.dtype == np.bool_
    assert got.tolist() == [False, False, True, False, False, False, True, False]
    assert pg.filter("b IS NULL").tolist() == np.ma.getmaskarray(nulls_table["b"]).tolist()
    assert pg.filter("a > 6 OR b > 6").tolist() == [0, 0, 1, 0, 0, 0, 1, 1]
    assert not pg.filter("NULL").any()


def test_evaluate_with_null_results(pg: PostgreSQL, nulls_table: dict[str, Any]) -> None:
    got = pg.evaluate("b > 6")
    assert got.dtype == np.bool_
    assert got.tolist() == [False, None, True, False, None, False, True, None]

    got = pg.evaluate("CASE WHEN a > 4 THEN a + b END")
    assert got.dtype == np.int32
    assert got.tolist() == [None, None, None, None, None, 7, 15, None]

    assert pg.evaluate("a::int2").dtype == np.int16
    assert pg.evaluate("a::int8 * 3000000000").tolist()[0] == 3000000000
    assert pg.evaluate("a::float4 / 2::float4").dtype == np.float32
    assert pg.evaluate("a / 2.0::float8").tolist()[:2] == [0.5, 1.0]
    assert pg.evaluate("NULL::float8").mask.all()
    with pytest.raises(TypeError, match="numeric"):
        pg.evaluate("a / 2.0")
    with pytest.raises(TypeError, match="text"):
        pg.evaluate("a::text")


def test_eval_errors(pg: PostgreSQL, nulls_table: dict[str, Any]) -> None:
    with pytest.raises(EvalError) as info:
        pg.evaluate("a + 2147483647")
    assert info.value.sqlstate == "22003"
    assert info.value.message == "integer out of range"
    assert info.value.row is None

    with pytest.raises(EvalError) as info:
        pg.filter("a / (a - 3) > 0")
    assert (info.value.sqlstate, info.value.message) == ("22012", "division by zero")

    with pytest.raises(EvalError) as info:
        pg.count_where("b / 0 = 1", jit="on")
    assert info.value.sqlstate == "22012"

    with pytest.raises(EvalError) as info:
        pg.filter("no_such_column > 1")
    assert info.value.sqlstate == "42703"

    # The connection survives, and nothing is left over from the failed transaction.
    assert pg.filter("a = 3").sum() == 1


def test_settings_are_per_query(pg: PostgreSQL, nulls_table: dict[str, Any]) -> None:
    before = pg.conn.execute(
        "SELECT current_setting('jit'), current_setting('jit_above_cost'), "
        "current_setting('max_parallel_workers_per_gather')"
    ).fetchone()
    pg.evaluate("a", jit="full")
    pg.filter("a > 1", jit="off")
    with pytest.raises(EvalError):
        pg.evaluate("a / 0", jit="on")
    after = pg.conn.execute(
        "SELECT current_setting('jit'), current_setting('jit_above_cost'), "
        "current_setting('max_parallel_workers_per_gather')"
    ).fetchone()
    assert before == after
    with pytest.raises(ValueError, match="jit"):
        pg.filter("a > 1", jit="fast")  # type: ignore[arg-type]


def test_explain_jit(pg: PostgreSQL) -> None:
    assert pg.conn.execute("SELECT pg_jit_available()").fetchone() == (True,), (
        "this PostgreSQL has no LLVM JIT (Debian/Ubuntu: it ships in the postgresql-NN package)"
    )
    a = (np.arange(20_000) % 100).astype(np.int32)
    pg.load({"a": a}, "j")

    count, res = pg.count_where("a = 42", "j", jit="on")
    assert count == 200
    assert res.execution_time_ms > 0 and res.planning_time_ms >= 0
    assert res.jit is not None
    assert res.jit.functions >= 1
    for ms in (res.jit.generation_ms, res.jit.optimization_ms, res.jit.emission_ms):
        assert ms is not None and ms >= 0
    assert res.jit.total_ms is not None and res.jit.total_ms > 0
    assert res.plan["JIT"]["Options"] == {
        "Inlining": False, "Optimization": False, "Expressions": True, "Deforming": True,
    }  # fmt: skip

    count, res = pg.count_where("a = 42", "j", jit="full")
    assert count == 200 and res.jit is not None
    assert res.plan["JIT"]["Options"]["Inlining"] and res.plan["JIT"]["Options"]["Optimization"]

    count, res = pg.count_where("a = 42", "j", jit="off")
    assert count == 200 and res.jit is None and "JIT" not in res.plan

    count, res = pg.count_where("a < 0 AND false", "j", jit="off")  # folded to a constant
    assert count == 0

    res = pg.explain("SELECT a + 1 FROM j WHERE a > 98", jit="on")
    assert res.plan["Plan"]["Actual Rows"] == 200 and res.jit is not None

    count, res = pg.count_where("a = 42", "j", jit="on", timing=False)
    assert count == 200 and res.jit is not None and res.jit.functions >= 1
    assert res.jit.total_ms is None  # TIMING OFF: PostgreSQL reports no JIT times

    # Parallel plans report per-worker average row counts; the count must still be exact.
    # Make even this small table worth a parallel plan, for this session only.
    costs = ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size")
    for c in costs:
        pg.conn.execute(f"SET {c} = 0")
    try:
        count, res = pg.count_where("a % 7 = 3", "j", parallel=True)
        assert "Gather" in str(res.plan["Plan"])
        assert count == int(np.count_nonzero(a % 7 == 3))
        _, res = pg.count_where("a % 7 = 3", "j")  # parallel=False: no Gather
        assert "Gather" not in str(res.plan["Plan"])
    finally:
        for c in costs:
            pg.conn.execute(f"RESET {c}")
