"""The copy-and-patch JIT from Python: compile a laid-out program, free it, disassemble it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _fmgr
from ._core import ffi, lib
from ._errors import CompileError


def available() -> bool:
    """Whether this build of the C core has stencils for this machine."""
    return bool(lib.cp_jit_target() != ffi.NULL)


def target() -> str | None:
    t = lib.cp_jit_target()
    return None if t == ffi.NULL else ffi.string(t).decode()


def arena_stats() -> dict[str, int]:
    """The executable-memory arena: chunks and bytes mapped, bytes and programs in use."""
    s = ffi.new("CpJitArenaStats *")
    lib.cp_jit_arena_stats(s)
    return {
        "chunks": s.chunks,
        "mapped_bytes": s.mapped_bytes,
        "used_bytes": s.used_bytes,
        "programs": s.programs,
        "icache_flushes": s.icache_flushes,
        "icache_flushed_bytes": s.icache_flushed_bytes,
    }


@dataclass(frozen=True)
class Arch:
    """The machine of this build's stencils, as the C core's patcher describes it
    (`cp_jit_arch_info`): where a program's trap and trampolines are, what freed code is
    overwritten with, and which relocation kinds its holes may have (csrc/jit/relocs.def)."""

    name: str
    trap_size: int
    trampoline_size: int
    trampoline_align: int
    trampoline_target: int  # offset of the 8-byte target in a trampoline
    freed_fill: int
    relocations: frozenset[str]

    def trampolines_at(self, end_of_code: int) -> int:
        """Where the trampolines start: after a trap, aligned (compile.c's layout)."""
        a = self.trampoline_align
        return (end_of_code + self.trap_size + a - 1) // a * a


@functools.cache
def arch() -> Arch | None:
    """This build's JIT architecture, read from the C core; None if it has no stencils."""
    info = ffi.new("CpJitArchInfo *")
    name = target()
    if name is None or not lib.cp_jit_arch_info(info):
        return None
    return Arch(
        name=name,
        trap_size=info.trap_size,
        trampoline_size=info.trampoline_size,
        trampoline_align=info.trampoline_align,
        trampoline_target=info.trampoline_target,
        freed_fill=info.freed_fill,
        relocations=frozenset(_reloc_name(info.relocs[i]) for i in range(info.nrelocs)),
    )


def _reloc_name(kind: int) -> str:
    return str(ffi.string(lib.cp_jit_reloc_name(kind)).decode())


# What only the Python side needs of an architecture: capstone's mode, and how to read back the
# value a hole was patched with for the listing.


def _capstone(name: str) -> Any:
    import capstone

    if name == "x86_64":
        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    arm64 = getattr(capstone, "CS_ARCH_ARM64", None) or capstone.CS_ARCH_AARCH64
    return capstone.Cs(arm64, capstone.CS_MODE_ARM)


def _sext(v: int, bits: int) -> int:
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def _describe_x86_64(kind: str, code: bytes, base: int, at: int, hole: Any) -> str:
    if kind in ("R_X86_64_PC32", "R_X86_64_PLT32"):
        patched = int.from_bytes(code[at : at + 4], "little", signed=True)
        return f"-> {base + at + patched - hole.addend:#x}"  # rel32: loc + rel - addend
    width = 8 if kind.endswith("_64") else 4  # R_X86_64_64, or the 32-bit absolute ones
    return f"= {int.from_bytes(code[at : at + width], 'little', signed=kind.endswith('S')):#x}"


#: Where the chain of stencils keeps its arguments (template.c's CP_CHAIN_PARAMS, in clang's
#: preserve_none convention): the same registers in every stencil, for the whole scan.
CHAIN_REGISTERS: dict[str, dict[str, str]] = {
    "x86_64": {"r12": "state", "r13": "econtext", "r14": "row", "r15": "columns"},
    "aarch64": {"x20": "state", "x21": "econtext", "x22": "row", "x23": "columns"},
}

#: The value registers (the chain's last two arguments, cp_v_ and cp_n_): a value and its NULL
#: flag handed from one step to the next by the value-register variants (VALUE_VARIANTS). Other
#: stencils use them as scratch registers, so a listing names them only in those steps.
VALUE_REGISTERS: dict[str, dict[str, str]] = {
    "x86_64": {"rdi": "value", "edi": "value", "rsi": "null", "esi": "null", "sil": "null"},
    "aarch64": {"x24": "value", "w24": "value", "x25": "null", "w25": "null"},
}

_AARCH64_BRANCHES = {"CALL26": (0, 26), "JUMP26": (0, 26), "CONDBR19": (5, 19), "TSTBR14": (5, 14)}


def _describe_aarch64(kind: str, code: bytes, base: int, at: int, hole: Any) -> str:
    if kind == "R_AARCH64_ABS64":
        return f"= {int.from_bytes(code[at : at + 8], 'little'):#x}"
    insn = int.from_bytes(code[at : at + 4], "little")
    if "MOVW_UABS_G" in kind:
        group = int(kind[len("R_AARCH64_MOVW_UABS_G")])
        return f"= {(insn >> 5) & 0xFFFF:#x} << {16 * group}"
    short = kind[len("R_AARCH64_") :]
    if short in _AARCH64_BRANCHES:
        shift, bits = _AARCH64_BRANCHES[short]
        return f"-> {base + at + 4 * _sext((insn >> shift) & ((1 << bits) - 1), bits):#x}"
    return f"= insn {insn:#010x}"


#: The value a hole was patched with: `= value`, or `-> target` for a branch.
_DESCRIBE: dict[str, Callable[[str, bytes, int, int, Any], str]] = {
    "x86_64": _describe_x86_64,
    "aarch64": _describe_aarch64,
}


class JitCode:
    """The machine code of one program: points the program's ExprState at it, and gives the
    memory back to the arena on close() or when garbage-collected."""

    def __init__(self, state: Any) -> None:
        if not available():
            raise CompileError("the JIT has no stencils for this machine; use engine='goto'")
        out = ffi.new("CpJitCode **")
        rc = lib.cp_jit_compile(state, out)
        if rc != 0:
            raise CompileError(
                f"JIT compilation failed: {ffi.string(lib.cp_jit_strerror(rc)).decode()}"
            )
        self.state = state
        self._code: Any = ffi.gc(out[0], lib.cp_jit_free)
        self.compile_ns: int = lib.cp_jit_compile_ns(self._code)
        self.code_size: int = lib.cp_jit_code_size(self._code)
        self.nsteps: int = state.steps_len

    def close(self) -> None:
        """Free the code now; the program must not run afterwards."""
        if self._code is not None:
            # a scan after close() must not jump into freed code: it gets an interpreter
            self.state.evalfunc = lib.cp_engine_switch()
            ffi.release(self._code)  # runs cp_jit_free now, not at garbage collection
            self._code = None

    @property
    def closed(self) -> bool:
        return self._code is None

    def code(self) -> bytes:
        """The machine code, read from its (read-execute) mapping."""
        self._check()
        addr = lib.cp_jit_code_address(self._code)
        return bytes(ffi.buffer(ffi.cast("char *", addr), self.code_size))

    def step_offsets(self) -> list[int]:
        self._check()
        return [lib.cp_jit_step_offset(self._code, i) for i in range(self.nsteps + 1)]

    def entry_range(self) -> tuple[int, int]:
        """Where the C-ABI entry stencil is (after the steps): (start, end) offsets."""
        self._check()
        start = lib.cp_jit_entry_offset(self._code)
        holes, nholes = ffi.new("CpJitHole **"), ffi.new("int32_t *")
        return start, start + lib.cp_jit_stencil(lib.cp_num_opcodes, holes, nholes)

    def trampoline_offset(self) -> int:
        """Where the trampolines (veneers) start, after the entry and a trap."""
        return _arch().trampolines_at(self.entry_range()[1])

    def row_exits(self) -> dict[bool, int]:
        """The row exits of a filter program (template.c's CP_JIT_ROW_TRUE/FALSE): {result:
        offset} of those laid out; TRUE's may be the EEOP_DONE_NEXTROW_FILTER step's own code."""
        self._check()
        out = {}
        for result in (True, False):
            off = lib.cp_jit_exit_offset(self._code, int(result))
            if off >= 0:
                out[result] = off
        return out

    def locations(self) -> list[str]:
        """Per step, where its operands are (location_note): "" for slots only, else what it
        reads from or leaves in the value registers (compile.c's choose_locations)."""
        self._check()
        return [location_note(lib.cp_jit_step_variant(self._code, i))
                for i in range(self.nsteps)]

    def disassemble(self) -> str:
        """The code disassembled with capstone (x86-64 or AArch64, as the stencils), with the
        step each range comes from, the value patched into each hole, and the chain's registers
        (the row, the columns, ...) named where an instruction uses them."""
        self._check()
        arch = _arch()
        code = self.code()
        base = lib.cp_jit_code_address(self._code)
        offsets = self.step_offsets()
        exits = self.row_exits()
        md = _capstone(arch.name)
        regs = ", ".join(f"{what} {reg}" for reg, what in CHAIN_REGISTERS[arch.name].items())
        vregs = ", ".join(f"{what} {reg}" for reg, what in VALUE_REGISTERS[arch.name].items()
                          if reg.startswith(("r", "x")))
        lines = [
            f"; {self.code_size} bytes at {base:#x}, {self.nsteps} steps ({arch.name})",
            f"; chain registers (every stencil, the whole scan): {regs}",
            f"; value registers (a value handed to the next step, where a step says so): {vregs}",
        ]
        for i in range(self.nsteps):
            opcode = self.state.steps[i].opcode
            start, end = offsets[i], offsets[i + 1]
            label = _fmgr.OPCODE_NAMES[opcode]
            variant = lib.cp_jit_step_variant(self._code, i)
            at = [r for r, off in exits.items() if off == start and end > start]
            if at:  # the row's end, reached by nothing else: its code is an exit's
                opcode, variant = lib.cp_jit_exit_stencil(self._code, int(at[0])), 0
                label = f"{label} as the row exit {str(at[0]).upper()}{_lean(opcode)}"
            elif variant:
                label += f" ({variant_name(variant)})"
            holes, size = _stencil_holes(opcode, variant)
            note = " (falls through)" if end - start < size else ""
            lines.append(f"; step {i}: {label}, {end - start} bytes{note}")
            lines += self._listing(arch, md, code, base, start, end, holes,
                                   values=variant in VALUE_VARIANTS)
        for result, off in sorted(exits.items(), key=lambda kv: kv[1]):
            if off >= offsets[self.nsteps]:
                stencil = lib.cp_jit_exit_stencil(self._code, int(result))
                holes, size = _stencil_holes(stencil)
                lines.append(
                    f"; row exit {str(result).upper()}{_lean(stencil)} (the row's end, its "
                    f"result known), {size} bytes"
                )
                lines += self._listing(arch, md, code, base, off, off + size, holes)
        entry, entry_end = self.entry_range()
        pholes = ffi.new("CpJitHole **")
        nholes = ffi.new("int32_t *")
        lib.cp_jit_stencil(lib.cp_num_opcodes, pholes, nholes)  # CP_JIT_ENTRY's holes
        holes = [pholes[0][h] for h in range(nholes[0])]
        lines.append(
            f"; entry (C calling convention, state->evalfunc): calls step 0, "
            f"{entry_end - entry} bytes"
        )
        lines += self._listing(arch, md, code, base, entry, entry_end, holes, chain=False)
        tramp = self.trampoline_offset()
        lines.append("; end of code: trap")
        lines += self._listing(arch, md, code, base, entry_end, tramp, [])
        if self.code_size > tramp:
            lines.append("; trampolines (calls out of direct-branch range)")
            for pos in range(
                tramp, self.code_size - arch.trampoline_size + 1, arch.trampoline_size
            ):
                lines.append(f"  {base + pos:#x}: {self._trampoline_text(arch, md, code, pos)}")
        return "\n".join(lines)

    @staticmethod
    def _trampoline_text(arch: Arch, md: Any, code: bytes, pos: int) -> str:
        """A trampoline: its instructions (as if at 0, so that a pc-relative load reads as the
        offset of its target), then the target."""
        jump = code[pos : pos + arch.trampoline_target]
        insns = "; ".join(f"{i.mnemonic} {i.op_str}".rstrip() for i in md.disasm(jump, 0))
        at = pos + arch.trampoline_target
        return f"{insns}; .quad {int.from_bytes(code[at : at + 8], 'little'):#x}"

    @staticmethod
    def _listing(
        arch: Arch,
        md: Any,
        code: bytes,
        base: int,
        start: int,
        end: int,
        holes: list[Any],
        chain: bool = True,
        values: bool = False,
    ) -> list[str]:
        out = []
        for ins in md.disasm(code[start:end], base + start):
            rel = ins.address - base - start
            text = f"  {ins.address:#x}: {ins.bytes.hex():<22} {ins.mnemonic} {ins.op_str}".rstrip()
            notes = []
            for h in holes:
                if rel <= h.offset < rel + ins.size:
                    name = ffi.string(lib.cp_jit_hole_name(h.value)).decode()
                    kind = ffi.string(lib.cp_jit_reloc_name(h.kind)).decode()
                    at = start + h.offset
                    value = _DESCRIBE[arch.name](kind, code, base, at, h)
                    notes.append(f"hole {name} ({kind}) {value}")
            regs = dict(CHAIN_REGISTERS[arch.name]) if chain else {}  # not in the C-ABI entry
            if values:
                regs.update(VALUE_REGISTERS[arch.name])
            used = [f"{regs[r]} {r}" for r in re.findall(r"\b[a-z]+\d*\b", ins.op_str)
                    if r in regs]
            if used:
                notes.append(", ".join(dict.fromkeys(used)))
            if notes:
                text = f"{text:<70} ; {'; '.join(notes)}"
            out.append(text)
        return out

    def _check(self) -> None:
        if self._code is None:
            raise ValueError("JIT code is closed")


#: the bits of a step's stencil variant (csrc/jit/jit.h: CP_JIT_VARIANT_*), up to 4
VARIANTS = {1: "short immediates", 2: "no result", 4: "state-relative operands"}
#: the value-register variants (CP_JIT_VARIANT_VREG...): which operand is in the value registers
#: (the rest state-relative), as a step's location: (reads, writes) there
VALUE_VARIANTS: dict[int, tuple[str, str]] = {
    5: ("", "destination"),  # a producer writes it there, a boolean step or jump reads it there
    6: ("argument 0", ""),
    7: ("argument 1", ""),
    8: ("argument 0", "destination"),
    9: ("argument 1", "destination"),
}


def variant_name(variant: int) -> str:
    """How a listing names a stencil variant (cp_jit_step_variant)."""
    if variant in VALUE_VARIANTS:
        return f"state-relative operands, {location_note(variant)}"
    return ", ".join(n for bit, n in VARIANTS.items() if variant & bit)


def location_note(variant: int) -> str:
    """Where a step's operands are, by its variant: "" if all in slots (memory), else which are
    in the value registers ("argument 1 from registers, destination in registers")."""
    if variant not in VALUE_VARIANTS:
        return ""
    reads, writes = VALUE_VARIANTS[variant]
    parts = ([f"{reads} from registers"] if reads else []) + (
        ["destination in registers"] if writes else [])
    return ", ".join(parts)


def _lean(stencil: int) -> str:
    """How a row exit's stencil (cp_jit_exit_stencil) reads in a listing."""
    return ", lean" if stencil > lib.cp_num_opcodes + 2 else ""


def _stencil_holes(index: int, variant: int = 0) -> tuple[list[Any], int]:
    """A stencil's holes and size (an opcode; cp_num_opcodes + 0..4: entry, row exits), or
    those of one of its variants."""
    pholes = ffi.new("CpJitHole **")
    nholes = ffi.new("int32_t *")
    size = lib.cp_jit_stencil_variant(index, variant, pholes, nholes)
    return [pholes[0][h] for h in range(nholes[0])], size


def _arch() -> Arch:
    a = arch()
    if a is None:  # a JitCode exists only where there are stencils
        raise CompileError("the JIT has no stencils for this machine")
    return a
