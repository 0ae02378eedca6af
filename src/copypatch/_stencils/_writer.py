"""Write a StencilGroup as the C header the runtime includes, and as a readable dump."""

from __future__ import annotations

from typing import Any

from ._schema import Hole, Stencil, StencilGroup


def hole_value(h: Hole) -> str:
    return f"CP_HOLE_SYM_{h.symbol}" if h.value == "SYMBOL" else f"CP_HOLE_{h.value}"


def _bytes(body: bytes) -> list[str]:
    out = []
    for i in range(0, len(body), 12):
        out.append("\t" + " ".join(f"0x{b:02x}," for b in body[i : i + 12]))
    return out


def _stencil(s: Stencil) -> list[str]:
    lines = [f"/* {s.name}: {len(s.body)} bytes, {len(s.holes)} holes, trim {s.trim} */"]
    lines.append(f"static const uint8_t cp_stencil_{s.name}_body[{max(1, len(s.body))}] = {{")
    lines += _bytes(s.body) or ["\t0"]
    lines.append("};")
    lines.append(f"static const CpJitHole cp_stencil_{s.name}_holes[{max(1, len(s.holes))}] = {{")
    for h in s.holes:
        lines.append(f"\t{{{h.offset:#x}, CP_RELOC_{h.kind}, {hole_value(h)}, {h.addend}}},")
    if not s.holes:
        lines.append("\t{0, 0, 0, 0}")
    lines.append("};")
    return lines


#: Stencil variants (csrc/jit/template.c): stencil_<name><suffix> is a variant of stencil_<name>,
#: in the table cp_stencils_<table> (indexed as cp_stencils), kept only where it differs from
#: the stencil it refines (the third column: "" is the base). In compile.c's order (its variant
#: number is the index here + 1).
VARIANTS: dict[str, tuple[str, str]] = {
    "__S": ("short", ""),  # 32-bit operand holes
    "__R": ("noresult", ""),  # a fused QUAL that writes no result
    "__RS": ("noresult_short", "__S"),  # both
    "__P": ("relative", ""),  # operands and destination as offsets from state
    # values in registers (state-relative otherwise): destination, argument 0 or 1 of an
    # inlined built-in, or an argument and the destination, in the value registers
    "__VR": ("vreg", "__P"),
    "__VA0": ("vreg_arg0", "__P"),
    "__VA1": ("vreg_arg1", "__P"),
    "__VAR": ("vreg_arg0_dest", "__P"),
    "__VBR": ("vreg_arg1_dest", "__P"),
}

#: The value-register variants: their tables have an entry for every stencil, its own code or,
#: where the code is the same, the code of the stencil it refines (no bytes twice): compile.c
#: reads "the same code" as "does not use the value registers". Identical code in two of these
#: tables is written once.
VALUE_VARIANTS = frozenset(("__VR", "__VA0", "__VA1", "__VAR", "__VBR"))


def _code(s: Stencil) -> tuple[bytes, tuple[Any, ...], int]:
    return s.body, tuple(s.holes), s.trim


def split_variants(
    group: StencilGroup,
) -> tuple[list[Stencil], dict[str, list[Stencil]], dict[str, dict[str, Stencil]]]:
    """The base stencils; per variant table the variants that differ from what they refine;
    and per value-register table, the stencil whose code each opcode's entry is (its own, the
    one it refines, or an identical one written for an earlier table)."""
    base = [s for s in group.stencils.values() if not s.name.endswith(tuple(VARIANTS))]
    names = {s.name for s in base}
    tables: dict[str, list[Stencil]] = {t: [] for t, _ in VARIANTS.values()}
    entries: dict[str, dict[str, Stencil]] = {VARIANTS[v][0]: {} for v in VALUE_VARIANTS}
    written: dict[tuple[bytes, tuple[Any, ...], int], Stencil] = {}
    for s in group.stencils.values():
        for suffix, (table, refines) in VARIANTS.items():
            if s.name.endswith(suffix):
                name = s.name[: -len(suffix)]
                if name not in names:
                    raise ValueError(f"variant {s.name} has no base stencil")
                b = group.stencils.get(name + refines) or group.stencils[name]
                same = _code(s) == _code(b)
                if suffix in VALUE_VARIANTS:
                    if _code(b) == _code(group.stencils[name]):
                        b = group.stencils[name]  # the one written
                    if any(h.value == "NOVREG" for h in s.holes):
                        continue  # writes a destination slot (template.c): not this variant
                    if suffix != "__VR":
                        # argument variants: only the bodies that read an argument there (the
                        # inlined built-ins), whose code differs from the one without it
                        r = group.stencils[name + "__VR"] if suffix.endswith("R") else b
                        if _code(s) == _code(r):
                            continue
                    if not same and _code(s) not in written:
                        written[_code(s)] = s
                        tables[table].append(s)
                    entries[table][name] = b if same else written[_code(s)]
                elif not same:
                    tables[table].append(s)
    return base, tables, entries


def write_header(group: StencilGroup, digest: str, source: str) -> str:
    """The generated header: deterministic for a given group and digest."""
    lines = [
        "/*",
        f" * Generated by `python -m copypatch._stencils` from {source}: do not edit.",
        f" * target: {group.target}; compiler: {group.compiler}",
        " * The digest covers every input; the build regenerates this file when it changes.",
        " */",
        f'#define CP_JIT_STENCILS_DIGEST "{digest}"',
        f'#define CP_JIT_TARGET "{group.target}"',
        "",
        "/* helpers the stencils call, resolved by the linker when the extension is built */",
        "enum CpJitSymbolHole",
        "{",
    ]
    for i, sym in enumerate(group.symbols):
        lines.append(f"\tCP_HOLE_SYM_{sym}" + (" = CP_HOLE_SYMBOLS," if i == 0 else ","))
    lines += ["\tCP_HOLE_END_", "};", ""]
    lines.append(f"static void *const cp_jit_symbol_addresses[{max(1, len(group.symbols))}] = {{")
    lines += [f"\t(void *) &{sym}," for sym in group.symbols] or ["\t0"]
    lines += ["};", ""]
    lines.append(f"static const char *const cp_jit_symbol_names[{max(1, len(group.symbols))}] = {{")
    lines += [f'\t"{sym}",' for sym in group.symbols] or ["\t0"]
    lines += ["};", ""]
    base, variants, entries = split_variants(group)
    for s in [*base, *(v for vs in variants.values() for v in vs)]:
        lines += _stencil(s)
        lines.append("")
    lines.append("static const CpJitStencil cp_stencils[] = {")
    lines += _table(base, "")
    lines.append("};")
    for suffix, (table, _) in VARIANTS.items():
        lines.append("")
        if suffix in VALUE_VARIANTS:
            lines.append(f"/* the {table} variants (stencil_<name>{suffix}): every stencil, its "
                         "own code where it differs */")
            rows = [_entry(name, s) for name, s in entries[table].items()]
        else:
            lines.append(f"/* the {table} variants (stencil_<name>{suffix}), where they differ */")
            rows = _table(variants[table], suffix)
        lines.append(f"static const CpJitStencil cp_stencils_{table}[CP_JIT_NSTENCILS] = {{")
        lines += rows or ["\t{0}"]
        lines.append("};")
    return "\n".join(lines) + "\n"


def _entry(index: str, s: Stencil) -> str:
    return (f"\t[{index}] = {{cp_stencil_{s.name}_body, {len(s.body)}, {s.trim}, "
            f"cp_stencil_{s.name}_holes, {len(s.holes)}}},")


def _table(stencils: list[Stencil], suffix: str) -> list[str]:
    return [_entry(s.name[: len(s.name) - len(suffix)], s) for s in stencils]


def dump(group: StencilGroup, names: list[str] | None = None) -> str:
    """A readable listing of stencils and their holes, for golden tests and debugging."""
    lines = []
    for s in group.stencils.values():
        if names is not None and s.name not in names:
            continue
        lines.append(f"{s.name}: {len(s.body)} bytes, trim {s.trim}")
        lines += [f"  {h.describe()}" for h in s.holes]
    return "\n".join(lines) + "\n"
