"""Block at a time (the block_scan pass): a filter of fused column-vs-constant tests runs
CP_BLOCK_ROWS rows per step, on every engine, with PostgreSQL's program's answers on NULLs,
strided columns, any row count, and interrupted scans; the verifier keeps block programs to
their one shape."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import copypatch
from copypatch import SLOT, layout
from copypatch.testing import outcome
from copypatch.workload import STANDARD_QUERIES

ROW_AT_A_TIME = tuple(p for p in copypatch.OPTIMIZATIONS if p != "block_scan")
B = 256  # CP_BLOCK_ROWS (cases.h); the sizes below straddle it

_rng = np.random.default_rng(13)
_N = 3 * B + 7


def _table(n: int = _N) -> dict[str, Any]:
    a = _rng.integers(-5, 100, 2 * n).astype(np.int32)
    a[::11] = 42
    f = _rng.standard_normal(n)
    f[::13] = np.nan
    return {
        "a": a[::2],  # a strided view: stride 8, width 4 (the non-contiguous path)
        "c": _rng.integers(-3, 10, n).astype(np.int32),  # contiguous, NOT NULL
        "b": np.ma.masked_array(_rng.integers(0, 20, n).astype(np.int64),
                                mask=_rng.random(n) < 0.3),  # nullable
        "s": np.ma.masked_array(_rng.integers(0, 6, n).astype(np.int16),
                                mask=np.repeat(_rng.random(n) < 0.5, 1)[::-1]),
        "f": np.ma.masked_array(f, mask=_rng.random(n) < 0.2),
    }


TABLE = _table()
QUERIES = [
    "a = 42", "c = 7", "b > 10", "a = 42 AND b > 10", "c <> 3 AND b <= 12 AND a >= 0",
    "a IN (1, 7, 42, 64, 99)", "b IN (1, 2, 3) AND c <> 3", "b IN (1, NULL)", "c IN (7, NULL, 3)",
    "f > 0.5", "f = 'NaN'", "f IN (0.5, 'NaN') AND c < 5", "s = 2::int2", "s IN (1::int2, 2::int2)",
    "c < 5::int8", "b = 1000",  # no row passes: every block jumps to the end at its first step
]


def _ops(sql: str, table: Any = TABLE, mode: str = "filter", **kw: Any) -> list[str]:
    return [line.split()[1] for line in copypatch.compile(sql, table, **kw).explain(mode).splitlines()[1:]]


def test_block_forms() -> None:
    assert _ops("a = 42") == ["EEOP_BLOCK_QUAL_int4eq_NOTNULL", "EEOP_BLOCK_NEXT_FILTER"]
    assert _ops("a IN (1, 7, 42, 64, 99)") == ["EEOP_BLOCK_QUAL_ANY_int4eq_NOTNULL",
                                               "EEOP_BLOCK_NEXT_FILTER"]
    assert sorted(_ops("a = 42 AND b > 10")) == [
        "EEOP_BLOCK_NEXT_FILTER", "EEOP_BLOCK_QUAL_int4eq_NOTNULL", "EEOP_BLOCK_QUAL_int84gt"]
    text = copypatch.compile("a = 42 AND b > 10", TABLE).explain("filter")
    assert "block_scan" in text and "jumpdone=2" in text and "jumpdone=0" in text
    # off: the row-at-a-time fused form; evaluate(): a value per row, not a mask
    assert _ops("a = 42", optimize=ROW_AT_A_TIME) == ["EEOP_QUAL_int4eq_NOTNULL",
                                                      "EEOP_DONE_NEXTROW_FILTER"]
    assert not any("BLOCK" in o for o in _ops("a = 42", mode="evaluate"))


@pytest.mark.parametrize("sql", [
    "a + c > 1000 OR c < 5",  # general steps
    "a = 42 OR c = 7",  # OR: jumps elsewhere than the row's end
    "a = 42 AND (b > 10) IS NOT FALSE",  # one conjunct not fused
    "a = c",  # not a constant
])
def test_other_programs_are_left_alone(sql: str) -> None:
    ops = _ops(sql)
    assert not any("BLOCK" in o for o in ops), ops
    assert ops == _ops(sql, optimize=ROW_AT_A_TIME)


def test_standard_queries_that_are_only_fused_tests_become_blocks() -> None:
    t = {"a": np.arange(10, dtype=np.int32), "b": np.ma.masked_array(np.arange(10, dtype=np.int32)),
         "c": np.arange(10, dtype=np.int32)}
    blocked = [sql for sql in STANDARD_QUERIES if _ops(sql, t)[-1] == "EEOP_BLOCK_NEXT_FILTER"]
    assert len(blocked) == 4, blocked  # eq, and, and20, in_list


@pytest.mark.parametrize("n", [0, 1, B - 1, B, B + 1, _N])
@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_block_agrees_with_postgres_program(engine: str, n: int) -> None:
    t = {k: v[:n] for k, v in TABLE.items()}
    for sql in QUERIES:
        prog = copypatch.compile(sql, t, engine=engine, verify_each_pass=True)
        assert _ops(sql, t)[-1] == "EEOP_BLOCK_NEXT_FILTER", sql
        got = outcome(sql, t, "filter", engine)
        assert got == outcome(sql, t, "filter", "switch", optimize=()), (sql, n)
        assert got[0] == "ok" and len(got[1]) == n
        prog.close()


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_block_scan_in_chunks(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a scan that pauses after every chunk (16 rows, then the caller comes back): blocks end at
    # the chunk's end, wherever that is, and the next chunk starts its own
    monkeypatch.setattr(layout, "SCAN_SLICE_NS", 1)
    for sql in ("a = 42 AND b > 10", "a IN (1, 7, 42, 64, 99)", "b IN (1, NULL)"):
        prog = copypatch.compile(sql, TABLE, engine=engine)
        whole = copypatch.compile(sql, TABLE, engine="switch", optimize=()).filter(TABLE)
        assert prog.filter(TABLE).tolist() == whole.tolist()


def test_evaluate_is_unchanged() -> None:
    for sql in ("a = 42 AND b > 10", "b IN (1, NULL)"):
        for engine in copypatch.ENGINES:
            assert outcome(sql, TABLE, "evaluate", engine) == outcome(sql, TABLE, "evaluate",
                                                                     "switch", optimize=())


def _raw(block_steps: list[dict[str, Any]], end: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [*block_steps, end if end is not None else {"op": "BLOCK_NEXT_FILTER", "jump": 0}]


def test_verifier_keeps_block_programs_to_their_shape() -> None:
    t = {"a": np.arange(600, dtype=np.int32) % 50}
    step = {"op": "BLOCK_QUAL_int4eq_NOTNULL", "attnum": 0, "func": "int4eq",
            "args": [SLOT, 42], "jump": 1}
    p = copypatch.from_steps(_raw([step]), t)
    assert p.filter(t).tolist() == (t["a"] == 42).tolist()
    with pytest.raises(copypatch.CompileError, match="can only run as filter"):
        copypatch.from_steps(_raw([step]), t).evaluate(t)
    with pytest.raises(copypatch.CompileError, match="jumps to the block end"):
        copypatch.from_steps(_raw([step, {**step, "jump": 2}]), t)
    with pytest.raises(copypatch.CompileError, match="next row starts at step 0"):
        copypatch.from_steps(_raw([step], {"op": "BLOCK_NEXT_FILTER", "jump": 1}), t)
    with pytest.raises(copypatch.CompileError, match="block steps and the block end only"):
        copypatch.from_steps([{"op": "CONST_NOTNULL", "const": True, "type": "boolean", "to": "result"},
                              {**step, "jump": 2}, {"op": "BLOCK_NEXT_FILTER", "jump": 0}], t)
    with pytest.raises(copypatch.CompileError, match="ends in EEOP_BLOCK_NEXT_FILTER"):
        copypatch.from_steps([{"op": "BLOCK_NEXT_FILTER", "jump": 0}], t)
    with pytest.raises(copypatch.CompileError, match="ends in EEOP_BLOCK_NEXT_FILTER"):
        copypatch.from_steps([step, {"op": "JUMP", "jump": 2}, {"op": "CONST_NOTNULL", "const": True,
                                                              "type": "boolean", "to": "result"},
                              {"op": "DONE"}], t)
    with pytest.raises(copypatch.CompileError, match="is nullable"):
        copypatch.from_steps(_raw([step]), {"a": np.ma.masked_array(t["a"])})


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_in_list_of_nulls_only(engine: str) -> None:
    # no element can compare TRUE: every block is FALSE (and its mask written so)
    t = {"a": np.arange(2 * B + 3, dtype=np.int32)}
    step = {"op": "BLOCK_QUAL_ANY_int4eq_NOTNULL", "attnum": 0, "func": "int4eq",
            "array": [None, None], "type": "integer", "jump": 1}
    p = copypatch.from_steps(_raw([step]), t, engine=engine)
    assert not p.filter(t).any()
    p = copypatch.from_steps(_raw([{**step, "array": [None, 7]}]), t, engine=engine)
    assert p.filter(t).tolist() == (t["a"] == 7).tolist()


def test_jit_block_stencil_is_vectorised() -> None:
    prog = copypatch.compile("c = 7", TABLE, engine="jit")
    text = prog.disassemble()
    assert "EEOP_BLOCK_QUAL_int4eq_NOTNULL" in text and "EEOP_BLOCK_NEXT_FILTER" in text
    import platform
    if platform.machine() in ("x86_64", "AMD64"):
        assert re.search(r"\bpcmpeqd\b", text), text  # 4 rows per compare (SSE2)
    else:
        assert re.search(r"\bcmeq\b", text), text  # NEON


def test_compile_stays_fast() -> None:
    prog = copypatch.compile("a = 42", TABLE, engine="jit")
    assert prog.compile_ns < 1_000_000  # generous here; bench_compile.py measures < 1 us
