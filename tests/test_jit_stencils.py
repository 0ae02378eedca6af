"""The stencil generator: golden stencils, loud failures, a fresh committed header."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from helpers import unavailable

from copypatch._stencils import _elf, _targets, _writer, build
from copypatch._stencils._schema import StencilGroup
from copypatch._stencils._targets import TARGETS

GOLDEN = Path(__file__).parent / "golden"
ROOT = build.repo_root()
TARGET = TARGETS["x86_64"]
# a few stencils of the real template whose holes should only change on purpose
TEMPLATE_STENCILS = [
    "CP_JIT_ENTRY",
    "EEOP_CONST",
    "EEOP_DONE",
    "EEOP_QUAL",
    "EEOP_SCAN_FETCHSOME",
    "EEOP_SCALARARRAYOP",
]


@pytest.fixture(scope="module")
def clang() -> str:
    try:
        return _elf.find_clang()
    except _elf.StencilBuildError as e:
        unavailable(str(e))


def need_target(clang: str, target: _targets.Target | str) -> None:
    """Skip (fail in CI) where clang cannot compile for `target`: its C headers are missing."""
    try:
        _elf.check_target(clang, TARGETS[target] if isinstance(target, str) else target)
    except _elf.StencilBuildError as e:
        unavailable(str(e))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("COPYPATCH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed (COPYPATCH_UPDATE_GOLDEN=1 to accept)"


def read(clang: str, source: Path, target: _targets.Target = TARGET) -> StencilGroup:
    need_target(clang, target)
    obj = _elf.compile_object(clang, target, source, [ROOT / "csrc"])
    return _elf.read_stencils(obj, target, "clang")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_handwritten_golden(clang: str, target: str) -> None:
    group = read(clang, GOLDEN / "handwritten.c", TARGETS[target])
    check_golden(f"handwritten_{target}.txt", _writer.dump(group))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_template_golden(clang: str, target: str) -> None:
    group = read(clang, ROOT / "csrc" / "jit" / "template.c", TARGETS[target])
    check_golden(f"template_{target}.txt", _writer.dump(group, TEMPLATE_STENCILS))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_opcode_has_a_stencil(clang: str, target: str) -> None:
    from copypatch import _fmgr

    group = read(clang, ROOT / "csrc" / "jit" / "template.c", TARGETS[target])
    # and the C-ABI entry into the chain (compile.c lays it out after the steps), and the row
    # exits of filter mode
    base = [name for name in group.stencils if not name.endswith(tuple(_writer.VARIANTS))]
    assert sorted(base) == sorted([
        *_fmgr.OPCODE_NAMES, "CP_JIT_ENTRY", "CP_JIT_ROW_TRUE", "CP_JIT_ROW_FALSE",
        "CP_JIT_ROW_TRUE_LEAN", "CP_JIT_ROW_FALSE_LEAN",
    ])
    # and every opcode's variants (kept where they differ)
    assert sorted(set(group.stencils) - set(base)) == sorted(
        f"{name}{suffix}" for name in _fmgr.OPCODE_NAMES for suffix in _writer.VARIANTS
    )


def test_unknown_relocation_fails_loudly(clang: str) -> None:
    # position-independent code reaches helpers through the GOT: a relocation no patcher knows
    pic = dataclasses.replace(
        TARGET, flags=tuple(f for f in TARGET.flags if f != "-fno-pic") + ("-fpic",)
    )
    with pytest.raises(
        _elf.StencilBuildError, match="unknown relocation R_X86_64_(GOTPCREL|REX_GOTPCRELX)"
    ):
        read(clang, GOLDEN / "handwritten.c", pic)


def test_unknown_aarch64_relocation_fails_loudly(clang: str) -> None:
    # AArch64 PIC reaches helpers through the GOT (ADR_GOT_PAGE/LD64_GOT_LO12_NC): no patcher
    t = TARGETS["aarch64"]
    flags = tuple(f for f in t.flags if f not in ("-fno-pic", "-mcmodel=large")) + ("-fpic",)
    pic = dataclasses.replace(t, flags=flags)
    with pytest.raises(_elf.StencilBuildError, match="unknown relocation R_AARCH64_.*GOT"):
        read(clang, GOLDEN / "handwritten.c", pic)


def test_aarch64_trailing_jump_is_trimmed(clang: str) -> None:
    """On AArch64 a stencil ending in `b _JIT_CONTINUE` drops those 4 bytes to fall through."""
    group = read(clang, ROOT / "csrc" / "jit" / "template.c", TARGETS["aarch64"])
    qual = group.stencils["EEOP_CONST"]
    assert qual.trim == 4 and qual.body[-4:] == b"\x00\x00\x00\x14"
    assert qual.holes[-1].value == "CONTINUE" and qual.holes[-1].kind == "R_AARCH64_JUMP26"


def test_unknown_section_fails_loudly(clang: str) -> None:
    with pytest.raises(_elf.StencilBuildError, match=r"refers to section \.l?bss"):
        read(clang, GOLDEN / "bad_data.c")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_committed_header_is_fresh(target: str) -> None:
    """The digest in every committed header matches its inputs (no clang needed to know):
    `python -m copypatch._stencils` regenerates all of them after a change to cases.h."""
    path = build.header_path(ROOT, target)
    assert build.current_digest(path) == build.digest(ROOT, target)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_generation_is_deterministic(clang: str, target: str) -> None:
    need_target(clang, target)
    assert build.generate(ROOT, target, clang) == build.generate(ROOT, target, clang)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_committed_header_equals_fresh_build(clang: str, target: str) -> None:
    need_target(clang, target)
    assert build.check(ROOT, target), f"stencils_{target}.h differs from a fresh build"


def test_stale_inputs_regenerate(clang: str, tmp_path: Path) -> None:
    """A copy of the tree with a changed input gets a new digest and header; unchanged, none."""
    import shutil

    need_target(clang, "x86_64")
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "csrc", root / "csrc")
    stencils = root / "src" / "copypatch" / "_stencils"
    shutil.copytree(
        Path(build.__file__).parent, stencils, ignore=shutil.ignore_patterns("__pycache__")
    )
    # the digest covers the generator's own files, found next to build.py: use the copies' digest
    header = build.header_path(root, "x86_64")
    header.unlink()
    assert build.ensure(root, "x86_64") is True
    assert build.ensure(root, "x86_64") is False
    template = root / "csrc" / "jit" / "template.c"
    template.write_text(template.read_text() + "\n/* changed */\n")
    assert build.current_digest(header) != build.digest(root, "x86_64")
    assert build.ensure(root, "x86_64") is True


def test_stale_header_without_clang_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale header is never used: with no clang to regenerate it, the build fails."""
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "csrc", root / "csrc")
    shutil.copytree(
        Path(build.__file__).parent,
        root / "src" / "copypatch" / "_stencils",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "csrc" / "cases.h").write_text((root / "csrc" / "cases.h").read_text() + "\n")
    monkeypatch.setenv("COPYPATCH_CLANG", str(tmp_path / "no-such-clang"))
    with pytest.raises(_elf.StencilBuildError, match="no clang >= 19"):
        build.ensure(root, "x86_64")


def test_relocation_kinds_are_listed_once(tmp_path: Path) -> None:
    """csrc/jit/relocs.def is the one list: every target's accepted kinds come from it, every
    kind belongs to a target, and a line the C preprocessor would read differently fails."""
    kinds = _targets.read_relocations()
    assert sorted(kinds) == sorted(t.arch for t in TARGETS.values())
    for t in TARGETS.values():
        assert t.relocations == kinds[t.arch] and t.relocations
    bad = tmp_path / "relocs.def"
    bad.write_text("/* a comment */\nRELOC(X86_64, R_X86_64_64)\n#define RELOC_MORE 1\n")
    with pytest.raises(_elf.StencilBuildError, match=r"relocs.def:3: not a RELOC"):
        _targets.read_relocations(bad)


def test_digest_covers_the_relocation_list() -> None:
    assert ROOT / "csrc" / "jit" / "relocs.def" in build.inputs(ROOT)
