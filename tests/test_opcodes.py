"""The opcode table (csrc/opcodes.def, read through copypatch.opcodes): its columns agree."""

from __future__ import annotations

import numpy as np
import pytest

from copypatch import CompileError, SqlType
from copypatch.compiler import make_schema
from copypatch.nodes import Const
from copypatch.opcodes import KINDS, OPERANDS, OPS, STEP_DEFAULTS, OpFlag, flag_names
from copypatch.steps import RESULT, Step, StepProgram
from copypatch.verify import verify

TABLE = {"a": np.array([1, 42, 7], dtype=np.int32)}


def test_every_kind_is_used_and_its_operands_are_step_fields() -> None:
    assert {info.kind for info in OPS.values()} == set(KINDS)
    for kind, operands in OPERANDS.items():
        assert set(operands) <= set(STEP_DEFAULTS), kind


def test_jumping_opcodes_are_those_with_a_jump_target() -> None:
    # the C side asserts the same per opcode (copypatch.h): the JIT reads the target there
    for info in OPS.values():
        assert bool(info.flags & OpFlag.JUMPS) == ("jumpdone" in OPERANDS[info.kind]), info


def test_flags_are_consistent() -> None:
    for info in OPS.values():
        f = info.flags
        e = info.effects
        assert not f & OpFlag.BOOL_IN or e["DEST"].read in ("CHECKED", "NONULL"), info
        assert not f & OpFlag.ENDS or f & OpFlag.NO_FALLTHROUGH, info
        assert not f & OpFlag.BOOL_OUT or "DEST" in e, info
        assert bool(f & OpFlag.NO_DEST) == ("DEST" not in e), info
        edges = (OpFlag.JUMPS_IF_NOT_NULL | OpFlag.FALLS_IF_NOT_NULL | OpFlag.JUMPS_IF_NULL
                 | OpFlag.FALLS_IF_NULL)
        assert not f & edges or "DEST" in e, info
        assert "TMP" not in e or "tmp" in OPERANDS[info.kind], info
        assert not {"ARGS", "ARG0", "ARG1"} & set(e) or "fcinfo" in OPERANDS[info.kind], info
        assert all(eff.null != "IFNN" for eff in e.values()), info
        assert not f & OpFlag.INLINE or info.kind == "func", info
    assert flag_names(OPS["EEOP_DONE"].flags) == ["NO_FALLTHROUGH", "ENDS", "NO_DEST"]


@pytest.mark.parametrize("opcode", sorted(OPS))
def test_no_opcode_takes_an_operand_its_kind_has_not(opcode: str) -> None:
    # the layout fills the kind's member of the step's union: any other operand must be refused
    # before it could be mistaken for one of them
    schema = make_schema(TABLE)
    for operand in STEP_DEFAULTS:
        if operand in OPERANDS[OPS[opcode].kind]:
            continue
        step = Step(opcode, RESULT)
        setattr(step, operand, _STRAY.get(operand, 1))
        sp = StepProgram([step], [], [], 1, SqlType.BOOL)
        with pytest.raises(CompileError, match=f"step 0 .*operand {operand}=.* means nothing"):
            verify(sp, schema)


_STRAY = {"const": Const(SqlType.BOOL, True), "use_or": True, "least": True}
