"""The stencil data model: what the object file holds, in the terms the runtime patches."""

from __future__ import annotations

from dataclasses import dataclass, field

HOLE_PREFIX = "_JIT_"


class StencilBuildError(RuntimeError):
    """Something in the object file (or in the runtime's lists) that the stencil build does not
    understand."""


@dataclass(frozen=True, order=True)
class Hole:
    """A place in a stencil's bytes that the runtime fills in: one ELF relocation.

    ``offset`` is the relocation's r_offset within the stencil, ``kind`` its type name
    (R_X86_64_64, ...: how to write the value), ``value`` what to write: a hole name (the extern
    symbol's name without the _JIT_ prefix, e.g. "D0", "CONTINUE"; "CODE" for the stencil's own
    address) or ``symbol`` for an out-of-line helper resolved by name, and ``addend`` r_addend.
    """

    offset: int
    kind: str
    value: str
    symbol: str = ""
    addend: int = 0

    def describe(self) -> str:
        what = f"&{self.symbol}" if self.value == "SYMBOL" else self.value
        sign = "+" if self.addend >= 0 else "-"
        return f"{self.offset:#06x}: {self.kind:<16} {what} {sign} {abs(self.addend):#x}"


@dataclass
class Stencil:
    """One opcode's machine code with holes: a function's section (``.text.stencil_<op>``), plus
    any read-only data it references, appended after the code.

    ``trim`` is how many trailing bytes (a jump to the continuation) can be dropped when the
    next step's stencil is laid out right after this one.
    """

    name: str
    body: bytes
    holes: list[Hole] = field(default_factory=list)
    trim: int = 0


@dataclass
class StencilGroup:
    """Every stencil of one target (one object file): the stencils by opcode name, the helper
    symbols they call (the object file's undefined non-hole symbols), and how they were built."""

    target: str
    compiler: str
    stencils: dict[str, Stencil]
    symbols: list[str]
