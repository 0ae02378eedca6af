"""The standard workload: the queries and the seeded table that the bench, the benchmarks and the
tests all measure, so that their numbers are about the same thing."""

from __future__ import annotations

import numpy as np

#: The standard queries by short name (benchmark names use it), from one comparison up to a
#: 21-conjunct qual and an IN list, over the columns of make_table().
QUERIES: dict[str, str] = {
    "eq": "a = 42",
    "and": "a = 42 AND b > 10",
    "or_arith": "a + b > 1000 OR c < 5",
    "coalesce_case": "COALESCE(b, c) > 50 AND CASE WHEN a > 50 THEN c ELSE a END < 20",
    "and20": " AND ".join(f"a <> {i}" for i in range(100, 120)) + " AND c >= 0",
    "in_list": "a IN (1, 7, 42, 64, 99)",
}
#: The same queries as SQL text, in order.
STANDARD_QUERIES = tuple(QUERIES.values())


def make_table(rows: int, seed: int = 42) -> dict[str, np.ndarray]:
    """The standard table: a int4 NOT NULL in [0, 100), b int8 in [0, 2000) with 10% NULLs
    (a masked array), c int4 NOT NULL in [0, 100)."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2000, rows, dtype=np.int64)
    return {
        "a": rng.integers(0, 100, rows, dtype=np.int32),
        "b": np.ma.masked_array(b, mask=rng.random(rows) < 0.1),
        "c": rng.integers(0, 100, rows, dtype=np.int32),
    }
