/*
 * cases.h: the body of every opcode in opcodes.def, written once.
 *
 * This file is included inside an engine with these macros defined:
 *   CASE(name)   start the body of opcode `name`
 *   NEXT()       continue with the next step
 *   JUMP(i)      continue with step i (each opcode jumps to at most one target)
 * and, optionally (the defaults are below),
 *   CALL_FN(op, fcinfo)  call the step's function, op->d.func.fn_addr (the JIT calls it directly)
 *   CP_ROW               the current row (default econtext->row)
 *   CP_SET_ROW(r)        make r the current row (econtext->row = r)
 *   CP_COLUMN(field)     the CpColumn of the step's operand `field` (a member of op->d naming
 *                        a column index): &econtext->columns[op->field]
 *   CP_QUAL_RESULT(pass) a fused QUAL's result written to the result (the JIT has a variant
 *                        that writes none, for where nothing reads it: docs/jit.md)
 *   CP_DEST_VALUE, CP_DEST_NULL, CP_ARG_VALUE(args, i), CP_ARG_NULL(args, i)
 *                        where a step's destination and an inlined call's arguments are
 *                        (cases_operands.h: slots, or the JIT's value registers)
 * The JIT's template keeps the row and the columns array in registers for the whole scan (chain
 * arguments of its stencils) and patches the column's byte offset in as an immediate; the
 * interpreters read them from econtext.
 * and these names in scope: `op` (the current ExprEvalStep *), `state` (ExprState *),
 * `econtext` (ExprContext *) and `isnull` (bool *, where EEOP_DONE puts the result's null flag).
 * A body never falls through to the next one, and finishes with NEXT(), JUMP() or `return`, so
 * that it can become a function of its own in the JIT's stencil template.
 *
 * The switch and computed-goto interpreters (interp.c) and the stencil template (jit/) define the
 * macros their own way: PostgreSQL's EEO_CASE/EEO_NEXT pattern from execExprInterp.c.
 * Work that is rare or large lives out of line in scan.c, called by every engine alike.
 */

#ifndef CALL_FN
#define CALL_FN(op, fcinfo) ((op)->d.func.fn_addr(fcinfo))
#endif
#ifndef CP_ROW
#define CP_ROW (econtext->row)
#endif
#ifndef CP_SET_ROW
#define CP_SET_ROW(r) (econtext->row = (r))
#endif
#ifndef CP_COLUMN
#define CP_COLUMN(field) (&econtext->columns[op->field])
#endif
#ifndef CP_QUAL_RESULT
#define CP_QUAL_RESULT(pass) (state->resvalue = BoolGetDatum(pass), state->resnull = false)
#endif
#ifndef CP_NEXTROW_RESET
#define CP_NEXTROW_RESET() (econtext->scan_nvalid = 0)	/* the next row: nothing deformed */
#endif
#ifndef CP_ROW_DONE
#define CP_ROW_DONE(row) ((void) (row))	/* the last row: CP_SET_ROW has written it */
#endif
#include "cases_operands.h"	/* CP_DEST_VALUE, CP_DEST_NULL, CP_ARG_VALUE, CP_ARG_NULL */

CASE(EEOP_DONE)
{
	*isnull = state->resnull;
	return state->resvalue;
}

CASE(EEOP_SCAN_FETCHSOME)
{
	if (econtext->scan_nvalid < op->d.fetch.last_var)
		cp_slot_getsomeattrs(econtext, op->d.fetch.last_var);
	NEXT();
}

CASE(EEOP_SCAN_VAR)
{
	int32_t		attnum = op->d.var.attnum;

	*op->resvalue = econtext->scan_values[attnum];
	*op->resnull = econtext->scan_isnull[attnum];
	NEXT();
}

CASE(EEOP_CONST)
{
	CP_DEST_NULL = op->d.constval.isnull;
	CP_DEST_VALUE = op->d.constval.value;
	NEXT();
}

CASE(EEOP_FUNCEXPR)
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo;
	Datum		d;

	fcinfo->isnull = false;
	d = CALL_FN(op, fcinfo);
	CP_DEST_VALUE = d;
	CP_DEST_NULL = fcinfo->isnull;
	NEXT();
}

CASE(EEOP_FUNCEXPR_STRICT)
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo;
	NullableDatum *args = fcinfo->args;
	int32_t		nargs = op->d.func.nargs;
	Datum		d;

	/* strict function, so check for NULL args */
	for (int32_t argno = 0; argno < nargs; argno++)
	{
		if (args[argno].isnull)
		{
			CP_DEST_NULL = true;
			NEXT();
		}
	}
	fcinfo->isnull = false;
	d = CALL_FN(op, fcinfo);
	CP_DEST_VALUE = d;
	CP_DEST_NULL = fcinfo->isnull;
	NEXT();
}

/*
 * BOOL_AND_STEP_FIRST and _STEP differ only in resetting anynull: PostgreSQL lets the first fall
 * through into the second; bodies here cannot fall through, so both use this one test.
 * Returns whether the AND is decided (FALSE).
 */
#ifndef CP_BOOL_STEP_HELPERS
#define CP_BOOL_STEP_HELPERS
#define CP_BOOL_STEP(op, decided_when) \
	(CP_DEST_NULL ? (*(op)->d.boolexpr.anynull = true, false) \
	 : DatumGetBool(CP_DEST_VALUE) == (decided_when))
#endif

CASE(EEOP_BOOL_AND_STEP_FIRST)
{
	*op->d.boolexpr.anynull = false;
	if (CP_BOOL_STEP(op, false))
		JUMP(op->d.boolexpr.jumpdone);	/* result is already FALSE */
	NEXT();
}

CASE(EEOP_BOOL_AND_STEP)
{
	if (CP_BOOL_STEP(op, false))
		JUMP(op->d.boolexpr.jumpdone);
	NEXT();
}

CASE(EEOP_BOOL_AND_STEP_LAST)
{
	if (CP_BOOL_STEP(op, false))
		JUMP(op->d.boolexpr.jumpdone);
	/* all inputs TRUE or NULL: the result is NULL if any was NULL, else TRUE (already set) */
	if (*op->d.boolexpr.anynull)
	{
		CP_DEST_VALUE = (Datum) 0;
		CP_DEST_NULL = true;
	}
	NEXT();
}

CASE(EEOP_BOOL_OR_STEP_FIRST)
{
	*op->d.boolexpr.anynull = false;
	if (CP_BOOL_STEP(op, true))
		JUMP(op->d.boolexpr.jumpdone);	/* result is already TRUE */
	NEXT();
}

CASE(EEOP_BOOL_OR_STEP)
{
	if (CP_BOOL_STEP(op, true))
		JUMP(op->d.boolexpr.jumpdone);
	NEXT();
}

CASE(EEOP_BOOL_OR_STEP_LAST)
{
	if (CP_BOOL_STEP(op, true))
		JUMP(op->d.boolexpr.jumpdone);
	if (*op->d.boolexpr.anynull)
	{
		CP_DEST_VALUE = (Datum) 0;
		CP_DEST_NULL = true;
	}
	NEXT();
}

#include "cases_common.h"

CASE(EEOP_CASE_TESTVAL)
{
	*op->resvalue = *op->d.casetest.value;
	*op->resnull = *op->d.casetest.isnull;
	NEXT();
}

CASE(EEOP_DISTINCT)
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo;

	/* NULL is not distinct from NULL, and distinct from any value */
	if (fcinfo->args[0].isnull || fcinfo->args[1].isnull)
	{
		*op->resvalue = BoolGetDatum(fcinfo->args[0].isnull != fcinfo->args[1].isnull);
		*op->resnull = false;
	}
	else
	{
		Datum		eq;

		fcinfo->isnull = false;
		eq = CALL_FN(op, fcinfo);
		/* the negation of "=" */
		*op->resvalue = BoolGetDatum(!DatumGetBool(eq));
		*op->resnull = fcinfo->isnull;
	}
	NEXT();
}

CASE(EEOP_NULLIF)
{
	FunctionCallInfo fcinfo = op->d.func.fcinfo;

	/* if either argument is NULL they can't be equal */
	if (!fcinfo->args[0].isnull && !fcinfo->args[1].isnull)
	{
		Datum		result;

		fcinfo->isnull = false;
		result = CALL_FN(op, fcinfo);
		/* if the arguments are equal return null */
		if (!fcinfo->isnull && DatumGetBool(result))
		{
			*op->resvalue = (Datum) 0;
			*op->resnull = true;
			NEXT();
		}
	}
	/* arguments aren't equal, so return the first one */
	*op->resvalue = fcinfo->args[0].value;
	*op->resnull = fcinfo->args[0].isnull;
	NEXT();
}

CASE(EEOP_MINMAX)
{
	/* PostgreSQL's ExecEvalMinMax: NULL inputs are ignored; all NULL gives NULL */
	const Datum *values = op->d.minmax.values;
	const bool *nulls = op->d.minmax.nulls;
	LOCAL_FCINFO(fcinfo, 2);

	fcinfo->nargs = 2;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].isnull = false;
	*op->resnull = true;
	for (int32_t off = 0; off < op->d.minmax.nelems; off++)
	{
		int32_t		cmpresult;

		if (nulls[off])
			continue;
		if (*op->resnull)
		{
			/* the first non-NULL input */
			*op->resvalue = values[off];
			*op->resnull = false;
			continue;
		}
		fcinfo->args[0].value = *op->resvalue;
		fcinfo->args[1].value = values[off];
		fcinfo->isnull = false;
		cmpresult = DatumGetINT4(CALL_FN(op, fcinfo));
		if (fcinfo->isnull)
			continue;
		if (op->d.minmax.op == CP_MINMAX_LEAST ? cmpresult > 0 : cmpresult < 0)
			*op->resvalue = values[off];
	}
	NEXT();
}

CASE(EEOP_ARRAYEXPR)
{
	/*
	 * PostgreSQL's ExecEvalArrayExpr for a one-dimensional ARRAY[...]: the steps before this one
	 * evaluated every element, in order, into elemvalues/elemnulls; the array over them is never
	 * NULL, its elements may be
	 */
	CpArray    *arr = op->d.arrayexpr.array;
	const bool *nulls = op->d.arrayexpr.elemnulls;
	bool		has_nulls = false;

	for (int32_t i = 0; i < op->d.arrayexpr.nelems; i++)
		has_nulls |= nulls[i];
	arr->nitems = op->d.arrayexpr.nelems;
	arr->has_nulls = has_nulls;
	arr->values = op->d.arrayexpr.elemvalues;
	arr->nulls = nulls;
	*op->resvalue = (Datum) (uintptr_t) arr;
	*op->resnull = false;
	NEXT();
}

CASE(EEOP_SCALARARRAYOP)
{
	/* too large to inline */
	ExecEvalScalarArrayOp(state, op);
	NEXT();
}

/* ---- optimised variants (src/copypatch/passes.py) ---- */

/*
 * EEOP_DONE with cp_scan's row loop fused in (the row_loop pass): the row's result goes straight
 * into the scan's output, and the program starts again at step 0 for the next row, so a scan is
 * one call of the engine instead of one per row. econtext->row is advanced only here, so an
 * error still reports its row.
 */
/*
 * The rest of a row's end in filter mode, once its result is known: the JIT's template also
 * instantiates it with the constant TRUE and FALSE (its row exits, docs/jit.md).
 */
#ifndef CP_NEXTROW_FILTER
#define CP_NEXTROW_FILTER(result) \
{ \
	int64_t		row = CP_ROW; \
	\
	((bool *) econtext->out)[row] = (result); \
	CP_SET_ROW(++row); \
	if (likely(row < econtext->nrows)) \
	{ \
		CP_NEXTROW_RESET(); \
		JUMP(op->d.jump.jumpdone); \
	} \
	CP_ROW_DONE(row); \
	*isnull = false; \
	return (Datum) 0; \
}
#endif
CASE(EEOP_DONE_NEXTROW_FILTER) CP_NEXTROW_FILTER(!state->resnull && DatumGetBool(state->resvalue))

CASE(EEOP_DONE_NEXTROW_EVALUATE)
{
	int64_t		row = CP_ROW;

	econtext->out_nulls[row] = state->resnull;
	cp_store_result(econtext->out, row, (CpType) econtext->result_type,
					state->resnull ? (Datum) 0 : state->resvalue);
	CP_SET_ROW(++row);
	if (likely(row < econtext->nrows))
	{
		econtext->scan_nvalid = 0;
		JUMP(op->d.jump.jumpdone);
	}
	*isnull = false;
	return (Datum) 0;
}

/* one body for the strict calls where only argument `argno` can be NULL */
#define CP_FUNCEXPR_STRICT_ONE(argno) \
{ \
	FunctionCallInfo fcinfo = op->d.func.fcinfo; \
	\
	if (fcinfo->args[argno].isnull) \
	{ \
		CP_DEST_NULL = true; \
		NEXT(); \
	} \
	fcinfo->isnull = false; \
	CP_DEST_VALUE = CALL_FN(op, fcinfo); \
	CP_DEST_NULL = fcinfo->isnull; \
	NEXT(); \
}
CASE(EEOP_FUNCEXPR_STRICT_ARG0) CP_FUNCEXPR_STRICT_ONE(0)
CASE(EEOP_FUNCEXPR_STRICT_ARG1) CP_FUNCEXPR_STRICT_ONE(1)

CASE(EEOP_CONST_NOTNULL)
{
	CP_DEST_NULL = false;
	CP_DEST_VALUE = op->d.constval.value;
	NEXT();
}

CASE(EEOP_CONST_NULL)
{
	CP_DEST_NULL = true;
	NEXT();
}

/*
 * One body for every EEOP_SCAN_COLUMN_<T>[_NOTNULL] (types.def): the value of column attnum at
 * the current row, loaded as cp_slot_getsomeattrs would, with no slot in between.
 */
#define CP_SCAN_COLUMN(T, check_nulls) \
{ \
	const CpColumn *col = CP_COLUMN(d.column.attnum); \
	int64_t		row = CP_ROW; \
	\
	CP_DEST_VALUE = cp_load_##T(col->data + row * col->stride); \
	CP_DEST_NULL = (check_nulls) && col->nulls != NULL && col->nulls[row * col->null_stride]; \
	NEXT(); \
}
#define TYPE(NAME, ...) \
CASE(EEOP_SCAN_COLUMN_##NAME) CP_SCAN_COLUMN(NAME, true) \
CASE(EEOP_SCAN_COLUMN_##NAME##_NOTNULL) CP_SCAN_COLUMN(NAME, false)
#include "types.def"
#undef TYPE

/*
 * One body for every inlined built-in: the arguments come from the call info's slots as for
 * FUNCEXPR_STRICT, but the function is NAME_impl, inlined, with no call through a pointer.
 */
#define INLINE(f) \
CASE(EEOP_INLINE_##f) \
{ \
	NullableDatum *args = op->d.func.fcinfo->args; \
	\
	if (CP_ARG_NULL(args, 0) | CP_ARG_NULL(args, 1)) \
	{ \
		CP_DEST_NULL = true; \
		NEXT(); \
	} \
	CP_DEST_VALUE = f##_impl(CP_ARG_VALUE(args, 0), CP_ARG_VALUE(args, 1)); \
	CP_DEST_NULL = false; \
	NEXT(); \
} \
CASE(EEOP_INLINE_##f##_NONULL) \
{ \
	NullableDatum *args = op->d.func.fcinfo->args; \
	\
	CP_DEST_VALUE = f##_impl(CP_ARG_VALUE(args, 0), CP_ARG_VALUE(args, 1)); \
	CP_DEST_NULL = false; \
	NEXT(); \
}
#define INLINE_CMP(f) INLINE(f)
#include "inline.def"
#undef INLINE_CMP
#undef INLINE

/*
 * One body for every fused compare-and-branch EEOP_QUAL_[ANY_]<f>[_NOTNULL] (an INLINE_CMP of
 * inline.def): column attnum of the current row <f> the constant (ANY: some element of the
 * constant array), FALSE for a NULL, written to the result (its destination, always), then a
 * jump unless TRUE. The value is loaded as <f>'s first argument type
 * (<f>_load0), which the verifier has checked is the column's.
 */
#define CP_QUAL_CMP(f, check_nulls, any) \
{ \
	const CpColumn *col = CP_COLUMN(d.colcmp.attnum); \
	int64_t		row = CP_ROW; \
	bool		pass = false; \
	\
	if (!((check_nulls) && col->nulls != NULL && col->nulls[row * col->null_stride])) \
	{ \
		Datum		x = f##_load0(col->data + row * col->stride); \
		\
		if (!(any)) \
			pass = DatumGetBool(f##_impl(x, op->d.colcmp.value)); \
		else \
		{ \
			/* an IN list: some non-NULL element compares TRUE */ \
			const CpArray *arr = (const CpArray *) (uintptr_t) op->d.colcmp.value; \
			\
			for (int32_t i = 0; i < arr->nitems; i++) \
				if (!(arr->has_nulls && arr->nulls[i]) && \
					DatumGetBool(f##_impl(x, arr->values[i]))) \
				{ \
					pass = true; \
					break; \
				} \
		} \
	} \
	/* the destination is the result (verified): written through state, with no address */ \
	CP_QUAL_RESULT(pass); \
	if (!pass) \
		JUMP(op->d.colcmp.jumpdone); \
	NEXT(); \
}

/*
 * One body for every EEOP_SCALARARRAYOP_<f>: ExecEvalScalarArrayOp (scan.c) with the comparison
 * inlined: an empty array gives FALSE for ANY and TRUE for ALL, a NULL scalar NULL, a deciding
 * element (TRUE for ANY, FALSE for ALL) the answer, and otherwise a NULL element makes it NULL.
 */
#define CP_SCALARARRAYOP_INLINE(f) \
{ \
	const CpArray *arr = (const CpArray *) (uintptr_t) *op->resvalue; \
	const NullableDatum *args = op->d.scalararrayop.fcinfo->args; \
	bool		useOr = op->d.scalararrayop.useOr; \
	bool		anynull = false; \
	\
	if (arr->nitems > 0 && args[0].isnull) \
	{ \
		*op->resvalue = (Datum) 0; \
		*op->resnull = true; \
		NEXT(); \
	} \
	for (int32_t i = 0; i < arr->nitems; i++) \
	{ \
		/* read as a byte: a flag of an element another step poisons (check.c) stays a flag */ \
		if (arr->has_nulls && ((const uint8_t *) arr->nulls)[i] != 0) \
		{ \
			anynull = true; \
			continue; \
		} \
		if (DatumGetBool(f##_impl(args[0].value, arr->values[i])) == useOr) \
		{ \
			*op->resvalue = BoolGetDatum(useOr); \
			*op->resnull = false; \
			NEXT(); \
		} \
	} \
	*op->resvalue = BoolGetDatum(!useOr); \
	*op->resnull = anynull; \
	NEXT(); \
}
#define INLINE(f)
#define INLINE_CMP(f) \
CASE(EEOP_QUAL_##f) CP_QUAL_CMP(f, true, false) \
CASE(EEOP_QUAL_##f##_NOTNULL) CP_QUAL_CMP(f, false, false) \
CASE(EEOP_QUAL_ANY_##f) CP_QUAL_CMP(f, true, true) \
CASE(EEOP_QUAL_ANY_##f##_NOTNULL) CP_QUAL_CMP(f, false, true) \
CASE(EEOP_SCALARARRAYOP_##f) CP_SCALARARRAYOP_INLINE(f)
#include "inline.def"
#undef INLINE_CMP
#undef INLINE

/* ---- block at a time (the block_scan pass) ---- */

/*
 * One body for every EEOP_BLOCK_QUAL_[ANY_]<f>[_NOTNULL]: the block's test, a function of
 * block.h (out of line in the interpreters, whose dispatch loop its loops and buffer would
 * otherwise crowd: the row-at-a-time opcodes' code got worse with them inline; inlined into the
 * JIT's stencil), then a jump to the block end if no row of the block is left.
 */
#define CP_BLOCK_QUAL_CMP(f, suffix) \
{ \
	if (!cp_block_qual_##f##suffix(CP_COLUMN(d.colcmp.attnum), CP_ROW, econtext, \
								   op->d.colcmp.value)) \
		JUMP(op->d.colcmp.jumpdone); \
	NEXT(); \
}
#define INLINE(f)
#define INLINE_CMP(f) \
CASE(EEOP_BLOCK_QUAL_##f) CP_BLOCK_QUAL_CMP(f, ) \
CASE(EEOP_BLOCK_QUAL_##f##_NOTNULL) CP_BLOCK_QUAL_CMP(f, _NOTNULL) \
CASE(EEOP_BLOCK_QUAL_ANY_##f) CP_BLOCK_QUAL_CMP(f, _ANY) \
CASE(EEOP_BLOCK_QUAL_ANY_##f##_NOTNULL) CP_BLOCK_QUAL_CMP(f, _ANY_NOTNULL)
#include "inline.def"
#undef INLINE_CMP
#undef INLINE

/*
 * The block end: the next block from step 0, or, at nrows (the end of the scan's chunk), back to
 * the scan. econtext->row is the block's first row while its steps run.
 */
CASE(EEOP_BLOCK_NEXT_FILTER)
{
	int64_t		row = CP_ROW + CP_BLOCK_ROWS;

	if (likely(row < econtext->nrows))
	{
		CP_SET_ROW(row);
		JUMP(op->d.jump.jumpdone);
	}
	CP_SET_ROW(econtext->nrows);
	*isnull = false;
	return (Datum) 0;
}
