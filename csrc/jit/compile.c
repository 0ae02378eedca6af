/*
 * compile.c: the copy-and-patch compiler: a program's steps in, machine code in the arena out.
 *
 * cp_jit_compile is five phases, each a function below:
 *
 *   layout        Which stencil each step runs (the variant with short immediates, state-
 *                 relative operands or no result that fits it: choose_variant; the row exits
 *                 of a filter's end: find_row_exits) and where it goes: in order, its trailing
 *                 jump dropped when the jump's target is the next step (fall through); then
 *                 the row exits that are not a step's own code, the C-ABI entry stencil
 *                 (state->evalfunc, which calls step 0), a trap where the entry would continue,
 *                 and room for trampolines, one per helper a branch hole may call. Everything
 *                 that can make a program uncompilable (an opcode without a stencil, a jump
 *                 outside the program) is found here, before any memory is taken.
 *   allocate      the room, from the arena (arena.c): no system call in the steady state.
 *   write_code    each stencil copied through the read-write view and its holes patched with
 *                 what hole_value() says (the step's operands, other steps' code, helpers). A
 *                 call out of direct-branch range (x86-64 rel32, AArch64 bl +-128 MiB) goes
 *                 through a trampoline at the end of the program (trampoline()); then the trap.
 *   give back     the trampoline room that was not needed (a program that calls nothing far,
 *                 the common case, keeps none).
 *   publish       the instruction cache flushed for what was written (it was written through
 *                 the other view of the same pages), a release fence, state->evalfunc.
 *
 * Nothing here knows an instruction encoding: the patcher of the architecture (jit.h) sizes
 * the trap and trampolines and writes every hole. Nothing patches code after it is published.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit.h"

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

_Static_assert(sizeof(cp_jit_errors) / sizeof(cp_jit_errors[0]) == CP_JIT_ERR_LAST,
			   "a JIT error has no message");

const char *
cp_jit_strerror(int err)
{
	return err >= 0 && err < CP_JIT_ERR_LAST ? cp_jit_errors[err] : "unknown JIT error";
}

struct CpJitCode
{
	CpJitRegion region;			/* where the code is (rw is NULL once published) */
	int64_t		size;
	int64_t		compile_ns;
	int32_t		nsteps;
	int32_t		entry;			/* offset of the C-ABI entry stencil, after the steps and the
								 * row exits */
	int32_t		exits[2];		/* the row exits FALSE and TRUE (-1: none) */
	int32_t		exit_stencils[2];	/* their stencils (CP_JIT_ROW_*) */
	uint8_t    *variant;		/* per step: the variant of its stencil (after offsets) */
	int32_t		offsets[];		/* nsteps + 1 */
};

/* For tests: send every call to a helper through a trampoline, as if it were out of range. */
static int	cp_jit_far_calls;

void
cp_jit_set_far_calls(int on)
{
	__atomic_store_n(&cp_jit_far_calls, on, __ATOMIC_RELAXED);
}

/* For tests and measurements: 0 keeps every value in its slot (choose_locations not run). */
static int	cp_jit_value_registers = 1;

void
cp_jit_set_value_registers(int on)
{
	__atomic_store_n(&cp_jit_value_registers, on, __ATOMIC_RELAXED);
}

#if CP_JIT_HAVE_STENCILS

/* Trampolines per program at most, one per distinct far target: more than any program calls. */
#define CP_JIT_MAX_TRAMPOLINES 64

/*
 * The steps that decide a filter's row (template.c's row exits): they continue only when the
 * result is TRUE and jump only after writing FALSE to it. EEOP_QUAL, when its destination is the
 * result (decides_row), and every fused EEOP_QUAL_* (the destination is the result, verified).
 */
static const bool cp_jit_decides_row[EEOP_LAST] = {
#define OP(name, kind, flags, effects) \
	[name] = CP_OPERANDS_##kind == CP_OPERANDS_colcmp || name == EEOP_QUAL,
#include "opcodes.def"
#undef OP
};

/* The fused EEOP_QUAL_*: they write the result unconditionally, and cannot fail. */
static const bool cp_jit_fused_qual[EEOP_LAST] = {
#define OP(name, kind, flags, effects) [name] = CP_OPERANDS_##kind == CP_OPERANDS_colcmp,
#include "opcodes.def"
#undef OP
};

/* Where a row exit goes in JitBuild.exit_at (a step's destination is >= 0: a step index). */
enum
{
	CP_DEST_ROW_TRUE = -1,
	CP_DEST_ROW_FALSE = -2
};

/* One compilation in progress. */
typedef struct JitBuild
{
	const ExprState *state;
	const ExprEvalStep *steps;
	int32_t		nsteps;
	/*
	 * Row exits: `done` is the program's one EEOP_DONE_NEXTROW_FILTER (-1: none, no exits). A
	 * step that decides the row goes to ROW_FALSE instead of jumping to it and to ROW_TRUE
	 * instead of continuing into it. done_free: nothing else reaches it, so its own code can
	 * be an exit's: done_code, 1 ROW_TRUE, 0 ROW_FALSE (the one the step before falls into),
	 * -1 its own stencil. exit_true/exit_false: where the exits are (-1: not needed).
	 */
	int32_t		done;
	bool		done_free;
	int8_t		done_code;
	bool		lean;			/* the lean row exits: only fused steps read econtext */
	int32_t		exit_true;
	int32_t		exit_false;
	CpJitCode  *code;			/* step offsets and the entry's, filled by layout() */
	uint8_t    *loc;			/* per step: where its operands are (CP_LOC_*), or NULL */
	int32_t		end;			/* end of the entry stencil: the trap starts here */
	int32_t		trampolines;	/* the first trampoline, aligned after the trap */
	int32_t		max_trampolines;	/* room reserved: branch holes to helpers, at most the table */
	int32_t		ntrampolines;	/* emitted so far, one per target */
	uintptr_t	trampoline_target[CP_JIT_MAX_TRAMPOLINES];
	bool		far_calls;		/* cp_jit_set_far_calls */
	uint8_t    *rw;				/* the program's room, read-write view */
	uintptr_t	rx;				/* the same, where it will run */
} JitBuild;

static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Every jumping opcode keeps its target there (template.c asserts it). */
static inline int32_t
jump_target(const ExprEvalStep *step)
{
	return (int32_t) step->d.words[0];
}

/* Does step i decide the row, so that its ways to `done` can be row exits? */
static inline bool
decides_row(const JitBuild *b, int32_t i)
{
	const ExprEvalStep *step = &b->steps[i];

	if (!cp_jit_decides_row[step->opcode])
		return false;
	return step->opcode != EEOP_QUAL ||
		(step->resvalue == &b->state->resvalue && step->resnull == &b->state->resnull);
}

/*
 * Where step i's CONTINUE (jump = false) or JUMP_TARGET hole goes: a step index, or a row exit
 * (CP_DEST_ROW_*) instead of `done`.
 */
static inline int32_t
destination(const JitBuild *b, int32_t i, bool jump)
{
	int32_t		t = jump ? jump_target(&b->steps[i]) : i + 1;

	if (b->done < 0 || t != b->done || !decides_row(b, i))
		return t;
	return jump ? CP_DEST_ROW_FALSE : CP_DEST_ROW_TRUE;
}

/* The step whose place a destination's code has (a row exit: `done`'s, if it is its code). */
static inline int32_t
place_of(const JitBuild *b, int32_t dest)
{
	if (dest >= 0)
		return dest;
	if (b->done_code >= 0 && (dest == CP_DEST_ROW_TRUE) == (b->done_code == 1))
		return b->done;
	return -1;
}

/*
 * The row exits of a filter program: find its EEOP_DONE_NEXTROW_FILTER (if it has exactly one)
 * and whether anything but a step deciding the row reaches it (else its code becomes ROW_TRUE).
 */
static void
find_row_exits(JitBuild *b)
{
	int32_t		n = b->nsteps;
	bool		reached = false;

	b->done = -1;
	b->done_free = false;
	b->done_code = -1;
	b->lean = false;
	for (int32_t i = 0; i < n; i++)
		if (b->steps[i].opcode == EEOP_DONE_NEXTROW_FILTER)
		{
			if (b->done >= 0)
				return;			/* two ends: no exits (passes never make one) */
			b->done = i;
		}
	if (b->done < 0)
		return;
	for (int32_t i = 0; i < n && !reached; i++)
	{
		const CpJitStencil *st = &cp_jit_stencils[b->steps[i].opcode];

		if (st->body == NULL)
			return;				/* layout reports it */
		for (uint32_t h = 0; h < st->nholes; h++)
		{
			uint16_t	v = st->holes[h].value;

			if ((v == CP_HOLE_JUMP_TARGET && jump_target(&b->steps[i]) == b->done &&
				 !decides_row(b, i)) ||
				(v == CP_HOLE_CONTINUE && i + 1 == b->done && !decides_row(b, i)))
				reached = true;
		}
	}
	b->done_free = !reached && b->done > 0;
	b->lean = b->done_free;
	for (int32_t i = 0; i < n; i++)
		if (i != b->done && !cp_jit_fused_qual[b->steps[i].opcode])
			b->lean = false;
}

/* An operand hole's value (the step's operand, or its offset from state); false if another. */
static inline bool
operand_value(const JitBuild *b, const CpJitHole *hole, const ExprEvalStep *step,
			  uintptr_t *value)
{
	uintptr_t	state = (uintptr_t) b->state;

	switch (hole->value)
	{
		case CP_HOLE_D0:
		case CP_HOLE_D1:
		case CP_HOLE_D2:
		case CP_HOLE_D3:
			*value = step->d.words[hole->value - CP_HOLE_D0];
			return true;
		case CP_HOLE_SD0:
		case CP_HOLE_SD1:
		case CP_HOLE_SD2:
		case CP_HOLE_SD3:
			*value = step->d.words[hole->value - CP_HOLE_SD0] - state;
			return true;
		case CP_HOLE_SRESVALUE:
			*value = (uintptr_t) step->resvalue - state;
			return true;
		case CP_HOLE_SRESNULL:
			*value = (uintptr_t) step->resnull - state;
			return true;
		default:
			return false;
	}
}

/*
 * Does every operand hole of step i's stencil in variant v take the step's value? (The
 * patcher's own check, on a scratch copy of the instruction.)
 */
static bool
variant_fits(const JitBuild *b, int32_t i, uint8_t v)
{
	const ExprEvalStep *step = &b->steps[i];
	const CpJitStencil *st = &cp_jit_variants[v][step->opcode];

	if (st->body == NULL)
		return false;
	for (uint32_t h = 0; h < st->nholes; h++)
	{
		const CpJitHole *hole = &st->holes[h];
		uint8_t		scratch[8] = {0};
		uintptr_t	value;

		if (!operand_value(b, hole, step, &value))
			continue;
		memcpy(scratch, st->body + hole->offset, 4);
		if (!patch(hole->kind, scratch, 0, value, hole->addend))
			return false;
	}
	return true;
}

/*
 * Is step i a fused QUAL whose result nobody reads? It jumps to the row exit FALSE and
 * continues into the row exit TRUE, or into another fused QUAL (which writes its own first).
 */
static bool
result_unread(const JitBuild *b, int32_t i)
{
	int32_t		next;

	if (!cp_jit_fused_qual[b->steps[i].opcode] || destination(b, i, true) != CP_DEST_ROW_FALSE)
		return false;
	next = destination(b, i, false);
	if (next == CP_DEST_ROW_TRUE)
		return true;
	return next == i + 1 && next < b->nsteps && cp_jit_fused_qual[b->steps[next].opcode];
}

/*
 * The variant of step i's stencil: the first of these that exists and is valid (its operands
 * fit; no result only where nobody reads it), else the 64-bit stencil.
 */
static uint8_t
choose_variant(const JitBuild *b, int32_t i)
{
	static const uint8_t preference[] = {
		CP_JIT_VARIANT_NORESULT | CP_JIT_VARIANT_SHORT,
		CP_JIT_VARIANT_NORESULT,
		CP_JIT_VARIANT_RELATIVE,
		CP_JIT_VARIANT_SHORT,
	};
	bool		unread = result_unread(b, i);

	for (size_t k = 0; k < sizeof(preference); k++)
	{
		uint8_t		v = preference[k];

		if ((v & CP_JIT_VARIANT_NORESULT) && !unread)
			continue;
		if (variant_fits(b, i, v))
			return v;
	}
	return 0;
}

/*
 * Values in registers (docs/jit.md): where each step's operands are, decided once per program.
 *
 * A step that writes a destination (a column read, a constant, a call, an inlined built-in) may
 * leave the value and its NULL flag in the value registers instead of the slot (out), and the
 * step after it read them there (in): a boolean step or a jump its destination (which it then
 * updates there and passes on), an inlined built-in argument 0 or 1. The stencil of each
 * combination is a variant (template.c's __V*); what an opcode can do is read off the tables
 * themselves: a __VR stencil whose code differs from the state-relative one reads or writes its
 * destination in the register (a producer if it reads no destination, a consumer if it does), one
 * with the same code is a jump that passes the registers on untouched, and an inlined built-in
 * with a __VA0/__VA1 stencil reads that argument there.
 *
 * A producer's value goes in the register only if every step that could read its slot before the
 * slot is written again reads it from the register: every path from the producer is followed
 * (the opcode effects of opcodes.def say which slots a step reads, conservatively: a temporary
 * whose slots are not resolved here counts as read), and a step reads from the register only if
 * every way into it (falling through, each jump) carries that slot's value there. The row exits
 * read no slot; EEOP_DONE and the other row ends read the result, so a result that reaches one
 * stays in its slot. Each producer that breaks a rule, or whose variant's operands do not fit,
 * goes back to its slot, and the rest is checked again. Only forward jumps (and a row end's
 * jump back to step 0, a new row) are followed: a program with another backward jump keeps
 * every value in its slot.
 */
enum
{
	CP_LOC_IN_NONE = 0,			/* reads nothing from the registers */
	CP_LOC_IN_DEST = 1,			/* its destination (and leaves it there) */
	CP_LOC_IN_ARG0 = 2,			/* argument 0 of its call info */
	CP_LOC_IN_ARG1 = 3,			/* argument 1 */
	CP_LOC_IN_MASK = 3,
	CP_LOC_OUT = 4				/* its destination is the register */
};

/* What a register-carried value is known as: the address of its slot's value (or these). */
#define CP_REG_UNSET ((uintptr_t) 0)	/* no way in seen yet */
#define CP_REG_NONE ((uintptr_t) 1)		/* nothing, or different values on different ways in */

static const uint8_t cp_jit_kind[EEOP_LAST] = {
#define OP(name, kind, flags, effects) [name] = CP_OPERANDS_##kind,
#include "opcodes.def"
#undef OP
};

static const uint32_t cp_jit_flags[EEOP_LAST] = {
#define OP(name, kind, flags, effects) [name] = (flags),
#include "opcodes.def"
#undef OP
};

static const uint64_t cp_jit_effects[EEOP_LAST] = {
#define OP(name, kind, flags, effects) [name] = (effects),
#include "opcodes.def"
#undef OP
};

/* The __VR stencil of an opcode, and whether its code is the one it refines (no register use). */
static inline const CpJitStencil *
vreg_stencil(intptr_t opcode, bool *same)
{
	const CpJitStencil *v = &cp_jit_variants[CP_JIT_VARIANT_VREG][opcode];
	const CpJitStencil *r = &cp_jit_variants[CP_JIT_VARIANT_RELATIVE][opcode];

	if (r->body == NULL)
		r = &cp_jit_stencils[opcode];
	*same = v->body == r->body;
	return v->body != NULL ? v : NULL;
}

static inline uint8_t
dest_read(intptr_t opcode)
{
	return CP_EFF_READ(CP_EFF_ROLE(cp_jit_effects[opcode], CP_ROLE_DEST));
}

/* Leaves its destination in the register (when told to). */
static inline bool
vreg_producer(intptr_t opcode)
{
	bool		same;

	return vreg_stencil(opcode, &same) != NULL && !same &&
		!(cp_jit_flags[opcode] & CP_OPF_NO_DEST) && dest_read(opcode) == CP_READ_NONE;
}

/* Reads (and updates) its destination in the register, and passes it on. */
static inline bool
vreg_dest_consumer(intptr_t opcode)
{
	bool		same;

	return vreg_stencil(opcode, &same) != NULL && !same && dest_read(opcode) != CP_READ_NONE;
}

/* Touches no slot and no register: passes the registers on (EEOP_JUMP). */
static inline bool
vreg_passes(intptr_t opcode)
{
	bool		same;

	return vreg_stencil(opcode, &same) != NULL && same && cp_jit_effects[opcode] == 0 &&
		!(cp_jit_flags[opcode] & (CP_OPF_CALLS | CP_OPF_ENDS));
}

static inline bool
vreg_arg_consumer(intptr_t opcode, int arg)
{
	return cp_jit_variants[CP_JIT_VARIANT_VREG_ARG0 + arg][opcode].body != NULL;
}

/* The variant of a step with these locations (0: none of the value-register ones). */
static uint8_t
vreg_variant(uint8_t loc)
{
	switch (loc & CP_LOC_IN_MASK)
	{
		case CP_LOC_IN_ARG0:
			return loc & CP_LOC_OUT ? CP_JIT_VARIANT_VREG_ARG0_DEST : CP_JIT_VARIANT_VREG_ARG0;
		case CP_LOC_IN_ARG1:
			return loc & CP_LOC_OUT ? CP_JIT_VARIANT_VREG_ARG1_DEST : CP_JIT_VARIANT_VREG_ARG1;
		case CP_LOC_IN_DEST:
			return CP_JIT_VARIANT_VREG;
		default:
			return loc & CP_LOC_OUT ? CP_JIT_VARIANT_VREG : 0;
	}
}

/* The argument slots of a step's call info (NULL if it has none). */
static inline NullableDatum *
call_args(const ExprEvalStep *step, int32_t *nargs)
{
	FunctionCallInfo fcinfo;

	if (cp_jit_kind[step->opcode] == CP_OPERANDS_func)
		fcinfo = step->d.func.fcinfo;
	else if (cp_jit_kind[step->opcode] == CP_OPERANDS_scalararrayop)
		fcinfo = step->d.scalararrayop.fcinfo;
	else
		return NULL;
	*nargs = fcinfo->nargs;
	return fcinfo->args;
}

/*
 * May step j read the slot whose value is at dv (NULL flag dn)? By its effects; a role this does
 * not resolve counts as a read.
 */
static bool
reads_slot(const JitBuild *b, const ExprEvalStep *step, const Datum *dv, const bool *dn)
{
	uint64_t	effects = cp_jit_effects[step->opcode];

	for (int role = 0; role < CP_NUM_ROLES; role++)
	{
		uint8_t		eff = CP_EFF_ROLE(effects, role);
		NullableDatum *args;
		int32_t		nargs = 0;

		if (CP_EFF_READ(eff) == CP_READ_NONE)
			continue;
		switch (role)
		{
			case CP_ROLE_DEST:
				if (step->resvalue == dv || step->resnull == dn)
					return true;
				break;
			case CP_ROLE_RESULT:
				if (&b->state->resvalue == dv || &b->state->resnull == dn)
					return true;
				break;
			case CP_ROLE_ARGS:
			case CP_ROLE_ARG0:
			case CP_ROLE_ARG1:
				args = call_args(step, &nargs);
				if (args == NULL)
					return true;
				for (int32_t a = 0; a < nargs; a++)
					if ((role == CP_ROLE_ARGS || a == role - CP_ROLE_ARG0) &&
						(&args[a].value == dv || &args[a].isnull == dn))
						return true;
				break;
			case CP_ROLE_TMP:
				if (cp_jit_kind[step->opcode] != CP_OPERANDS_boolexpr ||
					step->d.boolexpr.anynull == dn || (const void *) step->d.boolexpr.anynull ==
					(const void *) dv)
					return true;
				break;
			default:
				return true;
		}
	}
	return false;
}

/* Where step i may continue: its destinations (a step, a row exit < 0), -3 for none. */
static inline void
successors(const JitBuild *b, int32_t i, int32_t succ[2])
{
	uint32_t	flags = cp_jit_flags[b->steps[i].opcode];

	succ[0] = flags & CP_OPF_NO_FALLTHROUGH || i + 1 >= b->nsteps ? -3 : destination(b, i, false);
	succ[1] = flags & CP_OPF_JUMPS ? destination(b, i, true) : -3;
}

/* The slot step i reads from the register, by b->loc (NULL: none). */
static inline const Datum *
reg_slot_read(const JitBuild *b, int32_t i)
{
	const ExprEvalStep *step = &b->steps[i];
	int32_t		nargs;

	switch (b->loc[i] & CP_LOC_IN_MASK)
	{
		case CP_LOC_IN_DEST:
			return step->resvalue;
		case CP_LOC_IN_ARG0:
			return &call_args(step, &nargs)[0].value;
		case CP_LOC_IN_ARG1:
			return &call_args(step, &nargs)[1].value;
		default:
			return NULL;
	}
}

/*
 * One pass: from which steps leave their value in the register (CP_LOC_OUT in b->loc), which
 * read it there. False if the program has a backward jump other than a new row's.
 */
static bool
vreg_flow(JitBuild *b, uintptr_t *reg)
{
	int32_t		n = b->nsteps;

	for (int32_t i = 0; i < n; i++)
		reg[i] = CP_REG_UNSET;
	reg[0] = CP_REG_NONE;
	for (int32_t i = 0; i < n; i++)
	{
		const ExprEvalStep *step = &b->steps[i];
		intptr_t	op = step->opcode;
		uintptr_t	in = reg[i] == CP_REG_UNSET ? CP_REG_NONE : reg[i];
		uintptr_t	out = CP_REG_NONE;
		int32_t		succ[2];
		int32_t		nargs;
		NullableDatum *args;

		b->loc[i] &= CP_LOC_OUT;
		if (in != CP_REG_NONE)
		{
			args = cp_jit_flags[op] & CP_OPF_INLINE ? call_args(step, &nargs) : NULL;
			if (vreg_dest_consumer(op) && (uintptr_t) step->resvalue == in)
				b->loc[i] |= CP_LOC_IN_DEST;
			else if (args != NULL && (uintptr_t) &args[0].value == in && vreg_arg_consumer(op, 0))
				b->loc[i] |= CP_LOC_IN_ARG0;
			else if (args != NULL && (uintptr_t) &args[1].value == in && vreg_arg_consumer(op, 1))
				b->loc[i] |= CP_LOC_IN_ARG1;
		}
		if ((b->loc[i] & CP_LOC_IN_MASK) == CP_LOC_IN_DEST || vreg_passes(op))
			out = in;
		else if (b->loc[i] & CP_LOC_OUT)
			out = (uintptr_t) step->resvalue;
		successors(b, i, succ);
		for (int k = 0; k < 2; k++)
		{
			int32_t		s = succ[k];

			if (s < 0)
				continue;		/* none, or a row exit: reads no slot */
			if (s <= i)
			{
				if (s != 0 || !(cp_jit_flags[op] & CP_OPF_ENDS))
					return false;
				continue;		/* a new row: nothing in the register */
			}
			reg[s] = reg[s] == CP_REG_UNSET || reg[s] == out ? out : CP_REG_NONE;
		}
	}
	return true;
}

/*
 * Does every step that can read producer p's slot, before it is written again, read it from the
 * register? (A depth-first walk of the ways on from p; seen has room for nsteps, stack for
 * twice that.)
 */
static bool
vreg_slot_covered(const JitBuild *b, int32_t p, uint8_t *seen, int32_t *stack)
{
	const Datum *dv = b->steps[p].resvalue;
	const bool *dn = b->steps[p].resnull;
	int32_t		top = 0;
	int32_t		succ[2];

	memset(seen, 0, (size_t) b->nsteps);
	successors(b, p, succ);
	for (int k = 0; k < 2; k++)
		if (succ[k] > p)
			stack[top++] = succ[k];
	while (top > 0)
	{
		int32_t		j = stack[--top];
		const ExprEvalStep *step = &b->steps[j];
		bool		in_reg = reg_slot_read(b, j) == dv;

		if (seen[j])
			continue;
		seen[j] = 1;
		if (!in_reg && reads_slot(b, step, dv, dn))
			return false;
		if (in_reg && (b->loc[j] & CP_LOC_IN_MASK) != CP_LOC_IN_DEST)
			continue;			/* an argument's last reader (LAST_USE): the slot is dead */
		if (!in_reg && step->resnull == dn &&
			CP_EFF_NULL(CP_EFF_ROLE(cp_jit_effects[step->opcode], CP_ROLE_DEST)) == CP_WRITE_MUST)
			continue;			/* written again, in the slot or (a producer whose own walk
								 * checks the rest) the registers; no value is read under a
								 * NULL flag */
		successors(b, j, succ);
		for (int k = 0; k < 2; k++)
			if (succ[k] > j && !seen[succ[k]])
			{
				if (top == 2 * b->nsteps)
					return false;	/* cannot happen (each step pushes at most two); be safe */
				stack[top++] = succ[k];
			}
	}
	return true;
}

/*
 * Decide b->loc for every step (docs above); false if no step uses the registers. scratch has
 * room for nsteps uintptr_t, 2 * nsteps int32_t and 2 * nsteps bytes. Each pass sends every producer that breaks
 * a rule back to its slot (which can only break the rules for another producer of the same
 * slot), so the passes are few.
 */
static bool
choose_locations(JitBuild *b, void *scratch)
{
	int32_t		n = b->nsteps;
	uintptr_t  *reg = scratch;
	int32_t    *stack = (int32_t *) (reg + n);
	uint8_t    *seen = (uint8_t *) (stack + 2 * n);
	uint8_t    *revert = seen + n;
	bool		any = false;

	for (int32_t i = 0; i < n; i++)
	{
		b->loc[i] = vreg_producer(b->steps[i].opcode) ? CP_LOC_OUT : 0;
		any |= b->loc[i] != 0;
	}
	while (any)
	{
		bool		reverted = false;

		if (!vreg_flow(b, reg))
		{
			memset(b->loc, 0, (size_t) n);
			return false;
		}
		memset(revert, 0, (size_t) n);
		for (int32_t i = 0; i < n; i++)
		{
			uint8_t		v = vreg_variant(b->loc[i]);

			if ((b->loc[i] & CP_LOC_OUT) && !vreg_slot_covered(b, i, seen, stack))
				revert[i] = 1;
			else if (v != 0 && !variant_fits(b, i, v))
			{
				/* this step's producer role, and the producers of the slot it reads */
				const Datum *slot = reg_slot_read(b, i);

				revert[i] = 1;
				for (int32_t p = 0; p < n && slot != NULL; p++)
					if ((b->loc[p] & CP_LOC_OUT) && b->steps[p].resvalue == slot)
						revert[p] = 1;
			}
		}
		any = false;
		for (int32_t i = 0; i < n; i++)
		{
			if (revert[i] && (b->loc[i] & CP_LOC_OUT))
			{
				b->loc[i] &= (uint8_t) ~CP_LOC_OUT;
				reverted = true;
			}
			any |= (b->loc[i] & CP_LOC_OUT) != 0;
		}
		if (!reverted)
			break;
	}
	if (!any)
		memset(b->loc, 0, (size_t) n);
	else if (!vreg_flow(b, reg))
		return false;
	return any;
}

/* The row exit stencils (CP_JIT_ROW_TRUE/FALSE, or their lean forms). */
static inline const CpJitStencil *
exit_stencil(const JitBuild *b, bool result)
{
	if (b->lean)
		return &cp_jit_stencils[result ? CP_JIT_ROW_TRUE_LEAN : CP_JIT_ROW_FALSE_LEAN];
	return &cp_jit_stencils[result ? CP_JIT_ROW_TRUE : CP_JIT_ROW_FALSE];
}

/*
 * The stencil of step i: the row exit TRUE for `done` when nothing else reaches it, else the
 * opcode's, in the variant layout() chose.
 */
static inline const CpJitStencil *
step_stencil(const JitBuild *b, int32_t i)
{
	if (i == b->done && b->done_code >= 0)
		return exit_stencil(b, b->done_code == 1);
	return &cp_jit_variants[b->code->variant[i]][b->steps[i].opcode];
}

/* Does step i's stencil end in a jump to step i + 1? Then it can fall through. */
static inline bool
falls_through(const JitBuild *b, const CpJitStencil *st, int32_t i)
{
	uint16_t	value;

	if (st->trim == 0)
		return false;
	value = st->holes[st->nholes - 1].value;
	if (value == CP_HOLE_CONTINUE)
		return place_of(b, destination(b, i, false)) == i + 1;
	return value == CP_HOLE_JUMP_TARGET && place_of(b, destination(b, i, true)) == i + 1;
}

/*
 * Which exit `done`'s own code is, when nothing else reaches it: the one the step before it
 * ends in a jump to (then it falls through), else TRUE.
 */
static int8_t
choose_done_code(const JitBuild *b)
{
	const CpJitStencil *st;
	int32_t		prev = b->done - 1;

	if (!b->done_free)
		return -1;
	st = step_stencil(b, prev);
	if (st->trim != 0 && st->holes[st->nholes - 1].value == CP_HOLE_JUMP_TARGET &&
		destination(b, prev, true) == CP_DEST_ROW_FALSE)
		return 0;
	return 1;
}

/* A hole whose value is outside the program: a call to a function or helper. */
static inline bool
is_external(uint16_t value)
{
	return value == CP_HOLE_FN || value >= CP_HOLE_SYMBOLS;
}

/* A hole that may go through a trampoline: a call or jump to something outside the program. */
static inline bool
is_far_candidate(const CpJitHole *hole)
{
	return is_external(hole->value) && reloc_is_branch(hole->kind);
}

/*
 * Where every step's code goes, and the entry, the trap and the trampolines (into b and
 * b->code); *reserve: the bytes the program needs at most.
 */
static int
layout(JitBuild *b, size_t *reserve)
{
	CpJitCode  *code = b->code;
	int32_t		n = b->nsteps;
	int32_t		off = 0;
	int32_t		branches = 0;
	bool		need_true = false;
	bool		need_false = false;

	for (int32_t i = 0; i < n; i++)
	{
		intptr_t	opcode = b->steps[i].opcode;

		if (opcode < 0 || opcode >= EEOP_LAST || cp_jit_stencils[opcode].body == NULL)
			return CP_JIT_ERR_OPCODE;
		code->variant[i] = 0;
		for (uint32_t h = 0; h < cp_jit_stencils[opcode].nholes; h++)
			if (cp_jit_stencils[opcode].holes[h].value == CP_HOLE_JUMP_TARGET &&
				(jump_target(&b->steps[i]) < 0 || jump_target(&b->steps[i]) >= n))
				return CP_JIT_ERR_JUMP;
	}
	find_row_exits(b);
	for (int32_t i = 0; i < n && __atomic_load_n(&cp_jit_value_registers, __ATOMIC_RELAXED); i++)
		if (vreg_producer(b->steps[i].opcode))
		{
			/* room for choose_locations: its scratch, then the locations */
			size_t		room = (size_t) n * (sizeof(uintptr_t) + 2 * sizeof(int32_t) + 2);
			void	   *scratch = malloc(room + (size_t) n);

			if (scratch == NULL)
				return CP_JIT_ERR_NOMEM;
			b->loc = (uint8_t *) scratch + room;
			if (choose_locations(b, scratch))
				for (int32_t j = 0; j < n; j++)
					code->variant[j] = vreg_variant(b->loc[j]);
			free(scratch);
			b->loc = NULL;
			break;
		}
	for (int32_t i = 0; i < n; i++)
		if (code->variant[i] == 0)
			code->variant[i] = choose_variant(b, i);
	b->done_code = choose_done_code(b);
	for (int32_t i = 0; i < n; i++)
	{
		const CpJitStencil *st = step_stencil(b, i);

		code->offsets[i] = off;
		off += (int32_t) st->size;
		if (i + 1 < n && falls_through(b, st, i))
			off -= (int32_t) st->trim;
		for (uint32_t h = 0; h < st->nholes; h++)
		{
			if (st->holes[h].value == CP_HOLE_JUMP_TARGET && i != b->done)
				need_false |= destination(b, i, true) == CP_DEST_ROW_FALSE;
			if (st->holes[h].value == CP_HOLE_CONTINUE)
				need_true |= destination(b, i, false) == CP_DEST_ROW_TRUE;
			if (is_far_candidate(&st->holes[h]))
				branches++;
		}
	}
	code->offsets[n] = off;
	b->exit_true = b->exit_false = -1;
	if ((need_true || need_false || b->done_code >= 0) &&
		(exit_stencil(b, true)->body == NULL || exit_stencil(b, false)->body == NULL))
		return CP_JIT_ERR_OPCODE;
	if (b->done_code == 1)
		b->exit_true = code->offsets[b->done];
	else if (need_true)
	{
		b->exit_true = off;
		off += (int32_t) exit_stencil(b, true)->size;
	}
	if (b->done_code == 0)
		b->exit_false = code->offsets[b->done];
	else if (need_false)
	{
		b->exit_false = off;
		off += (int32_t) exit_stencil(b, false)->size;
	}
	if (cp_jit_stencils[CP_JIT_ENTRY].body == NULL)
		return CP_JIT_ERR_OPCODE;
	code->entry = off;
	b->end = off + (int32_t) cp_jit_stencils[CP_JIT_ENTRY].size;
	b->trampolines = (b->end + CP_TRAP_SIZE + CP_TRAMPOLINE_ALIGN - 1) /
		CP_TRAMPOLINE_ALIGN * CP_TRAMPOLINE_ALIGN;
	/* more cannot be out of range here: the table's size */
	b->max_trampolines = branches < CP_JIT_MAX_TRAMPOLINES ? branches : CP_JIT_MAX_TRAMPOLINES;
	*reserve = (size_t) b->trampolines + (size_t) b->max_trampolines * CP_TRAMPOLINE_SIZE;
	return CP_JIT_OK;
}

/* The address of a destination (destination()). */
static inline uintptr_t
code_at(const JitBuild *b, int32_t dest)
{
	int32_t		off = dest == CP_DEST_ROW_TRUE ? b->exit_true :
		dest == CP_DEST_ROW_FALSE ? b->exit_false : b->code->offsets[dest];

	return b->rx + (uintptr_t) off;
}

/*
 * What a hole of stencil `i` (a step; nsteps: the entry, which continues with step 0;
 * CP_JIT_EXIT_TRUE/FALSE: a row exit after the steps), with the operands of `step`, whose code
 * starts at `here`, is patched with.
 */
#define CP_JIT_EXIT_TRUE(b) ((b)->nsteps + 1)
#define CP_JIT_EXIT_FALSE(b) ((b)->nsteps + 2)
static inline uintptr_t
hole_value(const JitBuild *b, const CpJitHole *hole, const ExprEvalStep *step, int32_t i,
		   uintptr_t here)
{
	switch (hole->value)
	{
		case CP_HOLE_CONTINUE:
			return i == b->nsteps ? code_at(b, 0) : code_at(b, destination(b, i, false));
		case CP_HOLE_JUMP_TARGET:
			return code_at(b, i < b->nsteps ? destination(b, i, true) : jump_target(step));
		case CP_HOLE_SD0:
		case CP_HOLE_SD1:
		case CP_HOLE_SD2:
		case CP_HOLE_SD3:
		case CP_HOLE_SRESVALUE:
		case CP_HOLE_SRESNULL:
			{
				uintptr_t	value = 0;

				(void) operand_value(b, hole, step, &value);
				return value;
			}
		case CP_HOLE_COL0:
		case CP_HOLE_COL1:
		case CP_HOLE_COL2:
		case CP_HOLE_COL3:
			return (uintptr_t) ((int64_t) (int32_t) step->d.words[hole->value - CP_HOLE_COL0] *
								(int64_t) sizeof(CpColumn));
		case CP_HOLE_RESVALUE:
			return (uintptr_t) step->resvalue;
		case CP_HOLE_RESNULL:
			return (uintptr_t) step->resnull;
		case CP_HOLE_D0:
		case CP_HOLE_D1:
		case CP_HOLE_D2:
		case CP_HOLE_D3:
			return step->d.words[hole->value - CP_HOLE_D0];
		case CP_HOLE_STEP:
			return (uintptr_t) step;
		case CP_HOLE_FN:
			return (uintptr_t) step->d.func.fn_addr;
		case CP_HOLE_CODE:
			return here;
		default:
			return (uintptr_t) cp_jit_helpers[hole->value - CP_HOLE_SYMBOLS];
	}
}

/* The offset of the trampoline to `target`, emitted on first use; -1 if the room is used up. */
static int32_t
trampoline(JitBuild *b, uintptr_t target)
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

/* Patch one hole of the code at `start` with `value`, through a trampoline if out of range. */
static inline int
patch_hole(JitBuild *b, const CpJitHole *hole, int32_t start, uintptr_t value)
{
	uint8_t    *rw = b->rw + start + hole->offset;
	uintptr_t	rx = b->rx + (uintptr_t) start + hole->offset;
	int32_t		t;

	if (!(b->far_calls && is_far_candidate(hole)) &&
		patch(hole->kind, rw, rx, value, hole->addend))
		return CP_JIT_OK;
	if (!is_far_candidate(hole))
		return CP_JIT_ERR_RANGE;
	t = trampoline(b, value);
	if (t < 0 || !patch(hole->kind, rw, rx, b->rx + (uintptr_t) t, hole->addend))
		return CP_JIT_ERR_RANGE;
	return CP_JIT_OK;
}

/*
 * Copy and patch the stencil of step i; i == nsteps: the entry, whose continuation is step 0;
 * CP_JIT_EXIT_TRUE/FALSE: a row exit, with the operands of the EEOP_DONE_NEXTROW_FILTER step.
 */
static int
copy_stencil(JitBuild *b, int32_t i)
{
	const ExprEvalStep *step = &b->steps[i < b->nsteps ? i : i == b->nsteps ? 0 : b->done];
	const CpJitStencil *st;
	int32_t		start;
	uint32_t	size;

	if (i < b->nsteps)
	{
		st = step_stencil(b, i);
		start = b->code->offsets[i];
		size = (uint32_t) (b->code->offsets[i + 1] - start);
	}
	else
	{
		st = i == b->nsteps ? &cp_jit_stencils[CP_JIT_ENTRY] :
			exit_stencil(b, i == CP_JIT_EXIT_TRUE(b));
		start = i == b->nsteps ? b->code->entry :
			i == CP_JIT_EXIT_TRUE(b) ? b->exit_true : b->exit_false;
		size = st->size;
	}

	memcpy(b->rw + start, st->body, size);
	for (uint32_t h = 0; h < st->nholes; h++)
	{
		const CpJitHole *hole = &st->holes[h];
		uintptr_t	value;
		int			err;

		if (hole->offset >= size)
			continue;			/* the trailing jump, dropped */
		value = hole_value(b, hole, step, i, b->rx + (uintptr_t) start);
		err = patch_hole(b, hole, start, value);
		if (err != CP_JIT_OK)
			return err;
	}
	return CP_JIT_OK;
}

/* Every stencil, then the trap up to the trampolines (which start aligned). */
static int
write_code(JitBuild *b)
{
	for (int32_t i = 0; i <= CP_JIT_EXIT_FALSE(b); i++)
	{
		int			err;

		if ((i == CP_JIT_EXIT_TRUE(b) && (b->exit_true < 0 || b->done_code == 1)) ||
			(i == CP_JIT_EXIT_FALSE(b) && (b->exit_false < 0 || b->done_code == 0)))
			continue;			/* not needed (or ROW_TRUE is `done`'s own code) */
		err = copy_stencil(b, i);
		if (err != CP_JIT_OK)
			return err;
	}
	for (int32_t t = b->end; t < b->trampolines; t += CP_TRAP_SIZE)
		emit_trap(b->rw + t);
	return CP_JIT_OK;
}

/* Make the code runnable, then point the program at it. */
static void
publish(ExprState *state, CpJitCode *code)
{
	cp_jit_code_written(code->region.rx, (size_t) code->size);
	code->region.rw = NULL;		/* nothing writes a published program */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	state->evalfunc = (ExprStateEvalFunc) (void *) (code->region.rx + code->entry);
}

int
cp_jit_compile(ExprState *state, CpJitCode **out)
{
	int64_t		t0 = now_ns();
	JitBuild	b;
	CpJitCode  *code;
	size_t		reserve;
	int			err;

	*out = NULL;
	if (state->steps_len <= 0)
		return CP_JIT_ERR_EMPTY;
	code = malloc(sizeof(CpJitCode) + ((size_t) state->steps_len + 1) * sizeof(int32_t) +
				  (size_t) state->steps_len);
	if (code == NULL)
		return CP_JIT_ERR_NOMEM;
	code->variant = (uint8_t *) &code->offsets[state->steps_len + 1];
	b.state = state;
	b.steps = state->steps;
	b.nsteps = state->steps_len;
	b.code = code;
	b.ntrampolines = 0;
	b.far_calls = __atomic_load_n(&cp_jit_far_calls, __ATOMIC_RELAXED);
	code->nsteps = b.nsteps;

	err = layout(&b, &reserve);
	if (err != CP_JIT_OK)
	{
		free(code);
		return err;
	}
	if (!cp_jit_arena_alloc(reserve, &code->region))
	{
		free(code);
		return CP_JIT_ERR_MAP;
	}
	b.rw = code->region.rw;
	b.rx = (uintptr_t) code->region.rx;

	err = write_code(&b);
	if (err != CP_JIT_OK)
	{
		cp_jit_arena_free(&code->region);
		free(code);
		return err;
	}
	code->exits[0] = b.exit_false;
	code->exits[1] = b.exit_true;
	code->exit_stencils[0] = b.lean ? CP_JIT_ROW_FALSE_LEAN : CP_JIT_ROW_FALSE;
	code->exit_stencils[1] = b.lean ? CP_JIT_ROW_TRUE_LEAN : CP_JIT_ROW_TRUE;
	code->size = b.trampolines + b.ntrampolines * CP_TRAMPOLINE_SIZE;
	cp_jit_arena_shrink(&code->region, (size_t) code->size);

	publish(state, code);
	code->compile_ns = now_ns() - t0;
	*out = code;
	return CP_JIT_OK;
}

#else							/* !CP_JIT_HAVE_STENCILS */

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
	cp_jit_arena_free(&code->region);
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
	return (uintptr_t) code->region.rx;
}

int32_t
cp_jit_entry_offset(const CpJitCode *code)
{
	return code->entry;
}

int32_t
cp_jit_exit_offset(const CpJitCode *code, int32_t result)
{
	return result == 0 || result == 1 ? code->exits[result] : -1;
}

int32_t
cp_jit_step_variant(const CpJitCode *code, int32_t step)
{
	return step >= 0 && step < code->nsteps ? code->variant[step] : 0;
}

int32_t
cp_jit_exit_stencil(const CpJitCode *code, int32_t result)
{
	return result == 0 || result == 1 ? code->exit_stencils[result] : -1;
}

int32_t
cp_jit_step_offset(const CpJitCode *code, int32_t step)
{
	return step >= 0 && step <= code->nsteps ? code->offsets[step] : -1;
}
