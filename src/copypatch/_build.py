"""cffi build declaration of copypatch's C core (out-of-line API mode)."""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"

ffibuilder = FFI()
ffibuilder.cdef((CSRC / "api.h").read_text())
ffibuilder.set_source(
    "copypatch._core",
    '#include "copypatch.h"\n',
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
