"""The optimisation passes: every optimised opcode runs, and gives exactly the unoptimised answers."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import run_all

import copypatch
from copypatch import passes
from copypatch._fmgr import OPCODE_NAMES
from copypatch.opcodes import INLINED, INLINED_COMPARISONS
from copypatch.sqltypes import SqlType
from copypatch.testing import outcome

I2, I4, I8 = np.iinfo(np.int16), np.iinfo(np.int32), np.iinfo(np.int64)
NULLS = [False, False, False, False, False, True, False]


def extremes(dtype: object) -> list:
    if np.dtype(dtype).kind == "f":
        return [0.0, -0.0, math.nan, math.inf, -1.5, 2.0, 1e308]
    info = np.iinfo(dtype)  # type: ignore[type-var]
    return [0, 1, -1, int(info.max), int(info.min), 7, -2]


DTYPES = {"int2": np.int16, "int4": np.int32, "int8": np.int64, "float8": np.float64}
#: an inlined built-in's name: its argument types (int48: int4 and int8) and its operator
NAME = re.compile(r"(int2|int4|int8|float8|int48|int84)([a-z]+)")


def table_for(t: str) -> dict[str, np.ndarray]:
    """x, xn of t's first argument type, y, yn of its second (int48: int4 and int8)."""
    tx, ty = (t[:4], f"int{t[4]}") if t in ("int48", "int84") else (t, t)
    dx, dy = DTYPES[tx], DTYPES[ty]
    vx, vy = extremes(dx), extremes(dy)[::-1]
    return {
        "x": np.array(vx, dtype=dx),  # NOT NULL
        "y": np.array(vy, dtype=dy),
        "xn": np.ma.masked_array(np.array(vx, dtype=dx), mask=NULLS),  # nullable
        "yn": np.ma.masked_array(np.array(vy, dtype=dy), mask=NULLS[::-1]),
    }


SYMBOL = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "pl": "+",
          "mi": "-", "mul": "*", "div": "/", "mod": "%"}


def inlined() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "csrc" / "inline.def").read_text()
    text = text.split("*/", 1)[1]  # past the comment
    return re.findall(r"INLINE(?:_CMP)?\((\w+)\)", text)


def test_inline_list_matches_the_pass() -> None:
    assert set(inlined()) == INLINED
    for f in inlined():
        assert f"EEOP_INLINE_{f}" in OPCODE_NAMES and f"EEOP_INLINE_{f}_NONULL" in OPCODE_NAMES


@pytest.mark.parametrize("fname", inlined())
def test_inlined_builtin_agrees_with_the_call(fname: str) -> None:
    t, op = NAME.fullmatch(fname).groups()  # type: ignore[union-attr]
    table = table_for(t)
    seen = set()
    for sql in (f"x {SYMBOL[op]} y", f"xn {SYMBOL[op]} yn", f"x {SYMBOL[op]} yn"):
        prog = copypatch.compile(sql, table)
        seen |= set(re.findall(r"EEOP_\w+", prog.explain()))
        run_all(sql, table)  # every engine x every optimisation setting: the same values/errors
    assert f"EEOP_INLINE_{fname}" in seen and f"EEOP_INLINE_{fname}_NONULL" in seen


@pytest.mark.parametrize("dtype", [np.bool_, np.int16, np.int32, np.int64, np.float32, np.float64])
def test_direct_column_reads(dtype: object) -> None:
    data = np.array([1, 0, 1, 1], dtype=dtype)
    table = {
        "c": data,
        "cn": np.ma.masked_array(data, mask=[False, True, False, True]),
        "strided": np.repeat(data, 2)[::2],
    }
    name = copypatch.SqlType.from_dtype(np.dtype(dtype)).name
    for col, opcode in (("c", f"EEOP_SCAN_COLUMN_{name}_NOTNULL"), ("cn", f"EEOP_SCAN_COLUMN_{name}"),
                        ("strided", f"EEOP_SCAN_COLUMN_{name}_NOTNULL")):
        prog = copypatch.compile(f"{col} IS NULL OR {col}::int4 = 1", table)
        assert opcode in prog.explain()
        assert "EEOP_SCAN_FETCHSOME" not in prog.explain()
        run_all(f"{col} IS NULL OR {col}::int4 = 1", table)
        run_all(col, table)


def test_null_check_variants_and_constants() -> None:
    table = {
        "a": np.ma.masked_array(np.array([1, 2, 3], dtype=np.int16), mask=[False, True, False]),
        "b": np.array([1, 2, 3], dtype=np.int64),
    }
    cases = {
        "a::float4 * b::float4": "EEOP_FUNCEXPR_STRICT_ARG0",  # float4mul: only a can be NULL
        "b::float4 * a::float4 > 0": "EEOP_FUNCEXPR_STRICT_ARG1",
        "b::float4 > 1": "EEOP_FUNCEXPR",  # no argument can be NULL: no check at all
        "CASE WHEN a > 1 THEN 5 END": "EEOP_CONST_NOTNULL",
        "CASE WHEN a > 1 THEN 5 ELSE NULL END": "EEOP_CONST_NULL",
    }
    for sql, opcode in cases.items():
        prog = copypatch.compile(sql, table)
        assert opcode in prog.explain().split(), (sql, prog.explain())
        run_all(sql, table)


def test_null_check_elision_sees_per_row_array_elements() -> None:
    # a per-row array's element may be NULL, and so may the ANY/ALL over it: the strict call
    # of its result keeps its NULL check, which goes only when no element can be NULL
    table = {"x": np.array([1, 2, 3], dtype=np.int64),
             "xn": np.ma.masked_array(np.array([1, 0, 3], dtype=np.int64), mask=[False, True, False])}
    for sql, opcode in {"(x = ANY (ARRAY[xn, 5]))::int4 > 0": "EEOP_FUNCEXPR_STRICT_ARG0",
                        "(x <> ALL (ARRAY[NULL, 5]::int8[]))::int4 > 0": "EEOP_FUNCEXPR_STRICT_ARG0",
                        "(x <> ALL (ARRAY[x - 1, 5]))::int4 > 0": "EEOP_FUNCEXPR"}.items():
        lines = copypatch.compile(sql, table).explain().splitlines()
        cast = [line.split()[1] for line in lines if "bool_int4" in line]
        assert cast == [opcode], (sql, lines)
        for mode in ("filter", "evaluate"):
            run_all(sql, table, mode)


def test_null_heavy_and_overflow_cases() -> None:
    n = 64
    rng = np.random.default_rng(7)
    table = {
        "a": np.ma.masked_array(rng.integers(I4.min, I4.max, n, dtype=np.int32), mask=rng.random(n) < 0.5),
        "b": np.ma.masked_array(rng.integers(-3, 3, n, dtype=np.int32), mask=rng.random(n) < 0.5),
        "c": rng.integers(-3, 3, n, dtype=np.int32),
        "f": np.ma.masked_array(rng.standard_normal(n) * 1e300, mask=rng.random(n) < 0.3),
    }
    for sql in ("a + b > 0", "a * c", "a / c", "c / b", "a % b", "COALESCE(a + c, b) = 0",
                "f * f > 0", "f / c", "(a = 1) IS NULL OR b > 0 AND c <> 0",
                "a - 1 < b AND b IN (1, 2, NULL)", "NOT (b = 0) AND a / b > 0",
                "c = ANY (ARRAY[b, a / 1000000000])", "a + c > ALL (ARRAY[a, b, NULL])"):
        for mode in ("filter", "evaluate"):
            if mode == "evaluate" or copypatch.compile(sql, table).result_type is copypatch.SqlType.BOOL:
                run_all(sql, table, mode)


def test_optimize_argument() -> None:
    t = {"a": np.arange(5, dtype=np.int32)}
    assert copypatch.OPTIMIZATIONS == passes.OPTIMIZATIONS
    plain = copypatch.compile("a = 42", t, optimize=())
    assert "EEOP_FUNCEXPR_STRICT " in plain.explain() + " "
    assert "none (PostgreSQL's program)" in plain.explain()
    full = copypatch.compile("a = 42", t)
    assert [line.split()[1] for line in full.explain().splitlines()[1:]] == [
        "EEOP_BLOCK_QUAL_int4eq_NOTNULL", "EEOP_BLOCK_NEXT_FILTER"]
    rows = copypatch.compile("a = 42", t, optimize=tuple(
        p for p in copypatch.OPTIMIZATIONS if p != "block_scan"))
    assert [line.split()[1] for line in rows.explain().splitlines()[1:]] == [
        "EEOP_QUAL_int4eq_NOTNULL", "EEOP_DONE_NEXTROW_FILTER"]
    unfused = copypatch.compile("a = 42", t, optimize=tuple(
        p for p in copypatch.OPTIMIZATIONS if p != "fused_compare"))
    assert [line.split()[1] for line in unfused.explain().splitlines()[1:]] == [
        "EEOP_SCAN_COLUMN_INT4_NOTNULL", "EEOP_INLINE_int4eq_NONULL", "EEOP_QUAL",
        "EEOP_DONE_NEXTROW_FILTER"]
    with pytest.raises(ValueError, match="unknown optimisation"):
        copypatch.compile("a = 42", t, optimize=("turbo",))
    with pytest.raises(TypeError):
        copypatch.compile("a = 42", t, optimize="inline_builtins")  # type: ignore[arg-type]


ROW_AT_A_TIME = tuple(p for p in copypatch.OPTIMIZATIONS if p != "block_scan")


def test_every_optimised_opcode_is_exercised() -> None:
    # the opcodes after PostgreSQL's: each must come out of some pass in the tests above
    optimised = OPCODE_NAMES[OPCODE_NAMES.index("EEOP_FUNCEXPR_STRICT_ARG0"):]
    produced = set()
    for fname in inlined():
        t, op = NAME.fullmatch(fname).groups()  # type: ignore[union-attr]
        table = table_for(t)
        sqls = [f"x {SYMBOL[op]} y", f"xn {SYMBOL[op]} yn"]
        if fname in INLINED_COMPARISONS:  # the fused forms, and the IN list's
            k = {"int2": "1::int2", "int8": "1::int8", "int48": "1::int8"}.get(t, "1")
            sqls += [f"x {SYMBOL[op]} {k}", f"xn {SYMBOL[op]} {k}",
                     f"x {SYMBOL[op]} ANY (ARRAY[{k}, {k}])", f"xn {SYMBOL[op]} ANY (ARRAY[{k}, {k}])"]
        for sql in sqls:
            for optimize in (copypatch.OPTIMIZATIONS, ROW_AT_A_TIME):  # block_scan on and off
                prog = copypatch.compile(sql, table, optimize=optimize)
                for mode in ("filter", "evaluate") if prog.result_type is SqlType.BOOL else ("evaluate",):
                    produced |= set(re.findall(r"EEOP_\w+", prog.explain(mode)))
    for dtype in (t.dtype for t in SqlType.stored()):  # a SCAN_COLUMN pair per type
        table = {"c": np.zeros(1, dtype=dtype), "cn": np.ma.masked_array(np.zeros(1, dtype=dtype))}
        for sql in ("c IS NULL", "cn IS NULL"):
            produced |= set(re.findall(r"EEOP_\w+", copypatch.compile(sql, table).explain()))
    table = {"a": np.ma.masked_array(np.zeros(1, dtype=np.int16)), "b": np.zeros(1, dtype=np.int64)}
    for sql in ("a::float4 * b::float4 > 0", "b::float4 * a::float4 > 0",
                "CASE WHEN a > 1 THEN 5 ELSE NULL END"):
        produced |= set(re.findall(r"EEOP_\w+", copypatch.compile(sql, table).explain()))
    assert not set(optimised) - produced, sorted(set(optimised) - produced)


@pytest.mark.parametrize("engine", copypatch.ENGINES)
def test_row_loop(engine: str) -> None:
    """DONE_NEXTROW_*: the program runs the rows itself; results, NULLs, errors (and their row)
    and empty tables are the same as with one engine call per row."""
    t = {"a": np.ma.masked_array(np.array([3, 0, 5, 7], dtype=np.int32), mask=[0, 0, 1, 0])}
    looped = {"optimize": ("row_loop",)}
    for sql in ("a > 4", "10 / a > 1", "a + 1", "10 / a", "CASE WHEN a > 4 THEN a END"):
        for mode in ("filter", "evaluate"):
            if mode == "filter" and "CASE" in sql or mode == "filter" and sql in ("a + 1", "10 / a"):
                continue
            assert outcome(sql, t, mode, engine, **looped) == outcome(sql, t, mode, engine,
                                                                      optimize=())
    prog = copypatch.compile("10 / a > 1", t, engine=engine, **looped)
    assert "EEOP_DONE_NEXTROW_FILTER" in prog.explain("filter")
    assert "EEOP_DONE_NEXTROW_EVALUATE" in prog.explain("evaluate")
    with pytest.raises(copypatch.EvalError) as ei:
        prog.filter(t)
    assert ei.value.row == 1
    empty = {"a": np.ma.masked_array(np.array([], dtype=np.int32), mask=[])}
    assert prog.filter(empty).tolist() == [] and prog.evaluate(empty).tolist() == []


def test_row_loop_raw_steps() -> None:
    """The verifier keeps a looping program to one kind of end, jumping back to step 0, and a
    program that loops in one mode cannot be run in the other."""
    t = {"a": np.array([1, 2], dtype=np.int32)}
    head = [{"op": "SCAN_FETCHSOME", "last_var": 1}, {"op": "SCAN_VAR", "attnum": 0, "to": "result"},
            {"op": "NULLTEST_ISNULL", "to": "result"}]
    p = copypatch.from_steps([*head, {"op": "DONE_NEXTROW_FILTER", "jump": 0}], t)
    assert p.filter(t).tolist() == [False, False]
    with pytest.raises(copypatch.CompileError, match="can only run as filter"):
        p.evaluate(t)
    p = copypatch.from_steps([*head, {"op": "DONE_NEXTROW_EVALUATE", "jump": 0}], t)
    assert p.evaluate(t).tolist() == [False, False]
    with pytest.raises(copypatch.CompileError, match="next row starts at step 0"):
        copypatch.from_steps([*head, {"op": "DONE_NEXTROW_FILTER", "jump": 2}], t)
    with pytest.raises(copypatch.CompileError, match="ends in both"):
        copypatch.from_steps([*head, {"op": "JUMP_IF_NOT_NULL", "to": "result", "jump": 5},
                              {"op": "DONE"}, {"op": "DONE_NEXTROW_EVALUATE", "jump": 0}], t)
