"""Regenerate csrc/jit/stencils_<arch>.h when its inputs changed (the digest in the header)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import _elf, _writer
from ._targets import TARGETS

HERE = Path(__file__).resolve().parent


def repo_root() -> Path:
    return HERE.parents[2]


def header_path(root: Path, target: str) -> Path:
    return root / "csrc" / "jit" / f"stencils_{target}.h"


def inputs(root: Path) -> list[Path]:
    """Everything the generated header depends on, sorted: the template, the headers and lists
    it includes, the relocation kinds the runtime patches (which decide what the build accepts),
    and this generator itself (flags and all)."""
    csrc = root / "csrc"
    files = [
        csrc / "jit" / "template.c",
        *(csrc / "jit").glob("*.def"),
        *csrc.glob("*.h"),
        *csrc.glob("*.def"),
        *(root / "src" / "copypatch" / "_stencils").glob("*.py"),
    ]
    return sorted(set(files))


def digest(root: Path, target: str) -> str:
    h = hashlib.sha256(target.encode())
    for p in inputs(root):
        h.update(b"\0" + p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def current_digest(path: Path) -> str | None:
    if not path.exists():
        return None
    m = re.search(r'#define CP_JIT_STENCILS_DIGEST "([0-9a-f]+)"', path.read_text())
    return m.group(1) if m else None


def generate(root: Path, target: str, clang: str | None = None) -> str:
    """The header text, compiled afresh."""
    t = TARGETS[target]
    clang = clang or _elf.find_clang()
    template = root / "csrc" / "jit" / "template.c"
    obj = _elf.compile_object(clang, t, template, [root / "csrc"])
    group = _elf.read_stencils(obj, t, _elf.clang_version(clang))
    return _writer.write_header(group, digest(root, target), "csrc/jit/template.c")


def ensure(root: Path | None = None, target: str = "x86_64", force: bool = False) -> bool:
    """Regenerate the header if it is missing or stale; returns whether it was written.

    A stale header is never used: without a clang >= 19 this raises.
    """
    root = root or repo_root()
    path = header_path(root, target)
    if not force and current_digest(path) == digest(root, target):
        return False
    text = generate(root, target)
    tmp = path.with_suffix(".h.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def ensure_for_build(root: Path | None = None, target: str | None = None) -> None:
    """What the extension's build does: the header of the machine being built for must be fresh
    (regenerated, or the build fails); the other targets' headers are regenerated too when a
    clang is at hand, so that a change to cases.h updates every committed header at once."""
    root = root or repo_root()
    if target is not None:
        ensure(root, target)
    for other in sorted(TARGETS):
        if other != target:
            try:
                ensure(root, other)
            except _elf.StencilBuildError:
                pass  # not used by this build; tests/test_jit_stencils.py reports it stale


def check(root: Path | None = None, target: str = "x86_64") -> bool:
    """Whether the committed header is up to date and identical to a fresh generation."""
    root = root or repo_root()
    path = header_path(root, target)
    return path.exists() and path.read_text() == generate(root, target)
