"""The operator/cast catalog copypatch resolves with is PostgreSQL's, and the C core implements it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from copypatch import _fmgr
from copypatch import _pgcatalog as catalog
from copypatch.sqltypes import SqlType

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = {t.value for t in SqlType.stored()}  # csrc/types.def


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_pgcatalog", ROOT / "tools" / "gen_pgcatalog.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_pgcatalog"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_catalog_is_what_the_server_says(pg: Any) -> None:
    import psycopg

    gen = load_generator()
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        text = gen.generate(conn)
    fresh: dict[str, Any] = {}
    exec(compile(text, "<generated>", "exec"), fresh)  # noqa: S102 (our own generated module)
    for name in ("BINARY_OPERATORS", "UNARY_OPERATORS", "COMMON_TYPES", "CASTS", "NEGATORS",
                 "FUNCTIONS", "FUNCTION_CALLS", "CMP_FUNCTIONS", "VARIADIC_ANY", "SQL_INLINE"):
        assert fresh[name] == getattr(catalog, name), f"{name} differs: regenerate _pgcatalog.py"
    assert fresh["SERVER_VERSION"].split(".")[0] == catalog.SERVER_VERSION.split(".")[0]


def test_every_catalog_function_over_supported_types_is_implemented() -> None:
    wanted = {
        name for name, f in catalog.FUNCTIONS.items()
        if set(f["args"]) <= SUPPORTED and f["rettype"] in SUPPORTED
    }
    variadic = set(catalog.VARIADIC_ANY.values())  # num_nulls: any number of any types
    assert wanted | variadic == set(_fmgr.FUNCTIONS)
    for name in wanted:
        assert _fmgr.FUNCTIONS[name][1] == len(catalog.FUNCTIONS[name]["args"])
    for name in variadic:
        assert _fmgr.FUNCTIONS[name][1] == -1
        assert catalog.FUNCTIONS[name]["args"] == ("any",)
