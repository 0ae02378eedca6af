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
    #: the Debian package with the C library headers clang needs to compile for this target on
    #: a Debian x86-64 host (the template includes <math.h>, <string.h>, <errno.h>)
    headers: str

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
    headers="libc6-dev",
    relocations=frozenset(
        {"R_X86_64_64", "R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_32", "R_X86_64_32S"}
    ),
)


class AArch64(Target):
    def trailing_jump(self, stencil: Stencil) -> int:
        """`b` (0x14000000 before patching) to the continuation or the jump target as the last
        instruction: 4 bytes the runtime drops when that jump's target is laid out right after."""
        size = len(stencil.body)
        for h in stencil.holes:
            if (
                h.offset == size - 4
                and h.value in ("CONTINUE", "JUMP_TARGET")
                and h.kind == "R_AARCH64_JUMP26"
                and h.addend == 0
                and stencil.body[size - 4 :] == b"\x00\x00\x00\x14"
            ):
                return 4
        return 0


# -mcmodel=large: every data hole is a movz/movk sequence (MOVW_UABS_G0_NC..G3), so any 64-bit
# operand fits with no literal pool and no GOT; calls and jumps stay bl/b (CALL26/JUMP26,
# +-128 MiB, veneers beyond). No outline atomics (calls into libgcc), no BTI/PAC landing pads.
# The ADRP/LO12 and short-branch kinds are not emitted by this model, but the patcher handles
# them, so a compiler that starts emitting them is still correct (and shows in the golden tests).
AARCH64_LINUX = AArch64(
    name="aarch64",
    triple="aarch64-unknown-linux-gnu",
    flags=COMMON_FLAGS + ("-mcmodel=large", "-mno-outline-atomics", "-mbranch-protection=none"),
    headers="libc6-dev-arm64-cross",
    relocations=frozenset(
        {
            "R_AARCH64_ABS64",
            "R_AARCH64_MOVW_UABS_G0",
            "R_AARCH64_MOVW_UABS_G0_NC",
            "R_AARCH64_MOVW_UABS_G1",
            "R_AARCH64_MOVW_UABS_G1_NC",
            "R_AARCH64_MOVW_UABS_G2",
            "R_AARCH64_MOVW_UABS_G2_NC",
            "R_AARCH64_MOVW_UABS_G3",
            "R_AARCH64_CALL26",
            "R_AARCH64_JUMP26",
            "R_AARCH64_CONDBR19",
            "R_AARCH64_TSTBR14",
            "R_AARCH64_ADR_PREL_PG_HI21",
            "R_AARCH64_ADD_ABS_LO12_NC",
            "R_AARCH64_LDST8_ABS_LO12_NC",
            "R_AARCH64_LDST16_ABS_LO12_NC",
            "R_AARCH64_LDST32_ABS_LO12_NC",
            "R_AARCH64_LDST64_ABS_LO12_NC",
            "R_AARCH64_LDST128_ABS_LO12_NC",
        }
    ),
)

TARGETS = {"x86_64": X86_64_LINUX, "aarch64": AARCH64_LINUX}

# platform.machine() -> target name
MACHINES = {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def host_target() -> str | None:
    """The target of the machine this Python runs on, or None if the JIT has none for it."""
    import platform
    import sys

    if not sys.platform.startswith("linux"):
        return None
    return MACHINES.get(platform.machine())
