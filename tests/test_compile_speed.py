"""compile()'s stages and their timings, verification once or after every pass, and the reuse of
a bound table by filter()/evaluate() (issue 14)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

import copypatch
from copypatch import CompileError, passes, plancache, program

TABLE = {"a": np.array([1, 42, 7], dtype=np.int32),
         "b": np.ma.masked_array([5, 0, 9], mask=[False, True, False], dtype=np.int64)}


def test_timings_cover_every_stage() -> None:
    prog = copypatch.compile("a = 42 OR b > 6", TABLE, engine="jit")
    t = prog.timings
    assert [f.name for f in fields(t)] == ["parse", "analyse", "plan", "lower", "passes",
                                           "verify", "layout", "jit"]
    assert all(getattr(t, f.name) > 0 for f in fields(t))
    assert t.total == sum(getattr(t, f.name) for f in fields(t))
    text = prog.explain(timings=True)
    assert text.startswith(prog.explain()) and text.splitlines()[-1].startswith("Timing: Parse ")
    # the interpreters have no JIT stage; a Python-built expression is not parsed
    t = copypatch.compile(copypatch.col("a") == 42, TABLE, engine="goto").timings
    assert t.jit == 0 and t.lower > 0


def _broken_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(sp: Any) -> Any:
        sp.steps[-2] = replace(sp.steps[-2], jumpdone=len(sp.steps) + 100)
        return sp

    monkeypatch.setitem(passes.PASSES, "row_loop", bad)  # the last pass
    plancache.clear()  # no plan made before replayed: the broken pass must run


def test_verification_once_on_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the program is verified once, after the passes; a broken pass is still caught."""
    calls = []
    real = program.verify
    monkeypatch.setattr(program, "verify", lambda *a, **k: calls.append(1) or real(*a, **k))
    copypatch.compile("a = 42", TABLE, verify_each_pass=False)
    assert len(calls) == 1
    _broken_pass(monkeypatch)
    with pytest.raises(CompileError, match="jump target"):
        copypatch.compile("a = 42", TABLE, verify_each_pass=False)


def test_verify_each_pass_names_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_pass(monkeypatch)
    with pytest.raises(CompileError, match="jump target") as ei:
        copypatch.compile("a = 42", TABLE, verify_each_pass=True)
    assert "found after the row_loop pass" in getattr(ei.value, "__notes__", [])


def test_the_tests_verify_each_pass() -> None:
    assert program.VERIFY_EACH_PASS  # tests/conftest.py turns it on


def test_a_bound_table_is_reused_and_rebound_when_it_changes() -> None:
    t = {"a": np.array([1, 42, 7], dtype=np.int32),
         "b": np.ma.masked_array([5, 0, 9], mask=[False, False, False], dtype=np.int64)}
    prog = copypatch.compile("a = 42 OR b > 6", t, engine="goto")
    assert prog.filter(t).tolist() == [False, True, True]
    exe = prog._qual_program()[1]
    assert exe is not None
    cols = exe.binding.cols
    assert prog.filter(t).tolist() == [False, True, True] and exe.binding.cols is cols
    # a NULL set in a mask that had none: seen (the mask is checked again on reuse)
    t["b"][2] = np.ma.masked
    assert prog.filter(t).tolist() == [False, True, False]
    assert prog.evaluate(t).tolist() == [False, True, None]
    # values changed in place: the same memory, read again
    t["a"][0] = 42
    assert prog.filter(t).tolist() == [True, True, False]
    # another array, a view with other strides, another length: bound anew
    t["a"] = np.array([0, 0, 42, 42, 42, 42], dtype=np.int32)[::2]
    t["b"] = np.ma.masked_array([0, 0, 0], mask=[True, False, False], dtype=np.int64)
    assert prog.filter(t).tolist() == [False, True, True]
    t["a"] = t["a"][:2]
    with pytest.raises(ValueError, match="rows"):
        prog.filter(t)
    # the same array object, reshaped in place: not a column any longer
    t = {"a": np.arange(4, dtype=np.int32), "b": np.ma.masked_array(np.arange(4))}
    prog.filter(t)
    t["a"].shape = (2, 2)
    with pytest.raises(ValueError, match="dimensions"):
        prog.filter(t)
    # the binding holds the arrays: resizing one in place is refused while it is bound
    t = {"a": np.arange(4, dtype=np.int32), "b": np.ma.masked_array(np.arange(4))}
    prog.filter(t)
    with pytest.raises(ValueError):
        t["a"].resize(1000)
    prog.close()
    assert exe.binding.key is None  # close() lets the table go


def test_a_not_null_column_given_nulls_later_is_refused() -> None:
    t = {"a": np.ma.masked_array(np.array([1, 2], dtype=np.int32), mask=[False, False])}
    prog = copypatch.compile("a > 1", {"a": np.int32})  # declared NOT NULL
    assert prog.filter(t).tolist() == [False, True]
    t["a"][0] = np.ma.masked
    with pytest.raises(ValueError, match="NOT NULL"):
        prog.filter(t)


def test_tables_that_are_not_plain_are_bound_every_time() -> None:
    class Sub(np.ndarray):
        pass

    prog = copypatch.compile("a = 42", {"a": np.int32})
    t = {"a": np.array([42, 1], dtype=np.int32).view(Sub)}
    assert prog.filter(t).tolist() == [True, False]
    exe = prog._qual_program()[1]
    assert exe is not None and exe.binding.key is None


def test_compile_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    copypatch.compile("a = 42", TABLE)
    assert gc.isenabled()
    with pytest.raises(CompileError):
        copypatch.compile("a = ", TABLE)
    assert gc.isenabled()
    gc.disable()
    try:
        copypatch.compile("a = 42", TABLE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_quick_nesting_bound_is_never_below_the_scanners() -> None:
    from copypatch import sql

    for text in ["a <> 0 AND b = 1", "-(", "((a))", "a::int8 + b * 2 <= 3", "CASE WHEN a THEN (b) END",
                 "a = ANY (ARRAY[1, 2])", "NOT NOT a", "'x' = a", "a <=+ b", "(" * 3000 + "a" + ")" * 3000,
                 " AND ".join(f"a <> {i}" for i in range(1000))]:
        assert sql.quick_nesting_bound(text) >= sql.nesting_bound(text), text
    deep = "(" * 3000 + "a" + ")" * 3000
    with pytest.raises(CompileError, match="nested deeper"):
        copypatch.compile(deep, TABLE)


def test_a_binding_that_is_a_copy_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """If binding copies a column (an unaligned one, say), the copy would miss later writes into
    the caller's array: such a table is bound afresh on every call."""
    from copypatch import layout

    real = layout.bind_columns

    def copying(schema: Any, table: Any) -> Any:
        copied = {k: v.copy() for k, v in table.items()}
        cols, nrows, keep = real(schema, copied)
        return cols, nrows, [*keep, copied]

    monkeypatch.setattr(layout, "bind_columns", copying)
    t = {"a": np.array([1, 42], dtype=np.int32)}
    prog = copypatch.compile("a = 42", {"a": np.int32})
    assert prog.filter(t).tolist() == [False, True]
    t["a"][0] = 42
    assert prog.filter(t).tolist() == [True, True]


def test_positions_count_characters_in_text_that_is_not_ascii() -> None:
    """libpg_query's JSON counts bytes; positions, and the integers read back from the text,
    count characters, as pglast's tree does."""
    from copypatch import expr, sql

    tree = sql.parse("(éé + -1) = (a::int2)")
    assert isinstance(tree, expr.Op) and tree.position == 10
    left = tree.args[0]
    assert isinstance(left, expr.Op) and left.position == 4
    lit = left.args[1]
    assert isinstance(lit, expr.Literal) and (lit.kind, lit.value) == ("int", -1)
    with pytest.raises(CompileError, match=r"nosuch.* \(at character 5\)"):
        copypatch.compile("1 + nosuch", TABLE)
    with pytest.raises(CompileError, match=r"nosuch.* \(at character 7\)"):
        copypatch.compile("'é' + nosuch", TABLE)


def test_import_copypatch_loads_only_what_it_needs() -> None:
    """The PostgreSQL driver, the fuzzers' and benchmarks' libraries, the parser, the catalog
    tables and numpy are imported on first use, not by `import copypatch`."""
    import subprocess
    import sys

    lazy = ("numpy", "psycopg", "hypothesis", "pyperf", "rich", "matplotlib", "pglast", "capstone",
            "elftools", "decimal", "copypatch._pgcatalog", "copypatch.pg", "copypatch.testing",
            "copypatch.bench", "copypatch.fuzz")
    code = f"import sys, copypatch; print([m for m in {lazy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    # and compile() still finds them
    code = ("import sys, numpy, copypatch; copypatch.compile('a > 1', {'a': numpy.arange(3)}); "
            "print('copypatch._pgcatalog' in sys.modules, 'pglast' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["True", "True"]
    # a schema of dtype names needs numpy only once a table is scanned; after that every module
    # that asked for numpy lazily holds numpy itself
    code = ("import sys, copypatch; p = copypatch.compile('a > 1', {'a': 'int64'}); "
            "import numpy; print(p.filter({'a': numpy.arange(3)}).tolist(), "
            "all(m.np is numpy for n, m in sys.modules.items() "
            "if n.startswith('copypatch.') and hasattr(m, 'np')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[False,", "False,", "True]", "True"]
