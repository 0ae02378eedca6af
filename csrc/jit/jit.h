/*
 * jit.h: what the files of the JIT runtime and the generated stencil tables share (C only).
 *
 * The runtime is split by concern (docs/jit.md):
 *
 *   relocs.def         the relocation kinds, once, with the architecture of each
 *   patch_x86_64.h     the patcher of each architecture: its constants (trap, trampoline, the
 *   patch_aarch64.h    fill of freed code) and emit_trap, emit_trampoline, reloc_is_branch,
 *                      patch; included here, for the machine this is compiled for
 *   stencils.c         that machine's stencil set (stencils_<arch>.h, generated), and what the
 *                      Python side may ask about it and about the architecture
 *   arena.c            executable memory: memfd chunks mapped twice (W^X), granules, fork,
 *                      the instruction cache
 *   compile.c          cp_jit_compile: layout, copy, patch, trampolines, publish
 *
 * A stencil is one opcode's machine code (template.c compiled by clang) with holes. Holes are
 * described by data: where (offset), how (a relocation kind, patched by the patcher) and what
 * (a CP_HOLE_* value: an operand of the step, a place in the program, or a helper's address).
 */
#ifndef COPYPATCH_JIT_H
#define COPYPATCH_JIT_H

#include "copypatch.h"

/* The architectures of relocs.def's first column. */
typedef enum CpJitArch
{
	CP_JIT_ARCH_X86_64,
	CP_JIT_ARCH_AARCH64
} CpJitArch;

/*
 * Relocation kinds, by their ELF names (relocs.def): every kind some patcher handles. The list
 * is shared by all architectures; a kind's number is only meaningful with its own patcher.
 */
typedef enum CpRelocKind
{
#define RELOC(arch, name) CP_RELOC_##name,
#include "relocs.def"
#undef RELOC
	CP_RELOC_LAST
} CpRelocKind;

/*
 * Hole values: the template's extern symbol _JIT_<NAME> is hole CP_HOLE_<NAME>. A new hole is
 * one line here, one in template.c and one case in compile.c's hole_value().
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
	X(CODE)				/* this stencil's own copy (its read-only data) */ \
	X(COL0)				/* (int32) d.words[k] * sizeof(CpColumn): the byte offset of the */ \
	X(COL1)				/* column that word indexes in econtext->columns (a short */ \
	X(COL2)				/* immediate: the template's CP_COLUMN) */ \
	X(COL3) \
	X(SD0)				/* d.words[k] - state: an operand as an offset from state */ \
	X(SD1) \
	X(SD2) \
	X(SD3) \
	X(SRESVALUE)		/* step->resvalue - state */ \
	X(SRESNULL)			/* step->resnull - state */

typedef enum CpHoleValue
{
#define X(name) CP_HOLE_##name,
	CP_JIT_HOLES(X)
#undef X
	CP_HOLE_SYMBOLS				/* helpers: CP_HOLE_SYM_<name> from the generated header */
} CpHoleValue;

/*
 * The stencils after the last opcode's: the C-ABI entry into a program's chain of stencils, and
 * the row exits of filter mode (template.c: the row's end with a known result).
 */
#define CP_JIT_ENTRY EEOP_LAST
#define CP_JIT_ROW_TRUE (EEOP_LAST + 1)
#define CP_JIT_ROW_FALSE (EEOP_LAST + 2)
#define CP_JIT_ROW_TRUE_LEAN (EEOP_LAST + 3)	/* the same, when nothing else reads econtext */
#define CP_JIT_ROW_FALSE_LEAN (EEOP_LAST + 4)
#define CP_JIT_NSTENCILS (EEOP_LAST + 5)

/*
 * Stencil variants (template.c), each a table indexed as cp_jit_stencils, with a NULL body
 * where an opcode has none: short immediates (32-bit operand holes), no result (a fused QUAL
 * whose result nobody reads), both (the bits of a variant's number), and state-relative
 * operands (4).
 */
#define CP_JIT_VARIANT_SHORT 1
#define CP_JIT_VARIANT_NORESULT 2
#define CP_JIT_VARIANT_RELATIVE 4
/*
 * Values in registers (template.c's __V* variants, state-relative otherwise): the destination,
 * argument 0 or 1 of an inlined built-in, or an argument and the destination in the value
 * registers. Their tables have every stencil (the relative one's code where it is the same).
 */
#define CP_JIT_VARIANT_VREG 5		/* __VR: the destination */
#define CP_JIT_VARIANT_VREG_ARG0 6	/* __VA0 */
#define CP_JIT_VARIANT_VREG_ARG1 7	/* __VA1 */
#define CP_JIT_VARIANT_VREG_ARG0_DEST 8	/* __VAR */
#define CP_JIT_VARIANT_VREG_ARG1_DEST 9	/* __VBR */
#define CP_JIT_NVARIANTS 10

/*
 * One opcode's stencil. If trim is nonzero, the code ends in a jump whose hole is the last of
 * `holes`; when that jump's target is the next step, the last `trim` bytes are left out and the
 * code falls through.
 */
typedef struct CpJitStencil
{
	const uint8_t *body;
	uint32_t	size;
	uint32_t	trim;
	const CpJitHole *holes;
	uint32_t	nholes;
} CpJitStencil;

/*
 * The machine this runtime is compiled for (a cross build picks the target's): its patcher,
 * which defines
 *
 *   CP_JIT_ARCH           its CpJitArch (the relocs.def kinds it handles)
 *   CP_TRAP_SIZE          bytes of emit_trap(rw): what runs if the entry stencil would continue
 *   CP_TRAMPOLINE_SIZE    bytes of emit_trampoline(rw, target): a jump to a helper out of
 *   CP_TRAMPOLINE_ALIGN   direct-branch range, whose 8-byte target is at CP_TRAMPOLINE_TARGET;
 *   CP_TRAMPOLINE_TARGET  the first trampoline starts CP_TRAMPOLINE_ALIGN-aligned
 *   CP_FREED_FILL         the byte freed code is overwritten with (a trapping instruction)
 *   reloc_is_branch(kind) whether a hole of this kind may be sent through a trampoline
 *   patch(kind, rw, rx, value, addend)  write value + addend into the hole at rw (running at
 *                         rx); false if it does not fit
 *
 * as static inline functions, since the compiler calls them for every hole. Elsewhere there is
 * no JIT (memfd_create is Linux's): no stencils, and cp_jit_compile says so.
 */
#if defined(__x86_64__) && defined(__linux__)
#define CP_JIT_HAVE_STENCILS 1
#include "patch_x86_64.h"
#elif defined(__aarch64__) && defined(__linux__)
#define CP_JIT_HAVE_STENCILS 1
#include "patch_aarch64.h"
#else
#define CP_JIT_HAVE_STENCILS 0
#define CP_FREED_FILL 0x00
#endif

#if CP_JIT_HAVE_STENCILS
/* stencils.c: the stencil set (indexed by opcode, CP_JIT_ENTRY last) and the helpers' addresses
 * (indexed by hole value - CP_HOLE_SYMBOLS) */
extern const CpJitStencil *const cp_jit_stencils;
/* by variant number (0: cp_jit_stencils) */
extern const CpJitStencil *const cp_jit_variants[CP_JIT_NVARIANTS];
extern void *const *const cp_jit_helpers;
#endif

/*
 * arena.c: room for one program's code. Only the compiler writes through `rw`, and only while it
 * compiles; after that only `rx`, where the code runs, is handed out. Granule-sized.
 */
typedef struct CpJitRegion
{
	struct CpJitChunk *chunk;	/* opaque outside arena.c */
	uint32_t	first;			/* granules [first, first + ngranules) of the chunk */
	uint32_t	ngranules;
	uint8_t    *rw;				/* the read-write view (NULL once the code is published) */
	uint8_t    *rx;				/* the read-execute view */
} CpJitRegion;

/* At least `size` bytes for a new program (counted in the stats); false if mapping failed. */
extern bool cp_jit_arena_alloc(size_t size, CpJitRegion *region);

/* Give back what lies beyond the first `used` bytes, which the compiler never wrote. */
extern void cp_jit_arena_shrink(CpJitRegion *region, size_t used);

/* Free a program's code: overwritten with traps (and flushed), its granules reusable. */
extern void cp_jit_arena_free(CpJitRegion *region);

/*
 * After writing code through a read-write view, before it runs: flush the instruction cache
 * for the read-execute range (a no-op on x86-64, required on AArch64). Counted in the stats.
 */
extern void cp_jit_code_written(const uint8_t *rx, size_t len);

#endif							/* COPYPATCH_JIT_H */
