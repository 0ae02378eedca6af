"""The copy-and-patch JIT from Python: compile a laid-out program, free it, disassemble it."""

from __future__ import annotations

from typing import Any

from . import _fmgr
from ._core import ffi, lib
from ._errors import CompileError


def available() -> bool:
    """Whether this build of the C core has stencils for this machine."""
    return lib.cp_jit_target() != ffi.NULL


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

    def disassemble(self) -> str:
        """The code disassembled with capstone, with the step each range comes from and the
        value patched into each hole."""
        import capstone

        self._check()
        code = self.code()
        base = lib.cp_jit_code_address(self._code)
        offsets = self.step_offsets()
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        lines = [f"; {self.code_size} bytes at {base:#x}, {self.nsteps} steps"]
        for i in range(self.nsteps):
            opcode = self.state.steps[i].opcode
            start, end = offsets[i], offsets[i + 1]
            pholes = ffi.new("CpJitHole **")
            nholes = ffi.new("int32_t *")
            size = lib.cp_jit_stencil(opcode, pholes, nholes)
            holes = [pholes[0][h] for h in range(nholes[0])]
            note = " (falls through)" if end - start < size else ""
            lines.append(f"; step {i}: {_fmgr.OPCODE_NAMES[opcode]}, {end - start} bytes{note}")
            lines += self._listing(md, code, base, start, end, holes)
        lines.append("; end of steps: trap")
        lines += self._listing(md, code, base, offsets[-1], offsets[-1] + 2, [])
        if self.code_size > offsets[-1] + 2:
            lines.append("; trampolines (calls out of rel32 range)")
            pos = offsets[-1] + 2
            while pos + 14 <= self.code_size:
                target = int.from_bytes(code[pos + 6 : pos + 14], "little")
                lines.append(f"  {base + pos:#x}: jmp qword ptr [rip]; .quad {target:#x}")
                pos += 14
        return "\n".join(lines)

    @staticmethod
    def _listing(
        md: Any, code: bytes, base: int, start: int, end: int, holes: list[Any]
    ) -> list[str]:
        out = []
        for ins in md.disasm(code[start:end], base + start):
            rel = ins.address - base - start
            text = f"  {ins.address:#x}: {ins.bytes.hex():<22} {ins.mnemonic} {ins.op_str}".rstrip()
            notes = []
            for h in holes:
                if rel <= h.offset < rel + ins.size:
                    width = (
                        8
                        if ffi.string(lib.cp_jit_reloc_name(h.kind)).decode().endswith("_64")
                        else 4
                    )
                    at = start + h.offset
                    patched = int.from_bytes(code[at : at + width], "little", signed=width == 4)
                    name = ffi.string(lib.cp_jit_hole_name(h.value)).decode()
                    kind = ffi.string(lib.cp_jit_reloc_name(h.kind)).decode()
                    # a rel32 hole shows where it leads: loc + rel - addend
                    shown = (
                        f"{patched:#x}" if width == 8 else f"-> {base + at + patched - h.addend:#x}"
                    )
                    notes.append(
                        f"hole {name} ({kind}) {shown}"
                        if width == 4
                        else f"hole {name} ({kind}) = {shown}"
                    )
            if notes:
                text = f"{text:<70} ; {'; '.join(notes)}"
            out.append(text)
        return out

    def _check(self) -> None:
        if self._code is None:
            raise ValueError("JIT code is closed")
