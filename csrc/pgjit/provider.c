/*
 * provider.c: copypatch as a PostgreSQL JIT provider (jit_provider = 'copypatch').
 *
 * PostgreSQL loads $pkglibdir/<jit_provider>.so when a query is to be JIT-compiled and calls
 * _PG_jit_provider_init for three callbacks (src/backend/jit/jit.c). compile_expr gets an
 * ExprState whose steps are ready for the interpreter but not yet prepared for it (opcodes are
 * still ExprEvalOp numbers): every step becomes the copy of its opcode's stencil (template.c)
 * with its holes patched (emit.c), and state->evalfunc points at the code. An expression with an
 * opcode that has no stencil, or that cannot be compiled for any other reason, is left to the
 * interpreter whole (compile_expr returns false, and ExecReadyExpr prepares it as usual):
 * counted, with a DEBUG1 message naming the opcode, never compiled wrong.
 *
 * As llvmjit.c does: the JitContext lives in TopMemoryContext, owned by the current resource
 * owner (so an error releases it), one per EState (es_jit); the first call of a compiled
 * expression runs CheckExprStillValid (the interpreter checks the slots' types on its first
 * call too) and then switches evalfunc to the code itself. EXPLAIN's JIT block shows the
 * functions created and the time taken (as "Generation"; there is no optimisation or inlining,
 * and emission is part of the same copy).
 *
 * copypatch_jit_stats() is SQL-callable: this backend's counts, for the driver's tests. A
 * backend that compiled (or fell back) logs its totals at DEBUG1 when it exits, for a driver
 * that cannot ask every session (`pg-provider regress` reads them from the server log).
 */
#include "postgres.h"

#include "access/tupmacs.h"
#include "executor/execExpr.h"
#include "executor/nodeAgg.h"
#include "fmgr.h"
#include "funcapi.h"
#include "jit/jit.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner_private.h"

#include "pgjit.h"
#include "pg_stencils.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_jit_provider_init(JitProviderCallbacks *cb);
PGDLLEXPORT Datum copypatch_jit_stats(PG_FUNCTION_ARGS);

PG_FUNCTION_INFO_V1(copypatch_jit_stats);

/* the helpers the stencils call: their addresses, in the generated header's hole order */
#define X(name) (void *) &name,
static void *const cp_pg_symbols[] = {CP_PG_SYMBOLS(X) NULL};
#undef X

/* opcode -> stencil index + 1 (0: no stencil) */
static const int16 stencil_of[EEOP_LAST] = {
#define X(name) [name] = CP_PG_STENCIL_##name + 1,
	CP_PG_STENCIL_OPCODES(X)
#undef X
};

static const char *const opcode_names[] = {
#define X(name) #name,
	CP_PG_OPCODES(X)
#undef X
};

StaticAssertDecl(lengthof(opcode_names) == EEOP_LAST,
				 "execExpr.h's opcodes and the generated header's differ: rebuild the provider");

/*
 * copypatch's inlined built-ins (csrc/inline.def), by PostgreSQL's function: a FUNCEXPR_STRICT
 * step calling one of them becomes its CP_INLINE_<f> stencil (_NONULL when its arguments are
 * known never to be NULL), and a comparison that feeds a QUAL becomes one of its
 * compare-and-branch stencils qual[nostore][kind] (-1: f is not a comparison): of a scan's
 * column with a constant CP_QUAL_VAR_<f>[_NOTNULL] or, read from the tuple, CP_QUAL_TUP_<f>; of
 * its arguments CP_QUAL_<f>[_NONULL]; _NOSTORE when the next step is another such qual.
 */
enum
{
	QUAL_VAR, QUAL_VAR_NOTNULL, QUAL_TUP, QUAL_TUP_N, QUAL_CALL, QUAL_CALL_NONULL, QUAL_KINDS
};

typedef struct InlinedFunction
{
	PGFunction	fn;
	int16		nullable;
	int16		nonull;
	int16		var_const;
	int16		var_const_notnull;
	int16		var_var;
	int16		var_var_notnull;
	int16		qual[2][QUAL_KINDS];
	int16		jump_var;
	int16		jump_var_notnull;
	int16		bool_call[2][2][2];	/* [nonull][or][first] */
	int16		alone_qual_tup;
	int16		scalararrayop;
} InlinedFunction;

static const InlinedFunction inlined_functions[] = {
#define INLINE(f) {f, CP_PG_STENCIL_CP_INLINE_##f, CP_PG_STENCIL_CP_INLINE_##f##_NONULL, \
	CP_PG_STENCIL_CP_VAR_CONST_##f, CP_PG_STENCIL_CP_VAR_CONST_##f##_NOTNULL, \
	CP_PG_STENCIL_CP_VAR_VAR_##f, CP_PG_STENCIL_CP_VAR_VAR_##f##_NOTNULL, \
	{{-1, -1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1, -1}}, -1, -1, \
	{{{-1, -1}, {-1, -1}}, {{-1, -1}, {-1, -1}}}, -1, -1},
#define INLINE_CMP(f) {f, CP_PG_STENCIL_CP_INLINE_##f, CP_PG_STENCIL_CP_INLINE_##f##_NONULL, \
	CP_PG_STENCIL_CP_VAR_CONST_##f, CP_PG_STENCIL_CP_VAR_CONST_##f##_NOTNULL, \
	CP_PG_STENCIL_CP_VAR_VAR_##f, CP_PG_STENCIL_CP_VAR_VAR_##f##_NOTNULL, \
	{{CP_PG_STENCIL_CP_QUAL_VAR_##f, CP_PG_STENCIL_CP_QUAL_VAR_##f##_NOTNULL, \
	CP_PG_STENCIL_CP_QUAL_TUP_##f, CP_PG_STENCIL_CP_QUAL_TUP_##f##_N, \
	CP_PG_STENCIL_CP_QUAL_##f, CP_PG_STENCIL_CP_QUAL_##f##_NONULL}, \
	{CP_PG_STENCIL_CP_QUAL_VAR_##f##_NOSTORE, CP_PG_STENCIL_CP_QUAL_VAR_##f##_NOTNULL_NOSTORE, \
	CP_PG_STENCIL_CP_QUAL_TUP_##f##_NOSTORE, CP_PG_STENCIL_CP_QUAL_TUP_##f##_N_NOSTORE, \
	CP_PG_STENCIL_CP_QUAL_##f##_NOSTORE, CP_PG_STENCIL_CP_QUAL_##f##_NONULL_NOSTORE}}, \
	CP_PG_STENCIL_CP_JUMP_VAR_##f, CP_PG_STENCIL_CP_JUMP_VAR_##f##_NOTNULL, \
	{{{CP_PG_STENCIL_CP_BOOL_##f##_AND, CP_PG_STENCIL_CP_BOOL_##f##_AND_FIRST}, \
	{CP_PG_STENCIL_CP_BOOL_##f##_OR, CP_PG_STENCIL_CP_BOOL_##f##_OR_FIRST}}, \
	{{CP_PG_STENCIL_CP_BOOL_##f##_NONULL_AND, CP_PG_STENCIL_CP_BOOL_##f##_NONULL_AND_FIRST}, \
	{CP_PG_STENCIL_CP_BOOL_##f##_NONULL_OR, CP_PG_STENCIL_CP_BOOL_##f##_NONULL_OR_FIRST}}}, \
	CP_PG_STENCIL_CP_ALONE_QUAL_TUP_##f, CP_PG_STENCIL_CP_SCALARARRAYOP_##f},
#include "../inline.def"
#undef INLINE_CMP
#undef INLINE
};

/* errors.def's SQLSTATEs and messages, by copypatch's error code */
static const struct
{
	const char *sqlstate;
	const char *message;
}			cp_errors[] = {
#define ERR(name, sqlstate, message) {sqlstate, message},
#include "../errors.def"
#undef ERR
};

void
cp_pg_error(int code)
{
	const char *s;

	if (code < 0 || code >= (int) lengthof(cp_errors))
		elog(ERROR, "copypatch JIT: unknown error %d", code);
	s = cp_errors[code].sqlstate;
	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
			 errmsg("%s", cp_errors[code].message)));
	pg_unreachable();
}

void
cp_pg_no_tuple(void)
{
	elog(ERROR, "copypatch JIT: a scan slot without a tuple or its values");
	pg_unreachable();
}

static const InlinedFunction *
inlined_fn(PGFunction fn)
{
	for (int i = 0; i < (int) lengthof(inlined_functions); i++)
		if (inlined_functions[i].fn == fn)
			return &inlined_functions[i];
	return NULL;
}

/* The inlined built-in a step calls, or NULL. */
static const InlinedFunction *
inlined_function(const ExprEvalStep *op)
{
	if ((ExprEvalOp) op->opcode != EEOP_FUNCEXPR_STRICT || op->d.func.nargs != 2)
		return NULL;
	return inlined_fn(op->d.func.fn_addr);
}

/* One EState's compiled expressions. */
typedef struct CpPgContext
{
	JitContext	base;
	CpPgCode  **codes;
	int			ncodes;
	int			maxcodes;
} CpPgContext;

/* This backend's counts (copypatch_jit_stats). */
static struct
{
	int64		compiled;		/* expressions compiled */
	int64		fallbacks;		/* expressions left to the interpreter */
	int64		steps;			/* steps compiled */
	int64		code_bytes;		/* machine code written */
	int64		compile_ns;		/* time in compile_expr for compiled expressions */
	int64		deforms;		/* FETCHSOME steps compiled as a specialised deform */
	int64		inlined;		/* function calls compiled as an inlined built-in */
	int64		fused;			/* Var-op-Const quals compiled as one CP_QUAL_VAR_* step */
	int64		direct;			/* expressions whose deform is left out (CP_QUAL_TUP_*) */
	int			last_opcode;	/* the opcode of the last fallback (-1: none, or not an opcode) */
	char		last_reason[128];
} stats = {0, 0, 0, 0, 0, 0, 0, 0, 0, -1, ""};

/* The jump target of a step whose stencil has a JUMP_TARGET hole; -1 if the opcode has none. */
static int
jump_target(const ExprEvalStep *op)
{
	switch ((ExprEvalOp) op->opcode)
	{
		case EEOP_JUMP:
		case EEOP_JUMP_IF_NULL:
		case EEOP_JUMP_IF_NOT_NULL:
		case EEOP_JUMP_IF_NOT_TRUE:
			return op->d.jump.jumpdone;
		case EEOP_QUAL:
			return op->d.qualexpr.jumpdone;
		case EEOP_BOOL_AND_STEP_FIRST:
		case EEOP_BOOL_AND_STEP:
		case EEOP_BOOL_OR_STEP_FIRST:
		case EEOP_BOOL_OR_STEP:
			return op->d.boolexpr.jumpdone;
		case EEOP_SBSREF_SUBSCRIPTS:
			return op->d.sbsref_subscript.jumpdone;
		case EEOP_AGG_STRICT_DESERIALIZE:
			return op->d.agg_deserialize.jumpnull;
		case EEOP_AGG_STRICT_INPUT_CHECK_ARGS:
		case EEOP_AGG_STRICT_INPUT_CHECK_NULLS:
			return op->d.agg_strict_input_check.jumpnull;
		case EEOP_AGG_PLAIN_PERGROUP_NULLCHECK:
			return op->d.agg_plain_pergroup_nullcheck.jumpnull;
		default:
			return -1;
	}
}

/* One attribute of a deform: its stencil and operands (template.c's CP_DEFORM_*). */
typedef struct DeformAtt
{
	int			stencil;
	uintptr_t	d1;				/* the known offset, or the alignment */
	uintptr_t	d2;				/* a fixed width by reference */
	uintptr_t	d3;				/* 1: the column is nullable */
	intptr_t	tup_at;			/* by value, after NOT NULL fixed-width ones only: its offset
								 * when present (NOT NULL or not), else -1 */
} DeformAtt;

static int
alignment(char attalign)
{
	return attalign == TYPALIGN_DOUBLE ? ALIGNOF_DOUBLE : attalign == TYPALIGN_INT ? ALIGNOF_INT :
		attalign == TYPALIGN_SHORT ? ALIGNOF_SHORT : 1;
}

/*
 * Plan the deforming of a FETCHSOME into atts[0..last_var) and return last_var, or 0 if it is
 * left to slot_getsomeattrs: jit_tuple_deforming must be on (PGJIT_DEFORM, as for LLVM's), the
 * slot known to hold heap tuples (a buffer's or its own) of a known descriptor, and every
 * attribute up to last_var neither dropped nor with a missing value. *known_end: the offset
 * after the known prefix (NOT NULL, fixed-width attributes from the first); *varwidth: whether
 * a later attribute has a variable width.
 */
static int
deform_plan(int jit_flags, const ExprEvalStep *op, DeformAtt *atts, uint32 *known_end,
			bool *varwidth, bool *guaranteed)
{
	TupleDesc	desc = op->d.fetch.known_desc;
	int			n = op->d.fetch.last_var;
	uintptr_t	off = 0;
	bool		known = true;

	if (!(jit_flags & PGJIT_DEFORM) || !op->d.fetch.fixed || desc == NULL || n <= 0 ||
		n > desc->natts ||
		(op->d.fetch.kind != &TTSOpsBufferHeapTuple && op->d.fetch.kind != &TTSOpsHeapTuple))
		return 0;
	*varwidth = false;
	/* every tuple has the attributes up to a NOT NULL column without a missing value, as
	 * llvmjit_deform.c's guaranteed_column_number says: no need to read the tuple's count */
	*guaranteed = false;
	for (int i = desc->natts - 1; i >= n - 1 && !*guaranteed; i--)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		*guaranteed = att->attnotnull && !att->atthasmissing && !att->attisdropped;
	}
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		DeformAtt  *d = &atts[i];
		int			len = att->attlen;
		bool		nullable = !att->attnotnull;

		if (att->attisdropped || att->atthasmissing ||
			(att->attbyval && len != 1 && len != 2 && len != 4 && len != 8) ||
			(len <= 0 && len != -1 && len != -2))
			return 0;
		d->tup_at = known && att->attbyval && len > 0
			? (intptr_t) att_align_nominal(off, att->attalign) : -1;
		known = known && att->attnotnull && len > 0;
		d->d2 = len > 0 ? (uintptr_t) len : 0;
		d->d3 = nullable ? 1 : 0;
		if (known)
		{
			off = att_align_nominal(off, att->attalign);
			d->d1 = off;
			d->stencil = !att->attbyval ? CP_PG_STENCIL_CP_DEFORM_KNOWN_REF :
				len == 1 ? CP_PG_STENCIL_CP_DEFORM_KNOWN_1 :
				len == 2 ? CP_PG_STENCIL_CP_DEFORM_KNOWN_2 :
				len == 4 ? CP_PG_STENCIL_CP_DEFORM_KNOWN_4 : CP_PG_STENCIL_CP_DEFORM_KNOWN_8;
			off += len;
			*known_end = (uint32) off;
			continue;
		}
		d->d1 = (uintptr_t) alignment(att->attalign);
		/* CP_DEFORM_<len> aligns to its width */
		if (att->attbyval && d->d1 != (uintptr_t) len)
			return 0;
		d->stencil = len == -1 ? (nullable ? CP_PG_STENCIL_CP_DEFORM_VARLENA_N : CP_PG_STENCIL_CP_DEFORM_VARLENA) :
			len == -2 ? (nullable ? CP_PG_STENCIL_CP_DEFORM_CSTRING_N : CP_PG_STENCIL_CP_DEFORM_CSTRING) :
			!att->attbyval ? (nullable ? CP_PG_STENCIL_CP_DEFORM_REF_N : CP_PG_STENCIL_CP_DEFORM_REF) :
			len == 1 ? (nullable ? CP_PG_STENCIL_CP_DEFORM_1_N : CP_PG_STENCIL_CP_DEFORM_1) :
			len == 2 ? (nullable ? CP_PG_STENCIL_CP_DEFORM_2_N : CP_PG_STENCIL_CP_DEFORM_2) :
			len == 4 ? (nullable ? CP_PG_STENCIL_CP_DEFORM_4_N : CP_PG_STENCIL_CP_DEFORM_4) :
			(nullable ? CP_PG_STENCIL_CP_DEFORM_8_N : CP_PG_STENCIL_CP_DEFORM_8);
		*varwidth = *varwidth || len < 0;
	}
	if (off == 0)
		*known_end = 0;
	return n;
}

/* A step of template.c's deforming stencils (not one of PostgreSQL's): D0..D3 its operands. */
static void
pseudo_step(CpPgStep *s, int stencil, int jump, uintptr_t d0, uintptr_t d1, uintptr_t d2,
			uintptr_t d3)
{
	memset(s, 0, sizeof(*s));
	s->stencil = stencil;
	s->jump = jump;
	s->words[3] = d0;
	s->words[4] = d1;
	s->words[5] = d2;
	s->words[6] = d3;
}

/*
 * An IN list's constant array, deconstructed for CP_SCALARARRAYOP_<f>: in the memory context
 * of the compile (the query's, where the steps and their call infos live, which the code
 * points into as well).
 */
static CpPgArray *
constant_array(Datum value)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	CpPgArray  *out;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	/* ExecEvalScalarArrayOp looks the element type up on its first call: here, at compile time */
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	if (!typbyval)
		return NULL;
	StaticAssertStmt(sizeof(Datum) == sizeof(uintptr_t), "a Datum is not a uintptr_t");
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &elems, &nulls,
					  &nelems);
	out = palloc(sizeof(CpPgArray));
	out->nitems = nelems;
	out->has_nulls = false;
	for (int i = 0; i < nelems; i++)
		out->has_nulls = out->has_nulls || nulls[i];
	out->nulls = nulls;
	out->values = (const uintptr_t *) elems;
	return out;
}

/*
 * Whether the value step w writes can never be NULL: a non-NULL constant, a NOT NULL column of
 * the scan's known descriptor, or an inlined function already known to give no NULL.
 */
static bool
never_null(const ExprEvalStep *w, TupleDesc scan_desc, const bool *nonnull_result, int wi)
{
	switch ((ExprEvalOp) w->opcode)
	{
		case EEOP_CONST:
			return !w->d.constval.isnull;
		case EEOP_JUMP:
		case EEOP_JUMP_IF_NULL:
		case EEOP_JUMP_IF_NOT_NULL:
		case EEOP_JUMP_IF_NOT_TRUE:
			return true;		/* a test: writes nothing */
		case EEOP_SCAN_VAR:
			return scan_desc != NULL && w->d.var.attnum >= 0 &&
				w->d.var.attnum < scan_desc->natts &&
				TupleDescAttr(scan_desc, w->d.var.attnum)->attnotnull &&
				!TupleDescAttr(scan_desc, w->d.var.attnum)->attisdropped;
		default:
			return nonnull_result[wi];
	}
}

/* The steps by the address of the NULL flag they write (resnull), sorted: who writes what. */
typedef struct Writer
{
	uintptr_t	resnull;
	int			step;
} Writer;

static int
writer_cmp(const void *a, const void *b)
{
	const Writer *x = a;
	const Writer *y = b;

	if (x->resnull != y->resnull)
		return x->resnull < y->resnull ? -1 : 1;
	return x->step < y->step ? -1 : x->step > y->step;
}

/* How many steps write argument `arg` of a call (ExecInitFunc evaluates a constant argument
 * once, into the call info: none), *first the index in `writers` of the first of them; a
 * binary search. */
static int
writers_of(const Writer *writers, int n, NullableDatum *arg, int *first)
{
	uintptr_t	key = (uintptr_t) &arg->isnull;
	int			lo = 0,
				hi = n;
	int			count = 0;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (writers[mid].resnull < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + count < n && writers[lo + count].resnull == key)
		count++;
	return count;
}

/* never_null for a step fused into an earlier one: the call of a CP_VAR_CONST ('v'), a
 * CP_JUMP_VAR ('j', and its jump, which writes nothing) or a CP_VAR_VAR ('w') gives what the
 * fused step does; the jump of a CP_SCAN_VAR_JUMP_IF_NOT_NULL ('n') writes nothing; a qual's
 * result ('q', 'c'): unknown. */
static bool
skipped_never_null(const char *fused, const bool *nonnull_result, int wk)
{
	if (wk > 0 && (fused[wk - 1] == 'v' || fused[wk - 1] == 'j'))
		return nonnull_result[wk - 1];
	if (wk > 0 && fused[wk - 1] == 'n')
		return true;
	if (wk > 1 && (fused[wk - 2] == 'w' || fused[wk - 2] == 'j'))
		return nonnull_result[wk - 2];
	return false;
}

/*
 * Plan the inlining of copypatch's built-ins (inline.def): override[i] is the stencil of step i
 * if not its opcode's, skipped[i] a step fused into an earlier one (emitted as nothing). A
 * SCAN_VAR, FUNCEXPR_STRICT of an inlined comparison with a constant second argument (in the
 * call info: ExecInitFunc evaluates constants once) and QUAL in a row, each writing the next
 * one's input, with no jump into the last two, become one CP_QUAL_VAR_<f>; any other call of an
 * inlined built-in becomes CP_INLINE_<f>, _NONULL when each argument is a non-NULL constant or
 * has exactly one writer (so the value it wrote is this row's) that never gives NULL.
 */
static void
plan_inlining(ExprState *state, int16 *override, bool *skipped, char *fused, CpPgArray **arrays,
			  int *ninlined, int *nfused)
{
	int			n = state->steps_len;
	bool	   *targeted = palloc0(sizeof(bool) * (n + 1));
	bool	   *nonnull_result = palloc0(sizeof(bool) * n);
	Writer	   *writers = palloc(sizeof(Writer) * Max(n, 1));
	TupleDesc	scan_desc = NULL;
	int			nscan = 0;

	for (int i = 0; i < n; i++)
	{
		const ExprEvalStep *op = &state->steps[i];
		int			j = jump_target(op);

		override[i] = -1;
		skipped[i] = false;
		fused[i] = 0;
		arrays[i] = NULL;
		writers[i].resnull = (uintptr_t) op->resnull;
		writers[i].step = i;
		if (j >= 0 && j <= n)
			targeted[j] = true;
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_FETCHSOME)
		{
			scan_desc = op->d.fetch.known_desc;
			nscan++;
		}
	}
	if (nscan != 1)
		scan_desc = NULL;		/* none, or more than one: trust no descriptor */
	qsort(writers, n, sizeof(Writer), writer_cmp);

	for (int i = 0; i < n; i++)
	{
		const ExprEvalStep *op = &state->steps[i];
		const InlinedFunction *f;
		int			w = -1;

		if (skipped[i])
			continue;
		/* SCAN_VAR, the comparison with a constant, QUAL */
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_VAR && i + 2 < n &&
			(f = inlined_function(&state->steps[i + 1])) != NULL && f->qual[0][QUAL_VAR] >= 0 &&
			(ExprEvalOp) state->steps[i + 2].opcode == EEOP_QUAL &&
			!targeted[i + 1] && !targeted[i + 2])
		{
			const ExprEvalStep *call = &state->steps[i + 1];
			const ExprEvalStep *qual = &state->steps[i + 2];
			NullableDatum *args = call->d.func.fcinfo_data->args;

			if (op->resvalue == &args[0].value && op->resnull == &args[0].isnull &&
				writers_of(writers, n, &args[1], &w) == 0 && !args[1].isnull &&
				call->resvalue == qual->resvalue && call->resnull == qual->resnull)
			{
				override[i] = never_null(op, scan_desc, nonnull_result, i)
					? f->qual[0][QUAL_VAR_NOTNULL] : f->qual[0][QUAL_VAR];
				skipped[i + 1] = skipped[i + 2] = true;
				fused[i] = 'q';
				(*nfused)++;
				continue;
			}
		}
		/* two SCAN_VARs and the call of the two */
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_VAR && i + 2 < n &&
			(ExprEvalOp) state->steps[i + 1].opcode == EEOP_SCAN_VAR &&
			(f = inlined_function(&state->steps[i + 2])) != NULL &&
			!targeted[i + 1] && !targeted[i + 2])
		{
			const ExprEvalStep *v1 = &state->steps[i + 1];
			const ExprEvalStep *call = &state->steps[i + 2];
			NullableDatum *args = call->d.func.fcinfo_data->args;

			if (op->resvalue == &args[0].value && op->resnull == &args[0].isnull &&
				v1->resvalue == &args[1].value && v1->resnull == &args[1].isnull)
			{
				bool		notnull = never_null(op, scan_desc, nonnull_result, i) &&
					never_null(v1, scan_desc, nonnull_result, i + 1);

				override[i] = notnull ? f->var_var_notnull : f->var_var;
				skipped[i + 1] = skipped[i + 2] = true;
				nonnull_result[i] = notnull;
				fused[i] = 'w';
				(*ninlined)++;
				continue;
			}
		}
		/* SCAN_VAR and a call with a constant second argument */
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_VAR && i + 1 < n &&
			(f = inlined_function(&state->steps[i + 1])) != NULL && !targeted[i + 1])
		{
			const ExprEvalStep *call = &state->steps[i + 1];
			NullableDatum *args = call->d.func.fcinfo_data->args;

			if (op->resvalue == &args[0].value && op->resnull == &args[0].isnull &&
				writers_of(writers, n, &args[1], &w) == 0 && !args[1].isnull)
			{
				bool		notnull = never_null(op, scan_desc, nonnull_result, i);

				override[i] = notnull ? f->var_const_notnull : f->var_const;
				skipped[i + 1] = true;
				/* the fused step writes the call's result: a writer of what the call fed */
				nonnull_result[i] = notnull;
				fused[i] = 'v';
				(*ninlined)++;
				/* and the JUMP_IF_NOT_TRUE testing it (a CASE's WHEN): CP_JUMP_VAR_<f> */
				if (f->jump_var >= 0 && i + 2 < n && !targeted[i + 2] &&
					(ExprEvalOp) state->steps[i + 2].opcode == EEOP_JUMP_IF_NOT_TRUE &&
					state->steps[i + 2].resvalue == call->resvalue &&
					state->steps[i + 2].resnull == call->resnull)
				{
					override[i] = notnull ? f->jump_var_notnull : f->jump_var;
					skipped[i + 2] = true;
					fused[i] = 'j';
				}
				continue;
			}
		}
		/* the last step of an AND/OR and the QUAL testing it */
		if (((ExprEvalOp) op->opcode == EEOP_BOOL_AND_STEP_LAST ||
			 (ExprEvalOp) op->opcode == EEOP_BOOL_OR_STEP_LAST) && i + 1 < n &&
			!targeted[i + 1] && (ExprEvalOp) state->steps[i + 1].opcode == EEOP_QUAL &&
			state->steps[i + 1].resvalue == op->resvalue &&
			state->steps[i + 1].resnull == op->resnull)
		{
			override[i] = (ExprEvalOp) op->opcode == EEOP_BOOL_AND_STEP_LAST
				? CP_PG_STENCIL_CP_BOOL_AND_STEP_LAST_QUAL : CP_PG_STENCIL_CP_BOOL_OR_STEP_LAST_QUAL;
			skipped[i + 1] = true;
			fused[i] = 'L';
			continue;
		}
		/* SCAN_VAR and the JUMP_IF_NOT_NULL testing it (COALESCE): one step */
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_VAR && i + 1 < n && !targeted[i + 1] &&
			(ExprEvalOp) state->steps[i + 1].opcode == EEOP_JUMP_IF_NOT_NULL &&
			state->steps[i + 1].resnull == op->resnull)
		{
			override[i] = CP_PG_STENCIL_CP_SCAN_VAR_JUMP_IF_NOT_NULL;
			skipped[i + 1] = true;
			fused[i] = 'n';
			continue;
		}
		if ((ExprEvalOp) op->opcode == EEOP_SCAN_VAR && never_null(op, scan_desc, nonnull_result, i))
		{
			override[i] = CP_PG_STENCIL_CP_SCAN_VAR_NOTNULL;
			continue;
		}
		if ((f = inlined_function(op)) != NULL)
		{
			NullableDatum *args = op->d.func.fcinfo_data->args;
			bool		nonnull = true;

			for (int a = 0; a < 2 && nonnull; a++)
			{
				int			nwriters = writers_of(writers, n, &args[a], &w);

				/* a constant, or every writer before the call never gives NULL (a CASE's
				 * branches, say: one of them runs before the call) */
				nonnull = nwriters > 0 || !args[a].isnull;
				for (int k = w; k < w + nwriters && nonnull; k++)
				{
					int			wk = writers[k].step;

					if (wk >= i)
						nonnull = false;
					else if (skipped[wk])	/* a step fused into an earlier one */
						nonnull = skipped_never_null(fused, nonnull_result, wk);
					else
						nonnull = never_null(&state->steps[wk], scan_desc, nonnull_result, wk);
				}
			}
			override[i] = nonnull ? f->nonull : f->nullable;
			nonnull_result[i] = nonnull;
			(*ninlined)++;
			/* a comparison and the QUAL testing it: one compare-and-branch */
			if (f->qual[0][QUAL_CALL] >= 0 && i + 1 < n && !targeted[i + 1] &&
				(ExprEvalOp) state->steps[i + 1].opcode == EEOP_QUAL &&
				state->steps[i + 1].resvalue == op->resvalue &&
				state->steps[i + 1].resnull == op->resnull)
			{
				override[i] = f->qual[0][nonnull ? QUAL_CALL_NONULL : QUAL_CALL];
				skipped[i + 1] = true;
				fused[i] = 'c';
			}
			/* a comparison and the AND/OR step testing it: CP_BOOL_<f>_<AND|OR>[_FIRST] */
			else if (f->bool_call[0][0][0] >= 0 && i + 1 < n && !targeted[i + 1] &&
					 state->steps[i + 1].resvalue == op->resvalue &&
					 state->steps[i + 1].resnull == op->resnull)
			{
				ExprEvalOp	b = (ExprEvalOp) state->steps[i + 1].opcode;
				bool		or = b == EEOP_BOOL_OR_STEP || b == EEOP_BOOL_OR_STEP_FIRST;
				bool		first = b == EEOP_BOOL_AND_STEP_FIRST || b == EEOP_BOOL_OR_STEP_FIRST;

				if (or || first || b == EEOP_BOOL_AND_STEP)
				{
					override[i] = f->bool_call[nonnull][or][first];
					skipped[i + 1] = true;
					fused[i] = 'b';
				}
			}
		}
		/* count(*), count(x): int8inc inlined */
		else if (((ExprEvalOp) op->opcode == EEOP_AGG_PLAIN_TRANS_BYVAL ||
				  (ExprEvalOp) op->opcode == EEOP_AGG_PLAIN_TRANS_STRICT_BYVAL) &&
				 (op->d.agg_trans.pertrans->transfn.fn_addr == int8inc ||
				  op->d.agg_trans.pertrans->transfn.fn_addr == int8inc_any))
		{
			override[i] = (ExprEvalOp) op->opcode == EEOP_AGG_PLAIN_TRANS_BYVAL
				? CP_PG_STENCIL_CP_AGG_COUNT_BYVAL : CP_PG_STENCIL_CP_AGG_COUNT_STRICT_BYVAL;
			(*ninlined)++;
		}
		/* an IN list: the array is the constant the step before writes, never jumped over */
		else if ((ExprEvalOp) op->opcode == EEOP_SCALARARRAYOP && i > 0 && !targeted[i] &&
				 op->d.scalararrayop.finfo->fn_strict &&
				 (f = inlined_fn(op->d.scalararrayop.fn_addr)) != NULL && f->scalararrayop >= 0)
		{
			const ExprEvalStep *c = &state->steps[i - 1];

			if ((ExprEvalOp) c->opcode == EEOP_CONST && !c->d.constval.isnull &&
				c->resvalue == op->resvalue && c->resnull == op->resnull &&
				(arrays[i] = constant_array(c->d.constval.value)) != NULL)
			{
				override[i] = f->scalararrayop;
				(*ninlined)++;
			}
		}
	}
	pfree(targeted);
	pfree(nonnull_result);
	pfree(writers);
}

/* The width of an inlined function's first argument's type (-1: not two arguments), looked up
 * once per backend (a built-in's signature does not change). */
static int
first_arg_width(const InlinedFunction *f, Oid fn_oid)
{
	static int16 widths[lengthof(inlined_functions)];
	int			k = (int) (f - inlined_functions);

	if (widths[k] == 0)
	{
		Oid		   *argtypes;
		int			nargs;

		(void) get_func_signature(fn_oid, &argtypes, &nargs);
		widths[k] = nargs == 2 ? get_typlen(argtypes[0]) : -1;
		pfree(argtypes);
	}
	return widths[k];
}

/* Where a (not skipped) step jumps, as fused with the steps after it. */
static int
fused_jump(ExprState *state, const char *fused, int i)
{
	switch (fused[i])
	{
		case 'q':
			return state->steps[i + 2].d.qualexpr.jumpdone;
		case 'c':
		case 'L':
			return state->steps[i + 1].d.qualexpr.jumpdone;
		case 'n':
			return state->steps[i + 1].d.jump.jumpdone;
		case 'j':
			return state->steps[i + 2].d.jump.jumpdone;
		case 'b':
			return state->steps[i + 1].d.boolexpr.jumpdone;
		default:
			return jump_target(&state->steps[i]);
	}
}

/* Whether a step reads no slot (nor hands econtext to anything that could). */
static bool
reads_no_slot(ExprEvalOp opcode)
{
	switch (opcode)
	{
		case EEOP_DONE:
		case EEOP_CONST:
		case EEOP_QUAL:
		case EEOP_JUMP:
		case EEOP_JUMP_IF_NULL:
		case EEOP_JUMP_IF_NOT_NULL:
		case EEOP_JUMP_IF_NOT_TRUE:
		case EEOP_BOOL_AND_STEP_FIRST:
		case EEOP_BOOL_AND_STEP:
		case EEOP_BOOL_AND_STEP_LAST:
		case EEOP_BOOL_OR_STEP_FIRST:
		case EEOP_BOOL_OR_STEP:
		case EEOP_BOOL_OR_STEP_LAST:
		case EEOP_BOOL_NOT_STEP:
		case EEOP_NULLTEST_ISNULL:
		case EEOP_NULLTEST_ISNOTNULL:
		case EEOP_BOOLTEST_IS_TRUE:
		case EEOP_BOOLTEST_IS_NOT_TRUE:
		case EEOP_BOOLTEST_IS_FALSE:
		case EEOP_BOOLTEST_IS_NOT_FALSE:
		case EEOP_FUNCEXPR:
		case EEOP_FUNCEXPR_STRICT:
			return true;
		default:
			return false;
	}
}

/* The most fused quals read from the tuple before a deform put off (each costs a few
 * instructions more than a read from the slot). */
#define LAZY_MAX_TUP 2

/*
 * Read the scan's tuple directly and leave the deform out, or put it off: when the one
 * SCAN_FETCHSOME can be deformed by stencils, the steps up to *lazy_at (n: all of them) read no
 * slot or are fused CP_QUAL_VAR_<f>_NOTNULL of an attribute of the known prefix (NOT NULL, by
 * value, at an offset known at compile time, as wide as f's first argument: CP_QUAL_TUP_<f>
 * reads it there). The deform then runs just before step *lazy_at, the first other reader (a
 * qual on a nullable column after `a = 42 AND ...`): a row the earlier quals reject is never
 * deformed. Every jump from before *lazy_at lands at or before it, or where no step reads a
 * slot any more. Without a *lazy_at nothing reads what FETCHSOME would have deformed; the
 * slot is left as it was (tts_nvalid unchanged), correct for any later reader. Every tuple has
 * the attribute: it is NOT NULL without a missing value (llvmjit_deform.c's
 * guaranteed_column_number). Returns the FETCHSOME's index and the offsets in tup_off[] (of
 * the quals before *lazy_at), or -1.
 */
static int
plan_direct(ExprState *state, int jit_flags, const int16 *override, const bool *skipped,
			const char *fused, uintptr_t *tup_off, int *lazy_at)
{
	int			n = state->steps_len;
	int			fetch = -1;
	int			nq = 0;
	int			found;
	int			clean_from = n;
	uint32		known_end;
	bool		varwidth;
	bool		guaranteed;
	DeformAtt  *atts;
	int			last_var;

	*lazy_at = n;
	for (int i = 0; i < n; i++)
		if (!skipped[i] && (ExprEvalOp) state->steps[i].opcode == EEOP_SCAN_FETCHSOME)
		{
			if (fetch >= 0)
				return -1;
			fetch = i;
		}
	if (fetch != 0)				/* none, or after steps that could read the slot */
		return -1;
	last_var = state->steps[fetch].d.fetch.last_var;
	atts = palloc(sizeof(DeformAtt) * Max(last_var, 1));
	if (deform_plan(jit_flags, &state->steps[fetch], atts, &known_end, &varwidth,
					&guaranteed) <= 0)
	{
		pfree(atts);
		return -1;
	}
	found = fetch;
	for (int i = fetch + 1; i < n && *lazy_at == n; i++)
	{
		const ExprEvalStep *op = &state->steps[i];
		const InlinedFunction *f;
		int			attnum = op->d.var.attnum;
		int			st;
		bool		ok;

		if (skipped[i])
			continue;
		if (reads_no_slot((ExprEvalOp) op->opcode))
			continue;
		if ((ExprEvalOp) op->opcode != EEOP_SCAN_VAR || fused[i] != 'q')
		{
			*lazy_at = i;
			break;
		}
		f = inlined_function(&state->steps[i + 1]);
		st = attnum >= 0 && attnum < last_var ? atts[attnum].stencil : -1;
		/* NOT NULL and of the known prefix, or nullable at a known offset when present (after
		 * NOT NULL fixed-width ones only) in tuples that have it (guaranteed) */
		ok = f != NULL && st >= 0 &&
			((override[i] == f->qual[0][QUAL_VAR_NOTNULL] &&
			  (st == CP_PG_STENCIL_CP_DEFORM_KNOWN_1 || st == CP_PG_STENCIL_CP_DEFORM_KNOWN_2 ||
			   st == CP_PG_STENCIL_CP_DEFORM_KNOWN_4 || st == CP_PG_STENCIL_CP_DEFORM_KNOWN_8)) ||
			 (override[i] == f->qual[0][QUAL_VAR] && atts[attnum].tup_at >= 0 && guaranteed));
		ok = ok && first_arg_width(f, state->steps[i + 1].d.func.finfo->fn_oid) ==
			(int) atts[attnum].d2;
		if (!ok)
		{
			*lazy_at = i;
			break;
		}
		tup_off[i] = (uintptr_t) atts[attnum].tup_at;
		nq++;
	}
	pfree(atts);
	if (nq == 0 || (*lazy_at < n && nq > LAZY_MAX_TUP))
		return -1;
	if (*lazy_at < n)
	{
		/* where no step reads a slot any more */
		while (clean_from > 0 && (skipped[clean_from - 1] ||
								  reads_no_slot((ExprEvalOp) state->steps[clean_from - 1].opcode)))
			clean_from--;
		for (int i = 0; i < *lazy_at && found >= 0; i++)
		{
			int			j = skipped[i] ? -1 : fused_jump(state, fused, i);

			if (j > *lazy_at && j < clean_from)
				found = -1;
		}
		/* steps skipped into a fused one before lazy_at jump as it does: covered above */
	}
	return found;
}

/* The kind of a fused qual's stencil (QUAL_VAR ... QUAL_CALL_NONULL). */
static int
qual_kind(const InlinedFunction *f, int stencil)
{
	for (int k = 0; k < QUAL_KINDS; k++)
		if (f->qual[0][k] == stencil)
			return k;
	return -1;
}

/*
 * _NOSTORE: a fused qual (fused[i] 'q': SCAN_VAR, call, QUAL; 'c': call, QUAL) whose next step
 * (run when it passes) is another fused qual writing the same result leaves the storing of
 * TRUE to it (ExecInitQual's quals all write state->resvalue; the last one stores).
 */
static void
plan_nostore(ExprState *state, int16 *override, const bool *skipped, const char *fused)
{
	int			n = state->steps_len;

	for (int i = n - 1; i >= 0; i--)
	{
		int			qual = fused[i] == 'q' ? i + 2 : i + 1;
		int			next = qual + 1;
		const InlinedFunction *f;
		int			k;

		if (skipped[i] || (fused[i] != 'q' && fused[i] != 'c') || next >= n || skipped[next] ||
			(fused[next] != 'q' && fused[next] != 'c'))
			continue;
		if (state->steps[fused[next] == 'q' ? next + 2 : next + 1].resvalue !=
			state->steps[qual].resvalue ||
			state->steps[fused[next] == 'q' ? next + 2 : next + 1].resnull !=
			state->steps[qual].resnull)
			continue;
		f = inlined_function(&state->steps[fused[i] == 'q' ? i + 1 : i]);
		k = f != NULL ? qual_kind(f, override[i]) : -1;
		if (k >= 0)
			override[i] = f->qual[1][k];
	}
}

static void
fallback(int opcode, const char *reason)
{
	stats.fallbacks++;
	stats.last_opcode = opcode;
	strlcpy(stats.last_reason, reason, sizeof(stats.last_reason));
	elog(DEBUG1, "copypatch JIT: expression left to the interpreter: %s", reason);
}

static CpPgContext *
context_for(PlanState *parent)
{
	CpPgContext *ctx;

	if (parent->state->es_jit != NULL)
		return (CpPgContext *) parent->state->es_jit;
	ResourceOwnerEnlargeJIT(CurrentResourceOwner);
	ctx = MemoryContextAllocZero(TopMemoryContext, sizeof(CpPgContext));
	ctx->base.flags = parent->state->es_jit_flags;
	ctx->base.resowner = CurrentResourceOwner;
	ResourceOwnerRememberJIT(CurrentResourceOwner, PointerGetDatum(ctx));
	parent->state->es_jit = &ctx->base;
	return ctx;
}

/* The first call: check the slots as the interpreter would, then run the code from now on. */
static Datum
run_first(ExprState *state, ExprContext *econtext, bool *isnull)
{
	ExprStateEvalFunc code = (ExprStateEvalFunc) state->evalfunc_private;

	CheckExprStillValid(state, econtext);
	state->evalfunc = code;
	return code(state, econtext, isnull);
}

/*
 * A FETCHSOME's deform (deform_plan's) as steps from s: BEGIN, which jumps to step `past` (past
 * the whole deform) when PostgreSQL does the work, the attributes, END.
 */
static void
emit_deform(CpPgStep *s, const ExprEvalStep *op, int jit_flags, int past)
{
	static const int begin[2][3] = {{CP_PG_STENCIL_CP_DEFORM_BEGIN_INNER,
		CP_PG_STENCIL_CP_DEFORM_BEGIN_OUTER, CP_PG_STENCIL_CP_DEFORM_BEGIN_SCAN},
	{CP_PG_STENCIL_CP_DEFORM_BEGIN_INNER_GUARANTEED,
		CP_PG_STENCIL_CP_DEFORM_BEGIN_OUTER_GUARANTEED,
	CP_PG_STENCIL_CP_DEFORM_BEGIN_SCAN_GUARANTEED}};
	static const int finish[2][3] = {{CP_PG_STENCIL_CP_DEFORM_END_INNER,
		CP_PG_STENCIL_CP_DEFORM_END_OUTER, CP_PG_STENCIL_CP_DEFORM_END_SCAN},
	{CP_PG_STENCIL_CP_DEFORM_END_INNER_SLOW, CP_PG_STENCIL_CP_DEFORM_END_OUTER_SLOW,
	CP_PG_STENCIL_CP_DEFORM_END_SCAN_SLOW}};
	ExprEvalOp	opcode = (ExprEvalOp) op->opcode;
	int			which = opcode == EEOP_INNER_FETCHSOME ? 0 : opcode == EEOP_OUTER_FETCHSOME ? 1 : 2;
	int			last_var = op->d.fetch.last_var;
	uint32		known_end;
	bool		varwidth;
	bool		guaranteed;
	DeformAtt  *atts = palloc(sizeof(DeformAtt) * last_var);

	deform_plan(jit_flags, op, atts, &known_end, &varwidth, &guaranteed);
	pseudo_step(s++, begin[guaranteed][which], past, (uintptr_t) last_var, known_end, 0, 0);
	for (int a = 0; a < last_var; a++)
		pseudo_step(s++, atts[a].stencil, -1, (uintptr_t) a, atts[a].d1, atts[a].d2,
					atts[a].d3);
	pseudo_step(s, finish[varwidth][which], -1, (uintptr_t) last_var, 0, 0, 0);
	pfree(atts);
}

static bool
cp_compile_expr(ExprState *state)
{
	PlanState  *parent = state->parent;
	CpPgContext *ctx;
	CpPgStep   *steps;
	CpPgCode   *code;
	instr_time	start,
				end;
	int			n = state->steps_len;
	int		   *first;
	int		   *ndeform;
	int			nsteps;
	int			ndeforms = 0;
	int			ninlined = 0;
	int			nfused = 0;
	int16	   *override;
	bool	   *skipped;
	char	   *fused;
	CpPgArray **arrays;
	DeformAtt  *atts;
	uintptr_t  *tup_off;
	int			direct;
	int			lazy_at;
	int			alone_tup;
	bool		alone;
	int			err;

	Assert(parent != NULL);
	INSTR_TIME_SET_CURRENT(start);

	/* where each of PostgreSQL's steps starts among ours (a deform adds steps, a fused one
	 * takes none) */
	first = palloc(sizeof(int) * (n + 1));
	ndeform = palloc(sizeof(int) * n);
	override = palloc(sizeof(int16) * n);
	skipped = palloc(sizeof(bool) * n);
	nsteps = 0;
	for (int i = 0; i < n; i++)
	{
		intptr_t	opcode = state->steps[i].opcode;

		if (opcode < 0 || opcode >= EEOP_LAST)
		{
			pfree(first);
			pfree(ndeform);
			pfree(override);
			pfree(skipped);
			fallback((int) opcode, "a step whose opcode is not one of PostgreSQL's");
			return false;
		}
		if (stencil_of[opcode] == 0)
		{
			pfree(first);
			pfree(ndeform);
			pfree(override);
			pfree(skipped);
			fallback((int) opcode, psprintf("no stencil for %s", opcode_names[opcode]));
			return false;
		}
	}
	arrays = palloc(sizeof(CpPgArray *) * n);
	fused = palloc(n);
	plan_inlining(state, override, skipped, fused, arrays, &ninlined, &nfused);
	tup_off = palloc0(sizeof(uintptr_t) * n);
	direct = plan_direct(state, parent->state->es_jit_flags, override, skipped, fused, tup_off,
						 &lazy_at);
	alone_tup = -1;
	if (direct < 0)
		lazy_at = -1;
	if (direct >= 0)
	{
		int			left = 0;

		skipped[direct] = true;	/* the deform left out (or put off: at lazy_at) */
		for (int i = 0; i < n; i++)
		{
			if (fused[i] == 'q' && !skipped[i] && i < lazy_at)
			{
				const InlinedFunction *f = inlined_function(&state->steps[i + 1]);

				override[i] = f->qual[0][override[i] == f->qual[0][QUAL_VAR] ? QUAL_TUP_N : QUAL_TUP];
				if (override[i] == f->qual[0][QUAL_TUP])
					alone_tup = i;
			}
			left += !skipped[i];
		}
		if (left != 2 || lazy_at < n)	/* the qual and DONE: CP_ALONE_QUAL_TUP_<f> */
			alone_tup = -1;
		if (lazy_at == n)
			lazy_at = -1;
	}
	plan_nostore(state, override, skipped, fused);
	for (int i = 0; i < n; i++)
	{
		const ExprEvalStep *op = &state->steps[i];
		intptr_t	opcode = op->opcode;

		first[i] = nsteps;
		ndeform[i] = 0;
		if (i == lazy_at)
			nsteps += state->steps[direct].d.fetch.last_var + 2;	/* the deform put off */
		if (skipped[i])
			continue;
		if (opcode == EEOP_INNER_FETCHSOME || opcode == EEOP_OUTER_FETCHSOME ||
			opcode == EEOP_SCAN_FETCHSOME)
		{
			uint32		known_end;
			bool		varwidth;
			bool		guaranteed;

			atts = palloc(sizeof(DeformAtt) * Max(op->d.fetch.last_var, 1));
			ndeform[i] = deform_plan(parent->state->es_jit_flags, op, atts, &known_end,
									 &varwidth, &guaranteed);
			pfree(atts);
		}
		nsteps += ndeform[i] > 0 ? ndeform[i] + 2 : 1;
	}
	first[n] = nsteps;

	steps = palloc(sizeof(CpPgStep) * nsteps);
	for (int i = 0; i < n; i++)
	{
		const ExprEvalStep *op = &state->steps[i];
		intptr_t	opcode = op->opcode;
		CpPgStep   *s = &steps[first[i]];
		int			jump;

		if (skipped[i])
			continue;
		if (ndeform[i] > 0)
		{
			emit_deform(s, op, parent->state->es_jit_flags, first[i + 1]);
			ndeforms++;
			continue;
		}
		if (i == lazy_at)
		{
			/* the deform put off: here, then the step; BEGIN jumps to the step */
			int			last_var = state->steps[direct].d.fetch.last_var;

			emit_deform(s, &state->steps[direct], parent->state->es_jit_flags,
						first[i] + last_var + 2);
			s += last_var + 2;
			ndeforms++;
		}
		if (fused[i] == 'v' || fused[i] == 'j')
		{
			/* CP_VAR_CONST_*: the call's result, the Var's attnum, the constant; CP_JUMP_VAR_*
			 * also the JUMP_IF_NOT_TRUE's jump */
			const ExprEvalStep *call = &state->steps[i + 1];
			int			jumpdone = fused[i] == 'j' ? state->steps[i + 2].d.jump.jumpdone : -1;

			pseudo_step(s, override[i], jumpdone >= 0 && jumpdone <= n ? first[jumpdone] : -1,
						(uintptr_t) op->d.var.attnum,
						(uintptr_t) call->d.func.fcinfo_data->args[1].value, 0, 0);
			s->words[1] = (uintptr_t) call->resvalue;
			s->words[2] = (uintptr_t) call->resnull;
			s->self = (uintptr_t) call;
			continue;
		}
		if (fused[i] == 'w')
		{
			/* CP_VAR_VAR_*: the call's result, the two Vars' attnums */
			const ExprEvalStep *call = &state->steps[i + 2];

			pseudo_step(s, override[i], -1, (uintptr_t) op->d.var.attnum,
						(uintptr_t) state->steps[i + 1].d.var.attnum, 0, 0);
			s->words[1] = (uintptr_t) call->resvalue;
			s->words[2] = (uintptr_t) call->resnull;
			s->self = (uintptr_t) call;
			continue;
		}
		if (fused[i] == 'q')
		{
			/* CP_QUAL_VAR_*: the QUAL's result and jump, the Var's attnum, the constant */
			const ExprEvalStep *qual = &state->steps[i + 2];
			int			jumpdone = qual->d.qualexpr.jumpdone;

			pseudo_step(s, override[i],
						jumpdone >= 0 && jumpdone <= n ? first[jumpdone] : -1,
						(uintptr_t) op->d.var.attnum,
						(uintptr_t) state->steps[i + 1].d.func.fcinfo_data->args[1].value,
						tup_off[i], 0);
			s->words[1] = (uintptr_t) qual->resvalue;
			s->words[2] = (uintptr_t) qual->resnull;
			s->self = (uintptr_t) qual;
			continue;
		}
		/* CP_QUAL_<f>: the call's step, the QUAL's jump */
		jump = fused[i] == 'c' || fused[i] == 'L' ? state->steps[i + 1].d.qualexpr.jumpdone :
			fused[i] == 'n' ? state->steps[i + 1].d.jump.jumpdone :
			fused[i] == 'b' ? state->steps[i + 1].d.boolexpr.jumpdone : jump_target(op);
		s->stencil = override[i] >= 0 ? override[i] : stencil_of[opcode] - 1;
		s->jump = jump >= 0 && jump <= n ? first[jump] : -1;
		s->self = (uintptr_t) op;
		StaticAssertStmt(sizeof(ExprEvalStep) == sizeof(s->words),
						 "ExprEvalStep is not CP_PG_STEP_WORDS words");
		memcpy(s->words, op, sizeof(ExprEvalStep));
		if (arrays[i] != NULL)
			s->words[7] = (uintptr_t) arrays[i];	/* D4 of CP_SCALARARRAYOP_<f> */
		StaticAssertStmt(offsetof(ExprEvalStep, d.func.nargs) + sizeof(int) <=
						 7 * sizeof(uintptr_t), "d.func reaches D4");
		if (fused[i] == 'b')	/* D4 of CP_BOOL_<f>_*: the AND/OR's anynull */
			s->words[7] = (uintptr_t) state->steps[i + 1].d.boolexpr.anynull;
	}
	pfree(first);
	pfree(ndeform);
	pfree(skipped);
	pfree(fused);
	pfree(arrays);
	pfree(tup_off);
	/* count(*) alone (a scan's aggregate), or one comparison read from the tuple (a scan's
	 * `a = 42`): one C-ABI stencil, without the entry's call */
	alone = nsteps == 2 && steps[1].stencil == CP_PG_STENCIL_EEOP_DONE &&
		(steps[0].stencil == CP_PG_STENCIL_CP_AGG_COUNT_BYVAL ||
		 steps[0].stencil == CP_PG_STENCIL_CP_AGG_COUNT_STRICT_BYVAL ||
		 (alone_tup >= 0 && steps[0].stencil == override[alone_tup] && steps[0].jump == 1));
	if (alone)
	{
		steps[0].stencil = steps[0].stencil == CP_PG_STENCIL_CP_AGG_COUNT_BYVAL
			? CP_PG_STENCIL_CP_ALONE_AGG_COUNT_BYVAL
			: steps[0].stencil == CP_PG_STENCIL_CP_AGG_COUNT_STRICT_BYVAL
			? CP_PG_STENCIL_CP_ALONE_AGG_COUNT_STRICT_BYVAL
			: inlined_function(&state->steps[alone_tup + 1])->alone_qual_tup;
		steps[0].jump = -1;
		nsteps = 1;
	}
	pfree(override);
	err = cp_pg_emit(steps, nsteps, alone, cp_pg_symbols, &code);
	pfree(steps);
	if (err != CP_PG_OK)
	{
		fallback(-1, cp_pg_strerror(err));
		return false;
	}

	ctx = context_for(parent);
	if (ctx->ncodes == ctx->maxcodes)
	{
		int			grow = ctx->maxcodes ? ctx->maxcodes * 2 : 8;

		ctx->codes = ctx->codes
			? repalloc(ctx->codes, sizeof(CpPgCode *) * grow)
			: MemoryContextAlloc(TopMemoryContext, sizeof(CpPgCode *) * grow);
		ctx->maxcodes = grow;
	}
	ctx->codes[ctx->ncodes++] = code;

	state->evalfunc_private = cp_pg_code_entry(code);
	state->evalfunc = run_first;

	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_ACCUM_DIFF(ctx->base.instr.generation_counter, end, start);
	ctx->base.instr.created_functions++;
	stats.compiled++;
	stats.deforms += ndeforms;
	stats.inlined += ninlined;
	stats.fused += nfused;
	stats.direct += direct >= 0;
	stats.steps += n;
	stats.code_bytes += cp_pg_code_size(code);
	INSTR_TIME_SUBTRACT(end, start);
	stats.compile_ns += (int64) (INSTR_TIME_GET_DOUBLE(end) * 1e9);
	return true;
}

static void
cp_release_context(JitContext *context)
{
	CpPgContext *ctx = (CpPgContext *) context;

	for (int i = 0; i < ctx->ncodes; i++)
		cp_pg_code_free(ctx->codes[i]);
	if (ctx->codes)
		pfree(ctx->codes);
	ctx->codes = NULL;
	ctx->ncodes = ctx->maxcodes = 0;
}

static void
cp_reset_after_error(void)
{
	/* nothing: a context is released by its resource owner, and compiling allocates nothing
	 * that outlives an error (the arena's lock is never held across an ereport) */
}

/*
 * At backend exit: this backend's totals, one DEBUG1 line (the format copypatch.pgregress
 * parses). A before_shmem_exit callback rather than on_proc_exit: it runs while the backend is
 * still listed in pg_stat_activity, so a driver that waits for the backends to leave it finds
 * the line written.
 */
static void
log_totals(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	if (stats.compiled == 0 && stats.fallbacks == 0)
		return;
	elog(DEBUG1, "copypatch JIT: backend totals: compiled %lld, fallbacks %lld, steps %lld, "
		 "deforms %lld, code_bytes %lld, compile_ns %lld",
		 (long long) stats.compiled, (long long) stats.fallbacks, (long long) stats.steps,
		 (long long) stats.deforms, (long long) stats.code_bytes, (long long) stats.compile_ns);
}

void
_PG_jit_provider_init(JitProviderCallbacks *cb)
{
	/* once per backend: jit.c loads the provider once */
	before_shmem_exit(log_totals, (Datum) 0);
	cb->reset_after_error = cp_reset_after_error;
	cb->release_context = cp_release_context;
	cb->compile_expr = cp_compile_expr;
}

Datum
copypatch_jit_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[12];
	bool		nulls[12] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "copypatch_jit_stats must return a record");
	if (tupdesc->natts != lengthof(values))
		elog(ERROR, "copypatch_jit_stats returns %d columns, not %d", (int) lengthof(values),
			 tupdesc->natts);
	values[0] = Int64GetDatum(stats.compiled);
	values[1] = Int64GetDatum(stats.fallbacks);
	values[2] = Int64GetDatum(stats.steps);
	values[3] = Int64GetDatum(stats.code_bytes);
	values[4] = Int64GetDatum(stats.compile_ns);
	values[5] = CStringGetTextDatum(stats.last_opcode >= 0 && stats.last_opcode < EEOP_LAST
									? opcode_names[stats.last_opcode] : "");
	values[6] = CStringGetTextDatum(stats.last_reason);
	values[7] = Int32GetDatum(cp_pg_nstencils());
	values[8] = Int64GetDatum(stats.deforms);
	values[9] = Int64GetDatum(stats.inlined);
	values[10] = Int64GetDatum(stats.fused);
	values[11] = Int64GetDatum(stats.direct);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
