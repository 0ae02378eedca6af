"""Shared by the benchmarks: the standard workload (copypatch.workload), a long expression for
compile latency, and the hand-written C reference."""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from copypatch.workload import QUERIES, make_table  # noqa: F401 (re-exported for the scripts)

HERE = Path(__file__).resolve().parent


def long_expression(n: int = 12) -> str:
    """An OR of n arithmetic comparisons: 50+ steps once n >= 10."""
    return " OR ".join(f"(a + {i} > b * {i + 2} AND c <> {i})" for i in range(n))


# Compile latency: the standard queries, and one of 50+ steps.
COMPILE_EXPRESSIONS = {**QUERIES, "long": long_expression()}


def build_c_reference(out_dir: Path, *, program: bool, vectorize: bool = False) -> Path:
    """Compile c_reference.c as a shared library (for timing) or a program (for callgrind)."""
    name = ("c_reference" if program else "libc_reference.so") + ("_vec" if vectorize else "")
    out = out_dir / name
    flags = ["-O3", "-g"] if vectorize else ["-O2", "-g", "-fno-tree-vectorize"]
    flags += ["-DC_REFERENCE_MAIN"] if program else ["-shared", "-fPIC"]
    subprocess.run(["gcc", *flags, str(HERE / "c_reference.c"), "-o", str(out)], check=True)
    return out


def load_c_reference(vectorize: bool = False) -> Any:
    """c_filter_a_eq_42 from a freshly built shared library."""
    d = Path(tempfile.mkdtemp(prefix="copypatch-cref-"))
    lib = ctypes.CDLL(str(build_c_reference(d, program=False, vectorize=vectorize)))
    fn = lib.c_filter_a_eq_42
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    fn.restype = None
    return fn
