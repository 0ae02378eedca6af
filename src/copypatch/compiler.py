"""compile(): from SQL text or a Python expression to a Program bound to an engine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import expr as raw
from ._errors import CompileError
from .analyze import Column, Schema, analyze
from .lower import StepProgram, lower_expr, lower_qual
from .nodes import Node
from .passes import OPTIMIZATIONS, check_optimize
from .passes import optimize as run_passes
from .planner import QualPlan, eval_const_expressions, plan_qual
from .program import ENGINES, Executable, explain_steps
from .sqltypes import SqlType
from .verify import verify


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
            cols.append(Column(name, SqlType.from_dtype(v.dtype), True))
        elif isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise TypeError(f'column "{name}" is an object array; use a numeric or bool dtype')
            cols.append(Column(name, SqlType.from_dtype(v.dtype), False))
        elif isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], bool):
            cols.append(Column(name, SqlType.from_dtype(np.dtype(v[0])), v[1]))
        else:
            try:
                dt = np.dtype(v)
            except TypeError:
                raise TypeError(
                    f'column "{name}": expected a numpy array, a dtype or (dtype, nullable), '
                    f"not {v!r}"
                ) from None
            cols.append(Column(name, SqlType.from_dtype(dt), False))
    return Schema(cols)


@contextlib.contextmanager
def nesting_guard() -> Iterator[None]:
    """Analysis, planning and lowering recurse over the expression: an expression nested deeper
    than Python's recursion limit allows is a CompileError (PostgreSQL's own limit is
    max_stack_depth), never a RecursionError."""
    try:
        yield
    except RecursionError:
        raise CompileError(
            "expression nested too deeply for copypatch's compiler (Python's recursion limit)"
        ) from None


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return engine


class Program:
    """A compiled expression: PostgreSQL-style steps run by one engine over numpy columns.

    ``filter(table)`` evaluates it as a WHERE clause (the bool mask of rows where it is true);
    ``evaluate(table)`` as a SELECT-list expression (its value per row, masked where NULL).
    PostgreSQL plans the two differently (a WHERE clause is split into quals ordered by cost), so
    each has its own step program; ``explain()`` shows the one ``filter`` runs for a boolean
    expression and the one ``evaluate`` runs otherwise.
    """

    def __init__(self, tree: Node, schema: Schema, engine: str, text: str | None,
                 optimize: tuple[str, ...] = OPTIMIZATIONS) -> None:
        self.schema = schema
        self.engine = engine
        self.optimize = optimize
        self.text = text
        self.tree = tree
        self.result_type = tree.type
        self._qual: tuple[QualPlan, Executable | None] | None = None
        self._expr: Executable | None = None
        self.closed = False
        # build the main program now, so that compile() pays for it and compile_ns means it
        if self.result_type is SqlType.BOOL:
            self._qual_program()
        else:
            self._expr_program()

    # -- the two programs ---------------------------------------------------------------------
    def _qual_program(self) -> tuple[QualPlan, Executable | None]:
        if self._qual is None:
            if self.result_type is not SqlType.BOOL:
                raise CompileError(
                    f"argument of WHERE must be type boolean, not type {self.result_type.sql_name}"
                )
            with nesting_guard():
                plan = plan_qual(self.tree)
                exe = (None if plan.constant_false or not plan.quals
                       else self._build(lower_qual(plan.quals)))
            self._qual = (plan, exe)
        return self._qual

    def _expr_program(self) -> Executable:
        if self._expr is None:
            with nesting_guard():
                self._expr = self._build(lower_expr(eval_const_expressions(self.tree)))
        return self._expr

    def _build(self, sp: StepProgram) -> Executable:
        # verified before and after the passes: a lowering or optimisation bug never reaches an engine
        return Executable(verify(run_passes(verify(sp, self.schema), self.optimize), self.schema), self.engine)

    @property
    def _main(self) -> Executable | None:
        if self.result_type is SqlType.BOOL:
            return self._qual_program()[1]
        return self._expr_program()

    # -- running ------------------------------------------------------------------------------
    def filter(self, table: Mapping[str, Any]) -> np.ndarray:
        """The rows where the expression is true (NULL and false are not), as a bool array."""
        self._check_open()
        plan, exe = self._qual_program()
        if exe is None:
            from .program import bind_columns

            _, nrows, _ = bind_columns(self.schema, table)
            # no quals pass everything; a FALSE one-time filter skips the scan altogether
            return np.full(nrows, not plan.constant_false, dtype=np.bool_)
        from ._core import lib

        out, _ = exe.scan(self.schema, table, lib.CP_SCAN_FILTER)
        return out  # type: ignore[no-any-return]

    def evaluate(self, table: Mapping[str, Any]) -> np.ma.MaskedArray:
        """The expression's value for every row, masked where it is NULL."""
        self._check_open()
        from ._core import lib

        values, nulls = self._expr_program().scan(self.schema, table, lib.CP_SCAN_EVALUATE)
        return np.ma.MaskedArray(values, mask=nulls)

    # -- introspection ------------------------------------------------------------------------
    @property
    def steps(self) -> StepProgram | None:
        exe = self._main
        return None if exe is None else exe.sp

    @property
    def compile_ns(self) -> int:
        """Nanoseconds spent laying out (and, for the JIT, compiling) the main program."""
        exe = self._main
        return 0 if exe is None else exe.compile_ns

    @property
    def code_size(self) -> int:
        """Bytes of machine code of the main program (0 for the interpreters)."""
        exe = self._main
        return 0 if exe is None else exe.code_size

    def disassemble(self) -> str:
        """The JIT's machine code for the main program, disassembled with capstone and annotated
        with the step each range came from and each patched hole (engine="jit" only)."""
        exe = self._main
        if exe is None:
            raise ValueError("this program has no steps (its WHERE clause is constant)")
        return exe.disassemble()

    def explain(self, mode: str | None = None) -> str:
        """The steps, one per line: index, opcode, operands, result target.

        mode: "filter" or "evaluate"; by default filter for boolean expressions.
        """
        if mode is None:
            mode = "filter" if self.result_type is SqlType.BOOL else "evaluate"
        if mode == "filter":
            plan, exe = self._qual_program()
            if exe is None:
                return (
                    "one-time filter is FALSE: no row is scanned"
                    if plan.constant_false
                    else "no quals: every row passes"
                )
            sp = exe.sp
        elif mode == "evaluate":
            sp = self._expr_program().sp
        else:
            raise ValueError(f"mode must be 'filter' or 'evaluate', not {mode!r}")
        passes = ", ".join(self.optimize) if self.optimize else "none (PostgreSQL's program)"
        return f"engine: {self.engine}; optimisations: {passes}\n{explain_steps(sp)}"

    def close(self) -> None:
        """Release the program's memory now rather than when it is garbage-collected."""
        self.closed = True
        for exe in (self._qual[1] if self._qual else None, self._expr):
            if exe is not None:
                exe.close()  # the JIT's code goes back to its arena now
        self._qual = None
        self._expr = None

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("program is closed")

    def __repr__(self) -> str:
        what = self.text if self.text is not None else "<expression>"
        return f"<copypatch.Program {what!r} engine={self.engine}>"


def compile(
    expression: str | raw.Expr,
    schema: Mapping[str, Any] | Schema,
    *,
    engine: str = "goto",
    optimize: tuple[str, ...] | list[str] = OPTIMIZATIONS,
) -> Program:
    """Compile SQL text (a WHERE-clause expression) or a Python-built expression.

    schema: the table itself (name -> numpy array; masked arrays are nullable columns) or a
    schema (name -> dtype, or (dtype, nullable)). engine: one of ENGINES ("switch", "goto", "jit").
    optimize: the optimisation passes to run, a tuple of names from OPTIMIZATIONS (default: all);
    optimize=() gives the program PostgreSQL itself would run.
    Raises CompileError for anything PostgreSQL's parser or copypatch cannot handle, and
    EvalError when folding constants fails (PostgreSQL raises those while planning, too).
    """
    check_engine(engine)
    passes = check_optimize(optimize)
    sch = make_schema(schema)
    if isinstance(expression, str):
        from .sql import parse

        text: str | None = expression
        tree = parse(expression)
    elif isinstance(expression, raw.Expr):
        text = None
        tree = expression
    else:
        raise TypeError(
            f"expression must be SQL text or a copypatch expression, not {type(expression).__name__}"
        )
    with nesting_guard():
        node = analyze(tree, sch)
        if node.type in (SqlType.UNKNOWN, SqlType.NUMERIC):
            raise CompileError(
                f"expression of type {node.type.sql_name} is not supported; cast it to a "
                "supported type"
            )
        # fold once now: PostgreSQL raises folding errors at plan time, whatever the table holds
        eval_const_expressions(node)
        return Program(node, sch, engine, text, passes)
