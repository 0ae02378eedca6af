"""The opcode table (csrc/opcodes.def) as Python reads it from the C core: each opcode's operands and flags.

Every per-opcode fact the middle layer needs comes from here, read once at import from the
core's tables, so it exists once, in opcodes.def: which member of ExprEvalStep.d an opcode's
operands are (its *kind*), what it does (its flags: jumps, calls, ends the row, writes a
destination, reads it as a boolean, ...), and every slot it reads and writes, value and NULL
flag apart (its *effects*, from which the verifier derives its dataflow). The layout, explain, the verifier and from_steps each
handle an operand kind, never a list of opcode names, so an opcode that reuses a kind needs no
Python beyond its lowering rule. CPython keeps the same facts about its uops in _PyUop_Flags.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from ._core import ffi, lib


class OpFlag:
    """CpOpFlag (csrc/api.h): what an opcode does beyond reading its operands.

    Plain ints, not an enum.IntFlag: the verifier tests flags for every step of every program,
    and IntFlag's `&` costs a Python call each time. flag_names() spells a set of them.
    """

    JUMPS: Final = int(lib.CP_OPF_JUMPS)  # may continue at its operands' jumpdone
    NO_FALLTHROUGH: Final = int(lib.CP_OPF_NO_FALLTHROUGH)  # never continues with the next step
    ENDS: Final = int(lib.CP_OPF_ENDS)  # the row's end: reads the result, returns or stores it
    CALLS: Final = int(lib.CP_OPF_CALLS)  # may call out of line (its function, or a helper)
    NO_DEST: Final = int(lib.CP_OPF_NO_DEST)  # writes no destination
    JUMPS_IF_NOT_NULL: Final = int(lib.CP_OPF_JUMPS_IF_NOT_NULL)  # jumps only on a non-NULL dest
    FALLS_IF_NOT_NULL: Final = int(lib.CP_OPF_FALLS_IF_NOT_NULL)  # falls through only on one
    LAST_USE: Final = int(lib.CP_OPF_LAST_USE)  # the last reader of its args and temporaries
    JUMPS_IF_NULL: Final = int(lib.CP_OPF_JUMPS_IF_NULL)  # jumps only on a NULL destination
    FALLS_IF_NULL: Final = int(lib.CP_OPF_FALLS_IF_NULL)  # falls through only on one
    BOOL_IN: Final = int(lib.CP_OPF_BOOL_IN)  # reads a boolean from its destination
    BOOL_OUT: Final = int(lib.CP_OPF_BOOL_OUT)  # leaves a boolean in its destination
    NONULL: Final = int(lib.CP_OPF_NONULL)  # skips a NULL check: only where no NULL can arrive
    INLINE: Final = int(lib.CP_OPF_INLINE)  # an inlined built-in (csrc/inline.def)
    OPTIMIZED: Final = int(lib.CP_OPF_OPTIMIZED)  # produced only by the optimisation passes


_FLAG_NAMES: dict[int, str] = {
    v: k for k, v in vars(OpFlag).items() if not k.startswith("_") and isinstance(v, int)
}
# the C enum is the list: a flag added there and not here fails at import, not silently
assert {f"CP_OPF_{n}" for n in _FLAG_NAMES.values()} == set(ffi.typeof("CpOpFlag").relements), \
    "OpFlag is out of whack with csrc/api.h's CpOpFlag"


def flag_names(flags: int) -> list[str]:
    """The names of the OpFlag bits set in flags."""
    return [name for bit, name in _FLAG_NAMES.items() if flags & bit]


#: the operand kinds, CpOperandKind's members by value: the names of ExprEvalStep.d's members
KINDS: tuple[str, ...] = tuple(
    name.removeprefix("CP_OPERANDS_")
    for _, name in sorted(ffi.typeof("CpOperandKind").elements.items())
)

#: the fields of steps.Step each operand kind carries: what from_steps accepts, what the layout
#: fills in, what explain shows, and what the verifier checks; any other field must be at its
#: default (see STEP_DEFAULTS), so a stray operand can never reach the C layout
OPERANDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "fetch": ("last_var",),
    "var": ("attnum",),
    "column": ("attnum",),
    "constval": ("const", "array"),
    "func": ("fcinfo",),
    "scalararrayop": ("fcinfo", "use_or"),
    "boolexpr": ("jumpdone", "tmp"),
    "qualexpr": ("jumpdone",),
    "jump": ("jumpdone",),
    "minmax": ("fcinfo", "tmp", "nelems", "least"),
    "casetest": ("tmp",),
    "arrayexpr": ("tmp", "nelems"),
    "colcmp": ("jumpdone", "attnum", "fcinfo", "array"),
}
assert tuple(OPERANDS) == KINDS, "OPERANDS is out of whack with csrc/api.h's CpOperandKind"

#: the operand fields of steps.Step and their values when unused
STEP_DEFAULTS: dict[str, object] = {"last_var": 0, "attnum": -1, "const": None, "fcinfo": -1,
                                    "use_or": False, "jumpdone": -1, "tmp": -1, "array": -1,
                                    "nelems": 0, "least": False}


def _enum_names(ctype: str, prefix: str) -> tuple[str, ...]:
    """A C enum's member names by value, without their prefix (the enum is dense from 0)."""
    elements = ffi.typeof(ctype).elements
    return tuple(elements[v].removeprefix(prefix) for v in range(len(elements))
                 if v in elements and elements[v].startswith(prefix))


#: the roles of the slots a step touches (CpSlotRole), how it reads one (CpSlotRead) and how it
#: writes a value or a NULL flag (CpSlotWrite): opcodes.def's fourth column, by name
ROLES: tuple[str, ...] = _enum_names("CpSlotRole", "CP_ROLE_")[:int(lib.CP_NUM_ROLES)]
READS: tuple[str, ...] = _enum_names("CpSlotRead", "CP_READ_")
WRITES: tuple[str, ...] = _enum_names("CpSlotWrite", "CP_WRITE_")


class Effect(NamedTuple):
    """What a step does to the slots of one role: its read and its writes of value and flag."""

    read: str  # a member of READS: NONE, NULL, CHECKED, NONULL, COPY, CALLEE
    value: str  # a member of WRITES: NONE, MAY, IFNN, MUST
    null: str  # a member of WRITES (never IFNN)


def _effects(word: int) -> dict[str, Effect]:
    """opcodes.def's fourth column (a byte per role, CP_EFF in copypatch.h) by role name."""
    out = {}
    for r, role in enumerate(ROLES):
        byte = (word >> (8 * r)) & 0xFF
        if byte:
            out[role] = Effect(READS[byte & 7], WRITES[(byte >> 3) & 3], WRITES[(byte >> 5) & 3])
    return out


class OpInfo(NamedTuple):
    """One row of opcodes.def."""

    name: str  # EEOP_*
    code: int  # its ExprEvalOp value
    kind: str  # a member of KINDS
    flags: int  # OpFlag bits
    effects: dict[str, Effect]  # role (a member of ROLES) -> what it does to those slots


OPS: dict[str, OpInfo] = {}
for _code in range(lib.cp_num_opcodes):
    _name = ffi.string(lib.cp_opcode_names[_code]).decode()
    OPS[_name] = OpInfo(_name, _code, KINDS[lib.cp_opcode_kinds[_code]],
                        int(lib.cp_opcode_flags[_code]), _effects(int(lib.cp_opcode_effects[_code])))

#: opcode name -> number
OPCODES: dict[str, int] = {name: info.code for name, info in OPS.items()}
#: opcode names by number
OPCODE_NAMES: list[str] = list(OPCODES)


# ---- the two families of opcodes named after what they specialise for ------------------------
# opcodes.def names them so (EEOP_SCAN_COLUMN_<CpType>[_NOTNULL], inline.def's
# EEOP_INLINE_<function>[_NONULL]); these are the one place Python spells those names.
def column_opcode(type_name: str, nullable: bool) -> str:
    """The opcode that reads a column of CpType type_name in place (kind "column")."""
    return f"EEOP_SCAN_COLUMN_{type_name}{'' if nullable else '_NOTNULL'}"


def inline_opcode(funcname: str, nonull: bool) -> str:
    """The opcode that inlines built-in funcname (flag INLINE), or its form without NULL checks."""
    return f"EEOP_INLINE_{funcname}{'_NONULL' if nonull else ''}"


def qual_opcode(funcname: str, nonull: bool, any_: bool = False, block: bool = False) -> str:
    """The fused compare-and-branch of a column with a constant (any_: with the elements of a
    constant array) by comparison funcname (kind "colcmp"), or its form for a column with no
    NULLs; block: its block-at-a-time form (EEOP_BLOCK_QUAL_*, the block_scan pass)."""
    return (f"EEOP_{'BLOCK_' if block else ''}QUAL_{'ANY_' if any_ else ''}{funcname}"
            f"{'_NOTNULL' if nonull else ''}")


#: the end of a block program (the block_scan pass)
BLOCK_END = "EEOP_BLOCK_NEXT_FILTER"


def is_block_qual(opcode: str) -> bool:
    """Is opcode a block step, EEOP_BLOCK_QUAL_[ANY_]<f>[_NOTNULL]?"""
    return opcode.startswith("EEOP_BLOCK_QUAL_")


def scalararrayop_opcode(funcname: str) -> str:
    """The ANY/ALL with comparison funcname inlined (kind "scalararrayop")."""
    return f"EEOP_SCALARARRAYOP_{funcname}"


#: the built-ins with opcodes of their own (csrc/inline.def)
INLINED: frozenset[str] = frozenset(
    name.removeprefix("EEOP_INLINE_")
    for name, info in OPS.items()
    if info.flags & OpFlag.INLINE and not info.flags & OpFlag.NONULL
)
#: the inlined comparisons (inline.def's INLINE_CMP), which have fused forms as well
INLINED_COMPARISONS: frozenset[str] = frozenset(f for f in INLINED if qual_opcode(f, False) in OPS)
