"""compile(): the front door, from SQL text or a Python expression to a Program bound to an engine."""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import expr as raw
from . import plancache
from ._errors import CompileError
from ._lazy import lazy_numpy
from .analyze import analyze
from .layout import check_engine
from .nodes import ParamReads
from .passes import OPTIMIZATIONS, check_optimize
from .planner import eval_const_expressions
from .program import Program, Timings, nesting_guard
from .schema import Column, Schema
from .sqltypes import SqlType

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

_clock = time.perf_counter_ns

__all__ = ["compile", "make_schema"]


#: dtype -> its SqlType, as SqlType.from_dtype finds it (a scan of the type table per column,
#: a tenth of a 1-term compile()); only dtypes it accepts are remembered
_DTYPE_TYPES: dict[np.dtype[Any], SqlType] = {}


def _sql_type(dtype: np.dtype[Any]) -> SqlType:
    t = _DTYPE_TYPES.get(dtype)
    if t is None:
        t = SqlType.from_dtype(dtype)
        if len(_DTYPE_TYPES) < 256:  # dtypes with metadata or odd alignment are endless
            _DTYPE_TYPES[dtype] = t
    return t


def make_schema(table: Mapping[str, Any] | Schema) -> Schema:
    """A Schema from a table (name -> array) or a schema mapping (name -> dtype or (dtype, nullable)).

    A plain numpy array is a NOT NULL column, a masked array a nullable one; a bare dtype is
    NOT NULL unless given as (dtype, True).
    """
    if isinstance(table, Schema):
        return table
    if not isinstance(table, Mapping):
        raise TypeError(
            f"schema must be a table (name -> numpy array) or a mapping of name -> dtype, "
            f"not {type(table).__name__}"
        )
    cols = []
    for name, v in table.items():
        if not isinstance(name, str):
            raise TypeError(f"column names must be str, not {type(name).__name__}")
        if isinstance(v, Column):
            cols.append(v)
        elif isinstance(v, np.ma.MaskedArray):
            cols.append(Column(name, _sql_type(v.dtype), True))
        elif isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise TypeError(f'column "{name}" is an object array; use a numeric or bool dtype')
            cols.append(Column(name, _sql_type(v.dtype), False))
        elif isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], bool):
            cols.append(Column(name, _sql_type(np.dtype(v[0])), v[1]))
        else:
            try:
                dt = np.dtype(v)
            except TypeError:
                raise TypeError(
                    f'column "{name}": expected a numpy array, a dtype or (dtype, nullable), '
                    f"not {v!r}"
                ) from None
            cols.append(Column(name, _sql_type(dt), False))
    return Schema(cols)


def compile(
    expression: str | raw.Expr,
    schema: Mapping[str, Any] | Schema,
    *,
    engine: str = "goto",
    optimize: tuple[str, ...] | list[str] = OPTIMIZATIONS,
    verify_each_pass: bool | None = None,
) -> Program:
    """Compile SQL text (a WHERE-clause expression) or a Python-built expression.

    schema: the table itself (name -> numpy array; masked arrays are nullable columns) or a
    schema (name -> dtype, or (dtype, nullable)). engine: one of ENGINES ("switch", "goto", "jit").
    optimize: the optimisation passes to run, a tuple of names from OPTIMIZATIONS (default: all);
    optimize=() gives the program PostgreSQL itself would run. verify_each_pass: verify before
    the passes and after each (a debug setting; default: $COPYPATCH_VERIFY_EACH_PASS), not only
    the final program. The returned Program's ``timings`` says where the time went.
    Raises CompileError for anything PostgreSQL's parser or copypatch cannot handle, and
    EvalError when folding constants fails (PostgreSQL raises those while planning, too).
    """
    # compile() makes many small objects and next to no cycles, and the collector's passes over
    # them (78 per 1000-term AND chain) were a fifth of its time: it is paused meanwhile. A
    # concurrent compile() leaves it to whichever call found it running to start it again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compile(expression, schema, engine, optimize, verify_each_pass)
    finally:
        if gc_was_enabled:
            gc.enable()


def _compile(expression: str | raw.Expr, schema: Mapping[str, Any] | Schema, engine: str,
             optimize: tuple[str, ...] | list[str], verify_each_pass: bool | None) -> Program:
    t0 = _clock()
    check_engine(engine)
    passes = check_optimize(optimize)
    sch = make_schema(schema)
    timings = Timings()
    key: tuple[Any, ...] | None = None
    values: list[int] = []
    found: plancache.Shape | None = None
    if isinstance(expression, str):
        # on first use: pglast is a fifth of `import copypatch`
        from .sql import MAX_PARSE_NESTING, MAX_SQL_LENGTH, parse

        text: str | None = expression
        found = plancache.shape(expression)
        if found is not None:
            # parse() checks a long text's nesting and refuses a too long one: a text of the
            # same shape gets the same checks (its literals may be longer)
            n = len(expression)
            key = (found.key, n > MAX_PARSE_NESTING, n > MAX_SQL_LENGTH, sch.columns, engine,
                   passes)
            values = found.values
            plan = plancache.lookup(key)
            if plan is not None:
                timings.parse = _clock() - t0
                return Program.replayed(plan, found.values, sch, engine, expression, passes,
                                        verify_each_pass=verify_each_pass, timings=timings)
        tree = parse(expression)
    elif isinstance(expression, raw.Expr):
        text = None
        tree = expression
    else:
        raise TypeError(
            f"expression must be SQL text or a copypatch expression, not {type(expression).__name__}"
        )
    t1 = _clock()
    timings.parse = t1 - t0  # with the checks of the arguments and the schema
    with nesting_guard():
        reads = ParamReads() if key is not None else None
        sites = (plancache.LiteralSites(expression, found)
                 if isinstance(expression, str) and found is not None and reads else None)
        node = analyze(tree, sch, sites, reads)
        if node.type in (SqlType.UNKNOWN, SqlType.NUMERIC):
            raise CompileError(
                f"expression of type {node.type.sql_name} is not supported; cast it to a "
                "supported type"
            )
        t2 = _clock()
        timings.analyse = t2 - t1
        # fold once now: PostgreSQL raises folding errors at plan time, whatever the table holds
        eval_const_expressions(node)
        timings.plan = _clock() - t2
        prog = Program(node, sch, engine, text, passes, verify_each_pass=verify_each_pass,
                       timings=timings, param_reads=reads)
    # a plan that read no literal's value, from analysis to the last pass, is one for every
    # text of its shape (plancache.py)
    exe = prog.main_executable
    if key is not None and reads is not None and not reads.read and exe is not None:
        plancache.record(key, exe.layout, values)
    return prog
