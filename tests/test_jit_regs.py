"""What only the JIT does (issue 13): the row and the columns in registers for the whole scan
(chain arguments of the stencils), column offsets as short immediates, and the row exits (a
step that decides a filter's row goes straight to the code that stores TRUE or FALSE)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from copypatch._core import ffi
from helpers import JIT_EXPRESSIONS, JIT_TABLE, error, run_all

import copypatch
from copypatch import jit
from copypatch.workload import make_table

pytestmark = pytest.mark.skipif(not jit.available(), reason="no JIT stencils for this machine")

X86 = jit.target() == "x86_64"
#: (state, econtext, row, columns) as the chain keeps them
STATE, ECONTEXT, ROW, COLUMNS = ("r12", "r13", "r14", "r15") if X86 else ("x20", "x21", "x22", "x23")

NULLS = [False, True, False, False, True, False, False, False]
TABLE = {
    "a": np.array([42, 7, -3, 2**31 - 1, -2**31, 0, 99, 64], dtype=np.int32),
    "b": np.ma.masked_array(np.array([11, 10, 5, 2**62, -2**62, 0, 12, 10], dtype=np.int64),
                            mask=NULLS),
    "c": np.array([1, 0, 3, 0, 5, 6, 7, 8], dtype=np.int32),
}


def jit_exe(sql: str, table: Any = JIT_TABLE, **kwargs: Any) -> jit.JitCode:
    """The machine code of the program's main part (the program is kept alive: its code and
    steps are freed with it)."""
    # row at a time: block_scan would make these programs of fused QUALs block programs
    kwargs.setdefault("optimize", tuple(p for p in copypatch.OPTIMIZATIONS if p != "block_scan"))
    prog = copypatch.compile(sql, table, engine="jit", **kwargs)
    _KEEP.append((prog, table))
    exe = prog._main
    assert exe is not None and exe.layout.jit is not None
    return exe.layout.jit


_KEEP: list[Any] = []


def steps_text(exe: jit.JitCode) -> str:
    """The listing of the steps and row exits (not the C-ABI entry)."""
    text = exe.disassemble()
    return text[: text.index("; entry")]


def test_disassembly_names_the_chain_registers() -> None:
    text = jit_exe("a = 42").disassemble()
    regs = jit.CHAIN_REGISTERS[jit.target() or ""]
    header = next(line for line in text.splitlines() if "chain registers" in line)
    for reg, what in regs.items():
        assert f"{what} {reg}" in header
    assert f"row {ROW}" in text and f"columns {COLUMNS}" in text


def test_the_column_is_read_through_the_columns_register() -> None:
    """The fused step's column address is the columns register plus a patched 32-bit offset
    (x86-64: a displacement; AArch64: one movz): no econtext->columns, no econtext->row load."""
    exe = jit_exe("c < 5")  # column 2: offset 2 * sizeof(CpColumn)
    text = steps_text(exe)
    offset = 2 * ffi.sizeof("CpColumn")
    if X86:
        assert f"[{COLUMNS} + {offset:#x}]" in text
        assert f"hole COL2 (R_X86_64_32S) = {offset:#x}" in text
    else:
        assert f"hole COL2 (R_AARCH64_MOVW_UABS_G0) = {offset:#x} << 0" in text
    # econtext->columns is never read, econtext->row only written (for helpers and errors)
    assert reads(text, ffi.offsetof("ExprContext", "columns")) == []
    assert reads(text, ffi.offsetof("ExprContext", "row")) == []
    assert writes(text, ffi.offsetof("ExprContext", "row"))


def _econtext_at(text: str, offset: int) -> list[tuple[str, str]]:
    """(mnemonic, operands) of every instruction that addresses econtext + offset."""
    mem = rf"\[{ECONTEXT} \+ {offset:#x}\]" if X86 else rf"\[{ECONTEXT}, #{offset:#x}\]"
    out = []
    for line in text.splitlines():
        m = re.match(r"\s+0x[0-9a-f]+: [0-9a-f]+\s+(\S+) ([^;]*)", line)
        if m and re.search(mem, m.group(2)):
            out.append((m.group(1), m.group(2).strip()))
    return out


def writes(text: str, offset: int) -> list[tuple[str, str]]:
    if X86:
        return [(i, o) for i, o in _econtext_at(text, offset) if i == "mov" and o.startswith("qword")]
    return [(i, o) for i, o in _econtext_at(text, offset) if i.startswith("st")]


def reads(text: str, offset: int) -> list[tuple[str, str]]:
    w = writes(text, offset)
    return [x for x in _econtext_at(text, offset) if x not in w]


def test_row_exits_replace_the_row_end() -> None:
    exe = jit_exe("a = 42")
    exits = exe.row_exits()
    offsets = exe.step_offsets()
    ops = [copypatch._fmgr.OPCODE_NAMES[exe.state.steps[i].opcode] for i in range(exe.nsteps)]
    assert ops == ["EEOP_QUAL_int4eq_NOTNULL", "EEOP_DONE_NEXTROW_FILTER"]
    # only the fused step reaches the row's end: its code is the exit the fused step's stencil
    # ends in a jump to (FALSE, so that it falls through); TRUE follows the steps
    assert exits[False] == offsets[1]
    assert exits[True] == offsets[2]
    text = exe.disassemble()
    assert "EEOP_DONE_NEXTROW_FILTER as the row exit FALSE" in text
    assert "; row exit TRUE" in text
    if X86:
        assert "(falls through)" in _step_listing(exe, 0)


@pytest.mark.parametrize("sql", ["a = 42 OR b > 10", "a + b > 1000 OR c < 5", "b IS NULL"])
def test_a_qual_decides_the_row(sql: str) -> None:
    # in filter mode the row's end is reached through EEOP_QUAL (ExecQual's step) or a fused
    # one: either way its result is known, so the row's end is the TRUE exit's code
    exe = jit_exe(sql)
    steps = [exe.state.steps[i].opcode for i in range(exe.nsteps)]
    assert copypatch._fmgr.OPCODE_NAMES[steps[-1]] == "EEOP_DONE_NEXTROW_FILTER"
    assert exe.step_offsets()[exe.nsteps - 1] in exe.row_exits().values()


def test_no_row_exits_when_evaluating() -> None:
    prog = copypatch.compile("a = 42", JIT_TABLE, engine="jit")
    assert prog.evaluate(JIT_TABLE).tolist() == (JIT_TABLE["a"] == 42).tolist()
    assert jit_exe("a + 1").row_exits() == {}


@pytest.mark.parametrize("sql", [
    *JIT_EXPRESSIONS,
    "a = 42 OR b > 10",
    "(a = 42 OR c = 0) AND b > 10",
    "NOT (a = 42) AND b <= 10",
    "a = 42 AND (b > 10) IS NULL",
    "b > 10 AND a <> 7 AND c >= 0",
    "a IN (7, 42) AND b IS NOT NULL",
    "b > 10",
    "a > 0 AND b > 0 AND c > 0",
])
@pytest.mark.parametrize("mode", ["filter", "evaluate"])
def test_every_engine_agrees(sql: str, mode: str) -> None:
    run_all(sql, TABLE, mode)
    run_all(sql, JIT_TABLE, mode)


def test_errors_report_their_row() -> None:
    """A helper that fails reads the row from econtext, which the chain keeps current."""
    assert error("a < 100 AND 100 / c > 1", TABLE, "filter") == ("22012", "division by zero", 1)
    assert error("b > 10 AND 100 / c > 1", TABLE, "filter") == ("22012", "division by zero", 3)
    assert error("100 / c", TABLE, "evaluate") == ("22012", "division by zero", 1)


def test_many_rows_in_chunks() -> None:
    """cp_scan enters the program once per chunk of rows, at econtext->row: the entry loads
    the row register from there."""
    rng = np.random.default_rng(7)
    n = 300_001
    table = {
        "a": rng.integers(0, 100, n, dtype=np.int32),
        "b": np.ma.masked_array(rng.integers(0, 50, n), mask=rng.random(n) < 0.2),
        "c": rng.integers(-5, 5, n, dtype=np.int32),
    }
    for sql in ("a = 42", "a = 42 AND b > 10", "c >= 0 OR b < 3", "a IN (1, 7, 42)"):
        want = copypatch.compile(sql, table, engine="goto").filter(table)
        got = copypatch.compile(sql, table, engine="jit").filter(table)
        assert np.array_equal(np.asarray(got), np.asarray(want)), sql
        want = copypatch.compile(f"({sql})::int + b", table, engine="goto").evaluate(table)
        got = copypatch.compile(f"({sql})::int + b", table, engine="jit").evaluate(table)
        assert np.ma.allequal(got, want) and np.array_equal(np.ma.getmaskarray(got),
                                                            np.ma.getmaskarray(want)), sql


def _step_listing(exe: jit.JitCode, step: int) -> str:
    text = exe.disassemble()
    start = text.index(f"; step {step}: ")
    end = text.find("\n;", start + 1)
    return text[start:end]


def test_constants_that_fit_are_short_immediates() -> None:
    exe = jit_exe("b > 10")
    listing = _step_listing(exe, 0)
    assert "short immediates" in listing
    if X86:
        assert "hole D1 (R_X86_64_32S) = 0xa" in listing and "movabs" not in listing
    else:
        assert "hole D1 (R_AARCH64_MOVW_UABS_G1) = 0x0 << 16" in listing
        assert "hole D1 (R_AARCH64_MOVW_UABS_G0_NC) = 0xa << 0" in listing
        assert "MOVW_UABS_G3" not in listing


def fits_short(constant: int) -> bool:
    """x86-64's 32-bit immediate is sign-extended, AArch64's movz/movk pair zero-extended."""
    return -(2**31) <= constant < 2**31 if X86 else 0 <= constant < 2**32


@pytest.mark.parametrize("constant", [2**31, 2**32 - 1, 2**32 + 7, -1, -(2**31) - 1, 2**62])
def test_constants_that_do_not_fit_take_the_64_bit_stencil(constant: int) -> None:
    # beyond the immediate's range the step runs the 64-bit stencil, never a truncated constant
    sql = f"b > {constant}"
    listing = _step_listing(jit_exe(sql, TABLE), 0)
    assert ("short immediates" in listing) == fits_short(constant)
    if not fits_short(constant):
        assert ("R_X86_64_64" if X86 else "R_AARCH64_MOVW_UABS_G3") in listing
    run_all(sql, TABLE, "filter")
    run_all(f"b - {constant}", TABLE, "evaluate")


@pytest.mark.parametrize("constant", [-1, -(2**31), 2**31 - 1, 2**32 - 1, 0])
def test_constants_at_the_edges(constant: int) -> None:
    for sql in (f"b > {constant}", f"b = {constant} OR a = 7", f"b + {constant}"):
        run_all(sql, TABLE, "filter" if ">" in sql or "=" in sql else "evaluate")


def test_a_fused_step_whose_result_nobody_reads_writes_none() -> None:
    # both go to the row exits or to another fused step: no result slot is written per row
    exe = jit_exe("a = 42 AND c > 3")
    for step in (0, 1):
        listing = _step_listing(exe, step)
        assert "no result" in listing
        assert not re.search(rf"(mov|str\w*) [^;]*\[{STATE}", listing), listing
    # only fused steps: the lean exits (the row written back once, at the end)
    assert ", lean" in exe.disassemble()


def test_a_fused_step_before_other_steps_writes_its_result() -> None:
    exe = jit_exe("a < 100 AND 100 / c > 1")
    assert "no result" not in _step_listing(exe, 0)
    assert ", lean" not in exe.disassemble()  # the division can fail: the row stays current
    assert error("a < 100 AND 100 / c > 1", TABLE, "filter") == ("22012", "division by zero", 1)


@pytest.mark.parametrize("sql", ["a + b > 1000 OR c < 5",
                                 "COALESCE(b, c) > 50 AND CASE WHEN a > 50 THEN c ELSE a END < 20"])
def test_slot_operands_are_offsets_from_state(sql: str) -> None:
    """The program's slots and call infos share one block with its ExprState: a step reaches
    them as the state register plus a patched 32-bit offset, with no 64-bit address at all."""
    exe = jit_exe(sql, make_table(50))
    text = steps_text(exe)
    assert "state-relative operands" in text
    assert "hole SRESVALUE" in text and "hole SD0" in text
    assert ("movabs" if X86 else "MOVW_UABS_G3") not in text
    if X86:
        assert re.search(rf"\[{STATE} \+ 0x[0-9a-f]+\][^;]*; hole SRESVALUE", text)
    run_all(sql, TABLE, "filter")
    run_all(sql, JIT_TABLE, "evaluate")
