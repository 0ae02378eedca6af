"""The plan cache: a query text that differs from one compiled before only in its integer literals
replays that step program with its own numbers, as PostgreSQL reuses a prepared statement's plan.

A text is cacheable when its integer literals can be found without PostgreSQL's scanner: no
quotes, dollar signs, backslashes, comments or non-ASCII characters, and every run of digits that
stands alone (no letter, digit, underscore, dot or dollar beside it: not `a1`, `1.5`, `1e5`,
`0x1f`, `1_000`) fits int4. Such a run is exactly one ICONST token to PostgreSQL's scanner, and
the text with each replaced by a hole is the shape: two texts of one shape parse to the same
tree but for those Integers' values. The cache key is the shape with the schema's columns, the
engine, the passes, and whether the text is over parse()'s length limits (compiler.py).

The cold compile tags each literal's Const as a Param (nodes.py), by its position in the text
(the A_Const's location: the digits, or the first of the minus signs the grammar folded in), and
counts every read of a Param's value from analysis to the last pass. A plan is kept only if
nothing read one (constant folding, comparing constants, qual deduplication, the equivalence
classes' contradiction check, IN-list handling, a pass looking at a value: each reads it, so
each such plan stays uncached and every such decision is made again, cold, for each text) and
every literal is a constant of the final program, unchanged. Then that program is a function of
the literals' values only through those constants, and a warm compile copies it with the new
values patched in: no parse, analysis, planning, lowering or passes. Verification is skipped too
(unless verify_each_pass): what the verifier checks of a constant is its type, its NULLness and
its range, which are the same for every int4 literal.
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ._lazy import lazy_numpy
from .layout import COPIED_CALL_CONSTS, ForkSafeLock, Layout, LayoutImage
from .nodes import Const, Param
from .opcodes import OPS
from .sqltypes import SqlType
from .steps import CallInfo, Step, StepProgram

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

__all__ = ["CachedPlan", "LiteralSites", "Shape", "clear", "lookup", "record", "replay", "shape"]

#: what makes the cache leave a text alone (with non-ASCII characters): PostgreSQL's scanner
#: would have to find its literals (strings, quoted names, dollars, escapes, comments, NUL)
_UNSAFE = ("'", '"', "$", "\\", "\x00", "--", "/*")
#: an integer literal: digits with no identifier or number character on either side (ASCII:
#: a cacheable text is)
_INT = re.compile(r"(?<![\w.$])([0-9]+)(?![\w.$])", re.ASCII)
_HOLE = "\uffff"  # not in a cacheable text (ASCII only)
_INT4_MAX = 2**31 - 1
_SPACE_OR_SIGN = " \t\n\r\f\v(-"
#: entries kept, least recently used dropped first
MAX_ENTRIES = 128


class Shape(NamedTuple):
    """A cacheable text's shape (its integer literals replaced by holes), the literals' values,
    and the text cut at them (text, digits, text, ... as _INT.split gives it)."""

    key: str
    values: list[int]
    pieces: list[str]


def shape(text: str) -> Shape | None:
    """The text's Shape, or None when the text is not cacheable."""
    if not text.isascii() or any(u in text for u in _UNSAFE):
        return None
    pieces = _INT.split(text)
    digits = pieces[1::2]
    if any(len(d) > 9 for d in digits):  # maybe beyond int4: int8 or numeric (its own class)
        values = [_int4(d) for d in digits]
        if -1 in values:
            return None
    else:
        values = list(map(int, digits))
    return Shape(_HOLE.join(pieces[0::2]), values, pieces)


def _int4(digits: str) -> int:
    """The value of a run of digits, or -1 beyond int4 (leading zeros are no digits: Python's
    int() refuses over 4300 of them)."""
    d = digits.lstrip("0") or "0"
    return -1 if len(d) > 10 or int(d) > _INT4_MAX else int(d)


class LiteralSites:
    """Where the tree's A_Const of each literal can be: position -> (literal index, sign, the
    value it then has). At its digits; at a minus sign before them (with only minus signs,
    parentheses and spaces between), for the negation the grammar folds in (doNegate: `-1`,
    `-(1)`, `- -1`), negated once per minus sign from there on. Asked per A_Const, so that
    only the literals' starts are found for every literal (in C: sums of the pieces' lengths)."""

    def __init__(self, text: str, found: Shape) -> None:
        self.text = text
        self.values = found.values
        ends = list(itertools.accumulate(map(len, found.pieces)))
        self.starts = dict(zip(ends[0::2], range(len(found.values))))

    def get(self, p: int) -> tuple[int, int, int] | None:
        k = self.starts.get(p)
        if k is not None:
            return k, 1, self.values[k]
        text, sign, j = self.text, 1, p
        while j < len(text) and text[j] in _SPACE_OR_SIGN:
            if text[j] == "-":
                sign = -sign
            j += 1
        k = self.starts.get(j)
        if k is None or j == p or text[p] != "-":
            return None
        return k, sign, sign * self.values[k]


@dataclass
class CachedPlan:
    """A step program and where each literal's value goes in it: (step, literal, sign),
    (call info, argument, literal, sign) and (array, element, literal, sign); the same program
    laid out in C memory (its image, made when the plan is first replayed), with the words of
    that memory each literal's value goes to (times its sign)."""

    sp: StepProgram
    steps: list[tuple[int, int, int]]
    calls: list[tuple[int, int, int, int]]
    arrays: list[tuple[int, int, int, int]]
    #: steps that keep a copy of a call's constant (layout.COPIED_CALL_CONSTS): (step, its
    #: operand kind, literal, sign)
    copies: list[tuple[int, str, int, int]]
    image: LayoutImage | None = None
    literals: np.ndarray | None = None  # the literal each word's value is (with words)
    signs: np.ndarray | None = None
    words: np.ndarray | None = None
    no_image: bool = False  # a pointer of its layout leads out of its memory (ARRAY[...])

    def layout(self) -> tuple[LayoutImage, np.ndarray] | None:
        """The image and the constants' words in it (None if the program has no image)."""
        if self.image is None or self.words is None:
            if self.no_image:
                return None
            image = Layout(self.sp, None, image=True).image
            if image is None:
                self.no_image = True
                return None
            where = ([image.step_const(i) for i, _, _ in self.steps]
                     + [image.call_const(f, a) for f, a, _, _ in self.calls]
                     + [image.array_const(j, e) for j, e, _, _ in self.arrays]
                     + [image.step_copy(i, kind) for i, kind, _, _ in self.copies])
            sites = ([site[-2:] for site in self.steps] + [site[-2:] for site in self.calls]
                     + [site[-2:] for site in self.arrays] + [site[-2:] for site in self.copies])
            self.literals = np.array([k for k, _ in sites], dtype=np.intp)
            self.signs = np.array([sign for _, sign in sites], dtype=np.int64)
            self.image, self.words = image, np.array(where, dtype=np.intp)
        return self.image, self.words

    def datums(self, values: list[int]) -> np.ndarray:
        """The Datums of int4 constants (to_datum's: two's complement in 64 bits) at words
        (after layout())."""
        assert self.literals is not None and self.signs is not None
        datums: np.ndarray = (np.array(values, dtype=np.int64)[self.literals]
                              * self.signs).view(np.uint64)
        return datums


_CACHE: OrderedDict[Any, CachedPlan] = OrderedDict()
#: compiles in several threads (an entry evicted between two steps); renewed in a fork()ed
#: child, where a thread that held it in the parent does not exist
_LOCK = ForkSafeLock()


def lookup(key: Any) -> CachedPlan | None:
    with _LOCK:
        plan = _CACHE.get(key)
        if plan is not None:
            _CACHE.move_to_end(key)
        return plan


def clear() -> None:
    """Forget every cached plan (the benchmark's cold compiles)."""
    with _LOCK:
        _CACHE.clear()


def record(key: Any, layout: Layout, values: list[int]) -> CachedPlan | None:
    """Keep the step program of layout, whose making read no literal's value, if every literal
    is one of its constants as it was written. The cache takes the step program itself (a copy
    of 1000 terms' would cost more than the rest of this): the layout makes its own copy if it
    is ever asked for one (its owner may change that)."""
    sp = layout.sp
    nliterals = len(values)
    steps = [(i, s.const.index, s.const.sign) for i, s in enumerate(sp.steps)
             if type(s.const) is Param]
    # a step's constant is patched where CONST's kind keeps it (d.constval.value): an opcode of
    # another kind that took a constant (none does today) is left to a cold compile
    if any(OPS[sp.steps[i].opcode].kind != "constval" for i, _, _ in steps):
        return None
    calls = [(f, a, c.index, c.sign) for f, call in enumerate(sp.calls)
             for a, c in call.consts.items() if isinstance(c, Param)]
    arrays = [(j, e, c.index, c.sign) for j, (_, elems) in enumerate(sp.arrays)
              for e, c in enumerate(elems) if isinstance(c, Param)]
    copies = []
    for i, s in enumerate(sp.steps):
        kind = OPS[s.opcode].kind
        if kind in COPIED_CALL_CONSTS:
            c = sp.calls[s.fcinfo].consts.get(COPIED_CALL_CONSTS[kind][1])
            if isinstance(c, Param):
                copies.append((i, kind, c.index, c.sign))
    seen = {site[-2] for site in steps} | {site[-2] for site in calls} | {
        site[-2] for site in arrays}
    if len(seen) != nliterals or -1 in seen:
        return None
    plan = CachedPlan(sp, steps, calls, arrays, copies)
    layout.hand_over_sp(lambda: replay(plan, values))
    with _LOCK:
        _CACHE[key] = plan
        if len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return plan


def replay(plan: CachedPlan, values: list[int]) -> StepProgram:
    """The cached program with these literals' values: a copy, the cache's own is never
    handed out."""
    return _copy(plan.sp, plan, values)


def _copy(sp: StepProgram, plan: CachedPlan, values: list[int]) -> StepProgram:
    # a copy of each step and call info: their dicts (the dataclasses' fields) copied
    new = object.__new__
    steps = []
    for s in sp.steps:
        c = new(Step)
        c.__dict__ = s.__dict__.copy()
        steps.append(c)
    calls = []
    for call in sp.calls:
        ci = new(CallInfo)
        d = ci.__dict__ = call.__dict__.copy()
        d["consts"] = d["consts"].copy()
        calls.append(ci)
    arrays = list(sp.arrays)
    int4 = SqlType.INT4
    for i, k, sign in plan.steps:
        steps[i].const = Const(int4, sign * values[k])
    for f, a, k, sign in plan.calls:
        calls[f].consts[a] = Const(int4, sign * values[k])
    if plan.arrays:
        elems = {j: list(arrays[j][1]) for j, _, _, _ in plan.arrays}
        for j, e, k, sign in plan.arrays:
            elems[j][e] = Const(int4, sign * values[k])
        for j, es in elems.items():
            arrays[j] = (arrays[j][0], tuple(es))
    return StepProgram(steps, calls, arrays, sp.ntmp, sp.result_type, sp.mode)
