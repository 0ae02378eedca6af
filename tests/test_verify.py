"""The step-program verifier, programs from raw steps, and hostile input: every input either works
or raises a copypatch exception; nothing crashes, hangs or leaks."""

from __future__ import annotations

import copy
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import copypatch
from copypatch import CompileError, CopypatchError, EvalError, testing
from copypatch._fmgr import OPCODE_NAMES
from copypatch.rawsteps import SLOT, from_steps, steps_program
from copypatch.steps import RESULT, Arg, Tmp
from copypatch.verify import verify

FUZZ = int(os.environ.get("COPYPATCH_HOSTILE_EXAMPLES", "200"))
FAST = settings(max_examples=FUZZ, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TABLE = {"a": np.array([1, 42, 7, 0], dtype=np.int32),
         "b": np.ma.masked_array(np.array([5, 0, 9, 2], dtype=np.int64), mask=[0, 1, 0, 0])}
A_EQ_42 = [
    {"op": "SCAN_FETCHSOME", "last_var": 1},
    {"op": "SCAN_VAR", "attnum": 0, "to": "step2.arg0"},
    {"op": "FUNCEXPR_STRICT", "func": "int4eq", "args": [SLOT, 42], "to": "result"},
    {"op": "QUAL", "jump": 4, "to": "result"},
    {"op": "DONE"},
]


# ---- from_steps -------------------------------------------------------------------------------
def test_from_steps_runs_on_every_engine() -> None:
    for engine in copypatch.ENGINES:
        prog = from_steps(A_EQ_42, TABLE, engine=engine)
        assert prog.filter(TABLE).tolist() == [False, True, False, False]
        assert prog.evaluate(TABLE).tolist() == [False, True, False, False]
        assert "EEOP_FUNCEXPR_STRICT" in prog.explain()
        assert "int4eq(arg0, 42)" in prog.explain()


def test_from_steps_is_exported() -> None:
    assert copypatch.from_steps is from_steps
    assert copypatch.StepsProgram is copypatch.RawProgram  # the old name still works


def test_from_steps_evaluates_other_types_and_errors() -> None:
    steps = [
        {"op": "SCAN_FETCHSOME", "last_var": 1},
        {"op": "SCAN_VAR", "attnum": 0, "to": "step2.arg1"},
        {"op": "FUNCEXPR_STRICT", "func": "int4div", "args": {0: 84}, "to": "result"},
        {"op": "DONE"},
    ]
    for engine in copypatch.ENGINES:
        prog = from_steps(steps, TABLE, result_type="int4", engine=engine)
        with pytest.raises(EvalError) as e:
            prog.evaluate(TABLE)
        assert (e.value.sqlstate, e.value.row) == ("22012", 3)
        with pytest.raises(CompileError):
            prog.filter(TABLE)  # not a boolean program


def bad(steps: list[dict[str, Any]], **kw: Any) -> str:
    with pytest.raises(CompileError) as e:
        from_steps(steps, TABLE, **kw)
    return str(e.value)


def edit(i: int, **changes: Any) -> list[dict[str, Any]]:
    steps = copy.deepcopy(A_EQ_42)
    steps[i].update(changes)
    return steps


@pytest.mark.parametrize(
    "steps, kw, message",
    [
        (edit(3, op="NO_SUCH_OP"), {}, "step 3: unknown opcode"),
        (edit(3, jump=5), {}, "step 3 (EEOP_QUAL): jump target 5 outside"),
        (edit(3, jump=2), {}, "jumps go forward"),
        (edit(3, jump=-1), {}, "step 3 (EEOP_QUAL): jump target -1"),
        (edit(1, to="step2.arg2"), {}, "argument slot 2 of call info 0"),
        (edit(1, to="step0.arg0"), {}, "step 0 calls no function"),
        (edit(1, attnum=2), {}, "step 1 (EEOP_SCAN_VAR): attnum 2 outside [0, 2)"),
        (edit(1, attnum=1), {}, "column 1 read before a SCAN_FETCHSOME covers it"),
        (edit(0, last_var=3), {}, "step 0 (EEOP_SCAN_FETCHSOME): last_var 3 outside [1, 2]"),
        (edit(2, func="no_such_function"), {}, "unknown function"),
        (edit(2, args=[SLOT, "42"]), {}, "'42' is not a value of type int4"),
        (edit(2, args=[SLOT, 1 << 40]), {}, "is not a value of type int4"),
        (edit(2, func="int8eq"), {}, "reads fcinfo0.arg0 as int8, but it holds int4"),
        (edit(2, args=[SLOT, SLOT]), {}, "reads fcinfo0.arg1 before anything is written"),
        (A_EQ_42[:3], {}, "runs off its end"),
        (edit(4, op="JUMP"), {}, "jump target -1"),
        (A_EQ_42, {"result_type": "int4"}, "reads the result as int4, but it holds bool"),
        (edit(1, op="SCAN_COLUMN_INT8"), {}, "column 0 (a) is int4 NOT NULL"),
        (edit(1, op="SCAN_COLUMN_INT4", attnum=1), {}, "column 1 (b) is int8"),
        (edit(3, op="BOOL_AND_STEP_FIRST"), {}, "step 3 (EEOP_BOOL_AND_STEP_FIRST): temporary -1"),
        (edit(3, attnum=0), {}, "step 3 (EEOP_QUAL): operand attnum=0 means nothing"),
        (edit(2, op="INLINE_int8eq"), {}, "inlines another function"),
        (edit(2, op="SCALARARRAYOP"), {}, "argument 1 of int4eq takes the array's elements"),
        ([{"op": "DONE"}], {}, "reads the result before anything is written"),
        ([], {}, "no steps"),
        ([{"op": "CONST", "const": True, "type": "numeric", "to": "result"}, {"op": "DONE"}], {},
         "unknown type"),
        ([{"op": "CONST", "const": 1.5, "type": "int4", "to": "result"}, {"op": "DONE"}],
         {"result_type": "int4"}, "1.5 is not a value of type int4"),
        ([{"op": "CONST_NULL", "const": 1, "type": "int4", "to": "result"}, {"op": "DONE"}],
         {"result_type": "int4"}, "NULLness contradicts"),
        ([{"op": "CONST", "const": True, "type": "bool", "to": "tmp-1"}, {"op": "DONE"}], {},
         "bad destination"),
        ([{"op": "CONST", "const": True, "type": "bool", "to": "result", "bogus": 1}], {},
         "unknown keys"),
        (["CONST"], {}, "expected a dict"),
    ],
)
def test_verifier_rejects(steps: list[dict[str, Any]], kw: dict[str, Any], message: str) -> None:
    assert message in bad(steps, **kw)


def test_scalar_array_op_needs_its_array() -> None:
    ok = [
        {"op": "SCAN_FETCHSOME", "last_var": 1},
        {"op": "SCAN_VAR", "attnum": 0, "to": "step3.arg0"},
        {"op": "CONST", "array": [1, 7, None], "type": "int4", "to": "result"},
        {"op": "SCALARARRAYOP", "func": "int4eq", "use_or": True, "to": "result"},
        {"op": "DONE"},
    ]
    for engine in copypatch.ENGINES:
        assert from_steps(ok, TABLE, engine=engine).evaluate(TABLE).tolist() == [True, None, True, None]
    # the array pointer must be what SCALARARRAYOP reads: not a number, not another array type
    not_array = copy.deepcopy(ok)
    not_array[2] = {"op": "CONST", "const": 5, "type": "int4", "to": "result"}
    assert "reads the result as int4[] (an array), but it holds int4" in bad(not_array)
    wrong_type = copy.deepcopy(ok)
    wrong_type[2]["type"] = "int8"
    assert "but it holds int8[]" in bad(wrong_type)


def test_array_expr_needs_elements_of_one_type() -> None:
    ok = [
        {"op": "SCAN_FETCHSOME", "last_var": 2},
        {"op": "SCAN_VAR", "attnum": 0, "to": "step5.arg0"},
        {"op": "SCAN_VAR", "attnum": 1, "to": "tmp0"},
        {"op": "CONST", "const": 7, "type": "int8", "to": "tmp1"},
        {"op": "ARRAYEXPR", "tmp": 0, "nelems": 2, "to": "result"},
        {"op": "SCALARARRAYOP", "func": "int48eq", "use_or": True, "to": "result"},
        {"op": "DONE"},
    ]
    for engine in copypatch.ENGINES:
        prog = from_steps(ok, TABLE, engine=engine)
        assert prog.evaluate(TABLE).tolist() == [False, None, True, False]
    assert "ARRAY[tmp0..tmp1]" in prog.explain()

    def with_step(i: int, **changes: Any) -> list[dict[str, Any]]:
        steps = copy.deepcopy(ok)
        steps[i].update(changes)
        return steps

    assert "element 1 of ARRAY[...]" in bad(with_step(3, type="int4"))  # int8, then int4
    assert "holds int8[] (an array)" in bad(with_step(5, func="int4eq"))
    assert "reads tmp1 before anything is written" in bad(with_step(3, to="tmp2"))
    assert "nelems 0" in bad(with_step(4, nelems=0))
    assert "reads tmp2 before anything is written" in bad(with_step(4, tmp=1))
    assert "operand least=True means nothing" in bad(with_step(4, least=True))
    # an array is consumed by the SCALARARRAYOP right after it: it is never an element, and no
    # step can write its elements (a pointer, say) before it is read
    nested = copy.deepcopy(ok)
    nested[4:5] = [{"op": "ARRAYEXPR", "tmp": 0, "nelems": 2, "to": "tmp2"},
                   {"op": "ARRAYEXPR", "tmp": 2, "nelems": 1, "to": "result"}]
    nested[1]["to"] = "step6.arg0"
    assert "must be read at once by the SCALARARRAYOP after it" in bad(nested)
    between = copy.deepcopy(ok)
    between[5:5] = [{"op": "CONST", "const": 1, "type": "int8", "to": "tmp0"}]
    between[1]["to"] = "step6.arg0"
    assert "must be read at once by the SCALARARRAYOP after it" in bad(between)
    assert "on the same destination" in bad(with_step(4, to="tmp2"))
    jump_in = copy.deepcopy(ok)
    jump_in[3:3] = [{"op": "JUMP", "jump": 6}]
    jump_in[1]["to"] = "step6.arg0"
    assert "would reach its SCALARARRAYOP without this ARRAY[...]" in bad(jump_in)


def test_jump_over_the_only_write_is_caught() -> None:
    steps = [
        {"op": "CONST", "const": None, "type": "bool", "to": "tmp0"},
        {"op": "JUMP_IF_NULL", "jump": 3, "to": "tmp0"},
        {"op": "CONST", "const": True, "type": "bool", "to": "result"},
        {"op": "DONE"},
    ]
    assert "step 3 (EEOP_DONE): reads the result before anything is written" in bad(steps)


def test_every_compiled_program_is_verified() -> None:
    # compile() runs the verifier on every program it builds, optimised or not
    for label, kw in testing.optimization_settings():
        for engine in copypatch.ENGINES:
            prog = copypatch.compile("a = 42 OR b IN (1, 2, NULL) OR CASE a WHEN 1 THEN b > 0 END",
                                     TABLE, engine=engine, **kw)
            assert prog.steps is not None
            verify(prog.steps, prog.schema)


def test_a_lowering_bug_cannot_reach_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from copypatch import program

    real = program.lower_qual

    def broken(quals: Any) -> Any:
        sp = real(quals)
        sp.steps[-2] = replace(sp.steps[-2], jumpdone=len(sp.steps) + 100)
        return sp

    monkeypatch.setattr(program, "lower_qual", broken)
    with pytest.raises(CompileError, match="jump target"):
        copypatch.compile("a = 42", TABLE)


# ---- fuzzing the verifier with raw steps ------------------------------------------------------
_KEYS = st.sampled_from(["last_var", "attnum", "jump", "tmp"])
_SMALL = st.integers(-2, 8)
_OPS = st.sampled_from([n.removeprefix("EEOP_") for n in OPCODE_NAMES] + ["BOGUS"])
_DEST = st.one_of(st.none(), st.sampled_from(["result", "tmp0", "tmp1", "tmp9", "step0.arg0",
                                               "step1.arg1", "step2.arg0", "step3.arg1"]))
_FUNCS = st.sampled_from(["int4eq", "int4pl", "int8eq", "int48lt", "float8div", "i4tod",
                          "int4_bool", "booleq", "nosuch"])
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                   st.text(max_size=3))


@st.composite
def raw_step(draw: st.DrawFn) -> dict[str, Any]:
    d: dict[str, Any] = {"op": draw(_OPS)}
    dest = draw(_DEST)
    if dest is not None:
        d["to"] = dest
    for k in draw(st.lists(_KEYS, max_size=3, unique=True)):
        d[k] = draw(_SMALL)
    if draw(st.booleans()):
        d["func"] = draw(_FUNCS)
        if draw(st.booleans()):
            d["args"] = {draw(st.integers(-1, 2)): draw(_VALUE)}
    if d["op"].startswith("CONST") or draw(st.integers(0, 9)) == 0:
        d["type"] = draw(st.sampled_from(["bool", "int2", "int4", "int8", "float4", "float8",
                                          "numeric", "text"]))
        if draw(st.booleans()):
            d["const"] = draw(_VALUE)
        else:
            d["array"] = draw(st.lists(_VALUE, max_size=3))
    if draw(st.integers(0, 4)) == 0:
        d["use_or"] = draw(st.booleans())
    return d


def run_everywhere(steps: Any, result_type: str = "bool") -> None:
    """Build on every engine; if the verifier accepts, running must not crash, and every step
    must do what its opcode declares (the checking interpreter) with the same outcome on every
    engine."""
    try:
        prog = from_steps(steps, TABLE, result_type=result_type)
    except CompileError:
        return  # the verifier said no: nothing reached an engine
    testing.check_hostile(prog.steps, prog.schema, TABLE)
    for engine in copypatch.ENGINES:
        prog = from_steps(steps, TABLE, engine=engine, result_type=result_type)
        for run in (prog.evaluate, prog.filter):
            try:
                run(TABLE)
            except CopypatchError:
                pass


@FAST
@given(st.lists(raw_step(), max_size=8), st.sampled_from(["bool", "int4", "float8"]))
def test_raw_steps_work_or_raise(steps: list[dict[str, Any]], result_type: str) -> None:
    run_everywhere(steps, result_type)


@st.composite
def mutated_program(draw: st.DrawFn) -> Any:
    """A compiled program with one field of one step changed: near misses of valid programs."""
    schema = draw(testing.schemas(max_columns=3))
    e = draw(testing.expressions(schema, max_depth=3))
    table = draw(testing.tables(schema, max_rows=3))
    kw = draw(st.sampled_from(testing.optimization_settings()))[1]
    try:
        prog = copypatch.compile(e.sql, table, **kw)
    except CopypatchError:
        return None
    sp = prog.steps
    if sp is None:
        return None
    sp = copy.deepcopy(sp)
    i = draw(st.integers(0, len(sp.steps) - 1))
    field = draw(st.sampled_from(["opcode", "jumpdone", "attnum", "fcinfo", "tmp", "dest",
                                  "last_var", "array", "drop", "dup"]))
    s = sp.steps[i]
    if field == "opcode":
        s.opcode = draw(st.sampled_from(OPCODE_NAMES))
    elif field == "dest":
        s.dest = draw(st.sampled_from([None, RESULT, Tmp(0), Tmp(5), Arg(0, 0), Arg(0, 1), Arg(1, 0),
                                       Arg(9, 0), ("tmp", 0), ("bogus",)]))
    elif field == "drop":
        del sp.steps[i]
        if not sp.steps:
            return None
    elif field == "dup":
        sp.steps.insert(i, copy.deepcopy(s))
    else:
        setattr(s, field, draw(st.integers(-2, len(sp.steps) + 2)))
    return sp, prog.schema, table, e.type


@FAST
@given(mutated_program())
def test_mutated_programs_work_or_raise(m: Any) -> None:
    if m is None:
        return
    sp, schema, table, _ = m
    from copypatch._core import lib

    from copypatch.layout import Executable

    if not testing.check_hostile(sp, schema, table):
        return  # refused by the verifier
    for engine in copypatch.ENGINES:
        exe = Executable(sp, engine)
        for mode in (lib.CP_SCAN_FILTER, lib.CP_SCAN_EVALUATE):
            if mode == lib.CP_SCAN_FILTER and sp.result_type is not copypatch.SqlType.BOOL:
                continue
            try:
                exe.scan(schema, table, mode)
            except CopypatchError:
                pass


def test_steps_program_rejects_garbage() -> None:
    for garbage in ("DONE", b"x", 42, None, [None], [{"op": 1}], [{"op": "DONE", "jump": "x"}]):
        with pytest.raises(CompileError):
            from_steps(garbage, TABLE)  # type: ignore[arg-type]
    assert steps_program([{"op": "DONE"}]).steps[0].opcode == "EEOP_DONE"


# ---- fuzzing the SQL front end ----------------------------------------------------------------
def compile_or_raise(sql: Any, table: Any = TABLE) -> None:
    # CPU time, not wall time: a hang detector that a loaded machine does not trip
    t0 = time.process_time()
    try:
        prog = copypatch.compile(sql, table)
        if prog.result_type is copypatch.SqlType.BOOL:
            prog.filter(table)
        prog.evaluate(table)
    except CopypatchError:
        pass
    assert time.process_time() - t0 < 30, f"{sql[:80]!r} took too long"


_TOKENS = st.sampled_from([
    "a", "b", "c", "1", "-1", "1.5", "1e400", "'x'", "'NaN'", "NULL", "TRUE", "(", ")", "+", "-",
    "*", "/", "%", "=", "<>", "!=", "<", ">=", "AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN",
    "SYMMETRIC", "CASE", "WHEN", "THEN", "ELSE", "END", "COALESCE", "NULLIF", ",", "::", "int2",
    "int8", "float4", "text", "numeric", "CAST", "AS", "||", "~", "SELECT", ";", "$1", "[", "]",
    "*", ".", "\\", "'", '"', "--", "/*", "E'\\x00'", "ANY", "ARRAY",
    # the grammar added later: DISTINCT, ALL/SOME, array literals, GREATEST/LEAST, calls, operators
    "DISTINCT", "FROM", "ALL", "SOME", "'{1,2}'", "'{'", "'{{1}}'", "[]", "GREATEST", "LEAST",
    "abs", "sqrt", "power", "int4eq", "atan2", "mod", "&", "|", "#", "<<", ">>", "^", "@", "|/",
    "||/", "count", "(*)", "OVER", "=>",
])


@FAST
@given(st.lists(_TOKENS, max_size=20).map(" ".join))
def test_token_soup_works_or_raises(sql: str) -> None:
    compile_or_raise(sql)


@FAST
@given(st.text(max_size=60))
def test_random_text_works_or_raises(sql: str) -> None:
    compile_or_raise(sql)


@FAST
@given(st.binary(max_size=60))
def test_random_bytes_work_or_raise(data: bytes) -> None:
    compile_or_raise(data.decode("utf-8", "replace"))
    with pytest.raises(TypeError):
        copypatch.compile(data, TABLE)  # type: ignore[arg-type]


@st.composite
def near_miss(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid generated expression with a few characters deleted, inserted or swapped."""
    case = draw(testing.cases(max_depth=3, max_rows=4))
    sql = case.expressions[0].sql
    for _ in range(draw(st.integers(1, 3))):
        if not sql:
            break
        i = draw(st.integers(0, len(sql) - 1))
        how = draw(st.sampled_from(["delete", "insert", "swap", "token"]))
        if how == "delete":
            sql = sql[:i] + sql[i + 1:]
        elif how == "insert":
            sql = sql[:i] + draw(st.characters()) + sql[i:]
        elif how == "swap" and i + 1 < len(sql):
            sql = sql[:i] + sql[i + 1] + sql[i] + sql[i + 2:]
        else:
            sql = sql[:i] + f" {draw(_TOKENS)} " + sql[i:]
    return sql, case.table


@FAST
@given(near_miss())
def test_near_miss_sql_works_or_raises(m: tuple[str, dict[str, Any]]) -> None:
    compile_or_raise(*m)


ABSURD = {
    "parentheses": "(" * 100_000 + "a" + ")" * 100_000 + " = 1",
    "nots": "NOT " * 50_000 + "a = 1",
    "plus chain": " + ".join(["a"] * 50_000) + " > 0",
    "cast chain": "a" + "::int8" * 20_000 + " = 1",
    "unary minus": "- " * 50_000 + "a = 1",
    "nested case": "CASE WHEN " * 3_000 + "true" + " THEN a END" * 3_000 + " = 1",
    "nested coalesce": "COALESCE(" * 5_000 + "a" + ")" * 5_000 + " = 1",
    "long AND": " AND ".join(f"a + {i} = a" for i in range(5_000)),
    "long OR": " OR ".join(f"(a > {i} AND b < 0)" for i in range(3_000)),
    "enormous IN list": "a IN (" + ", ".join(str(i) for i in range(100_000)) + ")",
    "IN list of columns": "a IN (" + ", ".join(["b", "a"] * 2_000) + ")",
    "wide CASE": "CASE " + " ".join(f"WHEN a = {i} THEN {i}" for i in range(3_000)) + " END = 1",
    "too long": "a" * 2_000_000,
    "NUL": "a = 1\x00",
}


@pytest.mark.parametrize("name", list(ABSURD))
def test_absurd_input_works_or_raises(name: str) -> None:
    compile_or_raise(ABSURD[name])


def test_huge_and_empty_tables() -> None:
    n = 2_000_000
    big = {"a": np.zeros(n, dtype=np.int32), "b": np.ma.masked_array(np.arange(n), mask=np.arange(n) % 3 == 0)}
    for engine in copypatch.ENGINES:
        prog = copypatch.compile("a = 0 AND b % 2 = 1", big, engine=engine)
        assert prog.filter(big).sum() == np.sum((np.arange(n) % 2 == 1) & (np.arange(n) % 3 != 0))
    one_row = {"a": np.array([7], dtype=np.int32)}
    empty = {"a": np.array([], dtype=np.int32)}
    wide = {f"c{i}": np.array([i], dtype=np.int16) for i in range(1700)}
    for engine in copypatch.ENGINES:
        assert copypatch.compile("a / 0 = 1", one_row, engine=engine).filter(empty).tolist() == []
        with pytest.raises(EvalError):
            copypatch.compile("a / 0 = 1", one_row, engine=engine).filter(one_row)
        for sql in ("c1699 = 1", "c10 = 10"):  # more columns than PostgreSQL allows
            with pytest.raises(CompileError):
                copypatch.compile(sql, wide, engine=engine).filter(wide)


def test_no_leak() -> None:
    """Compiling and running many programs does not grow the process."""
    def rss_kb() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)

    def work(k: int) -> None:
        for i in range(k):
            for engine in copypatch.ENGINES:
                prog = copypatch.compile(f"a + {i} > b OR a IN (1, 2, {i})", TABLE, engine=engine)
                prog.filter(TABLE)
                prog.evaluate(TABLE)
                prog.close()
                try:
                    copypatch.compile("a / 0 = 1 AND b = 1", TABLE, engine=engine).filter(TABLE)
                except EvalError:
                    pass
                try:
                    from_steps(A_EQ_42[:3], TABLE, engine=engine)
                except CompileError:
                    pass

    if not os.path.exists("/proc/self/statm"):
        pytest.skip("no /proc")
    work(300)  # warm up caches and arenas
    before = rss_kb()
    work(1500)
    grown = rss_kb() - before
    assert grown < 20_000, f"grew {grown} kB over 1500 x {len(copypatch.ENGINES)} programs"


def test_docs_examples_run() -> None:
    """The Python examples of docs/fuzzing.md run as written."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parent.parent / "docs" / "fuzzing.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, "docs/fuzzing.md", "exec"), namespace)  # noqa: S102
        if "test_my_engine_agrees" in namespace:
            namespace["test_my_engine_agrees"]()
