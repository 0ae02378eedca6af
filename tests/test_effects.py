"""Every slot each opcode reads and writes is declared (opcodes.def's effects), the verifier's
dataflow is derived from the declarations, and the checking interpreter proves them: issue 11's
verifier holes, each a CompileError, and the hostile-program fuzzer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import copypatch
from copypatch import CompileError, testing
from copypatch.opcodes import OPS, Effect
from copypatch.rawsteps import from_steps

#: examples of the hostile-program fuzzer; each runs on every engine and the checking interpreter
HOSTILE = int(os.environ.get("COPYPATCH_HOSTILE_PROGRAM_EXAMPLES", "300"))
FUZZ = int(os.environ.get("COPYPATCH_HOSTILE_EXAMPLES", "200"))
_SETTINGS: dict[str, Any] = {
    "deadline": None, "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much]}

TABLE = {"a": np.array([1, 2], dtype=np.int64)}


def refused(steps: list[dict[str, Any]], **kw: Any) -> str:
    with pytest.raises(CompileError) as e:
        from_steps(steps, TABLE, **kw)
    return str(e.value)


# ---- issue 11, items 1-4 --------------------------------------------------------------------
ITEM_1 = [  # SCALARARRAYOP writes each element into args[1]: the array there is gone
    {"op": "CONST", "array": [1, 2], "type": "int8", "to": "step3.arg1"},
    {"op": "CONST", "const": 1, "type": "int8", "to": "step3.arg0"},
    {"op": "CONST", "array": [1, 2], "type": "int8", "to": "tmp0"},
    {"op": "SCALARARRAYOP", "func": "int8eq", "use_or": True, "to": "tmp0"},
    {"op": "CONST", "const": 1, "type": "int8", "to": "step5.arg0"},
    {"op": "SCALARARRAYOP", "func": "int8eq", "use_or": True, "to": "step3.arg1"},
    {"op": "CONST", "const": True, "type": "bool", "to": "result"},
    {"op": "DONE"},
]


def test_item_1_scalararrayop_writes_its_argument_1() -> None:
    # it segfaulted before the fix: run it where a crash is a failure, not the end of the suite
    code = textwrap.dedent(f"""
        import numpy as np, copypatch
        for engine in copypatch.ENGINES:
            try:
                p = copypatch.from_steps({ITEM_1!r}, {{"a": np.int64}}, engine=engine)
            except copypatch.CompileError as e:
                print("refused:", e)
            else:
                p.evaluate({{"a": np.array([1], dtype=np.int64)}})
                print("accepted")
    """)
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("refused:") == len(copypatch.ENGINES), r.stdout
    assert "step 3 (EEOP_SCALARARRAYOP): reads fcinfo0.arg1 as int8, but it holds int8[]" in r.stdout


def test_item_2_anynull_is_a_flag_without_a_value() -> None:
    steps: list[dict[str, Any]] = [
        {"op": "CONST", "array": [1, 2], "type": "int8", "to": "tmp1"},
        {"op": "CONST_NULL", "const": None, "type": "int8", "to": "tmp1"},
        {"op": "CONST", "const": True, "type": "bool", "to": "result"},
        {"op": "BOOL_AND_STEP_FIRST", "tmp": 1, "jump": 4, "to": "result"},
        {"op": "CASE_TESTVAL", "tmp": 1, "to": "result"},
        {"op": "DONE"},
    ]
    assert ("step 4 (EEOP_CASE_TESTVAL): reads the value of tmp1, but only its NULL flag was "
            "written there" in refused(steps, result_type="int8"))


def test_item_3_nonull_only_where_no_null_arrives() -> None:
    steps: list[dict[str, Any]] = [
        {"op": "CONST", "array": [1, 2], "type": "int8", "to": "step2.arg0"},
        {"op": "CONST_NULL", "const": None, "type": "int8", "to": "step2.arg0"},
        {"op": "INLINE_int8pl_NONULL", "func": "int8pl", "args": {1: 0}, "to": "result"},
        {"op": "DONE"},
    ]
    msg = "reads fcinfo0.arg0 without a NULL check, but it can be NULL there"
    assert msg in refused(steps, result_type="int8")
    # every NONULL variant: the strict calls that check one argument, a strict function called
    # without checks (FUNCEXPR), a NULL constant's stale value under CONST_NULL
    for op in ("FUNCEXPR_STRICT_ARG1", "FUNCEXPR"):
        bad = [dict(s) for s in steps]
        bad[2] = {"op": op, "func": "int8pl", "args": {1: 0}, "to": "result"}
        if op == "FUNCEXPR_STRICT_ARG1":
            bad[2]["args"] = {}
            bad.insert(2, {"op": "CONST", "const": 1, "type": "int8", "to": "step3.arg1"})
            bad[0]["to"] = bad[1]["to"] = "step3.arg0"
        assert "without a NULL check, but it can be NULL" in refused(bad, result_type="int8")
    # with no NULL on the way, the same opcode is accepted and right on every engine
    ok: list[dict[str, Any]] = [{"op": "CONST", "const": 40, "type": "int8", "to": "step1.arg0"},
          {"op": "INLINE_int8pl_NONULL", "func": "int8pl", "args": {1: 2}, "to": "result"},
          {"op": "DONE"}]
    for engine in copypatch.ENGINES:
        assert from_steps(ok, TABLE, result_type="int8", engine=engine).evaluate(TABLE).tolist() == [42, 42]
    # the NULL column behind a _NOTNULL column read, and a NULL after COALESCE's test, also
    nullable = {"b": np.ma.masked_array(np.array([1, 2], dtype=np.int64), mask=[True, False])}
    with pytest.raises(CompileError, match="column 0 \\(b\\) is nullable"):
        from_steps([{"op": "SCAN_COLUMN_INT8_NOTNULL", "attnum": 0, "to": "result"},
                    {"op": "DONE"}], nullable, result_type="int8")


def test_a_stale_array_under_a_null_flag_is_not_an_in_list() -> None:
    # SCALARARRAYOP reads its array with no NULL check: a NULL flag over it leaves none
    steps: list[dict[str, Any]] = [
        {"op": "CONST", "const": 1, "type": "int8", "to": "step3.arg0"},
        {"op": "CONST", "array": [1, 2], "type": "int8", "to": "result"},
        {"op": "CONST_NULL", "const": None, "type": "bool", "to": "result"},
        {"op": "SCALARARRAYOP", "func": "int8eq", "use_or": True, "to": "result"},
        {"op": "DONE"},
    ]
    assert "reads the value of the result" not in refused(steps)  # the type changed too
    steps[2]["type"] = "int8"
    assert "reads the result without a NULL check" in refused(steps) or \
        "holds int8" in refused(steps)


def test_a_step_cannot_alias_its_own_slots() -> None:
    steps: list[dict[str, Any]] = [
             {"op": "CONST", "const": 1, "type": "int4", "to": "step1.arg1"},
             {"op": "FUNCEXPR_STRICT", "func": "int4pl", "args": {0: 1}, "to": "step1.arg1"},
             {"op": "CONST", "const": True, "type": "bool", "to": "result"}, {"op": "DONE"}]
    assert "fcinfo0.arg1 is both its" in refused(steps)
    steps = [{"op": "CONST", "const": True, "type": "bool", "to": "tmp0"},
             {"op": "BOOL_AND_STEP_FIRST", "tmp": 0, "jump": 2, "to": "tmp0"},
             {"op": "CONST", "const": True, "type": "bool", "to": "result"}, {"op": "DONE"}]
    assert "tmp0 is both its dest and its tmp" in refused(steps)


@pytest.mark.parametrize("to", [("tmp", -1000000), ("tmp", "x"), ("tmp", 1 << 40), ("arg", 0, 9)])
def test_item_4_bad_destinations_and_operands(to: Any) -> None:
    # the JUMP's destination (it has none) and any step's: a CompileError, never a pointer
    # outside the temporaries or a TypeError from the layout
    for op in ("JUMP", "CONST"):
        steps: list[dict[str, Any]] = [{"op": "CONST", "const": 1, "type": "int8", "to": "result"},
                                       {"op": op, "jump": 2, "to": to}, {"op": "DONE"}]
        if op == "CONST":
            steps[1] = {"op": op, "const": 1, "type": "int8", "to": to}
        refused(steps, result_type="int8")
    with pytest.raises(CompileError, match="jump must be an int"):
        from_steps([{"op": "JUMP", "jump": "x"}, {"op": "DONE"}], TABLE)
    with pytest.raises(CompileError, match="tmp must be an int"):
        from_steps([{"op": "CASE_TESTVAL", "tmp": "x", "to": "result"}, {"op": "DONE"}], TABLE)


@pytest.mark.parametrize("t", ["float4", "float8"])
def test_item_4_a_float_too_large_for_its_type(t: str) -> None:
    for where in ("const", "array", "arg"):
        steps: list[dict[str, Any]]
        if where == "arg":
            steps = [{"op": "FUNCEXPR", "func": f"{t}pl", "args": [10**400, 1.0], "to": "result"},
                     {"op": "DONE"}]
        else:
            steps = [{"op": "CONST", where: 10**400 if where == "const" else [10**400],
                      "type": t, "to": "result"}, {"op": "DONE"}]
        msg = refused(steps, result_type=t)
        assert "is not a value of type" in msg and len(msg) < 200, msg


# ---- the checking interpreter proves the declarations ---------------------------------------
def test_the_checking_interpreter_sees_a_wrong_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    prog = copypatch.compile("a + 1 > 2", TABLE, optimize=())
    assert prog.steps is not None
    assert testing.checked_outcomes(prog.steps, prog.schema, TABLE) == {"filter": ("ok", [False, True])}
    info = OPS["EEOP_FUNCEXPR_STRICT"]
    # a write the table does not declare
    wrong = dict(info.effects, DEST=Effect("NONE", "NONE", "MUST"))
    monkeypatch.setitem(OPS, "EEOP_FUNCEXPR_STRICT", info._replace(effects=wrong))
    with pytest.raises(testing.DeclarationMismatch, match="step 2 .* wrote the value of fcinfo0.arg0, undeclared"):
        testing.checked_outcomes(prog.steps, prog.schema, TABLE)
    # a read the table does not declare: the step computes with the canary
    wrong = {"DEST": info.effects["DEST"]}
    monkeypatch.setitem(OPS, "EEOP_FUNCEXPR_STRICT", info._replace(effects=wrong))
    out = testing.checked_outcomes(prog.steps, prog.schema, TABLE)
    assert out["filter"] != ("ok", [False, True])
    # a MUST write the step does not do: a strict call's value, under a NULL argument
    nulls = {"a": np.ma.masked_array(np.array([1, 2], dtype=np.int64), mask=[True, False])}
    prog = copypatch.compile("a + 1 > 2", nulls, optimize=())
    assert prog.steps is not None
    wrong = dict(info.effects, DEST=Effect("NONE", "MUST", "MUST"))
    monkeypatch.setitem(OPS, "EEOP_FUNCEXPR_STRICT", info._replace(effects=wrong))
    with pytest.raises(testing.DeclarationMismatch, match="did not write the value it must"):
        testing.checked_outcomes(prog.steps, prog.schema, nulls)


@settings(max_examples=FUZZ, **_SETTINGS)
@given(testing.cases(max_depth=4, max_rows=6))
def test_compiled_programs_do_what_their_opcodes_declare(case: testing.Case) -> None:
    """Every opcode the front end and the passes produce, on the checking interpreter."""
    for e in case.expressions:
        for _, kw in testing.optimization_settings():
            try:
                prog = copypatch.compile(e.sql, case.table, **kw)
            except copypatch.EvalError:
                continue
            if prog.steps is None:
                continue
            checked = testing.checked_outcomes(prog.steps, prog.schema, case.table)
            for mode, want in checked.items():
                assert testing.outcome(e.sql, case.table, mode, "switch", **kw) == want
            prog.close()


@settings(max_examples=HOSTILE, **_SETTINGS)
@given(testing.hostile_programs())
def test_hostile_programs_are_refused_or_run_as_declared(m: Any) -> None:
    """A program the verifier accepts never reads a value it did not write, on any engine."""
    if m is not None:
        testing.check_hostile(*m)


_OPS_SQL = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "pl": "+",
            "mi": "-", "mul": "*", "div": "/", "mod": "%"}


def test_every_opcode_runs_on_the_checking_interpreter() -> None:
    """A corpus that reaches every opcode, each checked against its effects (the fuzzers reach
    most of them, but not each inlined built-in on every run)."""
    from copypatch.opcodes import INLINED, INLINED_COMPARISONS

    table: dict[str, Any] = {}
    for t in testing.TYPES:
        data = np.array([0, 1, 2, 3], dtype=t.dtype)
        table[f"n_{t.value}"] = data
        table[f"m_{t.value}"] = np.ma.masked_array(data, mask=[True, False, False, False])
    sql = ["n_bool IS TRUE", "m_bool IS NOT TRUE", "m_bool IS FALSE", "m_bool IS NOT FALSE",
           "m_bool IS UNKNOWN", "m_bool IS NOT UNKNOWN", "m_int4 IS NULL",
           "m_bool AND n_bool AND m_bool", "m_bool OR n_bool OR m_bool", "NOT m_bool",
           "m_int4 IN (1, 2, NULL)", "m_int4 = ALL ('{1,2}')", "m_int4 IS DISTINCT FROM n_int4",
           "NULLIF(m_int4, 1) = 2", "GREATEST(m_int4, n_int4, 2) > 1", "LEAST(m_int8, 1) < 3",
           "CASE m_int4 WHEN 1 THEN m_bool WHEN 2 THEN n_bool END",
           "CASE WHEN m_bool THEN 1 ELSE m_int4 END = 1", "COALESCE(m_int4, n_int4) > 0",
           "num_nulls(m_int4, m_int2) = 0", "m_int2 + NULL::int2 > 1",
           "m_int4 = ANY (ARRAY[n_int4, m_int4, 2])", "n_int8 <> ALL (ARRAY[m_int8, n_int8])"]
    for f in sorted(INLINED):
        op = f[-2:] if f[-2:] in _OPS_SQL else f[-3:]
        typ = f.removesuffix(op)
        # int48: int4 with int8
        tx, ty = (typ[:4], f"int{typ[4]}") if typ in ("int48", "int84") else (typ, typ)
        for a, b in (("m", "n"), ("n", "m"), ("n", "n"), ("m", "m")):
            expr = f"{a}_{tx} {_OPS_SQL[op]} {b}_{ty}"
            sql.append(f"({expr}) IS NOT NULL" if op in ("pl", "mi", "mul", "div", "mod")
                       else expr)
        if f in INLINED_COMPARISONS:  # the fused compare-and-branch, and the inlined IN list
            k = f"1::{ty}"
            sql += [f"m_{tx} {_OPS_SQL[op]} {k}", f"n_{tx} {_OPS_SQL[op]} {k}",
                    f"m_{tx} {_OPS_SQL[op]} ANY (ARRAY[{k}, NULL])",
                    f"n_{tx} {_OPS_SQL[op]} ALL (ARRAY[{k}, 2::{ty}])",
                    f"n_{tx} {_OPS_SQL[op]} ANY (ARRAY[{k}, 2::{ty}])"]
    for t in testing.TYPES:
        sql.append(f"(m_{t.value} IS NULL) = (n_{t.value} IS NULL)")
    before = testing.CHECKED_OPCODES.copy()
    for text in sql:
        for _, kw in testing.optimization_settings():
            prog = copypatch.compile(text, table, **kw)
            # both of its programs: the qual's and the SELECT-list expression's
            for sp in (prog.steps, prog._expr_program().sp):
                if sp is not None:
                    testing.checked_outcomes(sp, prog.schema, table)
            prog.close()
    # the one opcode only raw steps produce
    raw = from_steps([{"op": "CONST", "const": True, "type": "bool", "to": "result"},
                      {"op": "JUMP_IF_NULL", "jump": 2, "to": "result"}, {"op": "DONE"}], TABLE)
    assert testing.checked_outcomes(raw.steps, raw.schema, TABLE)["filter"] == ("ok", [True, True])
    reached = testing.CHECKED_OPCODES - before
    assert sorted(set(OPS) - set(reached)) == []


@pytest.mark.parametrize("mode, other", [("filter", "EVALUATE"), ("evaluate", "FILTER")])
def test_a_row_loop_of_the_other_mode_is_refused(mode: str, other: str) -> None:
    """Found by the hostile-program fuzzer: a program made for filter() whose row loop ends in
    EEOP_DONE_NEXTROW_EVALUATE was accepted, then refused only when scanned."""
    from copypatch.verify import verify

    table = {"c0": np.array([True, False])}
    prog = copypatch.compile("c0", table)
    sp = prog.steps
    assert sp is not None
    sp.mode = mode
    last = sp.steps[-1]
    assert last.opcode.startswith("EEOP_DONE_NEXTROW_")
    last.opcode = f"EEOP_DONE_NEXTROW_{other}"
    with pytest.raises(CompileError, match=f"EEOP_DONE_NEXTROW_{other} cannot {mode}"):
        verify(sp, prog.schema)


def test_a_per_row_array_is_read_by_its_scalararrayop() -> None:
    """Found by the hostile-program fuzzer in CI: `c = ANY (ARRAY[c])` with the array built per
    row. The SCALARARRAYOP reads the elements through the array the ARRAY[...] before it made;
    the checking interpreter poisoned them as unread and answered FALSE where every engine said
    TRUE."""
    table = {"c": np.array([0, 5], dtype=np.int16)}
    for fn in ("int2eq", "int2ne"):
        raw = from_steps([
            {"op": "SCAN_FETCHSOME", "last_var": 1},
            {"op": "SCAN_VAR", "attnum": 0, "to": "step4.arg0"},
            {"op": "SCAN_VAR", "attnum": 0, "to": "tmp0"},
            {"op": "ARRAYEXPR", "tmp": 0, "nelems": 1, "to": "result"},
            {"op": "SCALARARRAYOP", "func": fn, "use_or": True, "to": "result"},
            {"op": "DONE"},
        ], table)
        assert testing.check_hostile(raw.steps, raw.schema, table)
        want = [fn == "int2eq"] * 2
        assert testing.checked_outcomes(raw.steps, raw.schema, table)["filter"] == ("ok", want)
