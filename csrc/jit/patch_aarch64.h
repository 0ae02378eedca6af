/*
 * patch_aarch64.h: the AArch64 patcher, everything that depends on its instruction encoding
 * (included by jit.h when compiling for AArch64; the interface is described there).
 *
 * The stencils are built with -mcmodel=large: every data hole is a movz/movk sequence
 * (MOVW_UABS_G0_NC..G3, any 64-bit value fits), calls and jumps are bl/b (CALL26/JUMP26,
 * +-128 MiB). A helper further away is reached through a veneer that clobbers only x16, which
 * the procedure call standard reserves for exactly this (IP0). Instructions are 4 bytes, little
 * endian; a hole's bits are merged into the instruction the stencil already has. The other
 * kinds of relocs.def (checked MOVW, short branches, ADRP/LO12, ABS64) are not emitted by this
 * code model but handled, so a compiler that starts emitting them still works.
 *
 * Static inline: the compiler calls these for every hole of every step.
 */
#ifndef COPYPATCH_PATCH_AARCH64_H
#define COPYPATCH_PATCH_AARCH64_H

#define CP_JIT_ARCH CP_JIT_ARCH_AARCH64
#define CP_TRAP_SIZE 4				/* brk #0x3e8 */
#define CP_TRAMPOLINE_SIZE 16
#define CP_TRAMPOLINE_ALIGN 8		/* the veneer's literal is 8-aligned */
#define CP_TRAMPOLINE_TARGET 8		/* after ldr and br */
#define CP_FREED_FILL 0x00			/* 0x00000000 is udf #0 */

static inline uint32_t
insn_read(const uint8_t *rw)
{
	uint32_t	insn;

	memcpy(&insn, rw, 4);
	return insn;
}

static inline void
insn_write(uint8_t *rw, uint32_t insn)
{
	memcpy(rw, &insn, 4);
}

/* Replace the `width` bits of the instruction at bit `shift` by `field`. */
static inline void
insn_set(uint8_t *rw, int shift, int width, uint64_t field)
{
	uint32_t	mask = (uint32_t) (((uint64_t) 1 << width) - 1) << shift;

	insn_write(rw, (insn_read(rw) & ~mask) | (((uint32_t) field << shift) & mask));
}

static inline void
emit_trap(uint8_t *rw)
{
	insn_write(rw, 0xd4207d00);	/* brk #0x3e8, as __builtin_trap() */
}

/* ldr x16, 8; br x16; .quad target */
static inline void
emit_trampoline(uint8_t *rw, uintptr_t target)
{
	insn_write(rw, 0x58000050);
	insn_write(rw + 4, 0xd61f0200);
	memcpy(rw + CP_TRAMPOLINE_TARGET, &target, sizeof(target));
}

/* Is this a call or jump whose target may be moved into a veneer? */
static inline bool
reloc_is_branch(int kind)
{
	return kind == CP_RELOC_R_AARCH64_CALL26 || kind == CP_RELOC_R_AARCH64_JUMP26 ||
		kind == CP_RELOC_R_AARCH64_CONDBR19 || kind == CP_RELOC_R_AARCH64_TSTBR14;
}

/* A pc-relative branch of `bits` signed instruction-count bits at bit `shift`. */
static inline bool
patch_branch(uint8_t *rw, uintptr_t rx, uint64_t v, int shift, int bits)
{
	int64_t		rel = (int64_t) (v - (uint64_t) rx);
	int64_t		limit = (int64_t) 1 << (bits + 1);	/* bytes: 4 * 2^(bits - 1) */

	if ((rel & 3) != 0 || rel < -limit || rel >= limit)
		return false;
	insn_set(rw, shift, bits, (uint64_t) (rel >> 2));
	return true;
}

/* The low 12 bits of an address as the scaled immediate of a load or store of 2^scale bytes. */
static inline bool
patch_lo12(uint8_t *rw, uint64_t v, int scale)
{
	uint64_t	lo = v & 0xfff;

	if ((lo & (((uint64_t) 1 << scale) - 1)) != 0)
		return false;
	insn_set(rw, 10, 12, lo >> scale);
	return true;
}

/* Merge value + addend into the instruction at rw (which runs at rx); false if it does not fit. */
static inline bool
patch(int kind, uint8_t *rw, uintptr_t rx, uintptr_t value, int64_t addend)
{
	uint64_t	v = (uint64_t) value + (uint64_t) addend;

	switch ((CpRelocKind) kind)
	{
		case CP_RELOC_R_AARCH64_ABS64:
			memcpy(rw, &v, 8);
			return true;
		case CP_RELOC_R_AARCH64_MOVW_UABS_G0:
			if (v >> 16)
				return false;
			/* fall through */
		case CP_RELOC_R_AARCH64_MOVW_UABS_G0_NC:
			insn_set(rw, 5, 16, v & 0xffff);
			return true;
		case CP_RELOC_R_AARCH64_MOVW_UABS_G1:
			if (v >> 32)
				return false;
			/* fall through */
		case CP_RELOC_R_AARCH64_MOVW_UABS_G1_NC:
			insn_set(rw, 5, 16, (v >> 16) & 0xffff);
			return true;
		case CP_RELOC_R_AARCH64_MOVW_UABS_G2:
			if (v >> 48)
				return false;
			/* fall through */
		case CP_RELOC_R_AARCH64_MOVW_UABS_G2_NC:
			insn_set(rw, 5, 16, (v >> 32) & 0xffff);
			return true;
		case CP_RELOC_R_AARCH64_MOVW_UABS_G3:
			insn_set(rw, 5, 16, (v >> 48) & 0xffff);
			return true;
		case CP_RELOC_R_AARCH64_CALL26:
		case CP_RELOC_R_AARCH64_JUMP26:
			return patch_branch(rw, rx, v, 0, 26);
		case CP_RELOC_R_AARCH64_CONDBR19:
			return patch_branch(rw, rx, v, 5, 19);
		case CP_RELOC_R_AARCH64_TSTBR14:
			return patch_branch(rw, rx, v, 5, 14);
		case CP_RELOC_R_AARCH64_ADR_PREL_PG_HI21:
			{
				int64_t		pages = (int64_t) ((v & ~(uint64_t) 0xfff) - (rx & ~(uint64_t) 0xfff)) >> 12;

				if (pages < -((int64_t) 1 << 20) || pages >= ((int64_t) 1 << 20))
					return false;
				insn_set(rw, 29, 2, (uint64_t) pages & 3);	/* immlo */
				insn_set(rw, 5, 19, ((uint64_t) pages >> 2) & 0x7ffff);	/* immhi */
				return true;
			}
		case CP_RELOC_R_AARCH64_ADD_ABS_LO12_NC:
		case CP_RELOC_R_AARCH64_LDST8_ABS_LO12_NC:
			return patch_lo12(rw, v, 0);
		case CP_RELOC_R_AARCH64_LDST16_ABS_LO12_NC:
			return patch_lo12(rw, v, 1);
		case CP_RELOC_R_AARCH64_LDST32_ABS_LO12_NC:
			return patch_lo12(rw, v, 2);
		case CP_RELOC_R_AARCH64_LDST64_ABS_LO12_NC:
			return patch_lo12(rw, v, 3);
		case CP_RELOC_R_AARCH64_LDST128_ABS_LO12_NC:
			return patch_lo12(rw, v, 4);
		default:
			break;				/* another architecture's kind: never in this stencil set */
	}
	return false;
}

#endif							/* COPYPATCH_PATCH_AARCH64_H */
