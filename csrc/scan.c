/*
 * scan.c: the row loop (PostgreSQL's ExecScan + ExecQual), errors, and the out-of-line parts of
 * opcodes that every engine calls.
 *
 * Errors work like PostgreSQL's ereport(ERROR): cp_error() longjmps back to the cp_scan (or
 * cp_call_function) that is running on this thread, which reports the error code and the row
 * being evaluated. The jump buffer is thread-local, so scans on different threads (the GIL is
 * released while they run) do not disturb each other. Nothing that needs cleaning up is live in
 * the frames an error unwinds: the engines allocate nothing.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copypatch.h"

static _Thread_local jmp_buf *cp_error_jmp;
static _Thread_local CpErrorCode cp_error_code;

void
cp_error(CpErrorCode code)
{
	cp_error_code = code;
	/* every caller of an engine sets cp_error_jmp first; there is no path without one */
	longjmp(*cp_error_jmp, 1);
}

const char *const cp_error_sqlstates[] = {
#define ERR(name, sqlstate, message) sqlstate,
#include "errors.def"
#undef ERR
};
const char *const cp_error_messages[] = {
#define ERR(name, sqlstate, message) message,
#include "errors.def"
#undef ERR
};
const int	cp_num_errors = CP_ERR_LAST;

const CpTypeInfo cp_types[] = {
#define TYPE(NAME, ctype, datum, column, oid, category, sql_name, dtype) \
	{#NAME, sql_name, dtype, #datum, #column, oid, (int32_t) sizeof(ctype), category},
#include "types.def"
#undef TYPE
};
const int	cp_num_types = CP_NUM_TYPES;
_Static_assert(sizeof(cp_types) / sizeof(cp_types[0]) == CP_NUM_TYPES, "cp_types out of whack");

/*
 * slot_getsomeattrs: read columns [scan_nvalid, last_var) of the current row into the scan slot,
 * the Datum conventions of copypatch.h. PostgreSQL deforms a heap tuple here; we read numpy
 * columns, but keep the step so that programs have PostgreSQL's shape.
 */
void
cp_slot_getsomeattrs(ExprContext *econtext, int32_t last_var)
{
	int64_t		row = econtext->row;

	for (int32_t i = econtext->scan_nvalid; i < last_var; i++)
	{
		const CpColumn *col = &econtext->columns[i];
		const char *p = col->data + row * col->stride;
		Datum		d = 0;

		switch ((CpType) col->type)
		{
#define TYPE(NAME, ...) \
			case CP_##NAME: \
				d = cp_load_##NAME(p); \
				break;
#include "types.def"
#undef TYPE
		}
		econtext->scan_values[i] = d;
		econtext->scan_isnull[i] = col->nulls != NULL && col->nulls[row * col->null_stride] != 0;
	}
	econtext->scan_nvalid = last_var;
}

/*
 * scalar op ANY/ALL (array), PostgreSQL's ExecEvalScalarArrayOp for a strict operator: the scalar
 * is in fcinfo->args[0], the array in *op->resvalue; the result replaces the array.
 */
void
ExecEvalScalarArrayOp(ExprState *state, ExprEvalStep *op)
{
	FunctionCallInfo fcinfo = op->d.scalararrayop.fcinfo;
	bool		useOr = op->d.scalararrayop.useOr;
	const CpArray *arr = (const CpArray *) (uintptr_t) *op->resvalue;
	bool		resultnull = false;
	Datum		result;

	(void) state;
	/* an empty array gives FALSE for ANY and TRUE for ALL, even for a NULL scalar */
	if (arr->nitems <= 0)
	{
		*op->resvalue = BoolGetDatum(!useOr);
		*op->resnull = false;
		return;
	}
	/* a strict operator with a NULL scalar gives NULL */
	if (fcinfo->args[0].isnull)
	{
		*op->resvalue = (Datum) 0;
		*op->resnull = true;
		return;
	}
	result = BoolGetDatum(!useOr);
	for (int32_t i = 0; i < arr->nitems; i++)
	{
		Datum		thisresult;

		if (arr->has_nulls && arr->nulls[i])
		{
			resultnull = true;
			continue;
		}
		fcinfo->args[1].value = arr->values[i];
		fcinfo->args[1].isnull = false;
		fcinfo->isnull = false;
		thisresult = op->d.scalararrayop.fn_addr(fcinfo);
		if (fcinfo->isnull)
			resultnull = true;
		else if (useOr ? DatumGetBool(thisresult) : !DatumGetBool(thisresult))
		{
			result = thisresult;
			resultnull = false;
			break;				/* needn't look at any more elements */
		}
	}
	*op->resvalue = result;
	*op->resnull = resultnull;
}

#define CP_MAX_COLUMNS 1664		/* PostgreSQL's MaxTupleAttributeNumber */

/*
 * Interrupts. PostgreSQL's executor loops call CHECK_FOR_INTERRUPTS(); ours run with the GIL
 * released, where Python's signal handlers (KeyboardInterrupt, a SIGALRM timeout...) cannot run:
 * they run in the main thread, between bytecodes. So a scan given a time slice returns to its
 * caller once the slice has run out, between two rows, and the caller (program.py) calls it again
 * for the rest; Python runs any pending handler in between. Nothing is added per row: the rows
 * are scanned in chunks and the clock is read between chunks. A chunk starts small, so that even
 * rows that take milliseconds (a long IN list) come back quickly, and doubles while it takes far
 * less than the slice. Chunks work the same way for every engine, row_loop programs included:
 * those loop until econtext->nrows, which is the end of the chunk, and each chunk enters them at
 * step 0, as the next row would (the verifier makes EEOP_DONE_NEXTROW_* jump to step 0).
 */
#define CP_SCAN_CHUNK_FIRST 16
#define CP_SCAN_CHUNK_MAX 65536

static int64_t
cp_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Rows [first, end) of the scan: ExecScan's loop, or one entry into a row_loop program. */
static void
cp_scan_rows(ExprState *state, ExprContext *econtext, int32_t mode, int64_t first, int64_t end)
{
	ExprStateEvalFunc evalfunc = state->evalfunc;

	if (state->row_loop != 0)
	{
		/* the program's EEOP_DONE_NEXTROW_* stores each row's result and goes round itself */
		bool		resnull;

		econtext->row = first;
		econtext->nrows = end;
		econtext->scan_nvalid = 0;
		/*
		 * a filter's mask starts TRUE, the AND's identity: a block program (the block_scan
		 * pass) ANDs each conjunct into it, block by block (EEOP_DONE_NEXTROW_FILTER
		 * overwrites each row; a goto program's opcodes are labels by now, so no test for
		 * which of the two it is)
		 */
		if (mode == CP_SCAN_FILTER)
			memset((uint8_t *) econtext->out + first, 1, (size_t) (end - first));
		(void) evalfunc(state, econtext, &resnull);
	}
	else if (mode == CP_SCAN_FILTER)
	{
		uint8_t    *mask = econtext->out;

		for (int64_t row = first; row < end; row++)
		{
			bool		resnull;
			Datum		d;

			econtext->row = row;
			econtext->scan_nvalid = 0;
			d = evalfunc(state, econtext, &resnull);
			mask[row] = !resnull && DatumGetBool(d);
		}
	}
	else
	{
		for (int64_t row = first; row < end; row++)
		{
			bool		resnull;
			Datum		d;

			econtext->row = row;
			econtext->scan_nvalid = 0;
			d = evalfunc(state, econtext, &resnull);
			econtext->out_nulls[row] = resnull;
			cp_store_result(econtext->out, row, (CpType) econtext->result_type, resnull ? 0 : d);
		}
	}
}

/*
 * Rows [*next_row, nrows) in chunks; with a time slice, stop between two chunks once it has run
 * out. *next_row: the first row not scanned.
 */
static void
cp_scan_chunks(ExprState *state, ExprContext *econtext, int32_t mode, int64_t *next_row,
			   int64_t nrows, int64_t slice_ns)
{
	int64_t		row = *next_row;
	int64_t		chunk = slice_ns > 0 ? CP_SCAN_CHUNK_FIRST : nrows - row;
	int64_t		start_ns = slice_ns > 0 ? cp_monotonic_ns() : 0;
	int64_t		chunk_ns = start_ns;	/* when the current chunk started */

	while (row < nrows)
	{
		int64_t		end = chunk < nrows - row ? row + chunk : nrows;

		cp_scan_rows(state, econtext, mode, row, end);
		row = end;
		if (slice_ns > 0 && row < nrows)
		{
			int64_t		now = cp_monotonic_ns();

			if (now - start_ns >= slice_ns)
				break;
			if (chunk < CP_SCAN_CHUNK_MAX && now - chunk_ns < slice_ns / 16)
				chunk *= 2;
			chunk_ns = now;
		}
	}
	*next_row = row;
}

int
cp_scan(ExprState *state, const CpColumn *columns, int32_t ncolumns, int64_t nrows,
		int32_t mode, int32_t result_type, void *out, bool *out_nulls, int64_t *next_row,
		int64_t slice_ns, CpErrorInfo *error)
{
	Datum		values[CP_MAX_COLUMNS];
	bool		nulls[CP_MAX_COLUMNS];
	ExprContext econtext;
	jmp_buf		jb;
	jmp_buf    *volatile saved_jmp = cp_error_jmp;

	if (ncolumns < 0 || ncolumns > CP_MAX_COLUMNS)
		return -1;
	if (state->row_loop != 0 && state->row_loop != 1 + mode)
		return -2;
	if (*next_row < 0 || *next_row > nrows)
		return -3;
	econtext.scan_values = values;
	econtext.scan_isnull = nulls;
	econtext.scan_nvalid = 0;
	econtext.ncolumns = ncolumns;
	econtext.columns = columns;
	econtext.row = *next_row;
	econtext.nrows = nrows;
	econtext.out = out;
	econtext.out_nulls = out_nulls;
	econtext.result_type = result_type;

	if (setjmp(jb) != 0)
	{
		cp_error_jmp = saved_jmp;
		error->code = cp_error_code;
		error->row = econtext.row;
		return 1;
	}
	cp_error_jmp = &jb;
	cp_scan_chunks(state, &econtext, mode, next_row, nrows, slice_ns);
	cp_error_jmp = saved_jmp;
	return *next_row < nrows ? CP_SCAN_PAUSED : 0;
}

int
cp_call_function(PGFunction fn, FunctionCallInfo fcinfo, Datum *result, CpErrorInfo *error)
{
	jmp_buf		jb;
	jmp_buf    *volatile saved_jmp = cp_error_jmp;

	if (setjmp(jb) != 0)
	{
		cp_error_jmp = saved_jmp;
		error->code = cp_error_code;
		error->row = -1;
		return 1;
	}
	cp_error_jmp = &jb;
	fcinfo->isnull = false;
	*result = fn(fcinfo);
	cp_error_jmp = saved_jmp;
	return 0;
}

float
cp_strtof(const char *s, int *erange)
{
	float		f;

	errno = 0;
	f = strtof(s, NULL);
	*erange = errno == ERANGE;
	return f;
}

double
cp_strtod(const char *s, int *erange)
{
	double		f;

	errno = 0;
	f = strtod(s, NULL);
	*erange = errno == ERANGE;
	return f;
}
