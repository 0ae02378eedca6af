"""Per-architecture knowledge of the stencil build: compiler flags and relocation types."""

from __future__ import annotations

from dataclasses import dataclass

from ._schema import Stencil

# Flags for position-dependent snippets laid end to end: no unwind tables, no stack protector,
# no jump tables (their relocations point into the object), no CET landing pads, one section
# per function, and -O3 as for the interpreters' bodies.
COMMON_FLAGS = (
    "-std=gnu11",
    "-O3",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-exceptions",
    "-fno-stack-protector",
    "-fno-jump-tables",
    "-fno-common",
    "-fomit-frame-pointer",
    "-fno-pic",
)


@dataclass(frozen=True)
class Target:
    """One architecture: its clang triple and flags, the relocations its patcher handles, and
    how to recognise a trailing jump to the continuation."""

    name: str
    triple: str
    flags: tuple[str, ...]
    relocations: frozenset[str]

    def trailing_jump(self, stencil: Stencil) -> int:
        raise NotImplementedError


class X86_64(Target):
    def trailing_jump(self, stencil: Stencil) -> int:
        """`jmp rel32` (e9) to the continuation or the jump target as the last instruction: 5
        bytes the runtime drops when that jump's target is laid out right after."""
        size = len(stencil.body)
        for h in stencil.holes:
            if (
                h.offset == size - 4
                and h.value in ("CONTINUE", "JUMP_TARGET")
                and h.kind in ("R_X86_64_PLT32", "R_X86_64_PC32")
                and h.addend == -4
                and stencil.body[size - 5] == 0xE9
            ):
                return 5
        return 0


# -mcmodel=medium with -mlarge-data-threshold=0: every data hole is a movabs with a 64-bit
# absolute relocation (so any operand fits), while calls and jumps stay rel32 (CPython's choice).
# (-fno-plt would turn calls into GOT loads: not used.)
X86_64_LINUX = X86_64(
    name="x86_64",
    triple="x86_64-unknown-linux-gnu",
    flags=COMMON_FLAGS + ("-mcmodel=medium", "-mlarge-data-threshold=0", "-fcf-protection=none"),
    relocations=frozenset(
        {"R_X86_64_64", "R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_32", "R_X86_64_32S"}
    ),
)

TARGETS = {"x86_64": X86_64_LINUX}
