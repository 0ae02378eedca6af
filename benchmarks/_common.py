"""Shared by the benchmarks: the expressions, the table, and the hand-written C reference."""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

# Per-row cost: the four expressions.
ROW_EXPRESSIONS = {
    "eq": "a = 42",
    "and": "a = 42 AND b > 10",
    "or_arith": "a + b > 1000 OR c < 5",
    "case_coalesce": "CASE WHEN a > 50 THEN b ELSE coalesce(c, 7) END > 10",
}


def long_expression(n: int = 12) -> str:
    """An OR of n arithmetic comparisons: 50+ steps once n >= 10."""
    return " OR ".join(f"(a + {i} > b * {i + 2} AND c <> {i})" for i in range(n))


# Compile latency: from the smallest program up to 50+ steps.
COMPILE_EXPRESSIONS = {
    "eq": "a = 42",
    "and": "a = 42 AND b > 10",
    "or_arith": "a + b > 1000 OR c < 5",
    "case_coalesce": "CASE WHEN a > 50 THEN b ELSE coalesce(c, 7) END > 10",
    "in_list": "a IN (1, 2, 3, 5, 8, 13, 21) AND c IS NOT NULL",
    "long": long_expression(),
}


def table(nrows: int, seed: int = 42) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "a": rng.integers(0, 100, nrows, dtype=np.int32),
        "b": rng.integers(0, 100, nrows, dtype=np.int32),
        "c": rng.integers(0, 100, nrows, dtype=np.int32),
    }


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
