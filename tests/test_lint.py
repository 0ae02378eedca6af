"""The project's own checks, run with the tests: ruff over the tree, mypy --strict over the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import unavailable

ROOT = Path(__file__).resolve().parent.parent


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        __import__(module)
    except ImportError:
        unavailable(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def test_ruff_clean() -> None:
    done = run_tool("ruff", "check", "src", "tests", "benchmarks", "tools")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_clean() -> None:
    done = run_tool("mypy", "--strict", "src/copypatch")
    assert done.returncode == 0, done.stdout + done.stderr
