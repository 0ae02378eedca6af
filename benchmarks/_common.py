"""Shared by the benchmarks: the standard workload (copypatch.workload) and a long expression for
compile latency. (The hand-written C loops are copypatch.peers.)"""

from __future__ import annotations

from copypatch.workload import QUERIES, make_table  # noqa: F401 (re-exported for the scripts)


def long_expression(n: int = 12) -> str:
    """An OR of n arithmetic comparisons: 50+ steps once n >= 10."""
    return " OR ".join(f"(a + {i} > b * {i + 2} AND c <> {i})" for i in range(n))


# Compile latency: the standard queries, and one of 50+ steps.
COMPILE_EXPRESSIONS = {**QUERIES, "long": long_expression()}
