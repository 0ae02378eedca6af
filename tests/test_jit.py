"""The JIT's runtime: machine code, W^X, memory reuse, threads, fork, trampolines."""

from __future__ import annotations

import gc
import os
import threading
from typing import Any

import numpy as np
import pytest
from copypatch._core import lib
from helpers import JIT_EXPRESSIONS, JIT_TABLE

import copypatch
from copypatch import jit
from copypatch.layout import Executable, Layout

pytestmark = pytest.mark.skipif(not jit.available(), reason="no JIT stencils for this machine")

TABLE = JIT_TABLE
EXPRESSIONS = JIT_EXPRESSIONS


def executable(sql: str, table: Any = TABLE) -> Executable:
    prog = copypatch.compile(sql, table, engine="jit", optimize=())  # PostgreSQL's program
    exe = prog._main
    assert exe is not None
    return exe


def wx_mappings() -> list[str]:
    """Lines of /proc/self/maps that are both writable and executable."""
    with open("/proc/self/maps") as f:
        return [line for line in f if "w" in line.split()[1] and "x" in line.split()[1]]


def jit_mappings() -> list[str]:
    with open("/proc/self/maps") as f:
        return [line.rstrip() for line in f if "copypatch-jit" in line]


def test_results_match_goto() -> None:
    for sql in EXPRESSIONS:
        j = copypatch.compile(sql, TABLE, engine="jit")
        g = copypatch.compile(sql, TABLE, engine="goto")
        assert j.filter(TABLE).tolist() == g.filter(TABLE).tolist(), sql


def test_introspection() -> None:
    exe = executable("a = 42")
    assert exe.code_size > 0
    assert 0 < exe.compile_ns < 10_000_000
    text = exe.disassemble()
    for op in (
        "EEOP_SCAN_FETCHSOME",
        "EEOP_SCAN_VAR",
        "EEOP_FUNCEXPR_STRICT",
        "EEOP_QUAL",
        "EEOP_DONE",
    ):
        assert op in text
    assert "falls through" in text  # trailing jumps to the next step are dropped
    if jit.target() == "aarch64":
        assert "hole FN (R_AARCH64_CALL26) -> " in text  # direct call of int4eq
        assert "hole D0 (R_AARCH64_MOVW_UABS_G0_NC) = 0x1 << 0" in text  # FETCHSOME's last_var
    else:
        assert "hole FN (R_X86_64_PLT32) -> " in text  # direct call of int4eq
        # FETCHSOME's last_var, a 32-bit immediate (the short-immediate variant)
        assert "hole D0 (R_X86_64_32S) = 0x1" in text
    assert "hole cp_slot_getsomeattrs" in text
    assert "ret" in text
    with pytest.raises(ValueError, match="no machine code"):
        copypatch.compile("a = 42", TABLE, engine="goto")._main.disassemble()  # type: ignore[union-attr]


@pytest.mark.parametrize("far_calls", [0, 1], ids=["near", "far"])
def test_code_is_contiguous_and_falls_through(far_calls: int) -> None:
    lib.cp_jit_set_far_calls(far_calls)  # far: as if the arena were out of branch range
    try:
        exe = executable("a = 42")
    finally:
        lib.cp_jit_set_far_calls(0)
    assert exe.layout.jit is not None
    offsets = exe.layout.jit.step_offsets()
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert len(offsets) == len(exe.sp.steps) + 1
    # FETCHSOME, SCAN_VAR, FUNCEXPR_STRICT and QUAL end in a jump to the next step: dropped.
    # Compare the steps' code only: after it come the trap and, when a helper is out of direct
    # branch range (it depends on where the kernel or qemu put the arena), trampolines.
    assert exe.code_size >= offsets[-1]
    assert offsets[-1] < sum(lib.cp_jit_stencil(s.opcode, _holes(), _n()) for s in _steps(exe))


def _holes() -> Any:
    from copypatch._core import ffi

    return ffi.new("CpJitHole **")


def _n() -> Any:
    from copypatch._core import ffi

    return ffi.new("int32_t *")


def _steps(exe: Executable) -> list[Any]:
    return [exe.layout.steps[i] for i in range(len(exe.sp.steps))]


def test_no_mapping_is_writable_and_executable() -> None:
    progs = [copypatch.compile(sql, TABLE, engine="jit") for sql in EXPRESSIONS * 20]
    for p in progs:
        p.filter(TABLE)
    maps = jit_mappings()
    assert maps, "the JIT's memfd mappings should be visible"
    assert wx_mappings() == []
    # each chunk is mapped twice: once r-x (shared), once rw- (shared), never rwx
    perms = {line.split()[1] for line in maps}
    assert perms <= {"r-xs", "rw-s"}, perms
    assert "r-xs" in perms and "rw-s" in perms


def test_writable_view_is_not_handed_out() -> None:
    exe = executable("a = 42")
    assert exe.layout.jit is not None
    addr = lib.cp_jit_code_address(exe.layout.jit._code)
    for line in jit_mappings():
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if lo <= addr < hi:
            assert line.split()[1] == "r-xs"
            break
    else:
        pytest.fail("code address is in no copypatch-jit mapping")
    from copypatch._core import ffi

    # cp_scan enters through the C-ABI entry stencil, laid out after the steps in the same view
    entry = addr + lib.cp_jit_entry_offset(exe.layout.jit._code)
    assert int(ffi.cast("uintptr_t", exe.layout.state.evalfunc)) == entry


def test_close_frees_and_gc_frees() -> None:
    gc.collect()
    before = jit.arena_stats()["programs"]
    prog = copypatch.compile("a = 42", TABLE, engine="jit")
    assert jit.arena_stats()["programs"] == before + 1
    exe = prog._main
    assert exe is not None
    exe.close()
    assert jit.arena_stats()["programs"] == before
    exe.close()  # idempotent
    prog2 = copypatch.compile("a = 42 AND b > 3", TABLE, engine="jit")
    assert jit.arena_stats()["programs"] == before + 1
    del prog2
    gc.collect()
    assert jit.arena_stats()["programs"] == before
    prog3 = copypatch.compile("a = 42", TABLE, engine="jit")
    prog3.close()
    del prog3
    gc.collect()
    assert jit.arena_stats()["programs"] == before


def test_freed_code_is_overwritten_with_traps() -> None:
    """A freed program's code holds the architecture's trapping fill (cp_jit_arch_info), so a
    stale pointer into it faults instead of running another program."""
    arch = jit.arch()
    assert arch is not None
    first, second = executable("a = 42"), executable("a = 42")  # `second` keeps the chunk mapped
    assert first.layout.jit is not None and second.layout.jit is not None
    addr = lib.cp_jit_code_address(first.layout.jit._code)
    size = first.layout.jit.code_size
    first.close()
    from copypatch._core import ffi

    assert bytes(ffi.buffer(ffi.cast("char *", addr), size)) == bytes([arch.freed_fill]) * size
    second.close()


def test_architecture_facts_come_from_the_c_core() -> None:
    """jit.arch() is read from the C core's patcher; its relocation kinds are the ones the
    stencil build accepts for this target, both read from csrc/jit/relocs.def."""
    from copypatch._stencils._targets import TARGETS

    arch = jit.arch()
    assert arch is not None and arch.name == jit.target()
    assert arch.relocations == TARGETS[arch.name].relocations
    assert arch.trampoline_target + 8 == arch.trampoline_size  # the target ends a trampoline
    assert arch.trampoline_size % arch.trampoline_align == 0
    from copypatch._core import ffi

    for opcode in range(lib.cp_num_opcodes + 1):  # every stencil, and the entry
        holes, n = _holes(), _n()
        assert lib.cp_jit_stencil(opcode, holes, n) > 0
        for h in range(n[0]):
            assert ffi.string(lib.cp_jit_reloc_name(holes[0][h].kind)).decode() in arch.relocations


def test_100k_programs_bounded_memory() -> None:
    """Compile and free 100,000 programs: the arena and the process stay the same size."""
    sp = copypatch.compile("a + b > 1000 OR c < 5", TABLE).steps
    assert sp is not None
    layout = Layout(sp, "switch")  # steps laid out once; the JIT compiles them again and again

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    gc.collect()
    for _ in range(1000):  # warm up: the arena's first chunk, malloc's pools
        jit.JitCode(layout.state).close()
    base_rss, base = rss(), jit.arena_stats()
    live = []
    for i in range(100_000):
        code = jit.JitCode(layout.state)
        if i % 100 == 0:
            live.append(code)  # keep a few alive so that frees interleave
            if len(live) > 20:
                live.pop(0).close()
        else:
            code.close()
    for code in live:
        code.close()
    after = jit.arena_stats()
    assert after["programs"] == base["programs"]
    assert after["used_bytes"] == base["used_bytes"]
    assert after["mapped_bytes"] <= base["mapped_bytes"] + 256 * 1024
    assert rss() - base_rss < 8 * 1024 * 1024


def test_arena_returns_empty_chunks() -> None:
    gc.collect()
    base = jit.arena_stats()
    # enough programs to need several chunks
    progs = [
        copypatch.compile(f"a + b > {i} OR c < 5 OR a = {i}", TABLE, engine="jit")
        for i in range(1500)
    ]
    grown = jit.arena_stats()
    assert grown["chunks"] > base["chunks"] + 1
    del progs
    gc.collect()
    after = jit.arena_stats()
    assert after["chunks"] <= base["chunks"] + 1  # at most one spare stays mapped
    assert after["used_bytes"] == base["used_bytes"]


def test_threads_run_different_programs() -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    table = {
        "a": rng.integers(-100, 100, n, dtype=np.int32),
        "b": rng.integers(0, 30, n, dtype=np.int64),
        "c": np.ma.masked_array(rng.integers(0, 10, n, dtype=np.int32), mask=rng.random(n) < 0.1),
    }
    expected = {
        sql: copypatch.compile(sql, table, engine="goto").filter(table) for sql in EXPRESSIONS
    }
    errors: list[str] = []

    def work(k: int) -> None:
        try:
            for r in range(5):
                sql = EXPRESSIONS[(k + r) % len(EXPRESSIONS)]
                prog = copypatch.compile(sql, table, engine="jit")  # compile concurrently, too
                if not np.array_equal(prog.filter(table), expected[sql]):
                    errors.append(f"thread {k}: {sql}")
        except Exception as e:  # noqa: BLE001 - reported by the assert below
            errors.append(f"thread {k}: {e!r}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_one_program_shared_by_threads() -> None:
    prog = copypatch.compile("a + b > 60 OR c < 2", TABLE, engine="jit")
    expected = copypatch.compile("a + b > 60 OR c < 2", TABLE, engine="switch").filter(TABLE)
    results: list[bool] = []

    def work() -> None:
        for _ in range(200):
            results.append(bool(np.array_equal(prog.filter(TABLE), expected)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 800


def test_trampolines() -> None:
    """Calls to helpers out of rel32 range go through trampolines (forced here)."""
    lib.cp_jit_set_far_calls(1)
    try:
        for sql in EXPRESSIONS:
            exe = executable(sql)
            j = exe.scan(copypatch.compile(sql, TABLE).schema, TABLE, lib.CP_SCAN_FILTER)[0]
            g = copypatch.compile(sql, TABLE, engine="goto").filter(TABLE)
            assert j.tolist() == g.tolist(), sql
        assert "trampolines" in executable("a = 42").disassemble()
    finally:
        lib.cp_jit_set_far_calls(0)
    text = executable("a = 42").disassemble()
    if jit.target() == "aarch64":
        # bl reaches +-128 MiB only: the arena may well be further from the extension's helpers,
        # and then a veneer is used for real; never for a helper within range
        code = int(text.split(" bytes at ")[1].split(",")[0], 16)
        for line in text.partition("; trampolines")[2].splitlines()[1:]:
            target = int(line.rsplit(".quad ", 1)[1], 16)
            assert abs(target - code) >= 128 << 20, line
    else:
        assert "trampolines" not in text


def test_errors_unwind_through_jit_code() -> None:
    table = {"a": np.array([1, 2, 0, 4], dtype=np.int32)}
    for engine in copypatch.ENGINES:
        prog = copypatch.compile("10 / a > 1", table, engine=engine)
        with pytest.raises(copypatch.EvalError) as e:
            prog.filter(table)
        assert e.value.sqlstate == "22012" and e.value.row == 2
    # and the JIT program still runs afterwards
    ok = {"a": np.array([1, 2, 5], dtype=np.int32)}
    assert copypatch.compile("10 / a > 1", ok, engine="jit").filter(ok).tolist() == [
        True,
        True,
        True,
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_does_not_share_code_pages() -> None:
    """After fork, parent and child compile into what were the same pages: each keeps its own."""
    keep = copypatch.compile("a = 42", TABLE, engine="jit")
    expected = copypatch.compile("a + b > 60 OR c < 2", TABLE, engine="goto").filter(TABLE)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: compile a lot into the inherited arena, run, report
        try:
            os.close(r)
            progs = [copypatch.compile("a = 7 OR b = 3", TABLE, engine="jit") for _ in range(50)]
            ok = all(p.filter(TABLE).sum() > 0 for p in progs) and keep.filter(TABLE).sum() == 1
            os.write(w, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(w)
    # parent: meanwhile compile and run its own programs in the same (formerly shared) space
    for _ in range(50):
        p = copypatch.compile("a + b > 60 OR c < 2", TABLE, engine="jit")
        assert np.array_equal(p.filter(TABLE), expected)
    os.waitpid(pid, 0)
    assert os.read(r, 16) == b"ok"
    os.close(r)
    assert keep.filter(TABLE).sum() == 1


def test_unavailable_engine_is_not_silent() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        copypatch.compile("a = 42", TABLE, engine="llvm")


def test_benchmark_functions_run() -> None:
    """The benchmark scripts' timed functions, tiny, so that they cannot rot."""
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, bench)
    try:
        import bench_compile
        import bench_rows
    finally:
        sys.path.remove(bench)
    assert bench_compile.bench_jit_compile(3, "a = 42") > 0
    for stage in (None, *bench_compile.STAGES):
        assert bench_compile.bench_compile(2, "a <> 0 AND a <> 1", "jit", stage) > 0
        assert bench_compile.bench_compile_warm(2, "10 terms", "jit", stage) >= 0
    for engine in copypatch.ENGINES:
        assert bench_rows.bench_engine(1, "a = 42 AND b > 10", engine, 100) > 0
    assert bench_rows.bench_c_loop(2, 100, False) > 0
