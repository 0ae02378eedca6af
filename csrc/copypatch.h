/*
 * copypatch.h: the C core's internal header.
 *
 * api.h declares the interface (and is what cffi sees); this file adds what only C needs: the
 * type, opcode and error enums expanded from their .def lists, Datum conversions, and the error
 * hook.
 */
#ifndef COPYPATCH_H
#define COPYPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* the boolean steps: they read a boolean from their destination and leave one there */
#define CP_OPF_BOOL_IN_OUT (CP_OPF_BOOL_IN | CP_OPF_BOOL_OUT)

/*
 * opcodes.def's fourth column: what a step does to the slots of one role, one byte per role
 * (the read in bits 0-2, the value's write in bits 3-4, the NULL flag's in bits 5-6).
 */
#define CP_EFF(role, read, value, null) \
	((uint64_t) (CP_READ_##read | CP_WRITE_##value << 3 | CP_WRITE_##null << 5) \
	 << (8 * CP_ROLE_##role))
#define CP_EFF_ROLE(effects, role) ((uint8_t) ((uint64_t) (effects) >> (8 * (role))))
#define CP_EFF_READ(byte)	((byte) & 7)
#define CP_EFF_VALUE(byte)	(((byte) >> 3) & 3)
#define CP_EFF_NULL(byte)	(((byte) >> 5) & 3)
/* the usual ones: a value and its flag, always; a strict result (the value unless NULL) */
#define CP_EFF_WRITES_DEST CP_EFF(DEST, NONE, MUST, MUST)
#define CP_EFF_STRICT_DEST CP_EFF(DEST, NONE, IFNN, MUST)

typedef enum ExprEvalOp
{
#define OP(name, kind, flags, effects) name,
#include "opcodes.def"
#undef OP
	EEOP_LAST
} ExprEvalOp;

typedef enum CpErrorCode
{
#define ERR(name, sqlstate, message) name,
#include "errors.def"
#undef ERR
	CP_ERR_LAST
} CpErrorCode;

/*
 * Raise an evaluation error: PostgreSQL's ereport(ERROR). Control goes back to the cp_scan (or
 * cp_call_function) running on this thread, which reports the error and the current row.
 */
__attribute__((noreturn, cold)) void cp_error(CpErrorCode code);

/* PostgreSQL keeps ExprEvalStep at 64 bytes or less for cache efficiency; so do we. */
_Static_assert(sizeof(ExprEvalStep) <= 64, "ExprEvalStep grew beyond 64 bytes");
_Static_assert(offsetof(ExprEvalStep, d.minmax.fn_addr) == offsetof(ExprEvalStep, d.func.fn_addr),
			   "CALL_FN finds EEOP_MINMAX's comparison function where it finds a call's");
_Static_assert(sizeof(((ExprEvalStep *) 0)->d) == sizeof(((ExprEvalStep *) 0)->d.words),
			   "an ExprEvalStep operand is not covered by d.words");

/*
 * Where each operand kind keeps its jump target, relative to d.words[0]; -1 for a kind without
 * one. A new member of ExprEvalStep.d gets a line here (the check below will not compile
 * without it).
 */
#define CP_JUMPDONE_AT(member) \
	((int) offsetof(ExprEvalStep, d.member.jumpdone) - (int) offsetof(ExprEvalStep, d.words))
#define CP_JUMPDONE_none		(-1)
#define CP_JUMPDONE_fetch		(-1)
#define CP_JUMPDONE_var			(-1)
#define CP_JUMPDONE_column		(-1)
#define CP_JUMPDONE_constval	(-1)
#define CP_JUMPDONE_func		(-1)
#define CP_JUMPDONE_scalararrayop	(-1)
#define CP_JUMPDONE_boolexpr	CP_JUMPDONE_AT(boolexpr)
#define CP_JUMPDONE_qualexpr	CP_JUMPDONE_AT(qualexpr)
#define CP_JUMPDONE_jump		CP_JUMPDONE_AT(jump)
#define CP_JUMPDONE_minmax		(-1)
#define CP_JUMPDONE_casetest	(-1)
#define CP_JUMPDONE_arrayexpr	(-1)
#define CP_JUMPDONE_colcmp		CP_JUMPDONE_AT(colcmp)

/*
 * The JIT reads every jump target from d.words[0] (runtime.c's jump_target): an opcode flagged
 * CP_OPF_JUMPS must have operands whose jump target sits there, and an opcode whose operands
 * have a jump target must be flagged, or the JIT would not patch its jump.
 */
#define OP(name, kind, flags, effects) \
	_Static_assert(((flags) & CP_OPF_JUMPS) ? CP_JUMPDONE_##kind == 0 : CP_JUMPDONE_##kind < 0, \
				   #name ": its CP_OPF_JUMPS flag and its operands' jump target disagree, or the " \
				   "target is not in d.words[0], where the JIT reads it"); \
	_Static_assert((((flags) & CP_OPF_NO_DEST) == 0) == (CP_EFF_ROLE(effects, CP_ROLE_DEST) != 0), \
				   #name ": CP_OPF_NO_DEST, or its effects on its destination, are missing"); \
	_Static_assert(((flags) & CP_OPF_ENDS) ? CP_EFF_ROLE(effects, CP_ROLE_RESULT) != 0 \
				   : CP_EFF_ROLE(effects, CP_ROLE_RESULT) == 0, \
				   #name ": only the row's end reads the result as such");
#include "opcodes.def"
#undef OP

/*
 * The SQL types (types.def): their CpType codes, C types cp_<T>, Datum conversions
 * DatumGet<T>/<T>GetDatum, and column accessors cp_load_<T>/cp_store_<T>. The T token names a
 * type in the .def lists.
 */
typedef enum CpType
{
#define TYPE(NAME, ...) CP_##NAME,
#include "types.def"
#undef TYPE
} CpType;

/* the number of types; not a CpType member, so that a switch over CpType needs no case for it */
enum
{
	CP_NUM_TYPES = 0
#define TYPE(NAME, ...) + 1
#include "types.def"
#undef TYPE
};

/*
 * Datum conventions, PostgreSQL's (postgres.h), as the bodies of DatumGet<T> and <T>GetDatum.
 * INT: sign-extended (Int16GetDatum ... Int64GetDatum). BOOL: 0 or 1. FLOAT: the value's bit
 * pattern in the low bits, the rest zero (Float4GetDatum, Float8GetDatum): copied through the
 * unsigned integer as wide as the float, so the bytes land in the low bits on any byte order.
 */
#define CP_DATUM_GET_INT(ctype, d) { return (ctype) (d); }
#define CP_GET_DATUM_INT(ctype, x) { return (Datum) (int64_t) (x); }
#define CP_DATUM_GET_BOOL(ctype, d) { return (d) != 0; }
#define CP_GET_DATUM_BOOL(ctype, x) { return (x) ? 1 : 0; }
#define CP_FLOAT_BITS(ctype) \
	__typeof__(_Generic((ctype) 0, float: (uint32_t) 0, double: (uint64_t) 0))
#define CP_DATUM_GET_FLOAT(ctype, d) \
	{ \
		CP_FLOAT_BITS(ctype) u = (CP_FLOAT_BITS(ctype)) (d); \
		ctype		f; \
		\
		memcpy(&f, &u, sizeof(f)); \
		return f; \
	}
#define CP_GET_DATUM_FLOAT(ctype, x) \
	{ \
		CP_FLOAT_BITS(ctype) u; \
		\
		_Static_assert(sizeof(u) == sizeof(x), "a float's bits fill its unsigned integer"); \
		memcpy(&u, &(x), sizeof(u)); \
		return (Datum) u; \
	}

/*
 * Column conventions, as the bodies of cp_load_<T> (the Datum of the value at p) and cp_store_<T>
 * (row `row` of an output column of T). PLAIN: the numpy element is the C value.
 */
#define CP_LOAD_PLAIN(NAME, p) { return NAME##GetDatum(*(const cp_##NAME *) (p)); }
#define CP_STORE_PLAIN(NAME, out, row, d) { ((cp_##NAME *) (out))[row] = DatumGet##NAME(d); }

/*
 * PostgreSQL's date and timestamp (datatype/timestamp.h, utils/date.h): days (int32) and
 * microseconds (int64) from 2000-01-01, the extreme values of the C type being -infinity and
 * infinity, and the finite values in [CP_DATE_MIN, CP_DATE_END), [CP_TIMESTAMP_MIN,
 * CP_TIMESTAMP_END) (IS_VALID_DATE, IS_VALID_TIMESTAMP: 4714-11-24 BC to 5874898-01-01 and
 * 294277-01-01, exclusive).
 */
#define CP_DATEVAL_NOBEGIN INT32_MIN
#define CP_DATEVAL_NOEND INT32_MAX
#define CP_DT_NOBEGIN INT64_MIN
#define CP_DT_NOEND INT64_MAX
#define CP_POSTGRES_EPOCH_JDATE 2451545	/* date2j(2000, 1, 1) */
#define CP_UNIX_EPOCH_JDATE 2440588	/* date2j(1970, 1, 1) */
#define CP_DATE_MIN (0 - CP_POSTGRES_EPOCH_JDATE)	/* DATETIME_MIN_JULIAN */
#define CP_DATE_END (2147483494 - CP_POSTGRES_EPOCH_JDATE)	/* DATE_END_JULIAN */
#define CP_TIMESTAMP_END_JULIAN 109203528	/* date2j(294277, 1, 1) */
#define CP_TIMESTAMP_MIN INT64_C(-211813488000000000)
#define CP_TIMESTAMP_END INT64_C(9223371331200000000)
#define CP_USECS_PER_DAY INT64_C(86400000000)
#define CP_UNIX_EPOCH_DAYS (CP_POSTGRES_EPOCH_JDATE - CP_UNIX_EPOCH_JDATE)	/* 10957 */
#define CP_UNIX_EPOCH_USECS (CP_UNIX_EPOCH_DAYS * CP_USECS_PER_DAY)

/*
 * UNIX_DAYS, UNIX_USECS: numpy's datetime64[D] and datetime64[us], int64 days or microseconds
 * from 1970-01-01. numpy has no infinities; its largest value and its smallest but NaT
 * (INT64_MIN) stand for PostgreSQL's infinity and -infinity, so that they survive a round trip.
 * Whether a column's values are PostgreSQL's (no NaT, nothing out of range) is checked when it
 * is bound (sqltypes.check_column), so the loads convert without a check. PostgreSQL's
 * timestamps reach 294276 AD, numpy's microseconds only 294247: a result beyond is an error.
 */
#define CP_NUMPY_INFINITY INT64_MAX
#define CP_NUMPY_MINUS_INFINITY (INT64_MIN + 1)
#define CP_LOAD_UNIX_DAYS(NAME, p) \
	{ \
		int64_t		v = *(const int64_t *) (p); \
		\
		return NAME##GetDatum(v == CP_NUMPY_INFINITY ? CP_DATEVAL_NOEND \
							  : v == CP_NUMPY_MINUS_INFINITY ? CP_DATEVAL_NOBEGIN \
							  : (cp_##NAME) (v - CP_UNIX_EPOCH_DAYS)); \
	}
#define CP_STORE_UNIX_DAYS(NAME, out, row, d) \
	{ \
		cp_##NAME	v = DatumGet##NAME(d); \
		\
		((int64_t *) (out))[row] = v == CP_DATEVAL_NOEND ? CP_NUMPY_INFINITY \
			: v == CP_DATEVAL_NOBEGIN ? CP_NUMPY_MINUS_INFINITY \
			: (int64_t) v + CP_UNIX_EPOCH_DAYS; \
	}
#define CP_LOAD_UNIX_USECS(NAME, p) \
	{ \
		int64_t		v = *(const int64_t *) (p); \
		\
		return NAME##GetDatum(v == CP_NUMPY_INFINITY ? CP_DT_NOEND \
							  : v == CP_NUMPY_MINUS_INFINITY ? CP_DT_NOBEGIN \
							  : v - CP_UNIX_EPOCH_USECS); \
	}
#define CP_STORE_UNIX_USECS(NAME, out, row, d) \
	{ \
		cp_##NAME	v = DatumGet##NAME(d); \
		int64_t		r; \
		\
		if (v == CP_DT_NOEND) \
			r = CP_NUMPY_INFINITY; \
		else if (v == CP_DT_NOBEGIN) \
			r = CP_NUMPY_MINUS_INFINITY; \
		else if (unlikely(__builtin_add_overflow(v, CP_UNIX_EPOCH_USECS, &r) \
						  || r == CP_NUMPY_INFINITY)) \
			cp_error(CP_ERR_TIMESTAMP_NOT_REPRESENTABLE); \
		((int64_t *) (out))[row] = r; \
	}

#define TYPE(NAME, ctype, datum, column, ...) \
	typedef ctype cp_##NAME; \
	static inline ctype DatumGet##NAME(Datum d) CP_DATUM_GET_##datum(ctype, d) \
	static inline Datum NAME##GetDatum(ctype x) CP_GET_DATUM_##datum(ctype, x) \
	static inline Datum cp_load_##NAME(const char *p) CP_LOAD_##column(NAME, p) \
	static inline void cp_store_##NAME(void *out, int64_t row, Datum d) \
		CP_STORE_##column(NAME, out, row, d)
#include "types.def"
#undef TYPE

/* fmgr.h's: the size of a call info with nargs arguments, and one on the stack */
#define SizeForFunctionCallInfo(nargs) \
	(offsetof(FunctionCallInfoBaseData, args) + sizeof(NullableDatum) * (nargs))
#define LOCAL_FCINFO(name, nargs) \
	union \
	{ \
		FunctionCallInfoBaseData fcinfo; \
		char		fcinfo_data[SizeForFunctionCallInfo(nargs)]; \
	}			name##data; \
	FunctionCallInfo name = &name##data.fcinfo

#define DatumGetBool(d) DatumGetBOOL(d)
#define BoolGetDatum(x) BOOLGetDatum(x)

/* Store one result of the evaluate mode in the output column's type. */
static inline void
cp_store_result(void *out, int64_t row, CpType type, Datum d)
{
	switch (type)
	{
#define TYPE(NAME, ...) \
		case CP_##NAME: \
			cp_store_##NAME(out, row, d); \
			break;
#include "types.def"
#undef TYPE
	}
}

/* Out-of-line parts of opcodes, shared by the interpreters and the JIT's stencils. */
void		cp_slot_getsomeattrs(ExprContext *econtext, int32_t last_var);
void		ExecEvalScalarArrayOp(ExprState *state, ExprEvalStep *op);

/* The interpreters. */
Datum		cp_interp_switch(ExprState *state, ExprContext *econtext, bool *isnull);
Datum		cp_interp_goto(ExprState *state, ExprContext *econtext, bool *isnull);

#endif							/* COPYPATCH_H */
