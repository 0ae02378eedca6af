/*
 * pgjit.h: what the two halves of the PostgreSQL JIT provider share (plain C: neither
 * PostgreSQL's headers nor copypatch's).
 *
 * The provider is two translation units, because PostgreSQL's executor and copypatch's runtime
 * both name their structs ExprEvalStep, ExprState, Datum:
 *
 *   provider.c   PostgreSQL's side (its headers): _PG_jit_provider_init, the callbacks, which
 *                opcodes have a stencil, each step's operands as words, the fallback counter
 *   emit.c       copypatch's side (csrc/jit/jit.h): the stencils (generated from template.c),
 *                layout, copy, patch, trampolines, publish, through copypatch's own arena
 *                (csrc/jit/arena.c) and patcher (patch_<arch>.h), compiled into the provider
 *
 * They meet in CpPgStep: a step as the stencil it uses and the values of its holes.
 */
#ifndef COPYPATCH_PGJIT_H
#define COPYPATCH_PGJIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Hole values of the PostgreSQL stencils: template.c's extern symbol _JIT_<NAME> is hole
 * CP_PG_HOLE_<NAME> (the stencil build maps the names). The step's words: an ExprEvalStep is
 * 8 words (PostgreSQL asserts <= 64 bytes; template.c asserts == 64), the opcode, resvalue,
 * resnull and d's five words.
 */
#define CP_PG_HOLES(X) \
	X(RESVALUE)			/* step->resvalue (word 1) */ \
	X(RESNULL)			/* step->resnull (word 2) */ \
	X(D0)				/* step->d, words 3..7 */ \
	X(D1) \
	X(D2) \
	X(D3) \
	X(D4) \
	X(STEP)				/* the step itself, for helpers that take `op` (and may write it) */ \
	X(CONTINUE)			/* the next step's code */ \
	X(JUMP_TARGET)		/* the code of the step CpPgStep.jump */ \
	X(CODE)				/* this stencil's own copy (its read-only data) */

typedef enum CpPgHoleValue
{
#define X(name) CP_PG_HOLE_##name,
	CP_PG_HOLES(X)
#undef X
	CP_PG_HOLE_SYMBOLS			/* helpers: CP_PG_SYM_<name> from the generated header */
} CpPgHoleValue;

#define CP_PG_STEP_WORDS 8

/*
 * A constant array of an IN list, deconstructed at compile time (provider.c) for the inlined
 * CP_SCALARARRAYOP_<f> (template.c): its elements as Datums, and which are NULL.
 */
typedef struct CpPgArray
{
	int32_t		nitems;
	bool		has_nulls;
	const bool *nulls;			/* nitems flags, if has_nulls */
	const uintptr_t *values;	/* nitems Datums */
} CpPgArray;

/* One step to compile, as provider.c describes it to emit.c. */
typedef struct CpPgStep
{
	int32_t		stencil;		/* index into the generated stencil table */
	int32_t		jump;			/* the step it may jump to, -1 if none */
	uintptr_t	self;			/* the step (CP_PG_HOLE_STEP) */
	uintptr_t	words[CP_PG_STEP_WORDS];	/* its bytes, as words */
} CpPgStep;

/* A compiled expression: its entry (ExprStateEvalFunc's signature) and its code's size. */
typedef struct CpPgCode CpPgCode;

enum
{
	CP_PG_OK,
	CP_PG_ERR_JUMP,				/* a jump target outside the program (or none where one is needed) */
	CP_PG_ERR_NOMEM,			/* malloc or the arena failed */
	CP_PG_ERR_RANGE,			/* a relocation's value does not fit, even through a trampoline */
	CP_PG_ERR_EMPTY,			/* no steps */
	CP_PG_ERR_LAST
};

/*
 * provider.c: raise copypatch's error `code` (csrc/errors.def) as PostgreSQL's ereport(ERROR),
 * with errors.def's SQLSTATE and message; for the inlined built-ins' bodies (template.c)
 */
extern void cp_pg_error(int code) __attribute__((noreturn, cold, visibility("hidden")));

/* provider.c: a scan slot read directly (template.c's CP_QUAL_TUP_*) holds neither a tuple nor
 * its values: an error (the interpreter asserts that the slot is not empty) */
extern void cp_pg_no_tuple(void) __attribute__((noreturn, cold, visibility("hidden")));

/* emit.c */
/* alone: steps[0] (n == 1) is a C-ABI stencil (template.c's CP_ALONE_*), the entry itself */
extern int	cp_pg_emit(const CpPgStep *steps, int32_t n, bool alone, void *const *symbols,
					   CpPgCode **out);
extern void *cp_pg_code_entry(const CpPgCode *code);
extern int64_t cp_pg_code_size(const CpPgCode *code);
extern void cp_pg_code_free(CpPgCode *code);
extern const char *cp_pg_strerror(int err);
/* the stencil set's names, in table order, and its digest (for the SQL-callable stats) */
extern int32_t cp_pg_nstencils(void);
extern const char *cp_pg_stencils_digest(void);

#endif							/* COPYPATCH_PGJIT_H */
