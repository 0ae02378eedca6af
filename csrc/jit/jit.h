/*
 * jit.h: what the JIT runtime and its generated stencil tables share (C only).
 *
 * A stencil is one opcode's machine code (csrc/jit/template.c compiled by clang) with holes; the
 * generated header stencils_<arch>.h holds one CpJitStencil per opcode. Holes are described by
 * data: where (offset), how (a relocation kind, patched by the per-architecture patcher in
 * runtime.c) and what (a CP_HOLE_* value: an operand of the step, a place in the program, or a
 * helper's address).
 */
#ifndef COPYPATCH_JIT_H
#define COPYPATCH_JIT_H

#include "copypatch.h"

/*
 * Relocation kinds, by their ELF names: every kind some patcher in runtime.c handles. The list
 * is shared by all architectures (a kind's number is only meaningful with its own patcher);
 * src/copypatch/_stencils/_targets.py lists the same names per target.
 */
#define CP_JIT_RELOCS(X) \
	X(R_X86_64_64) \
	X(R_X86_64_PC32) \
	X(R_X86_64_PLT32) \
	X(R_X86_64_32) \
	X(R_X86_64_32S) \
	X(R_AARCH64_ABS64)				/* 64-bit absolute (data) */ \
	X(R_AARCH64_MOVW_UABS_G0)		/* movz/movk imm16 of bits 0..15, 16..31, 32..47, 48..63 */ \
	X(R_AARCH64_MOVW_UABS_G0_NC) \
	X(R_AARCH64_MOVW_UABS_G1) \
	X(R_AARCH64_MOVW_UABS_G1_NC) \
	X(R_AARCH64_MOVW_UABS_G2) \
	X(R_AARCH64_MOVW_UABS_G2_NC) \
	X(R_AARCH64_MOVW_UABS_G3) \
	X(R_AARCH64_CALL26)				/* bl, b: +-128 MiB (else a veneer) */ \
	X(R_AARCH64_JUMP26) \
	X(R_AARCH64_CONDBR19)			/* b.cond, cbz, cbnz: +-1 MiB */ \
	X(R_AARCH64_TSTBR14)			/* tbz, tbnz: +-32 KiB */ \
	X(R_AARCH64_ADR_PREL_PG_HI21)	/* adrp: +-4 GiB, by 4 KiB page */ \
	X(R_AARCH64_ADD_ABS_LO12_NC)	/* add: the low 12 bits */ \
	X(R_AARCH64_LDST8_ABS_LO12_NC)	/* ldr/str: the low 12 bits, scaled by the access size */ \
	X(R_AARCH64_LDST16_ABS_LO12_NC) \
	X(R_AARCH64_LDST32_ABS_LO12_NC) \
	X(R_AARCH64_LDST64_ABS_LO12_NC) \
	X(R_AARCH64_LDST128_ABS_LO12_NC)

typedef enum CpRelocKind
{
#define X(name) CP_RELOC_##name,
	CP_JIT_RELOCS(X)
#undef X
	CP_RELOC_LAST
} CpRelocKind;

/*
 * Hole values: the template's extern symbol _JIT_<NAME> is hole CP_HOLE_<NAME>. A new hole is
 * one line here, one in template.c and one case in runtime.c's hole_value().
 */
#define CP_JIT_HOLES(X) \
	X(RESVALUE)			/* step->resvalue */ \
	X(RESNULL)			/* step->resnull */ \
	X(D0)				/* step->d.words[0..3] */ \
	X(D1) \
	X(D2) \
	X(D3) \
	X(STEP)				/* the step itself, for helpers that take `op` */ \
	X(CONTINUE)			/* the next step's code */ \
	X(JUMP_TARGET)		/* the code of step (int32) d.words[0] */ \
	X(FN)				/* step->d.func.fn_addr */ \
	X(CODE)				/* this stencil's own copy (its read-only data) */

typedef enum CpHoleValue
{
#define X(name) CP_HOLE_##name,
	CP_JIT_HOLES(X)
#undef X
	CP_HOLE_SYMBOLS				/* helpers: CP_HOLE_SYM_<name> from the generated header */
} CpHoleValue;

/*
 * One opcode's stencil. If trim is nonzero, the code ends in a jump whose hole is the last of
 * `holes`; when that jump's target is the next step, the last `trim` bytes are left out and the
 * code falls through.
 */
/* The stencil after the last opcode's: the C-ABI entry into a program's chain of stencils. */
#define CP_JIT_ENTRY EEOP_LAST

typedef struct CpJitStencil
{
	const uint8_t *body;
	uint32_t	size;
	uint32_t	trim;
	const CpJitHole *holes;
	uint32_t	nholes;
} CpJitStencil;

#endif							/* COPYPATCH_JIT_H */
