"""Cross-compile copypatch's cffi extension for aarch64 into an importable package directory.

Used by tools/test-arm64.sh: `python tools/cross_build_arm64.py SYSROOT OUTDIR`. cffi writes the
extension's C source (src/copypatch/_build.py, the same declaration `pip install` uses, with
COPYPATCH_JIT_TARGET=aarch64 so that csrc/jit/stencils_aarch64.h is checked fresh or
regenerated), and aarch64-linux-gnu-gcc compiles it with the C core against the arm64 Python
headers of SYSROOT, into src/copypatch/_core.cpython-311-aarch64-linux-gnu.so (gitignored). An
aarch64 Python looks for that name first; an x86-64 one never does (it looks for its own
suffix, then the `.abi3.so` that `pip install -e .` builds), so both builds can sit side by side
and the aarch64 run tests the source tree itself. OUTDIR holds the intermediate C file.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CC = os.environ.get("CROSS_CC", "aarch64-linux-gnu-gcc")
# the arm64 interpreter's own suffix: it looks for this name first, so an x86-64 .so next to it
# (or on the path) is never picked up by mistake
SUFFIX = ".cpython-311-aarch64-linux-gnu.so"


def main() -> int:
    sysroot, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    os.environ["COPYPATCH_JIT_TARGET"] = "aarch64"
    build = runpy.run_path(str(ROOT / "src" / "copypatch" / "_build.py"))
    ffibuilder = build["ffibuilder"]
    obj = out / "obj"
    obj.mkdir(parents=True, exist_ok=True)
    ffibuilder.emit_c_code(str(obj / "_core.c"))

    pkg = ROOT / "src" / "copypatch"
    sources = [obj / "_core.c", *(ROOT / src for src in build["SOURCES"])]  # as pip's build
    pyinc = sysroot / "usr/include/python3.11"
    cmd = [
        CC,
        "-shared",
        "-fPIC",
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-fno-strict-aliasing",
        f"-I{ROOT / 'csrc'}",
        f"-isystem{pyinc}",
        # pyconfig.h includes <aarch64-linux-gnu/python3.11/pyconfig.h>; after the cross libc's
        "-idirafter",
        str(sysroot / "usr/include"),
        *map(str, sources),
        "-o",
        str(pkg / f"_core{SUFFIX}"),
        "-lm",
    ]
    if not (pyinc / "Python.h").exists():
        raise SystemExit(f"no arm64 Python headers in {pyinc}")
    print(" ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
