"""Program: a compiled expression, its two step programs (filter and evaluate) and their engine.

The driver of the middle layer: it plans, lowers, runs the passes between two verifications
and lays out each program the first time it is needed. compile() (compiler.py) makes one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from . import plancache
from ._core import lib
from ._errors import CompileError
from ._lazy import lazy_numpy
from .layout import Executable, Layout, bind_columns, explain_steps, masked
from .lower import lower_expr, lower_qual
from .nodes import Node, ParamReads
from .passes import OPTIMIZATIONS
from .passes import optimize as run_passes
from .planner import QualPlan, eval_const_expressions, plan_qual
from .schema import Schema
from .sqltypes import SqlType
from .steps import StepProgram
from .verify import verify

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

__all__ = ["VERIFY_EACH_PASS", "Program", "Timings", "nesting_guard"]

#: The debug setting: verify the program before the passes and after every pass (naming the pass
#: that broke it), not only once on the way out. The tests and fuzzers turn it on
#: (COPYPATCH_VERIFY_EACH_PASS=1, or compile(..., verify_each_pass=True) for one program).
VERIFY_EACH_PASS = os.environ.get("COPYPATCH_VERIFY_EACH_PASS", "") not in ("", "0")

_clock = time.perf_counter_ns


@dataclass
class Timings:
    """Nanoseconds compile() spent in each stage of the main program, as EXPLAIN ANALYZE's JIT
    block reports its Generation, Inlining, Optimization and Emission times.

    plan is eval_const_expressions plus, for a WHERE clause, plan_qual; verify is every
    verification (one, unless verify_each_pass); layout is the C structures without the JIT's
    copy + patch, which is jit (0 for the interpreters).
    """

    parse: int = 0
    analyse: int = 0
    plan: int = 0
    lower: int = 0
    passes: int = 0
    verify: int = 0
    layout: int = 0
    jit: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        parts = [f"{f.name.capitalize()} {getattr(self, f.name) / 1e3:.1f} us" for f in fields(self)]
        return f"Timing: {', '.join(parts)}, Total {self.total / 1e3:.1f} us"


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


class Program:
    """A compiled expression: PostgreSQL-style steps run by one engine over numpy columns.

    ``filter(table)`` evaluates it as a WHERE clause (the bool mask of rows where it is true);
    ``evaluate(table)`` as a SELECT-list expression (its value per row, masked where NULL).
    PostgreSQL plans the two differently (a WHERE clause is split into quals ordered by cost), so
    each has its own step program; ``explain()`` shows the one ``filter`` runs for a boolean
    expression and the one ``evaluate`` runs otherwise.
    """

    def __init__(self, tree: Node, schema: Schema, engine: str, text: str | None,
                 optimize: tuple[str, ...] = OPTIMIZATIONS, *,
                 verify_each_pass: bool | None = None, timings: Timings | None = None,
                 param_reads: ParamReads | None = None) -> None:
        #: time per stage of the main program (compile() adds parsing, analysis and folding)
        self.timings = Timings() if timings is None else timings
        self.verify_each_pass = VERIFY_EACH_PASS if verify_each_pass is None else verify_each_pass
        self.schema = schema
        self.engine = engine
        self.optimize = optimize
        self.text = text
        self._tree: Node | None = tree
        self.result_type = tree.type
        self._qual: tuple[QualPlan, Executable | None] | None = None
        self._expr: Executable | None = None
        self.closed = False
        #: whether the main program was the plan cache's (plancache.py), not compiled afresh
        self.plan_cached = False
        # the plan cache's literals: their reads count until the main program's passes are done
        self._param_reads = param_reads
        # build the main program now, so that compile() pays for it and compile_ns means it
        if self.result_type is SqlType.BOOL:
            self._qual_program()
        else:
            self._expr_program()

    @classmethod
    def replayed(cls, plan: plancache.CachedPlan, values: list[int], schema: Schema,
                 engine: str, text: str, optimize: tuple[str, ...], *,
                 verify_each_pass: bool | None, timings: Timings) -> Program:
        """The program of a cached plan (plancache.py) with these literals' values: a copy of
        its C memory with the values patched in (its step program is made only if asked for);
        the other program (evaluate() of a boolean expression, say) is compiled from the text
        if it is ever needed."""
        self = cls.__new__(cls)
        self.timings = timings
        self.verify_each_pass = VERIFY_EACH_PASS if verify_each_pass is None else verify_each_pass
        self.schema = schema
        self.engine = engine
        self.optimize = optimize
        self.text = text
        self._tree = None
        self.closed = False
        self.plan_cached = True
        self._param_reads = None
        t0 = _clock()
        laid = plan.layout()  # the first replay lays the plan out (the layout stage's)
        t1 = _clock()
        datums = None if laid is None else plan.datums(values)
        t2 = _clock()
        if self.verify_each_pass:
            verify(plancache.replay(plan, values), schema)
        t3 = _clock()
        if laid is None:  # no image (ARRAY[...] of columns): the steps, laid out afresh
            exe = Executable(plancache.replay(plan, values), engine)
        else:
            layout = Layout.from_image(laid[0], engine, laid[1], datums,
                                       lambda: plancache.replay(plan, values))
            exe = Executable(None, engine, layout=layout)
        t4 = _clock()
        timings.plan += t2 - t1
        timings.verify += t3 - t2
        timings.jit += exe.jit_ns
        timings.layout += t1 - t0 + t4 - t3 - exe.jit_ns
        self.result_type = plan.sp.result_type
        self._expr = None
        self._qual = None
        if plan.sp.mode == "filter":
            # a cached plan has quals (a constant WHERE clause has no program to cache)
            self._qual = (QualPlan([], constant_false=False), exe)
        else:
            self._expr = exe
        return self

    @property
    def tree(self) -> Node:
        """The analysed expression (a replayed plan's is analysed again on first use)."""
        if self._tree is None:
            from .analyze import analyze
            from .sql import parse

            assert self.text is not None
            with nesting_guard():
                self._tree = analyze(parse(self.text), self.schema)
        return self._tree

    # -- the two programs ---------------------------------------------------------------------
    def _qual_program(self) -> tuple[QualPlan, Executable | None]:
        if self._qual is None:
            if self.result_type is not SqlType.BOOL:
                raise CompileError(
                    f"argument of WHERE must be type boolean, not type {self.result_type.sql_name}"
                )
            with nesting_guard():
                t0 = _clock()
                plan = plan_qual(self.tree)
                self.timings.plan += _clock() - t0
                exe = (None if plan.constant_false or not plan.quals
                       else self._build(lower_qual, plan.quals))
            self._qual = (plan, exe)
        return self._qual

    def _expr_program(self) -> Executable:
        if self._expr is None:
            with nesting_guard():
                t0 = _clock()
                node = eval_const_expressions(self.tree)
                self.timings.plan += _clock() - t0
                self._expr = self._build(lower_expr, node)
        return self._expr

    def _build(self, lower: Callable[[Any], StepProgram], what: Any) -> Executable:
        # Verified once, on the way out: a lowering or optimisation bug never reaches an engine.
        # verify_each_pass also verifies before the passes and after each, to name the culprit.
        # The timings are the main program's: the other one is built lazily, on first use.
        tm = self.timings if self._qual is None and self._expr is None else Timings()
        t0 = _clock()
        sp = lower(what)
        t1 = _clock()
        try:
            sp = run_passes(sp, self.optimize, self.schema if self.verify_each_pass else None)
            if self._param_reads is not None:
                self._param_reads.active = False  # the verifier and the layout read every value
        except CompileError:
            raise
        except Exception:
            # the passes trust their input, and a lowering bug can trip one: then the verifier
            # names the bug, on a fresh lowering (the passes work in place); a pass bug re-raises
            verify(lower(what), self.schema)
            raise
        t2 = _clock()
        verify(sp, self.schema)
        t3 = _clock()
        exe = Executable(sp, self.engine)
        t4 = _clock()
        tm.lower += t1 - t0
        tm.passes += t2 - t1  # with verify_each_pass, their verifications included
        tm.verify += t3 - t2
        tm.jit += exe.jit_ns
        tm.layout += t4 - t3 - exe.jit_ns
        return exe

    @property
    def main_executable(self) -> Executable | None:
        """The main program as laid out for its engine (None for a constant WHERE clause)."""
        return self._main

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
            _, nrows, _ = bind_columns(self.schema, table)
            # no quals pass everything; a FALSE one-time filter skips the scan altogether
            return np.full(nrows, not plan.constant_false, dtype=np.bool_)
        out, _ = exe.scan(self.schema, table, lib.CP_SCAN_FILTER)
        return out  # type: ignore[no-any-return]

    def evaluate(self, table: Mapping[str, Any]) -> np.ma.MaskedArray:
        """The expression's value for every row, masked where it is NULL."""
        self._check_open()
        values, nulls = self._expr_program().scan(self.schema, table, lib.CP_SCAN_EVALUATE)
        return masked(values, nulls)

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

    def explain(self, mode: str | None = None, *, timings: bool = False) -> str:
        """The steps, one per line: index, opcode, operands, result target.

        mode: "filter" or "evaluate"; by default filter for boolean expressions. timings: end
        with compile()'s time per stage (``self.timings``), as EXPLAIN ANALYZE ends with its
        JIT block.
        """
        text = self._explain(mode)
        if not timings:
            return text
        cached = " (a cached plan, its constants patched in)" if self.plan_cached else ""
        return f"{text}\n{self.timings}{cached}"

    def _explain(self, mode: str | None) -> str:
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
            exe = self._expr_program()
            sp = exe.sp
        else:
            raise ValueError(f"mode must be 'filter' or 'evaluate', not {mode!r}")
        passes = ", ".join(self.optimize) if self.optimize else "none (PostgreSQL's program)"
        # the JIT's: where each step's operands are (the value registers, or slots)
        jit = exe.layout.jit
        notes = jit.locations() if jit is not None and not jit.closed else None
        return f"engine: {self.engine}; optimisations: {passes}\n{explain_steps(sp, notes)}"

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
