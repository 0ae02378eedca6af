"""The JIT on AArch64: the run's architecture, x16-only veneers, instruction-cache maintenance."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from copypatch._core import lib
from helpers import JIT_EXPRESSIONS, JIT_TABLE

import copypatch
from copypatch import jit
from copypatch._stencils._targets import MACHINES

ROOT = Path(__file__).resolve().parents[1]
# set by tools/test-arm64.sh: this process is meant to be an aarch64 Python under qemu-user
ARM64_RUN = os.environ.get("COPYPATCH_ARM64_QEMU") == "1"
needs_jit = pytest.mark.skipif(not jit.available(), reason="no JIT stencils for this machine")
# deselected (not skipped) elsewhere by conftest.py: CI allows no skips
aarch64_only = pytest.mark.aarch64_only

TABLE = {**JIT_TABLE, "x": np.linspace(-3.0, 3.0, 200)}
EXPRESSIONS = [*JIT_EXPRESSIONS, "x * 2.5 > a::float8 / 40 OR x IS NULL"]


def capstone_arm64() -> Any:
    import capstone

    arm64 = getattr(capstone, "CS_ARCH_ARM64", None) or capstone.CS_ARCH_AARCH64
    return capstone.Cs(arm64, capstone.CS_MODE_ARM)


def jit_code(sql: str) -> Any:
    prog = copypatch.compile(sql, TABLE, engine="jit", optimize=())  # calls stay calls
    assert prog._main is not None and prog._main.layout.jit is not None
    return prog, prog._main.layout.jit


def test_stencil_set_is_the_machines() -> None:
    """The extension carries the stencils of the machine it runs on (or none)."""
    assert jit.target() == MACHINES.get(platform.machine())


@pytest.mark.arm64_run  # only in the aarch64 run (tools/test-arm64.sh)
def test_this_run_is_aarch64_and_the_jit_runs_aarch64_code() -> None:
    """The qemu run really is AArch64, end to end: the interpreter, the extension, the JIT's
    stencil set, and the bytes of the code the JIT produced, which capstone decodes as ARM64;
    and that code gives the interpreters' results."""
    assert platform.machine() == "aarch64"
    assert copypatch._core.__file__.endswith("aarch64-linux-gnu.so")  # type: ignore[attr-defined]
    assert jit.target() == "aarch64"
    md = capstone_arm64()
    for sql in EXPRESSIONS:
        prog, code = jit_code(sql)
        body = code.code()[
            : code.step_offsets()[-1]
        ]  # the steps (then the entry, a trap and veneers)
        insns = list(md.disasm(body, 0))
        assert sum(i.size for i in insns) == len(body) and len(body) % 4 == 0, sql
        assert "ret" in {i.mnemonic for i in insns}  # EEOP_DONE
        for engine in ("switch", "goto"):
            other = copypatch.compile(sql, TABLE, engine=engine)
            assert prog.filter(TABLE).tolist() == other.filter(TABLE).tolist(), (sql, engine)
            assert prog.evaluate(TABLE).tolist() == other.evaluate(TABLE).tolist(), (sql, engine)
    # a program's first step is SCAN_FETCHSOME or a column read: a movz of an operand hole, or
    # (issue 13) a load of the column's data pointer from the columns register
    first = md.disasm(jit_code("a = 42")[1].code()[:4], 0).__next__()
    assert first.mnemonic in ("mov", "movz", "ldr"), first


@pytest.mark.arm64_run  # only in the aarch64 run (tools/test-arm64.sh)
def test_the_provider_runs_inside_an_aarch64_postgresql() -> None:
    """tests/test_pg_provider.py's server in this run is Debian's arm64 PostgreSQL under qemu,
    and its JIT provider copypatch's, built for aarch64 (AArch64 stencils and code): the
    standard queries give the rows of the JIT off, every expression compiled."""
    from copypatch import pgprovider
    from copypatch.pg import PostgreSQL
    from copypatch.workload import QUERIES, make_table

    with PostgreSQL(jit_provider=True) as pg:
        (version,) = pg.conn.execute("SELECT version()").fetchone()
        assert "aarch64" in version, version
        assert pg.cluster is not None and pg.cluster.jit_provider is not None
        from elftools.elf.elffile import ELFFile

        with pg.cluster.jit_provider.library.open("rb") as f:
            assert ELFFile(f)["e_machine"] == "EM_AARCH64"  # as _stencils/_elf.py reads it
        pg.load(make_table(300))
        for name, sql in QUERIES.items():
            before = pgprovider.stats(pg.conn)
            on = pg.filter(sql, jit="on").tolist()
            after = pgprovider.stats(pg.conn)
            assert on == pg.filter(sql, jit="off").tolist(), name
            assert after["compiled"] > before["compiled"], name
            assert after["fallbacks"] == before["fallbacks"], after["last_fallback_reason"]


@needs_jit
@aarch64_only
def test_veneers_use_only_x16() -> None:
    """Calls to helpers beyond bl's +-128 MiB go through `ldr x16, #8; br x16; .quad target`
    (forced here for every call): the procedure call standard lets a veneer clobber only
    x16/x17. Results are unchanged."""
    md = capstone_arm64()
    lib.cp_jit_set_far_calls(1)
    try:
        for sql in EXPRESSIONS:
            prog, code = jit_code(sql)
            expected = copypatch.compile(sql, TABLE, engine="goto").filter(TABLE)
            assert prog.filter(TABLE).tolist() == expected.tolist(), sql
            raw = code.code()
            start = code.trampoline_offset()
            assert (len(raw) - start) % 16 == 0 and len(raw) > start, sql  # at least one veneer
            for pos in range(start, len(raw), 16):
                ldr, br = md.disasm(raw[pos : pos + 8], 0)
                assert (ldr.mnemonic, ldr.op_str) == ("ldr", "x16, #8")
                assert (br.mnemonic, br.op_str) == ("br", "x16")
            # every bl in the steps lands on a veneer
            for ins in md.disasm(raw[: code.step_offsets()[-1]], 0):
                if ins.mnemonic == "bl":
                    assert int(ins.op_str.lstrip("#"), 16) >= start
    finally:
        lib.cp_jit_set_far_calls(0)


@needs_jit
def test_every_code_write_is_flushed() -> None:
    """Compiling flushes the instruction cache for exactly the program's code (its steps, trap
    and trampolines); freeing flushes the trap fill written over it."""
    before = jit.arena_stats()
    prog, code = jit_code("a + b > 1000 OR c < 5")
    after = jit.arena_stats()
    assert after["icache_flushes"] == before["icache_flushes"] + 1
    assert after["icache_flushed_bytes"] == before["icache_flushed_bytes"] + code.code_size
    code.close()
    freed = jit.arena_stats()
    assert freed["icache_flushes"] == after["icache_flushes"] + 1
    assert freed["icache_flushed_bytes"] - after["icache_flushed_bytes"] >= code.code_size
    del prog


def _functions(c_source: str) -> dict[str, str]:
    """Top-level function bodies of a C file in PostgreSQL style (name at column 0, braces at
    column 0): parameters on the first line, then the body. A function defined under #if and
    #else (a stub) gets both bodies."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^(\w+)\(([^)]*)\)\n\{\n(.*?)^\}", c_source, re.MULTILINE | re.DOTALL):
        params, body = m.group(2), m.group(3)
        out[m.group(1)] = params + "\n" + body if m.group(1) not in out else out[m.group(1)] + body
    return out


def test_every_function_that_writes_code_calls_the_flush() -> None:
    """Review aid, in the source: every function of the JIT runtime (csrc/jit/*.c and the
    patchers) that writes into a chunk (through its read-write view, or by mapping new pages
    with old contents) flushes the instruction cache: it calls cp_jit_code_written, or a
    function that does, or is only called by such functions (the compiler's phases, which
    cp_jit_compile follows with publish()). Helpers that take the `rw` pointer (patch, emit_*)
    are covered by their callers."""
    jit_dir = ROOT / "csrc" / "jit"
    fns: dict[str, str] = {}
    for path in sorted([*jit_dir.glob("*.c"), *jit_dir.glob("patch_*.h")]):
        if path.name != "template.c":
            for name, body in _functions(path.read_text()).items():
                fns[name] = fns.get(name, "") + body
    assert {"cp_jit_compile", "arena_release", "arena_child_fork", "patch"} <= set(fns)
    primitives = {n for n, body in fns.items() if re.search(r"uint8_t \*rw\b", body.split("\n")[0])}
    assert {"patch", "emit_trap", "emit_trampoline"} <= primitives

    def calls(body: str, names: set[str]) -> bool:
        return any(re.search(rf"\b{n}\(", body) for n in names)

    flushers = {n for n, body in fns.items() if "code_written(" in body} - {"cp_jit_code_written"}
    assert flushers == {"publish", "arena_release", "arena_child_fork"}
    # fresh mappings hold no instructions yet (chunk_new) or are gone (chunk_release)
    exempt = {"chunk_new", "chunk_release", "cp_jit_code_written"}
    writes = re.compile(r"\b(memcpy|memset|mmap|write)\([^;]*\b(rw|srw|rx)\b")
    writers = {
        n
        for n, body in fns.items()
        if n not in primitives | exempt and (calls(body, primitives) or writes.search(body))
    }

    def covered(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in flushers or calls(fns[name], flushers):
            return True
        callers = {n for n, body in fns.items() if n != name and calls(body, {name})}
        return bool(callers) and all(covered(c, seen | {name}) for c in callers - seen)

    for name in writers:
        assert covered(name), f"{name} writes code but nothing flushes it"
    # the compiler's phases, the trap fill of freed code, the copy after fork()
    assert writers == {
        "copy_stencil",
        "patch_hole",
        "trampoline",
        "write_code",
        "arena_release",
        "arena_child_fork",
        # patches a scratch copy of one instruction (whether a value fits), never code
        "variant_fits",
    }


@pytest.mark.arm64_run  # only under qemu-user >= 8.1 (tools/test-arm64.sh)
def test_qemu_would_catch_a_missing_flush() -> None:
    """qemu >= 8.1 drops its translation of code only on `ic ivau`, as a core's instruction
    cache would: with the flush skipped, a program compiled where a freed one was runs the old
    one's code. So the aarch64 run's passing tests show the flush happens where it matters."""

    def run_in_place(skip: bool) -> tuple[list[bool], list[bool]]:
        lib.cp_jit_set_skip_icache_flush(int(skip))
        try:
            first, code = jit_code("a = 42")
            where = lib.cp_jit_code_address(code._code)
            first.filter(TABLE)  # translated by qemu
            code.close()
            second, code2 = jit_code("a = 7")  # same length, same stencils, other operand
            assert lib.cp_jit_code_address(code2._code) == where  # same place
            got = second.filter(TABLE).tolist()
            code2.close()
        finally:
            lib.cp_jit_set_skip_icache_flush(0)
        want = copypatch.compile("a = 7", TABLE, engine="goto").filter(TABLE).tolist()
        return got, want

    got, want = run_in_place(skip=False)
    assert got == want
    got, want = run_in_place(skip=True)
    assert got != want  # stale code ran: the emulator models the instruction cache
