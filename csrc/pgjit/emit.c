/*
 * emit.c: the PostgreSQL provider's copy-and-patch compiler: CpPgSteps in, machine code in
 * copypatch's arena out.
 *
 * The phases are compile.c's (layout, allocate, write code, give back, publish), over the
 * PostgreSQL stencil set (generated from csrc/pgjit/template.c by the provider's build) and the
 * hole values provider.c computed from PostgreSQL's steps. The runtime underneath is copypatch's
 * own, compiled into the provider from the same files: the arena (csrc/jit/arena.c: memfd chunks
 * mapped twice, never writable and executable at once) and the patcher of the machine
 * (csrc/jit/patch_<arch>.h, through jit.h). This file includes copypatch's headers, never
 * PostgreSQL's (pgjit.h says why).
 *
 * A call to one of PostgreSQL's functions is usually out of a rel32's reach from the arena
 * (the server is a PIE far below the mmap area): such calls go through a trampoline at the end of
 * the program, one per distinct target, as in compile.c.
 */
#include <stdlib.h>
#include <string.h>

#include "jit.h"
#include "pgjit.h"

#if !CP_JIT_HAVE_STENCILS
#error "the PostgreSQL provider needs a machine the JIT has stencils for (x86-64 or AArch64 Linux)"
#endif

#define CP_PG_STENCIL_CODE
#include "pg_stencils.h"

#define CP_PG_ENTRY CP_PG_STENCIL_CP_JIT_ENTRY
#define CP_PG_MAX_TRAMPOLINES 64

static const char *const cp_pg_errors[] = {
	"no error",
	"a jump target is outside the program",
	"out of memory (or executable memory could not be mapped)",
	"a relocation's value is out of range",
	"the program has no steps",
};

_Static_assert(sizeof(cp_pg_errors) / sizeof(cp_pg_errors[0]) == CP_PG_ERR_LAST,
			   "an error has no message");

const char *
cp_pg_strerror(int err)
{
	return err >= 0 && err < CP_PG_ERR_LAST ? cp_pg_errors[err] : "unknown error";
}

int32_t
cp_pg_nstencils(void)
{
	return (int32_t) (sizeof(cp_pg_stencils) / sizeof(cp_pg_stencils[0]));
}

const char *
cp_pg_stencils_digest(void)
{
	return CP_PG_STENCILS_DIGEST;
}

struct CpPgCode
{
	CpJitRegion region;
	int64_t		size;
	int32_t		entry;			/* offset of the C-ABI entry stencil */
};

typedef struct PgBuild
{
	const CpPgStep *steps;
	int32_t		nsteps;
	void	   *const *symbols;
	int32_t    *offsets;		/* nsteps + 1: the last is the trap */
	int32_t		entry;
	int32_t		end;			/* end of the entry stencil: the trap */
	int32_t		trampolines;
	int32_t		max_trampolines;
	int32_t		ntrampolines;
	uintptr_t	trampoline_target[CP_PG_MAX_TRAMPOLINES];
	uint8_t    *rw;
	uintptr_t	rx;
} PgBuild;

static inline bool
is_far_candidate(const CpJitHole *hole)
{
	return hole->value >= CP_PG_HOLE_SYMBOLS && reloc_is_branch(hole->kind);
}

static inline bool
falls_through(const CpJitStencil *st, const CpPgStep *step, int32_t i)
{
	uint16_t	value;

	if (st->trim == 0)
		return false;
	value = st->holes[st->nholes - 1].value;
	return value == CP_PG_HOLE_CONTINUE || (value == CP_PG_HOLE_JUMP_TARGET && step->jump == i + 1);
}

static int
layout(PgBuild *b, size_t *reserve)
{
	int32_t		off = 0;
	int32_t		branches = 0;

	for (int32_t i = 0; i < b->nsteps; i++)
	{
		const CpPgStep *step = &b->steps[i];
		const CpJitStencil *st = &cp_pg_stencils[step->stencil];

		b->offsets[i] = off;
		off += (int32_t) st->size;
		if (i + 1 < b->nsteps && falls_through(st, step, i))
			off -= (int32_t) st->trim;
		for (uint32_t h = 0; h < st->nholes; h++)
		{
			if (st->holes[h].value == CP_PG_HOLE_JUMP_TARGET &&
				(step->jump < 0 || step->jump >= b->nsteps))
				return CP_PG_ERR_JUMP;
			if (is_far_candidate(&st->holes[h]))
				branches++;
		}
	}
	b->entry = off;
	b->end = off + (int32_t) cp_pg_stencils[CP_PG_ENTRY].size;
	b->offsets[b->nsteps] = b->end;	/* past the last step: the trap */
	b->trampolines = (b->end + CP_TRAP_SIZE + CP_TRAMPOLINE_ALIGN - 1) /
		CP_TRAMPOLINE_ALIGN * CP_TRAMPOLINE_ALIGN;
	b->max_trampolines = branches < CP_PG_MAX_TRAMPOLINES ? branches : CP_PG_MAX_TRAMPOLINES;
	*reserve = (size_t) b->trampolines + (size_t) b->max_trampolines * CP_TRAMPOLINE_SIZE;
	return CP_PG_OK;
}

static inline uintptr_t
hole_value(const PgBuild *b, const CpJitHole *hole, const CpPgStep *step, int32_t next,
		   uintptr_t here)
{
	switch (hole->value)
	{
		case CP_PG_HOLE_RESVALUE:
			return step->words[1];
		case CP_PG_HOLE_RESNULL:
			return step->words[2];
		case CP_PG_HOLE_D0:
		case CP_PG_HOLE_D1:
		case CP_PG_HOLE_D2:
		case CP_PG_HOLE_D3:
		case CP_PG_HOLE_D4:
			return step->words[3 + hole->value - CP_PG_HOLE_D0];
		case CP_PG_HOLE_STEP:
			return step->self;
		case CP_PG_HOLE_CONTINUE:
			return b->rx + (uintptr_t) b->offsets[next];
		case CP_PG_HOLE_JUMP_TARGET:
			return b->rx + (uintptr_t) b->offsets[step->jump];
		case CP_PG_HOLE_CODE:
			return here;
		default:
			return (uintptr_t) b->symbols[hole->value - CP_PG_HOLE_SYMBOLS];
	}
}

static int32_t
trampoline(PgBuild *b, uintptr_t target)
{
	int32_t		t;

	for (t = 0; t < b->ntrampolines && b->trampoline_target[t] != target; t++)
		;
	if (t == b->ntrampolines)
	{
		if (t == b->max_trampolines)
			return -1;
		b->trampoline_target[t] = target;
		emit_trampoline(b->rw + b->trampolines + t * CP_TRAMPOLINE_SIZE, target);
		b->ntrampolines++;
	}
	return b->trampolines + t * CP_TRAMPOLINE_SIZE;
}

static int
patch_hole(PgBuild *b, const CpJitHole *hole, int32_t start, uintptr_t value)
{
	uint8_t    *rw = b->rw + start + hole->offset;
	uintptr_t	rx = b->rx + (uintptr_t) start + hole->offset;
	int32_t		t;

	if (patch(hole->kind, rw, rx, value, hole->addend))
		return CP_PG_OK;
	if (!is_far_candidate(hole))
		return CP_PG_ERR_RANGE;
	t = trampoline(b, value);
	if (t < 0 || !patch(hole->kind, rw, rx, b->rx + (uintptr_t) t, hole->addend))
		return CP_PG_ERR_RANGE;
	return CP_PG_OK;
}

/* Step i's stencil; i == nsteps: the entry, whose continuation is step 0. */
static int
copy_stencil(PgBuild *b, int32_t i)
{
	const bool	is_entry = i == b->nsteps;
	const CpPgStep *step = &b->steps[is_entry ? 0 : i];
	const CpJitStencil *st = &cp_pg_stencils[is_entry ? CP_PG_ENTRY : step->stencil];
	int32_t		start = is_entry ? b->entry : b->offsets[i];
	uint32_t	size = is_entry ? st->size : (uint32_t) ((i + 1 < b->nsteps ? b->offsets[i + 1] : b->entry) - start);

	memcpy(b->rw + start, st->body, size);
	for (uint32_t h = 0; h < st->nholes; h++)
	{
		const CpJitHole *hole = &st->holes[h];
		int			err;

		if (hole->offset >= size)
			continue;			/* the trailing jump, dropped */
		err = patch_hole(b, hole, start,
						 hole_value(b, hole, step, is_entry ? 0 : i + 1, b->rx + (uintptr_t) start));
		if (err != CP_PG_OK)
			return err;
	}
	return CP_PG_OK;
}

int
cp_pg_emit(const CpPgStep *steps, int32_t n, bool alone, void *const *symbols, CpPgCode **out)
{
	PgBuild		b;
	CpPgCode   *code;
	size_t		reserve;
	int			err;

	*out = NULL;
	if (n <= 0)
		return CP_PG_ERR_EMPTY;
	memset(&b, 0, sizeof(b));
	b.steps = steps;
	b.nsteps = n;
	b.symbols = symbols;
	b.offsets = malloc(((size_t) n + 1) * sizeof(int32_t));
	code = malloc(sizeof(CpPgCode));
	if (b.offsets == NULL || code == NULL)
	{
		err = CP_PG_ERR_NOMEM;
		goto fail;
	}
	err = layout(&b, &reserve);
	if (err != CP_PG_OK)
		goto fail;
	if (!cp_jit_arena_alloc(reserve, &code->region))
	{
		err = CP_PG_ERR_NOMEM;
		goto fail;
	}
	b.rw = code->region.rw;
	b.rx = (uintptr_t) code->region.rx;
	for (int32_t i = 0; i <= n; i++)
	{
		err = copy_stencil(&b, i);
		if (err != CP_PG_OK)
		{
			cp_jit_arena_free(&code->region);
			goto fail;
		}
	}
	for (int32_t t = b.end; t < b.trampolines || t == b.end; t += CP_TRAP_SIZE)
		emit_trap(b.rw + t);
	code->size = b.trampolines + b.ntrampolines * CP_TRAMPOLINE_SIZE;
	if (code->size < b.end + CP_TRAP_SIZE)
		code->size = b.end + CP_TRAP_SIZE;
	cp_jit_arena_shrink(&code->region, (size_t) code->size);
	/* a CP_ALONE_* stencil is the whole expression, a C-ABI function itself */
	code->entry = alone && n == 1 ? b.offsets[0] : b.entry;

	/* publish: the instruction cache, then nothing writes this program again */
	cp_jit_code_written(code->region.rx, (size_t) code->size);
	code->region.rw = NULL;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	free(b.offsets);
	*out = code;
	return CP_PG_OK;

fail:
	free(b.offsets);
	free(code);
	return err;
}

void *
cp_pg_code_entry(const CpPgCode *code)
{
	return code->region.rx + code->entry;
}

int64_t
cp_pg_code_size(const CpPgCode *code)
{
	return code->size;
}

void
cp_pg_code_free(CpPgCode *code)
{
	if (code == NULL)
		return;
	cp_jit_arena_free(&code->region);
	free(code);
}
