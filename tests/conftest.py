"""Shared pytest fixtures."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# every program the tests compile is verified after each pass, not only once on the way out
# (compile()'s debug setting; set before copypatch is imported, which reads it then)
os.environ.setdefault("COPYPATCH_VERIFY_EACH_PASS", "1")

from helpers import unavailable


@pytest.fixture(autouse=True)
def _fresh_plan_cache() -> None:
    """Each test starts with compile()'s plan cache empty: a test that patches a stage of
    compile() (a broken pass, say) must see its texts compiled, not replayed from another
    test's plans. Within a test the cache works as ever (the fuzzers replay plenty)."""
    from copypatch import plancache

    plancache.clear()

# -- PostgreSQL (copypatch.pg) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    """A `copypatch.pg.PostgreSQL` for the whole session: $COPYPATCH_PG_DSN if set, else a
    throwaway local cluster (stopped at the end)."""
    # Imported here so that collecting other tests does not depend on psycopg.
    from copypatch.pg import PostgreSQL, PostgresUnavailable

    try:
        db = PostgreSQL()
    except PostgresUnavailable as e:
        unavailable(f"no PostgreSQL server for the tests: {e}")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="session")
def pg_bindir() -> Path:
    """The PostgreSQL server binaries' directory, for tests that start their own cluster."""
    from copypatch.pg import PostgresUnavailable, find_bindir

    try:
        return find_bindir()
    except PostgresUnavailable as e:
        unavailable(f"no PostgreSQL binaries for the tests: {e}")


# -- tests for another architecture's run -----------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the aarch64 run are deselected elsewhere, not skipped: CI allows no skips, and
    these are not missing a tool, they belong to the other run (tools/test-arm64.sh)."""
    arm64_run = os.environ.get("COPYPATCH_ARM64_QEMU") == "1"
    aarch64 = platform.machine() == "aarch64"
    keep, drop = [], []
    for item in items:
        if (item.get_closest_marker("arm64_run") and not arm64_run) or (
            item.get_closest_marker("aarch64_only") and not aarch64
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
