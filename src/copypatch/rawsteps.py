"""Programs from raw steps (copypatch.from_steps): plain step descriptions, verified, on any engine.

A front end beside SQL, for experiments with opcodes: it builds the same StepProgram lowering
builds, then the verifier checks it as it checks every compiled program, before any engine sees
it. Nothing here decides what an opcode means: which operands a step may carry comes from its
operand kind (opcodes.OPERANDS), what it does from the verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _fmgr
from ._catalog import catalog
from ._core import lib
from ._errors import CompileError
from ._lazy import lazy_numpy
from .compiler import make_schema
from .layout import Executable, check_engine, explain_steps, masked
from .nodes import Const
from .opcodes import OPCODES, OPS, STEP_DEFAULTS
from .schema import Schema
from .sqltypes import TYPE_NAMES, SqlType
from .steps import RESULT, Arg, CallInfo, Dest, Step, StepProgram, Tmp
from .verify import _VALUE_TYPES, MAX_STEPS, _is_index, _is_int, verify

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

__all__ = ["SLOT", "RawProgram", "StepsProgram", "from_steps", "steps_program"]


def _int(i: int, key: str, v: Any) -> int:
    if not _is_int(v):
        raise CompileError(f"invalid program: step {i}: {key} must be an int")
    return v  # type: ignore[no-any-return]


def _bool(i: int, key: str, v: Any) -> bool:
    return bool(v)


#: the keys of a raw step that give one operand of steps.Step each: key -> (operand, parser)
_SIMPLE_KEYS: dict[str, tuple[str, Callable[[int, str, Any], Any]]] = {
    "last_var": ("last_var", _int), "attnum": ("attnum", _int), "jump": ("jumpdone", _int),
    "tmp": ("tmp", _int), "nelems": ("nelems", _int), "use_or": ("use_or", _bool),
    "least": ("least", _bool),
}
#: the keys that give the other operands: const and array (+ type), fcinfo (func + args)
_COMPOUND_KEYS = {"const": ("const", "type"), "array": ("array", "type"),
                  "fcinfo": ("func", "args")}
assert {f for f, _ in _SIMPLE_KEYS.values()} | set(_COMPOUND_KEYS) == set(STEP_DEFAULTS), \
    "a Step operand from_steps cannot set"
_STEP_KEYS = {"op", "to", *_SIMPLE_KEYS}.union(*_COMPOUND_KEYS.values())


def _type(i: int, name: Any) -> SqlType:
    if isinstance(name, SqlType) and name in _VALUE_TYPES:
        return name
    t = TYPE_NAMES.get(name) if isinstance(name, str) else None
    if t is None or t not in _VALUE_TYPES:
        raise CompileError(f"invalid program: step {i}: unknown type {name!r}")
    return t


def _parse_dest(i: int, to: Any, call_of_step: dict[int, int]) -> Dest | None:
    """'result', 'tmp3', 'step2.arg0' (argument 0 of the call step 2 makes), or the tuples
    ("result",), ("tmp", 3), ("arg", 2, 0)."""
    if to is None:
        return None
    if isinstance(to, str):
        if to == "result":
            return RESULT
        if to.startswith("tmp") and to[3:].isdigit():
            return Tmp(int(to[3:]))
        if to.startswith("step") and ".arg" in to:
            a, _, b = to[4:].partition(".arg")
            if a.isdigit() and b.isdigit():
                to = ("arg", int(a), int(b))
    if isinstance(to, tuple) and not isinstance(to, (Tmp, Arg)):
        if len(to) == 3 and to[0] == "arg":
            if to[1] not in call_of_step:
                raise CompileError(f"invalid program: step {i}: destination {to!r}: step "
                                   f"{to[1]} calls no function")
            return Arg(call_of_step[to[1]], to[2])
        if to == ("result",):
            return RESULT
        if len(to) == 2 and to[0] == "tmp":
            return Tmp(to[1])  # the verifier checks the index
    raise CompileError(f"invalid program: step {i}: bad destination {to!r}")


def _calls(steps: Sequence[Any]) -> tuple[list[CallInfo], dict[int, int]]:
    """The call info of every step that names a function, and which step has which."""
    calls: list[CallInfo] = []
    call_of_step: dict[int, int] = {}
    for i, d in enumerate(steps):
        if not isinstance(d, Mapping):
            raise CompileError(f"invalid program: step {i}: expected a dict, not {type(d).__name__}")
        if "func" not in d:
            continue
        name = d["func"]
        if not isinstance(name, str) or name not in _fmgr.FUNCTIONS or name not in catalog.FUNCTIONS:
            raise CompileError(f"invalid program: step {i}: unknown function {name!r}")
        if _fmgr.FUNCTIONS[name][1] == -1:
            raise CompileError(f"invalid program: step {i}: {name} is variadic, which raw "
                               "steps cannot declare")
        argtypes = tuple(SqlType(t) for t in catalog.FUNCTIONS[name]["args"])
        consts: dict[int, Const] = {}
        args = d.get("args", {})
        if isinstance(args, Sequence) and not isinstance(args, (str, bytes)):
            args = {a: v for a, v in enumerate(args) if not isinstance(v, _Slot)}
        if not isinstance(args, Mapping):
            raise CompileError(f"invalid program: step {i}: args must be a dict or list")
        for a, v in args.items():
            if not _is_index(a, len(argtypes)):
                raise CompileError(f"invalid program: step {i}: {name} has no argument {a!r}")
            consts[a] = Const(argtypes[a], v)
        call_of_step[i] = len(calls)
        calls.append(CallInfo(name, argtypes, consts))
    return calls, call_of_step


def steps_program(steps: Sequence[Mapping[str, Any]], result_type: Any = "bool") -> StepProgram:
    """A StepProgram from plain step descriptions (see :func:`from_steps`); not yet verified."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise CompileError("invalid program: steps must be a list of dicts")
    if len(steps) > MAX_STEPS:
        raise CompileError(f"invalid program: {len(steps)} steps (at most {MAX_STEPS})")
    calls, call_of_step = _calls(steps)
    arrays: list[tuple[SqlType, tuple[Const, ...]]] = []
    out: list[Step] = []
    ntmp = 0
    for i, d in enumerate(steps):
        unknown = set(d) - _STEP_KEYS
        if unknown:
            raise CompileError(f"invalid program: step {i}: unknown keys {sorted(unknown)}")
        op = d.get("op")
        if not isinstance(op, str):
            raise CompileError(f"invalid program: step {i}: op must be an opcode name")
        op = op if op.startswith("EEOP_") else "EEOP_" + op
        if op not in OPCODES:
            raise CompileError(f"invalid program: step {i}: unknown opcode {d.get('op')!r}")
        step = Step(op, _parse_dest(i, d.get("to"), call_of_step))
        for key, (operand, parse) in _SIMPLE_KEYS.items():
            if key in d:
                setattr(step, operand, parse(i, key, d[key]))
        if i in call_of_step:
            step.fcinfo = call_of_step[i]
        if "array" in d:
            t = _type(i, d.get("type"))
            items = d["array"]
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
                raise CompileError(f"invalid program: step {i}: array must be a list")
            arrays.append((t, tuple(Const(t, v) for v in items)))
            step.array = len(arrays) - 1
        elif OPS[op].kind == "constval":
            step.const = Const(_type(i, d.get("type")), d.get("const"))
        if step.tmp >= 0:
            ntmp = max(ntmp, step.tmp + max(1, step.nelems if _is_int(step.nelems) else 1))
        if isinstance(step.dest, Tmp) and _is_int(step.dest.tmpno):
            ntmp = max(ntmp, step.dest.tmpno + 1)
        out.append(step)
    return StepProgram(out, calls, arrays, min(ntmp, MAX_STEPS + 1), _type(-1, result_type))


class _Slot:
    def __repr__(self) -> str:
        return "SLOT"


#: In a step's "args" list: this argument is written by another step (not a constant).
SLOT = _Slot()


class RawProgram:
    """A verified program built from raw steps, bound to an engine: filter, evaluate, explain."""

    def __init__(self, sp: StepProgram, schema: Schema, engine: str) -> None:
        check_engine(engine)
        verify(sp, schema)
        self.schema = schema
        self.engine = engine
        self.result_type = sp.result_type
        self._exe = Executable(sp, engine)

    @property
    def steps(self) -> StepProgram:
        return self._exe.sp

    def filter(self, table: Mapping[str, Any]) -> np.ndarray:
        if self.result_type is not SqlType.BOOL:
            raise CompileError(
                f"filter needs a boolean program, not {self.result_type.sql_name}"
            )
        out, _ = self._exe.scan(self.schema, table, lib.CP_SCAN_FILTER)
        return out  # type: ignore[no-any-return]

    def evaluate(self, table: Mapping[str, Any]) -> np.ma.MaskedArray:
        values, nulls = self._exe.scan(self.schema, table, lib.CP_SCAN_EVALUATE)
        return masked(values, nulls)

    def explain(self) -> str:
        return f"engine: {self.engine}\n{explain_steps(self._exe.sp)}"

    def close(self) -> None:
        self._exe.close()


#: RawProgram's name before the middle layer was split by concern, kept for existing callers
StepsProgram = RawProgram


def from_steps(
    steps: Sequence[Mapping[str, Any]],
    schema: Any,
    *,
    result_type: Any = "bool",
    engine: str = "goto",
) -> RawProgram:
    """A program from raw steps, for experiments with opcodes; verified before any engine sees it.

    Each step is a dict: ``op`` (opcode name, ``EEOP_`` optional); ``to``, where it writes
    (``"result"``, ``"tmp0"``, or ``"step2.arg0"``: argument 0 of the function step 2 calls);
    and its operands: ``last_var``, ``attnum``, ``jump`` (target step), ``tmp``, ``nelems``
    and ``least`` (MINMAX over tmp .. tmp + nelems - 1; ARRAYEXPR, without ``least``),
    ``const`` + ``type`` (a constant; const None is NULL), ``array`` + ``type`` (an IN list's
    elements), ``func`` (PostgreSQL's name, e.g. ``"int4eq"``) + ``args`` (constant arguments by
    position; ``SLOT`` or a missing key for an argument another step writes), ``use_or``.
    Which operands a step may have is its opcode's operand kind's (copypatch.opcodes.OPERANDS).

        copypatch.from_steps([
            {"op": "SCAN_FETCHSOME", "last_var": 1},
            {"op": "SCAN_VAR", "attnum": 0, "to": "step2.arg0"},
            {"op": "FUNCEXPR_STRICT", "func": "int4eq", "args": [SLOT, 42], "to": "result"},
            {"op": "DONE"},
        ], {"a": np.int32})

    Raises CompileError, naming the step, for any program an engine could not run safely.
    """
    return RawProgram(steps_program(steps, result_type), make_schema(schema), engine)
