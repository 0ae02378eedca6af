"""cffi build declaration of copypatch's C core (out-of-line API mode)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"

# The JIT's stencils (csrc/jit/stencils_<arch>.h) are regenerated when their inputs changed;
# _stencils is imported on its own because the copypatch package needs the extension built here.
# jit/stencils.c includes the header of the architecture it is compiled for; the one that must be
# fresh is this machine's, or $COPYPATCH_JIT_TARGET's when cross-compiling (tools/test-arm64.sh).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stencils import build as _stencil_build
from _stencils._targets import host_target

_stencil_build.ensure_for_build(ROOT, os.environ.get("COPYPATCH_JIT_TARGET") or host_target())
del sys.path[0]

# The C core: csrc/*.c and the JIT's runtime (csrc/jit/template.c is the stencils' source, never
# compiled in). tools/cross_build_arm64.py compiles the same list.
JIT_RUNTIME = ("arena.c", "compile.c", "stencils.c")
SOURCES = [
    str(p.relative_to(ROOT))
    for p in [*sorted(CSRC.glob("*.c")), *(CSRC / "jit" / name for name in JIT_RUNTIME)]
]

ffibuilder = FFI()
ffibuilder.cdef((CSRC / "api.h").read_text())
ffibuilder.set_source(
    "copypatch._core",
    '#include "copypatch.h"\n',
    sources=SOURCES,
    include_dirs=[str(CSRC.relative_to(ROOT))],
    depends=[
        str(p.relative_to(ROOT)) for p in sorted([*CSRC.glob("jit/*.h"), *CSRC.glob("jit/*.def")])
    ],
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
