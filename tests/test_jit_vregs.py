"""Values in registers across steps (issue 13, the JIT only): a value read by the next step alone
is handed over in the value registers (value and NULL flag, the chain's last two arguments), not
through its slot; where each value lives is decided once per program (compile.c's
choose_locations) and shown by explain() and disassemble()."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from copypatch._core import lib
from helpers import JIT_TABLE, error, run_all

import copypatch
from copypatch import jit
from copypatch.workload import QUERIES, make_table

pytestmark = pytest.mark.skipif(not jit.available(), reason="no JIT stencils for this machine")

VALUE, NULL = ("rdi", "rsi") if jit.target() == "x86_64" else ("x24", "x25")
VALUE_REGS = jit.VALUE_REGISTERS[jit.target() or "x86_64"]

NULLS = [False, True, False, False, True, False, False, False]
TABLE = {
    "a": np.array([42, 7, -3, 2**31 - 1, -2**31, 0, 99, 64], dtype=np.int32),
    "b": np.ma.masked_array(np.array([11, 10, 5, 2**62, -2**62, 0, 12, 10], dtype=np.int64),
                            mask=NULLS),
    "c": np.array([1, 0, 3, 0, 5, 6, 7, 8], dtype=np.int32),
}

_KEEP: list[Any] = []


def compiled(sql: str, table: Any = TABLE, **kwargs: Any) -> tuple[Any, jit.JitCode]:
    prog = copypatch.compile(sql, table, engine="jit", **kwargs)
    _KEEP.append((prog, table))
    exe = prog._main
    assert exe is not None and exe.layout.jit is not None
    return prog, exe.layout.jit


@contextmanager
def value_registers(on: bool) -> Iterator[None]:
    lib.cp_jit_set_value_registers(int(on))
    try:
        yield
    finally:
        lib.cp_jit_set_value_registers(1)


def step_listing(code: jit.JitCode, i: int) -> str:
    text = code.disassemble()
    start = text.index(f"; step {i}: ")
    end = text.index("\n;", start + 1)
    return text[start:end]


def test_or_arith_hands_its_values_over_in_registers() -> None:
    # a + b > 1000 OR c < 5: b's column read -> int48pl (argument 1) -> int84gt (argument 0) ->
    # the OR steps -> the QUAL, and c's read -> int4lt: every hand-over but a's (int48pl reads
    # argument 0 from its slot: it is not the step before) is in the registers
    prog, code = compiled(QUERIES["or_arith"], make_table(100))
    notes = code.locations()
    assert notes[0] == ""  # a: read by step 2, not step 1
    assert notes[1] == "destination in registers"
    assert notes[2] == "argument 1 from registers, destination in registers"
    assert notes[3] == "argument 0 from registers, destination in registers"
    assert notes[5] == "destination in registers"
    assert notes[6] == "argument 0 from registers, destination in registers"
    assert all(notes[i] == "destination in registers" for i in (4, 7, 8))  # OR, OR, QUAL
    explained = prog.explain()
    assert "-> fcinfo1.arg1  [destination in registers]" in explained
    # a producer that hands its value over stores nothing: no destination hole in its code
    for i in (1, 2, 3, 5, 6):
        listing = step_listing(code, i)
        assert "SRESVALUE" not in listing and "RESVALUE" not in listing, listing
        # the value register, by any of its names (x86-64 edi for an int4, AArch64 w24)
        assert any(f"value {reg}" in listing for reg, what in VALUE_REGS.items()
                   if what == "value"), listing
    assert "SRESVALUE" in step_listing(code, 0)
    header = code.disassemble().splitlines()[2]
    assert f"value {VALUE}" in header and f"null {NULL}" in header


def test_without_value_registers_every_value_goes_through_its_slot() -> None:
    with value_registers(False):
        _, code = compiled(QUERIES["or_arith"], make_table(100))
    assert not any(code.locations())
    for i in (1, 2, 3, 5, 6):
        assert "RESVALUE" in step_listing(code, i)


def test_jumps_that_carry_the_same_slot_keep_it_in_registers() -> None:
    # COALESCE(b, c) > 50 AND CASE WHEN a > 50 THEN c ELSE a END < 20: the CASE's two branches
    # (steps 10 and 12) both leave fcinfo2.arg0 in the registers, so step 13, a jump target,
    # reads it there; c for the cast (a call, which reads its call info) stays in its slot
    prog, code = compiled(QUERIES["coalesce_case"], make_table(100))
    notes = code.locations()
    explained = prog.explain().splitlines()[1:]
    assert "EEOP_FUNCEXPR" in explained[3] and notes[2] == ""
    assert "EEOP_JUMP " in explained[11]
    assert notes[10] == notes[12] == "destination in registers"
    assert notes[13] == "argument 0 from registers, destination in registers"
    assert notes[1] == notes[4] == "destination in registers"  # the JUMP_IF_NOT_NULLs


@pytest.mark.parametrize("sql", ["a + b", "(a + b) * 2", "coalesce(b, c) + 1"])
def test_a_result_the_row_end_reads_stays_in_its_slot(sql: str) -> None:
    # evaluate mode: the row's end reads the result slot, so the last step writes it there
    _, code = compiled(sql, JIT_TABLE)
    last = len(code.locations()) - 2  # the step before the row's end
    assert "destination in registers" not in code.locations()[last]
    assert "RESVALUE" in step_listing(code, last)
    run_all(sql, JIT_TABLE, "evaluate")


SQL = [
    QUERIES["or_arith"],
    QUERIES["coalesce_case"],
    "a + b > 12 OR c < 2",
    "(a + b) * 2 > 10 IS NOT TRUE",
    "NOT (b > 10) OR b IS NULL",
    "CASE WHEN b IS NULL THEN a ELSE b END > 3 AND c <> 0",
    "coalesce(b, c) + a < 100 OR (b - 1 > 3 AND a < 50)",
    "(b > 10) IS NOT FALSE AND (a < 0 OR c > 4)",
]


@pytest.mark.parametrize("sql", SQL)
@pytest.mark.parametrize("mode", ["filter", "evaluate"])
def test_every_engine_agrees(sql: str, mode: str) -> None:
    run_all(sql, TABLE, mode)
    run_all(sql, JIT_TABLE, mode)


@pytest.mark.parametrize("sql", SQL)
def test_the_same_answers_with_and_without_value_registers(sql: str) -> None:
    table = make_table(2000)
    with value_registers(False):
        slots = copypatch.compile(sql, table, engine="jit")
        without = slots.filter(table)
    with_regs = copypatch.compile(sql, table, engine="jit")
    assert np.array_equal(with_regs.filter(table), without)
    assert np.array_equal(with_regs.filter(table),
                          copypatch.compile(sql, table, engine="goto").filter(table))


def test_an_overflow_in_registers_reports_its_row() -> None:
    table = {
        "a": np.array([1, 2, 3, 4], dtype=np.int32),
        "b": np.ma.masked_array(np.array([5, 2**63 - 1, 2**63 - 2, 0], dtype=np.int64),
                                mask=[False, True, False, False]),
        "c": np.array([9, 9, 9, 9], dtype=np.int32),
    }
    # row 1's b is NULL (no overflow); row 2 overflows with a + b handed over in registers
    assert error("a + b > 1000 OR c < 5", table, "filter") == (
        "22003", "bigint out of range", 2)
    _, code = compiled("a + b > 1000 OR c < 5", table)
    assert "argument 1 from registers" in code.locations()[2]


def test_value_registers_leave_other_stencils_as_they_were() -> None:
    # the stencils that hand nothing on pass the registers as undefined: no instruction for it
    # (a plain jump is a bare jmp, and identical with and without the registers)
    _, code = compiled(QUERIES["coalesce_case"], make_table(100))
    listing = step_listing(code, 11)
    assert re.findall(r"^  0x[0-9a-f]+: ", listing, re.MULTILINE) and len(listing.splitlines()) == 2


def test_deciding_the_locations_stays_linear_in_practice() -> None:
    # 271 steps, 120 values in registers: every producer's walk stops where its slot is written
    # again, and every pass reverts all the producers that break a rule (one at a time, with a
    # walk to the program's end each, this took 13.7 ms)
    sql = " AND ".join(f"coalesce(b, c) + a <> {i}" for i in range(30))
    table = make_table(100)
    times = []
    for _ in range(5):
        prog, code = compiled(sql, table)
        times.append(prog.compile_ns)
    assert sum(1 for note in code.locations() if note) > 100
    assert min(times) < 2_000_000, times
    assert np.array_equal(prog.filter(table),
                          copypatch.compile(sql, table, engine="goto").filter(table))
