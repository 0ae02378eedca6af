/*
 * runtime.c: the copy-and-patch JIT's runtime: an arena of executable memory, and a compiler
 * that copies one stencil per step into it and patches the holes.
 *
 * Arena. Code memory comes in chunks, each a memfd mapped twice: read-write, where the compiler
 * writes, and read-execute, where the code runs. No mapping is ever writable and executable,
 * and no page's protection ever changes, so compiling and freeing a program makes no system
 * call unless a chunk has to be mapped or unmapped (measured: mmap+mprotect+munmap per program
 * costs ~6.5 us, a mprotect flip ~4.3 us; the double mapping costs nothing per program). A chunk
 * is a bitmap of 64-byte granules, allocated first-fit from a hint; an empty chunk goes back to
 * the system unless it is the only spare one. Only the read-execute address ever leaves this
 * file. After fork() the child copies every chunk into a fresh memfd, so that parent and child
 * stop sharing pages they would otherwise both write.
 *
 * Compiler. Layout first: each step's stencil in order, its trailing jump dropped when the
 * jump's target is the next step (fall through). Then a trap (where the last step would
 * continue) and room for trampolines. Holes are then patched with the step's operands, the
 * addresses of other steps' code, and helpers' addresses; a call whose target is out of
 * direct-branch range (x86-64 rel32, AArch64 bl/b +-128 MiB) goes through a trampoline at the
 * end of the program. The code is written through the read-write view; before it runs, the
 * instruction cache is flushed for what was written (code_written). Everything per
 * architecture is in the patcher section below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "copypatch.h"
#include "jit.h"

/* The stencil set of the machine this file is compiled for (cross-compiling picks the target's). */
#if defined(__x86_64__) && defined(__linux__)
#include "stencils_x86_64.h"
#define CP_JIT_HAVE_STENCILS 1
#elif defined(__aarch64__) && defined(__linux__)
#include "stencils_aarch64.h"
#define CP_JIT_HAVE_STENCILS 1
#else
#define CP_JIT_HAVE_STENCILS 0
#endif
#if CP_JIT_HAVE_STENCILS
_Static_assert(sizeof(cp_stencils) / sizeof(cp_stencils[0]) == CP_JIT_ENTRY + 1,
			   "a stencil is missing for some opcode (or the entry): the stencil header is stale");
#endif

enum
{
	CP_JIT_OK,
	CP_JIT_ERR_UNAVAILABLE,
	CP_JIT_ERR_OPCODE,
	CP_JIT_ERR_JUMP,
	CP_JIT_ERR_NOMEM,
	CP_JIT_ERR_MAP,
	CP_JIT_ERR_RANGE,
	CP_JIT_ERR_EMPTY,
	CP_JIT_ERR_LAST
};

static const char *const cp_jit_errors[] = {
	"no error",
	"the JIT has no stencils for this machine",
	"a step has an opcode with no stencil (or the program was prepared for another engine)",
	"a jump target is outside the program",
	"out of memory",
	"cannot map executable memory (memfd_create/mmap failed)",
	"a relocation's value is out of range",
	"the program has no steps",
};

const char *
cp_jit_strerror(int err)
{
	return err >= 0 && err < CP_JIT_ERR_LAST ? cp_jit_errors[err] : "unknown JIT error";
}

static const char *const cp_jit_hole_names[] = {
#define X(name) #name,
	CP_JIT_HOLES(X)
#undef X
};

static const char *const cp_jit_reloc_names[] = {
#define X(name) #name,
	CP_JIT_RELOCS(X)
#undef X
};

const char *
cp_jit_hole_name(int32_t value)
{
	if (value >= 0 && value < CP_HOLE_SYMBOLS)
		return cp_jit_hole_names[value];
#if CP_JIT_HAVE_STENCILS
	if (value >= CP_HOLE_SYMBOLS && value < CP_HOLE_END_)
		return cp_jit_symbol_names[value - CP_HOLE_SYMBOLS];
#endif
	return "?";
}

const char *
cp_jit_reloc_name(int32_t kind)
{
	return kind >= 0 && kind < CP_RELOC_LAST ? cp_jit_reloc_names[kind] : "?";
}

const char *
cp_jit_target(void)
{
#if CP_JIT_HAVE_STENCILS
	return CP_JIT_TARGET;
#else
	return NULL;
#endif
}

int32_t
cp_jit_stencil(int32_t opcode, const CpJitHole **holes, int32_t *nholes)
{
#if CP_JIT_HAVE_STENCILS
	if (opcode >= 0 && opcode <= CP_JIT_ENTRY && cp_stencils[opcode].body != NULL)
	{
		*holes = cp_stencils[opcode].holes;
		*nholes = (int32_t) cp_stencils[opcode].nholes;
		return (int32_t) cp_stencils[opcode].size;
	}
#endif
	*holes = NULL;
	*nholes = 0;
	return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Patchers: everything that depends on the architecture's instruction encoding
 *
 * Per architecture: CP_TRAP_SIZE and emit_trap() (what runs if the last step would continue),
 * CP_TRAMPOLINE_SIZE/_ALIGN and emit_trampoline() (a far jump to a helper out of direct-branch
 * range), CP_FREED_FILL (what freed code is overwritten with: a trapping instruction),
 * reloc_is_branch() (which holes may go through a trampoline) and patch() (one relocation).
 * ------------------------------------------------------------------------------------------- */
#if defined(__x86_64__)

#define CP_TRAP_SIZE 2
#define CP_TRAMPOLINE_SIZE 14
#define CP_TRAMPOLINE_ALIGN 1
#define CP_FREED_FILL 0xcc		/* int3 */

#if CP_JIT_HAVE_STENCILS

static void
emit_trap(uint8_t *rw)
{
	rw[0] = 0x0f;				/* ud2 */
	rw[1] = 0x0b;
}

/* jmp *0(%rip); .quad target */
static void
emit_trampoline(uint8_t *rw, uintptr_t target)
{
	static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0};

	memcpy(rw, jmp, sizeof(jmp));
	memcpy(rw + 6, &target, sizeof(target));
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

#endif							/* CP_JIT_HAVE_STENCILS */

#elif defined(__aarch64__)

/*
 * AArch64. The stencils are built with -mcmodel=large: every data hole is a movz/movk sequence
 * (MOVW_UABS_G0_NC..G3, any 64-bit value fits), calls and jumps are bl/b (CALL26/JUMP26,
 * +-128 MiB). A helper further away is reached through a veneer that clobbers only x16, which
 * the procedure call standard reserves for exactly this (IP0). Instructions are 4 bytes, little
 * endian; a hole's bits are merged into the instruction the stencil already has.
 */
#define CP_TRAP_SIZE 4
#define CP_TRAMPOLINE_SIZE 16
#define CP_TRAMPOLINE_ALIGN 8	/* the veneer's literal is 8-aligned */
#define CP_FREED_FILL 0x00		/* 0x00000000 is udf #0 */

#if CP_JIT_HAVE_STENCILS

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

static void
emit_trap(uint8_t *rw)
{
	insn_write(rw, 0xd4207d00);	/* brk #0x3e8, as __builtin_trap() */
}

/* ldr x16, 8; br x16; .quad target */
static void
emit_trampoline(uint8_t *rw, uintptr_t target)
{
	insn_write(rw, 0x58000050);
	insn_write(rw + 4, 0xd61f0200);
	memcpy(rw + 8, &target, sizeof(target));
}

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

#endif							/* CP_JIT_HAVE_STENCILS */

#else							/* no JIT on this architecture */

#define CP_FREED_FILL 0x00

#endif

/*
 * Instruction-cache maintenance. Code is written through the read-write view and run from the
 * read-execute view: on AArch64 the data cache must be cleaned and the instruction cache
 * invalidated for the executable range before that code runs (on x86-64 the builtin is a no-op).
 * Every function that writes into a chunk ends by calling this on what it wrote: cp_jit_compile
 * (the program, its trap and trampolines), arena_release (the trap fill of freed code) and
 * arena_child_fork (every chunk, copied into fresh pages). tests/test_arm64.py checks both the
 * counters and, in the source, that every writer calls it.
 */
static int64_t cp_jit_flushes;
static int64_t cp_jit_flushed_bytes;
static int	cp_jit_skip_flush;		/* for a test only: see cp_jit_set_skip_icache_flush */

static void
code_written(const uint8_t *rx, size_t len)
{
	if (__atomic_load_n(&cp_jit_skip_flush, __ATOMIC_RELAXED))
		return;
	__builtin___clear_cache((char *) rx, (char *) rx + len);
	__atomic_add_fetch(&cp_jit_flushes, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cp_jit_flushed_bytes, (int64_t) len, __ATOMIC_RELAXED);
}

/*
 * For one test (tests/test_arm64.py): leave the instruction cache alone, to show that the qemu
 * run would catch a missing flush (qemu >= 8.1 keeps stale translations until `ic ivau`).
 */
void
cp_jit_set_skip_icache_flush(int on)
{
	__atomic_store_n(&cp_jit_skip_flush, on, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------------
 * The arena
 * ------------------------------------------------------------------------------------------- */

#define CP_JIT_GRANULE 64
#define CP_JIT_CHUNK_SIZE (256 * 1024)

typedef struct CpJitChunk
{
	struct CpJitChunk *next;
	uint8_t    *rw;				/* the writable view: never leaves this file */
	uint8_t    *rx;				/* the executable view */
	size_t		size;
	uint32_t	ngranules;
	uint32_t	used;			/* granules in use */
	uint32_t	hint;			/* every granule below is in use */
	bool		frozen;			/* after a failed remap in a forked child: no more allocations */
	uint64_t	bitmap[];		/* one bit per granule, set when in use */
} CpJitChunk;

struct CpJitCode
{
	CpJitChunk *chunk;
	uint32_t	first;			/* granule */
	uint32_t	ngranules;
	uint8_t    *rx;
	int64_t		size;
	int64_t		compile_ns;
	int32_t		nsteps;
	int32_t		entry;			/* offset of the C-ABI entry stencil, after the steps */
	int32_t		offsets[];		/* nsteps + 1 */
};

static struct
{
	pthread_mutex_t lock;
	CpJitChunk *chunks;
	int64_t		nchunks;
	int64_t		mapped;
	int64_t		used;
	int64_t		programs;
} arena = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0};

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void
arena_prepare_fork(void)
{
	pthread_mutex_lock(&arena.lock);
}

static void
arena_parent_fork(void)
{
	pthread_mutex_unlock(&arena.lock);
}

/* Give every chunk fresh pages of its own, same contents, same addresses. */
static void
arena_child_fork(void)
{
	for (CpJitChunk *c = arena.chunks; c != NULL; c = c->next)
	{
		int			fd = memfd_create("copypatch-jit", MFD_CLOEXEC);
		size_t		done = 0;

		if (fd < 0 || ftruncate(fd, (off_t) c->size) != 0)
			goto fail;
		while (done < c->size)
		{
			ssize_t		w = write(fd, c->rx + done, c->size - done);

			if (w <= 0)
				goto fail;
			done += (size_t) w;
		}
		if (mmap(c->rw, c->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
			mmap(c->rx, c->size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			goto fail;
		close(fd);
		code_written(c->rx, c->size);	/* same bytes, but new pages behind the same addresses */
		continue;
fail:
		if (fd >= 0)
			close(fd);
		c->frozen = true;		/* still shared with the parent: never write into it again */
	}
	pthread_mutex_unlock(&arena.lock);
}

static void
arena_init(void)
{
	pthread_atfork(arena_prepare_fork, arena_parent_fork, arena_child_fork);
}

static CpJitChunk *
chunk_new(size_t min_size)
{
	size_t		size = CP_JIT_CHUNK_SIZE;
	uint32_t	ngranules;
	CpJitChunk *c;
	int			fd;
	void	   *rw,
			   *rx;

#ifndef __linux__
	return NULL;				/* memfd_create is Linux's */
#endif
	if (min_size > size)
		size = (min_size + 4095) & ~(size_t) 4095;
	ngranules = (uint32_t) (size / CP_JIT_GRANULE);
	c = calloc(1, sizeof(CpJitChunk) + (ngranules + 63) / 64 * sizeof(uint64_t));
	if (c == NULL)
		return NULL;
	fd = memfd_create("copypatch-jit", MFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (ftruncate(fd, (off_t) size) != 0)
		goto fail_fd;
	rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED)
		goto fail_fd;
	rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (rx == MAP_FAILED)
	{
		munmap(rw, size);
		goto fail_fd;
	}
	close(fd);					/* the mappings keep the memory */
	c->rw = rw;
	c->rx = rx;
	c->size = size;
	c->ngranules = ngranules;
	c->next = arena.chunks;
	arena.chunks = c;
	arena.nchunks++;
	arena.mapped += (int64_t) size;
	return c;

fail_fd:
	close(fd);
fail:
	free(c);
	return NULL;
}

static void
chunk_release(CpJitChunk *c)
{
	for (CpJitChunk **p = &arena.chunks; *p != NULL; p = &(*p)->next)
	{
		if (*p == c)
		{
			*p = c->next;
			break;
		}
	}
	munmap(c->rw, c->size);
	munmap(c->rx, c->size);
	arena.nchunks--;
	arena.mapped -= (int64_t) c->size;
	free(c);
}

static inline bool
granule_used(const CpJitChunk *c, uint32_t g)
{
	return (c->bitmap[g / 64] >> (g % 64)) & 1;
}

static void
granules_set(CpJitChunk *c, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t g = first; g < first + n; g++)
	{
		if (used)
			c->bitmap[g / 64] |= (uint64_t) 1 << (g % 64);
		else
			c->bitmap[g / 64] &= ~((uint64_t) 1 << (g % 64));
	}
}

/* First fit from the hint; -1 if the chunk has no run of n free granules. */
static int64_t
chunk_find(const CpJitChunk *c, uint32_t n)
{
	uint32_t	run = 0,
				start = 0;

	if (c->frozen || c->ngranules - c->used < n)
		return -1;
	for (uint32_t g = c->hint; g < c->ngranules;)
	{
		if (g % 64 == 0 && c->bitmap[g / 64] == ~(uint64_t) 0)
		{
			run = 0;
			g += 64;
			continue;
		}
		if (granule_used(c, g))
		{
			run = 0;
			g++;
			continue;
		}
		if (run++ == 0)
			start = g;
		if (run == n)
			return start;
		g++;
	}
	return -1;
}

/* Allocate n granules (arena lock held). */
static bool
arena_alloc(uint32_t n, CpJitChunk **chunk, uint32_t *first)
{
	CpJitChunk *c;
	int64_t		g = -1;

	for (c = arena.chunks; c != NULL; c = c->next)
		if ((g = chunk_find(c, n)) >= 0)
			break;
	if (c == NULL)
	{
		pthread_once(&arena_once, arena_init);
		c = chunk_new((size_t) n * CP_JIT_GRANULE);
		if (c == NULL)
			return false;
		g = 0;
	}
	granules_set(c, (uint32_t) g, n, true);
	if (c->hint == (uint32_t) g)
		c->hint = (uint32_t) g + n;
	c->used += n;
	arena.used += (int64_t) n * CP_JIT_GRANULE;
	*chunk = c;
	*first = (uint32_t) g;
	return true;
}

/*
 * Free granules [first, first + n) of c (arena lock held); unmap c if it is an extra empty one.
 * Freed code is overwritten with traps, unless `written` is false: room the caller reserved but
 * never wrote into (it still holds what it held before, traps or fresh zero pages).
 */
static void
arena_release(CpJitChunk *c, uint32_t first, uint32_t n, bool written)
{
	if (n == 0)
		return;
	if (written)
	{
		memset(c->rw + (size_t) first * CP_JIT_GRANULE, CP_FREED_FILL, (size_t) n * CP_JIT_GRANULE);
		code_written(c->rx + (size_t) first * CP_JIT_GRANULE, (size_t) n * CP_JIT_GRANULE);
	}
	granules_set(c, first, n, false);
	if (first < c->hint)
		c->hint = first;
	c->used -= n;
	arena.used -= (int64_t) n * CP_JIT_GRANULE;
	if (c->used == 0)
	{
		bool		spare = c->size == CP_JIT_CHUNK_SIZE && !c->frozen;

		/* keep one empty chunk, so that compiling and freeing in a loop does not map each time */
		for (CpJitChunk *o = arena.chunks; spare && o != NULL; o = o->next)
			if (o != c && o->used == 0)
				spare = false;
		if (!spare)
			chunk_release(c);
	}
}

void
cp_jit_arena_stats(CpJitArenaStats *stats)
{
	pthread_mutex_lock(&arena.lock);
	stats->chunks = arena.nchunks;
	stats->mapped_bytes = arena.mapped;
	stats->used_bytes = arena.used;
	stats->programs = arena.programs;
	stats->icache_flushes = __atomic_load_n(&cp_jit_flushes, __ATOMIC_RELAXED);
	stats->icache_flushed_bytes = __atomic_load_n(&cp_jit_flushed_bytes, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&arena.lock);
}

/* ---------------------------------------------------------------------------------------------
 * The compiler
 * ------------------------------------------------------------------------------------------- */
#if CP_JIT_HAVE_STENCILS

static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int32_t
jump_target(const ExprEvalStep *step)
{
	return (int32_t) step->d.words[0];
}

/* Does step i's stencil end in a jump to step i + 1? Then it can fall through. */
static inline bool
falls_through(const CpJitStencil *st, const ExprEvalStep *step, int32_t i)
{
	uint16_t	value;

	if (st->trim == 0)
		return false;
	value = st->holes[st->nholes - 1].value;
	return value == CP_HOLE_CONTINUE || (value == CP_HOLE_JUMP_TARGET && jump_target(step) == i + 1);
}

/* For tests: send every call to a helper through a trampoline, as if it were out of range. */
static int	cp_jit_far_calls;

void
cp_jit_set_far_calls(int on)
{
	__atomic_store_n(&cp_jit_far_calls, on, __ATOMIC_RELAXED);
}

static inline bool
is_external(uint16_t value)
{
	return value == CP_HOLE_FN || value >= CP_HOLE_SYMBOLS;
}

int
cp_jit_compile(ExprState *state, CpJitCode **out)
{
	int64_t		t0 = now_ns();
	int32_t		n = state->steps_len;
	const ExprEvalStep *steps = state->steps;
	CpJitCode  *code;
	int32_t		off = 0,
				nexternal = 0,
				ntramp = 0,
				tramp_base,
				used;
	uint32_t	ngranules,
				first;
	CpJitChunk *chunk;
	uint8_t    *rw,
			   *rx;
	uintptr_t	tramp_target[64];
	int32_t		tramp_off[64];
	int			err = CP_JIT_OK;
	bool		far_calls = __atomic_load_n(&cp_jit_far_calls, __ATOMIC_RELAXED);

	*out = NULL;
	if (n <= 0)
		return CP_JIT_ERR_EMPTY;
	code = malloc(sizeof(CpJitCode) + ((size_t) n + 1) * sizeof(int32_t));
	if (code == NULL)
		return CP_JIT_ERR_NOMEM;

	/* layout */
	for (int32_t i = 0; i < n; i++)
	{
		intptr_t	opcode = steps[i].opcode;
		const CpJitStencil *st;

		if (opcode < 0 || opcode >= EEOP_LAST || cp_stencils[opcode].body == NULL)
		{
			free(code);
			return CP_JIT_ERR_OPCODE;
		}
		st = &cp_stencils[opcode];
		code->offsets[i] = off;
		off += (int32_t) st->size;
		if (i + 1 < n && falls_through(st, &steps[i], i))
			off -= (int32_t) st->trim;
		for (uint32_t h = 0; h < st->nholes; h++)
		{
			uint16_t	v = st->holes[h].value;

			if (v == CP_HOLE_JUMP_TARGET && (jump_target(&steps[i]) < 0 || jump_target(&steps[i]) >= n))
			{
				free(code);
				return CP_JIT_ERR_JUMP;
			}
			if (is_external(v) && reloc_is_branch(st->holes[h].kind))
				nexternal++;
		}
	}
	code->offsets[n] = off;
	/* the entry stencil, after the steps */
	if (cp_stencils[CP_JIT_ENTRY].body == NULL)
	{
		free(code);
		return CP_JIT_ERR_OPCODE;
	}
	code->entry = off;
	off += (int32_t) cp_stencils[CP_JIT_ENTRY].size;
	tramp_base = (off + CP_TRAP_SIZE + CP_TRAMPOLINE_ALIGN - 1) / CP_TRAMPOLINE_ALIGN * CP_TRAMPOLINE_ALIGN;
	used = tramp_base;
	if (nexternal > 64)
		nexternal = 64;			/* the trampoline table's size; more cannot be out of range here */
	ngranules = (uint32_t) ((used + nexternal * CP_TRAMPOLINE_SIZE + CP_JIT_GRANULE - 1) / CP_JIT_GRANULE);

	pthread_mutex_lock(&arena.lock);
	if (!arena_alloc(ngranules, &chunk, &first))
	{
		pthread_mutex_unlock(&arena.lock);
		free(code);
		return CP_JIT_ERR_MAP;
	}
	arena.programs++;
	pthread_mutex_unlock(&arena.lock);
	rw = chunk->rw + (size_t) first * CP_JIT_GRANULE;
	rx = chunk->rx + (size_t) first * CP_JIT_GRANULE;
	code->chunk = chunk;
	code->first = first;
	code->ngranules = ngranules;
	code->rx = rx;
	code->nsteps = n;

	/* copy and patch: the steps, then (i == n) the entry, whose continuation is step 0 */
	for (int32_t i = 0; i <= n && err == CP_JIT_OK; i++)
	{
		const bool	is_entry = i == n;
		const ExprEvalStep *step = is_entry ? &steps[0] : &steps[i];
		const CpJitStencil *st = &cp_stencils[is_entry ? CP_JIT_ENTRY : step->opcode];
		int32_t		start = is_entry ? code->entry : code->offsets[i];
		uint32_t	size = is_entry ? st->size : (uint32_t) (code->offsets[i + 1] - start);
		uint8_t    *srw = rw + start;
		uintptr_t	srx = (uintptr_t) rx + (uintptr_t) start;

		memcpy(srw, st->body, size);
		for (uint32_t h = 0; h < st->nholes; h++)
		{
			const CpJitHole *hole = &st->holes[h];
			uintptr_t	value;

			if (hole->offset >= size)
				continue;		/* the trailing jump, dropped */
			switch (hole->value)
			{
				case CP_HOLE_RESVALUE:
					value = (uintptr_t) step->resvalue;
					break;
				case CP_HOLE_RESNULL:
					value = (uintptr_t) step->resnull;
					break;
				case CP_HOLE_D0:
				case CP_HOLE_D1:
				case CP_HOLE_D2:
				case CP_HOLE_D3:
					value = step->d.words[hole->value - CP_HOLE_D0];
					break;
				case CP_HOLE_STEP:
					value = (uintptr_t) step;
					break;
				case CP_HOLE_CONTINUE:
					value = (uintptr_t) rx + (uintptr_t) code->offsets[is_entry ? 0 : i + 1];
					break;
				case CP_HOLE_JUMP_TARGET:
					value = (uintptr_t) rx + (uintptr_t) code->offsets[jump_target(step)];
					break;
				case CP_HOLE_FN:
					value = (uintptr_t) step->d.func.fn_addr;
					break;
				case CP_HOLE_CODE:
					value = srx;
					break;
				default:
					value = (uintptr_t) cp_jit_symbol_addresses[hole->value - CP_HOLE_SYMBOLS];
					break;
			}
			if (!(far_calls && is_external(hole->value) && reloc_is_branch(hole->kind)) &&
				patch(hole->kind, srw + hole->offset, srx + hole->offset, value, hole->addend))
				continue;
			if (!(is_external(hole->value) && reloc_is_branch(hole->kind)))
			{
				err = CP_JIT_ERR_RANGE;
				break;
			}
			/* out of range: go through a trampoline, one per target */
			{
				int32_t		t;

				for (t = 0; t < ntramp && tramp_target[t] != value; t++)
					;
				if (t == ntramp)
				{
					if (ntramp == nexternal)
					{
						err = CP_JIT_ERR_RANGE;
						break;
					}
					tramp_target[t] = value;
					tramp_off[t] = used;
					emit_trampoline(rw + used, value);
					used += CP_TRAMPOLINE_SIZE;
					ntramp++;
				}
				if (!patch(hole->kind, srw + hole->offset, srx + hole->offset,
						   (uintptr_t) rx + (uintptr_t) tramp_off[t], hole->addend))
					err = CP_JIT_ERR_RANGE;
			}
		}
	}
	for (int32_t t = off; t < tramp_base; t += CP_TRAP_SIZE)
		emit_trap(rw + t);		/* up to the trampolines, which start aligned */

	pthread_mutex_lock(&arena.lock);
	if (err != CP_JIT_OK)
	{
		arena_release(chunk, first, ngranules, true);
		arena.programs--;
		pthread_mutex_unlock(&arena.lock);
		free(code);
		return err;
	}
	/* give back the trampoline room we did not use */
	{
		uint32_t	need = (uint32_t) ((used + CP_JIT_GRANULE - 1) / CP_JIT_GRANULE);

		arena_release(chunk, first + need, ngranules - need, false);
		code->ngranules = need;
	}
	pthread_mutex_unlock(&arena.lock);
	code->size = used;

	/* publish: the code was written through the other view of the same pages */
	code_written(rx, (size_t) used);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	state->evalfunc = (ExprStateEvalFunc) (void *) (rx + code->entry);
	code->compile_ns = now_ns() - t0;
	*out = code;
	return CP_JIT_OK;
}

#else							/* !CP_JIT_HAVE_STENCILS */

void
cp_jit_set_far_calls(int on)
{
	(void) on;
}

int
cp_jit_compile(ExprState *state, CpJitCode **out)
{
	(void) state;
	*out = NULL;
	return CP_JIT_ERR_UNAVAILABLE;
}

#endif

void
cp_jit_free(CpJitCode *code)
{
	if (code == NULL)
		return;
	pthread_mutex_lock(&arena.lock);
	arena_release(code->chunk, code->first, code->ngranules, true);
	arena.programs--;
	pthread_mutex_unlock(&arena.lock);
	free(code);
}

int64_t
cp_jit_compile_ns(const CpJitCode *code)
{
	return code->compile_ns;
}

int64_t
cp_jit_code_size(const CpJitCode *code)
{
	return code->size;
}

uintptr_t
cp_jit_code_address(const CpJitCode *code)
{
	return (uintptr_t) code->rx;
}

int32_t
cp_jit_entry_offset(const CpJitCode *code)
{
	return code->entry;
}

int32_t
cp_jit_step_offset(const CpJitCode *code, int32_t step)
{
	return step >= 0 && step <= code->nsteps ? code->offsets[step] : -1;
}
