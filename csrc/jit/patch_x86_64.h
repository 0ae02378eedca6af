/*
 * patch_x86_64.h: the x86-64 patcher, everything that depends on its instruction encoding
 * (included by jit.h when compiling for x86-64; the interface is described there).
 *
 * The stencils are built with -mcmodel=medium -mlarge-data-threshold=0: every data hole is a
 * movabs with a 64-bit absolute relocation (R_X86_64_64, any operand fits), while calls and
 * jumps stay rel32 (R_X86_64_PLT32, +-2 GiB). A helper further away than that is reached
 * through a 14-byte trampoline at the end of the program, `jmp *0(%rip); .quad target`, which
 * clobbers no register. The rel32 and 32-bit absolute kinds are checked, so a value that does
 * not fit is an error rather than a wrong jump.
 *
 * Static inline: the compiler calls these for every hole of every step.
 */
#ifndef COPYPATCH_PATCH_X86_64_H
#define COPYPATCH_PATCH_X86_64_H

#define CP_JIT_ARCH CP_JIT_ARCH_X86_64
#define CP_TRAP_SIZE 2				/* ud2 */
#define CP_TRAMPOLINE_SIZE 14
#define CP_TRAMPOLINE_ALIGN 1
#define CP_TRAMPOLINE_TARGET 6		/* after the jmp */
#define CP_FREED_FILL 0xcc			/* int3 */

static inline void
emit_trap(uint8_t *rw)
{
	rw[0] = 0x0f;				/* ud2 */
	rw[1] = 0x0b;
}

/* jmp *0(%rip); .quad target */
static inline void
emit_trampoline(uint8_t *rw, uintptr_t target)
{
	static const uint8_t jmp[CP_TRAMPOLINE_TARGET] = {0xff, 0x25, 0, 0, 0, 0};

	memcpy(rw, jmp, sizeof(jmp));
	memcpy(rw + CP_TRAMPOLINE_TARGET, &target, sizeof(target));
}

/* Is this a call or jump whose target may be moved into a trampoline? */
static inline bool
reloc_is_branch(int kind)
{
	return kind == CP_RELOC_R_X86_64_PLT32;
}

/* Write value + addend at rw (which runs at rx); false if it does not fit. */
static inline bool
patch(int kind, uint8_t *rw, uintptr_t rx, uintptr_t value, int64_t addend)
{
	uint64_t	v = (uint64_t) value + (uint64_t) addend;

	switch ((CpRelocKind) kind)
	{
		case CP_RELOC_R_X86_64_64:
			memcpy(rw, &v, 8);
			return true;
		case CP_RELOC_R_X86_64_PC32:
		case CP_RELOC_R_X86_64_PLT32:
			{
				int64_t		rel = (int64_t) (v - (uint64_t) rx);
				int32_t		r32 = (int32_t) rel;

				if (rel != r32)
					return false;
				memcpy(rw, &r32, 4);
				return true;
			}
		case CP_RELOC_R_X86_64_32:
			{
				uint32_t	u32 = (uint32_t) v;

				if (v != u32)
					return false;
				memcpy(rw, &u32, 4);
				return true;
			}
		case CP_RELOC_R_X86_64_32S:
			{
				int32_t		s32 = (int32_t) v;

				if ((int64_t) v != s32)
					return false;
				memcpy(rw, &s32, 4);
				return true;
			}
		default:
			break;				/* another architecture's kind: never in this stencil set */
	}
	return false;
}

#endif							/* COPYPATCH_PATCH_X86_64_H */
