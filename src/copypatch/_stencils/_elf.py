"""Compile the stencil template with clang and read its code and relocations with pyelftools."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ._schema import HOLE_PREFIX, Hole, Stencil, StencilBuildError, StencilGroup
from ._targets import Target

__all__ = ["StencilBuildError", "compile_object", "find_clang", "read_stencils"]

STENCIL_PREFIX = "stencil_"
MIN_CLANG = 19

# Sections every object file has that hold nothing a stencil needs.
IGNORED_SECTIONS = {
    "",
    ".text",
    ".comment",
    ".note.GNU-stack",
    ".llvm_addrsig",
    ".symtab",
    ".strtab",
    ".shstrtab",
}
# Read-only data a stencil may use; it is copied after the stencil's code. (.lrodata: the medium
# code model's large data.) Writable data (.data, .bss) cannot be shared by copies: an error.
DATA_SECTIONS = (".rodata", ".lrodata")


def find_clang() -> str:
    """$COPYPATCH_CLANG, else the first clang >= 19 on PATH (clang-19, clang-20, ..., clang)."""
    env = os.environ.get("COPYPATCH_CLANG")
    candidates = [env] if env else [f"clang-{v}" for v in range(MIN_CLANG, 31)] + ["clang"]
    for c in candidates:
        path = shutil.which(c)
        if path is None:
            continue
        major = clang_major(path)
        if major >= MIN_CLANG:
            return path
        if env:
            raise StencilBuildError(f"COPYPATCH_CLANG={env} is clang {major}; need >= {MIN_CLANG}")
    raise StencilBuildError(
        f"no clang >= {MIN_CLANG} found (set COPYPATCH_CLANG or install clang-{MIN_CLANG}); "
        "it is needed to regenerate the JIT's stencils because their inputs changed"
    )


def clang_version(clang: str) -> str:
    out = subprocess.run([clang, "--version"], check=True, capture_output=True, text=True).stdout
    return out.splitlines()[0].strip()


def clang_major(clang: str) -> int:
    m = re.search(r"clang version (\d+)", clang_version(clang))
    return int(m.group(1)) if m else 0


def compile_object(clang: str, target: Target, source: Path, include_dirs: list[Path]) -> bytes:
    """The object file of `source`, compiled for `target`."""
    check_target(clang, target)
    with tempfile.TemporaryDirectory() as tmp:
        obj = Path(tmp) / "stencils.o"
        cmd = [clang, f"--target={target.triple}", *target.flags, "-c", str(source), "-o", str(obj)]
        cmd += [f"-I{d}" for d in include_dirs]
        subprocess.run(cmd, check=True)
        return obj.read_bytes()


@functools.cache
def _target_error(clang: str, target: Target) -> str | None:
    probe = "#include <errno.h>\n#include <math.h>\n#include <string.h>\nint cp_probe;\n"
    done = subprocess.run(
        [clang, f"--target={target.triple}", "-fsyntax-only", "-x", "c", "-"],
        check=False,
        input=probe,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    first = next((ln for ln in lines if "error:" in ln), lines[0] if lines else "(no message)")
    return (
        f"{clang} cannot compile for {target.triple}: the target's C headers are missing "
        f"(apt-get install {target.headers}); clang said: {first}"
    )


def check_target(clang: str, target: Target) -> None:
    """Raise StencilBuildError, naming the Debian package to install, if `clang` cannot compile
    the template for `target` on this machine (its C library headers are missing)."""
    err = _target_error(clang, target)
    if err is not None:
        raise StencilBuildError(err)


def read_stencils(obj: bytes, target: Target, compiler: str) -> StencilGroup:
    """Every `stencil_<name>` function of the object file, as a Stencil."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    elf = ELFFile(io.BytesIO(obj))
    reloc_names = _reloc_names(elf)
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        raise StencilBuildError("object file has no symbol table")

    relocs_for: dict[int, Any] = {}
    for sec in elf.iter_sections():
        if isinstance(sec, RelocationSection):
            if not sec.is_RELA():
                raise StencilBuildError(f"{sec.name}: REL relocations are not supported")
            relocs_for[sec["sh_info"]] = sec

    # which function lives in which section
    functions: dict[int, str] = {}
    for sym in symtab.iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC" and sym.name.startswith(STENCIL_PREFIX):
            functions[sym["st_shndx"]] = sym.name[len(STENCIL_PREFIX) :]

    stencils: dict[str, Stencil] = {}
    symbols: set[str] = set()
    for index, sec in enumerate(elf.iter_sections()):
        name = sec.name
        if isinstance(sec, RelocationSection) or name in IGNORED_SECTIONS:
            if name == ".text" and sec["sh_size"]:
                raise StencilBuildError(".text is not empty: code outside a stencil function")
            continue
        if name.startswith(".text."):
            if index not in functions:
                raise StencilBuildError(f"section {name} holds no stencil function")
            stencil = _read_stencil(
                elf, index, functions[index], relocs_for, symtab, reloc_names, target, symbols
            )
            stencil.trim = (
                0 if len(stencil.body) != _code_size(elf, index) else target.trailing_jump(stencil)
            )
            stencils[stencil.name] = stencil
        elif name.startswith(DATA_SECTIONS):
            continue  # pulled into the stencils that reference it
        else:
            raise StencilBuildError(f"unexpected section {name!r} (type {sec['sh_type']})")
    return StencilGroup(target.name, compiler, dict(sorted(stencils.items())), sorted(symbols))


def _code_size(elf: Any, index: int) -> int:
    return int(elf.get_section(index)["sh_size"])


def _reloc_names(elf: Any) -> dict[int, str]:
    from elftools.elf.enums import ENUM_RELOC_TYPE_AARCH64, ENUM_RELOC_TYPE_x64

    table = {"EM_X86_64": ENUM_RELOC_TYPE_x64, "EM_AARCH64": ENUM_RELOC_TYPE_AARCH64}
    machine = elf["e_machine"]
    if machine not in table:
        raise StencilBuildError(f"unsupported machine {machine}")
    names = {v: k for k, v in table[machine].items() if not k.startswith("_")}
    if machine == "EM_AARCH64":
        names.setdefault(299, "R_AARCH64_LDST128_ABS_LO12_NC")  # missing from pyelftools 0.33
    return names


def _read_stencil(
    elf: Any,
    index: int,
    name: str,
    relocs_for: dict[int, Any],
    symtab: Any,
    reloc_names: dict[int, str],
    target: Target,
    symbols: set[str],
) -> Stencil:
    from elftools.elf.constants import SH_FLAGS

    body = bytearray(elf.get_section(index).data())
    holes: list[Hole] = []
    data_at: dict[int, int] = {}  # rodata section index -> its offset in this stencil's body
    entry_at: dict[tuple[int, int], int] = {}  # (section, entry) -> its offset in the body

    def place_entry(shndx: int, value: int) -> int | None:
        """A constant-pool entry (.LCPI*, in a mergeable section such as .rodata.cst16, which
        holds the whole object's constants): only that entry is copied, not the section.
        Returns where the entry's section would start (None: copy the section)."""
        sec = elf.get_section(shndx)
        size = int(sec["sh_entsize"])
        if (not sec["sh_flags"] & SH_FLAGS.SHF_MERGE or sec["sh_flags"] & SH_FLAGS.SHF_STRINGS
                or size <= 0 or value % size or shndx in relocs_for):
            return None
        if (shndx, value) not in entry_at:
            align = max(size, int(sec["sh_addralign"]))
            body.extend(b"\0" * (-len(body) % align))
            entry_at[shndx, value] = len(body)
            body.extend(sec.data()[value:value + size])
        return entry_at[shndx, value] - value

    def place_data(shndx: int) -> int:
        if shndx not in data_at:
            sec = elf.get_section(shndx)
            if not sec.name.startswith(DATA_SECTIONS):
                raise StencilBuildError(f"stencil {name} refers to section {sec.name}")
            if shndx in relocs_for:
                raise StencilBuildError(f"{sec.name} (used by {name}) has relocations")
            align = max(1, int(sec["sh_addralign"]))
            body.extend(b"\0" * (-len(body) % align))
            data_at[shndx] = len(body)
            body.extend(sec.data())
        return data_at[shndx]

    for rel in relocs_for[index].iter_relocations() if index in relocs_for else ():
        rtype = reloc_names.get(rel["r_info_type"], str(rel["r_info_type"]))
        if rtype not in target.relocations:
            raise StencilBuildError(
                f"stencil {name}: unknown relocation {rtype} (no {target.arch} patcher for it in "
                f"csrc/jit/relocs.def): {dict(rel.entry)}"
            )
        sym = symtab.get_symbol(rel["r_info_sym"])
        offset, addend = int(rel["r_offset"]), int(rel["r_addend"])
        shndx = sym["st_shndx"]
        if shndx == "SHN_UNDEF" and sym.name.startswith(HOLE_PREFIX):
            holes.append(Hole(offset, rtype, sym.name[len(HOLE_PREFIX) :], addend=addend))
        elif shndx == "SHN_UNDEF":
            if sym["st_info"]["bind"] != "STB_GLOBAL" or not sym.name:
                raise StencilBuildError(
                    f"stencil {name}: unexpected symbol {sym.name!r}: {dict(sym.entry)}"
                )
            symbols.add(sym.name)
            holes.append(Hole(offset, rtype, "SYMBOL", sym.name, addend))
        elif shndx == index:
            holes.append(Hole(offset, rtype, "CODE", addend=addend + int(sym["st_value"])))
        elif isinstance(shndx, int):
            entry = (place_entry(shndx, int(sym["st_value"]))
                     if sym["st_info"]["type"] != "STT_SECTION" else None)
            base = entry if entry is not None else place_data(shndx)
            holes.append(Hole(offset, rtype, "CODE", addend=addend + base + int(sym["st_value"])))
        else:
            raise StencilBuildError(f"stencil {name}: symbol {sym.name!r} in {shndx}")
    return Stencil(name, bytes(body), sorted(holes))
