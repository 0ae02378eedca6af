"""Optimisation passes over step programs: per-row work PostgreSQL's interpreter does and need not.

Each pass maps a StepProgram to an equivalent one (same results, NULLs and errors, in the same
order) and can be switched on or off: compile(..., optimize=(...)) takes a tuple of the names in
OPTIMIZATIONS; optimize=() is the program PostgreSQL itself would run. All engines run the
optimised steps (the JIT has a stencil for every opcode, these included).

- null_check_elision: a strict call checks only the arguments that can be NULL (FUNCEXPR_STRICT
  becomes STRICT_ARG0 / STRICT_ARG1, or a plain FUNCEXPR when none can). PostgreSQL checks every
  argument on every row, the constant 42 of `a = 42` included.
- inline_builtins: calls of the hot comparison/arithmetic built-ins (csrc/inline.def) become
  opcodes of their own, with no call through a function pointer and no call-info traffic beyond
  the argument slots; the _NONULL form when no argument can be NULL (with null_check_elision).
- const_specialization: CONST with a value known at compile time to be non-NULL, or NULL.
- direct_column_reads: a column is read straight from its array (SCAN_COLUMN_<type>) instead of
  being deformed into the scan slot first and copied from there; SCAN_FETCHSOME then goes away.
- fused_compare: a column compared with a constant by an inlined comparison (inline.def's
  INLINE_CMP), feeding EEOP_QUAL, becomes one compare-and-branch step, EEOP_QUAL_<f>[_NOTNULL]:
  three dispatches and two slot round trips become one, and the result is written through
  `state`, with no destination address to load. Likewise a column's IN list (= ANY of a constant
  array) tested by QUAL: EEOP_QUAL_ANY_<f>[_NOTNULL], four steps in one. A constant on the left is commuted to the right first (42 < a is a > 42). Needs
  inline_builtins and direct_column_reads, whose opcodes it fuses.
- row_loop: DONE becomes DONE_NEXTROW_FILTER / _EVALUATE, which store the row's result in the
  scan's output and jump back to step 0 for the next row: the engine is entered once per scan,
  not once per row (no call, return, prologue and epilogue per row; for the JIT, the whole scan
  is one chain of stencils). PostgreSQL calls ExecInterpExpr (or the JIT's function) per tuple.
- block_scan: a filter program that is nothing but fused QUALs (EEOP_QUAL_[ANY_]<f>[_NOTNULL],
  each jumping to the row loop's DONE_NEXTROW_FILTER) becomes its block-at-a-time form: each
  step tests CP_BLOCK_ROWS rows at once (EEOP_BLOCK_QUAL_[ANY_]<f>[_NOTNULL], a loop clang
  vectorises where the column is contiguous), ANDing into the output mask and jumping to the
  end when no row of the block is left, and EEOP_BLOCK_NEXT_FILTER moves on by a block. One
  dispatch per step per block instead of per row, as in vectorised engines (ClickHouse, Velox,
  DuckDB). Any other program is left alone. Needs fused_compare and row_loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ._errors import CompileError
from .opcodes import (
    BLOCK_END,
    INLINED,
    INLINED_COMPARISONS,
    OPS,
    OpFlag,
    column_opcode,
    inline_opcode,
    qual_opcode,
    scalararrayop_opcode,
)
from .schema import Schema
from .steps import Arg, CallInfo, Result, Step, StepProgram
from .verify import verify

# the plain calls of a function, which inline_builtins may replace by the function's opcode
_CALLS = ("EEOP_FUNCEXPR", "EEOP_FUNCEXPR_STRICT", "EEOP_FUNCEXPR_STRICT_ARG0",
          "EEOP_FUNCEXPR_STRICT_ARG1")

OPTIMIZATIONS = ("null_check_elision", "inline_builtins", "const_specialization", "direct_column_reads",
                 "fused_compare", "row_loop", "block_scan")


def _recode(sp: StepProgram, opcode_for: Callable[[Step], str | None]) -> list[Step]:
    """Every step, with the opcode opcode_for gives it (None: unchanged). Every pass is one.

    In place: the passes own the program they are given (lowering made it for them, and nothing
    else holds it), so a step is recoded rather than copied; copying every step of every pass was
    most of the passes' time (17,000 dataclasses.replace calls for a 1000-term AND).
    """
    steps = sp.steps
    for s in steps:
        new = opcode_for(s)
        if new is not None:
            s.opcode = new
    return steps


def null_check_elision(sp: StepProgram) -> StepProgram:
    def opcode_for(s: Step) -> str | None:
        if s.opcode != "EEOP_FUNCEXPR_STRICT":
            return None
        nulls = sp.calls[s.fcinfo].maybe_null
        if not any(nulls):
            return "EEOP_FUNCEXPR"  # strictness can never trigger
        if nulls in ((True,), (True, False)):
            return "EEOP_FUNCEXPR_STRICT_ARG0"
        if nulls == (False, True):
            return "EEOP_FUNCEXPR_STRICT_ARG1"
        return None

    _recode(sp, opcode_for)
    return sp


def inline_builtins(sp: StepProgram) -> StepProgram:
    def opcode_for(s: Step) -> str | None:
        if s.opcode == "EEOP_SCALARARRAYOP":  # an IN list: the comparison inlined per element
            f = sp.calls[s.fcinfo].funcname
            return scalararrayop_opcode(f) if f in INLINED_COMPARISONS else None
        if s.opcode not in _CALLS or sp.calls[s.fcinfo].funcname not in INLINED:
            return None
        # only a plain FUNCEXPR (no argument can be NULL) drops the null check
        return inline_opcode(sp.calls[s.fcinfo].funcname, nonull=s.opcode == "EEOP_FUNCEXPR")

    _recode(sp, opcode_for)
    return sp


def const_specialization(sp: StepProgram) -> StepProgram:
    def opcode_for(s: Step) -> str | None:
        if s.opcode != "EEOP_CONST":
            return None
        if s.array >= 0:
            return "EEOP_CONST_NOTNULL"  # an IN list's array
        if s.const is None:
            return None
        return "EEOP_CONST_NULL" if s.const.isnull else "EEOP_CONST_NOTNULL"

    _recode(sp, opcode_for)
    return sp


def direct_column_reads(sp: StepProgram) -> StepProgram:
    def opcode_for(s: Step) -> str | None:
        if s.opcode != "EEOP_SCAN_VAR" or s.var_type is None:
            return None
        return column_opcode(s.var_type.name, s.var_nullable)

    steps = _recode(sp, opcode_for)
    if not any(s.opcode == "EEOP_SCAN_VAR" for s in steps):
        fetch = [i for i, s in enumerate(steps) if s.opcode == "EEOP_SCAN_FETCHSOME"]
        if fetch:
            sp.steps = remove_steps(steps, fetch)
    return sp


# the commuted comparison (a < b is b > a), by the operator's suffix; int48 <-> int84
_COMMUTED_OP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_COMMUTED_TYPES = {"int48": "int84", "int84": "int48"}


def _commuted(funcname: str) -> str | None:
    types, op = funcname[:-2], funcname[-2:]
    f = _COMMUTED_TYPES.get(types, types) + _COMMUTED_OP.get(op, "??")
    return f if f in INLINED_COMPARISONS else None


def _commute(call: CallInfo) -> None:
    """A comparison of a constant with a value, made the value's with the constant: its one
    reader (the call being fused) sees argument 0 as its argument 1 and the reverse."""
    f = _commuted(call.funcname)
    assert f is not None
    call.funcname = f
    call.argtypes = call.argtypes[::-1]
    call.consts = {1 - a: c for a, c in call.consts.items()}
    call.maybe_null = call.maybe_null[::-1]


def _fuse_in_list(sp: StepProgram, i: int, targets: set[int], readers: Counter[int]) -> Step | None:
    """Steps i..i+3 as one EEOP_QUAL_ANY_<f>, if they are a column's IN list tested by QUAL: the
    column read into argument 0, the constant array, ANY over it, and the QUAL."""
    steps = sp.steps
    if i + 4 >= len(steps) or targets & {i + 1, i + 2, i + 3}:
        return None
    col, arr, saop, test = steps[i:i + 4]
    if (OPS[saop.opcode].kind != "scalararrayop" or not saop.use_or or arr.array < 0
            or OPS[arr.opcode].kind != "constval" or col.dest != Arg(saop.fcinfo, 0)
            or not arr.dest == saop.dest == test.dest or test.opcode != "EEOP_QUAL"
            or sp.calls[saop.fcinfo].funcname not in INLINED_COMPARISONS):
        return None
    return Step(qual_opcode(sp.calls[saop.fcinfo].funcname, bool(OPS[col.opcode].flags & OpFlag.NONULL),
                            any_=True),
                test.dest, attnum=col.attnum, fcinfo=saop.fcinfo, array=arr.array,
                jumpdone=test.jumpdone, var_name=col.var_name, var_type=col.var_type,
                var_nullable=col.var_nullable)


def _fuse_compare(sp: StepProgram, i: int, targets: set[int], readers: Counter[int]) -> Step | None:
    """Steps i..i+2 as one EEOP_QUAL_<f>, if they are a column compared with a constant and tested
    by QUAL (a constant on the left is commuted to the right)."""
    steps = sp.steps
    if i + 3 >= len(steps) or targets & {i + 1, i + 2}:
        return None
    col, cmp, test = steps[i:i + 3]
    if (cmp.fcinfo < 0 or OPS[cmp.opcode].kind != "func" or not OPS[cmp.opcode].flags & OpFlag.INLINE
            or test.opcode != "EEOP_QUAL" or test.dest != cmp.dest):
        return None
    call = sp.calls[cmp.fcinfo]
    if call.funcname not in INLINED_COMPARISONS or len(call.argtypes) != 2:
        return None
    if col.dest == Arg(cmp.fcinfo, 0):
        const = call.consts.get(1)
    elif col.dest == Arg(cmp.fcinfo, 1):  # the constant on the left: commuted, if it can be
        const = call.consts.get(0)
    else:
        return None
    if const is None or const.isnull:
        return None
    if col.dest == Arg(cmp.fcinfo, 1):
        # the call is commuted in place: only if this comparison is its one reader
        if _commuted(call.funcname) is None or readers[cmp.fcinfo] != 1:
            return None
        _commute(call)
    return Step(qual_opcode(call.funcname, bool(OPS[col.opcode].flags & OpFlag.NONULL)), test.dest,
                attnum=col.attnum, fcinfo=cmp.fcinfo, jumpdone=test.jumpdone,
                var_name=col.var_name, var_type=col.var_type, var_nullable=col.var_nullable)


def fused_compare(sp: StepProgram) -> StepProgram:
    steps = sp.steps
    targets = {s.jumpdone for s in steps if s.jumpdone >= 0 and OPS[s.opcode].flags & OpFlag.JUMPS}
    readers = Counter(s.fcinfo for s in steps if s.fcinfo >= 0)  # the steps of each call info
    doomed: list[int] = []
    i = 0
    while i < len(steps):
        s = steps[i]
        if OPS[s.opcode].kind != "column" or s.var_type is None:
            i += 1
            continue
        for fuse, n in ((_fuse_compare, 3), (_fuse_in_list, 4)):
            fused = fuse(sp, i, targets, readers)
            if fused is not None:
                steps[i] = fused
                doomed += range(i + 1, i + n)
                i += n
                break
        else:
            i += 1
    if doomed:
        sp.steps = remove_steps(steps, doomed)
    return sp


def row_loop(sp: StepProgram) -> StepProgram:
    if sp.mode not in ("filter", "evaluate"):
        return sp  # raw steps: which scan output they feed is not known
    done = f"EEOP_DONE_NEXTROW_{sp.mode.upper()}"

    def opcode_for(s: Step) -> str | None:
        return done if s.opcode == "EEOP_DONE" else None

    for s in _recode(sp, opcode_for):
        if s.opcode == done:
            s.jumpdone = 0
    return sp


def block_scan(sp: StepProgram) -> StepProgram:
    steps = sp.steps
    end = len(steps) - 1
    if (sp.mode != "filter" or end < 1 or steps[end].opcode != "EEOP_DONE_NEXTROW_FILTER"
            or steps[end].jumpdone != 0):
        return sp
    for s in steps[:end]:
        # a fused QUAL that decides the row and goes nowhere but the row's end
        if OPS[s.opcode].kind != "colcmp" or type(s.dest) is not Result or s.jumpdone != end:
            return sp
    for s in steps[:end]:
        s.opcode = qual_opcode(sp.calls[s.fcinfo].funcname, bool(OPS[s.opcode].flags & OpFlag.NONULL),
                               any_=s.array >= 0, block=True)
        s.dest = None  # the block's rows go to the output mask, not the result
    steps[end].opcode = BLOCK_END
    return sp


def remove_steps(steps: list[Step], doomed: list[int]) -> list[Step]:
    """Delete steps that are never a jump target's only content, renumbering every jump."""
    gone = set(doomed)
    new_index = []
    n = 0
    for i in range(len(steps) + 1):
        new_index.append(n)  # a jump to a deleted step lands on the step after it
        if i < len(steps) and i not in gone:
            n += 1
    out = []
    for i, s in enumerate(steps):
        if i in gone:
            continue
        if s.jumpdone >= 0:
            s.jumpdone = new_index[s.jumpdone]
        out.append(s)
    return out


PASSES = {
    "null_check_elision": null_check_elision,
    "inline_builtins": inline_builtins,
    "const_specialization": const_specialization,
    "direct_column_reads": direct_column_reads,
    "fused_compare": fused_compare,
    "row_loop": row_loop,
    "block_scan": block_scan,
}
assert tuple(PASSES) == OPTIMIZATIONS


def _shape(sp: StepProgram) -> list[tuple[object, ...]]:
    """What a pass can change: each step's opcode and operands, and the calls it reads (a pass
    that changes none of them leaves a program the verifier has already seen)."""
    return [(s.opcode, s.dest, s.jumpdone, s.attnum, s.fcinfo, s.const, s.array) for s in sp.steps] + [
        (c.funcname, c.argtypes) for c in sp.calls]


def check_optimize(optimize: object) -> tuple[str, ...]:
    if isinstance(optimize, str) or not isinstance(optimize, (tuple, list, set, frozenset)):
        raise TypeError(f"optimize must be a tuple of pass names from {OPTIMIZATIONS}, not {optimize!r}")
    unknown = [p for p in optimize if p not in PASSES]
    if unknown:
        raise ValueError(f"unknown optimisation(s) {unknown}; choose from {OPTIMIZATIONS}")
    return tuple(p for p in OPTIMIZATIONS if p in optimize)  # passes run in a fixed order


def optimize(sp: StepProgram, passes: tuple[str, ...], schema: Schema | None = None) -> StepProgram:
    """Run the passes, in OPTIMIZATIONS' order, over sp (in place: see _recode).

    With a schema, the program is verified before the first pass and after every pass, so that
    the pass that broke it is named: the debug setting (compile(verify_each_pass=True),
    COPYPATCH_VERIFY_EACH_PASS=1) that the tests and fuzzers run with. Without one, the caller
    verifies the result once.
    """
    if schema is not None:
        verify(sp, schema)
    for name in OPTIMIZATIONS:
        if name in passes:
            before = _shape(sp) if schema is not None else None
            sp = PASSES[name](sp)
            if schema is not None and _shape(sp) != before:  # unchanged: verified already
                try:
                    verify(sp, schema)
                except CompileError as e:
                    e.add_note(f"found after the {name} pass")
                    raise
    return sp
