"""Per-architecture knowledge of the stencil build: compiler flags and relocation types."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ._schema import Stencil, StencilBuildError

#: The relocation kinds the runtime's patchers handle, with their architecture: the one list
#: (the C runtime expands it too). A stencil with any other relocation fails the build.
RELOCS_DEF = Path(__file__).resolve().parents[3] / "csrc" / "jit" / "relocs.def"


@functools.cache
def read_relocations(path: Path = RELOCS_DEF) -> dict[str, frozenset[str]]:
    """relocs.def as {architecture: relocation names}. Anything but `RELOC(arch, name)` lines
    and comments is an error, so that the C preprocessor and this reading cannot disagree."""
    text = path.read_text()
    # comments out, newlines kept (for line numbers)
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count("\n"), text, flags=re.DOTALL)
    kinds: dict[str, set[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"\s*RELOC\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*", line)
        if m is None:
            raise StencilBuildError(f"{path}:{number}: not a RELOC(arch, name) line: {line!r}")
        kinds.setdefault(m.group(1), set()).add(m.group(2))
    return {arch: frozenset(names) for arch, names in kinds.items()}


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
    #: its name in csrc/jit/relocs.def (the C runtime's CpJitArch without the prefix)
    arch: str
    #: the Debian package with the C library headers clang needs to compile for this target on
    #: a Debian x86-64 host (the template includes <math.h>, <string.h>, <errno.h>)
    headers: str

    @property
    def relocations(self) -> frozenset[str]:
        """The relocation kinds its patcher handles, as csrc/jit/relocs.def lists them."""
        kinds = read_relocations()
        if self.arch not in kinds:
            raise StencilBuildError(f"{RELOCS_DEF} lists no relocation for {self.arch}")
        return kinds[self.arch]

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
    arch="X86_64",
    headers="libc6-dev",
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
# The ADRP/LO12 and short-branch kinds of relocs.def are not emitted by this model, but the
# patcher handles them, so a compiler that starts emitting them is still correct (and shows in the
# golden tests).
AARCH64_LINUX = AArch64(
    name="aarch64",
    triple="aarch64-unknown-linux-gnu",
    flags=COMMON_FLAGS + ("-mcmodel=large", "-mno-outline-atomics", "-mbranch-protection=none"),
    arch="AARCH64",
    headers="libc6-dev-arm64-cross",
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
