/*
 * functions.h: one implementation of each built-in function family in functions.def.
 *
 * Each built-in NAME gets `static inline Datum NAME_impl(Datum a, Datum b)`, the function's whole
 * semantics, PostgreSQL's errors included. The fmgr-callable NAME (functions.c) wraps it; an
 * opcode that inlines a built-in calls NAME_impl directly, so the semantics exist once.
 * Unary functions ignore b.
 */
#ifndef COPYPATCH_FUNCTIONS_H
#define COPYPATCH_FUNCTIONS_H

#include <math.h>

#include "copypatch.h"

#define CP_MIN_INT2 INT16_MIN
#define CP_MIN_INT4 INT32_MIN
#define CP_MIN_INT8 INT64_MIN
#define CP_RANGE_ERR_INT2 CP_ERR_INT2_OUT_OF_RANGE
#define CP_RANGE_ERR_INT4 CP_ERR_INT4_OUT_OF_RANGE
#define CP_RANGE_ERR_INT8 CP_ERR_INT8_OUT_OF_RANGE

/* float -> integer casts: PostgreSQL's FLOAT8_FITS_IN_INT* after rint() */
#define CP_FITS_INT2(num) ((num) >= (double) INT16_MIN && (num) < -((double) INT16_MIN))
#define CP_FITS_INT4(num) ((num) >= (double) INT32_MIN && (num) < -((double) INT32_MIN))
#define CP_FITS_INT8(num) ((num) >= (double) INT64_MIN && (num) < -((double) INT64_MIN))

/* PostgreSQL's NaN-aware float comparisons (utils/float.h): NaN = NaN, NaN > everything. */
#define CP_FCMP_eq(x, y) (isnan(x) ? isnan(y) : !isnan(y) && (x) == (y))
#define CP_FCMP_ne(x, y) (isnan(x) ? !isnan(y) : isnan(y) || (x) != (y))
#define CP_FCMP_lt(x, y) (!isnan(x) && (isnan(y) || (x) < (y)))
#define CP_FCMP_le(x, y) (isnan(y) || (!isnan(x) && (x) <= (y)))
#define CP_FCMP_gt(x, y) (!isnan(y) && (isnan(x) || (x) > (y)))
#define CP_FCMP_ge(x, y) (isnan(x) || (!isnan(y) && (x) >= (y)))

/* PostgreSQL's float arithmetic checks (float4_pl ... float8_div in utils/float.h). */
#define CP_FARITH_pl(x, y, r) \
	do { (r) = (x) + (y); \
		if (unlikely(isinf(r)) && !isinf(x) && !isinf(y)) cp_error(CP_ERR_FLOAT_OVERFLOW); } while (0)
#define CP_FARITH_mi(x, y, r) \
	do { (r) = (x) - (y); \
		if (unlikely(isinf(r)) && !isinf(x) && !isinf(y)) cp_error(CP_ERR_FLOAT_OVERFLOW); } while (0)
#define CP_FARITH_mul(x, y, r) \
	do { (r) = (x) * (y); \
		if (unlikely(isinf(r)) && !isinf(x) && !isinf(y)) cp_error(CP_ERR_FLOAT_OVERFLOW); \
		if (unlikely((r) == 0.0) && (x) != 0.0 && (y) != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW); \
	} while (0)
#define CP_FARITH_div(x, y, r) \
	do { if (unlikely((y) == 0.0) && !isnan(x)) cp_error(CP_ERR_DIVISION_BY_ZERO); \
		(r) = (x) / (y); \
		if (unlikely(isinf(r)) && !isinf(x)) cp_error(CP_ERR_FLOAT_OVERFLOW); \
		if (unlikely((r) == 0.0) && (x) != 0.0 && !isinf(y)) cp_error(CP_ERR_FLOAT_UNDERFLOW); \
	} while (0)

#define ICMP(name, T1, T2, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ return BOOLGetDatum(DatumGet##T1(a) op DatumGet##T2(b)); }

#define IARITH(name, T1, T2, TR, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TR r; \
		if (unlikely(__builtin_##op##_overflow((cp_##TR) DatumGet##T1(a), \
											   (cp_##TR) DatumGet##T2(b), &r))) \
			cp_error(CP_RANGE_ERR_##TR); \
		return TR##GetDatum(r); \
	}

#define IDIV(name, T1, T2, TR) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TR x = DatumGet##T1(a), y = DatumGet##T2(b); \
		if (unlikely(y == 0)) cp_error(CP_ERR_DIVISION_BY_ZERO); \
		/* TR_MIN / -1 overflows, and traps on some hardware: negate instead */ \
		if (y == -1) { \
			if (unlikely(x == CP_MIN_##TR)) cp_error(CP_RANGE_ERR_##TR); \
			return TR##GetDatum((cp_##TR) -x); \
		} \
		return TR##GetDatum((cp_##TR) (x / y)); \
	}

#define IMOD(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T x = DatumGet##T(a), y = DatumGet##T(b); \
		if (unlikely(y == 0)) cp_error(CP_ERR_DIVISION_BY_ZERO); \
		/* T_MIN % -1 traps on some hardware; the answer is 0 */ \
		if (y == -1) return T##GetDatum(0); \
		return T##GetDatum((cp_##T) (x % y)); \
	}

#define IUNARY(name, T, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T x = DatumGet##T(a); \
		(void) b; \
		if ((0 op 1) < 0 && unlikely(x == CP_MIN_##T)) cp_error(CP_RANGE_ERR_##T); \
		return T##GetDatum((cp_##T) (op x)); \
	}

#define FCMP(name, T1, T2, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		double x = DatumGet##T1(a), y = DatumGet##T2(b); \
		return BOOLGetDatum(CP_FCMP_##op(x, y)); \
	}

#define FARITH(name, T1, T2, TR, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TR x = DatumGet##T1(a), y = DatumGet##T2(b), r; \
		CP_FARITH_##op(x, y, r); \
		return TR##GetDatum(r); \
	}

#define FUNARY(name, T, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) b; return T##GetDatum(op DatumGet##T(a)); }

#define BCMP(name, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ return BOOLGetDatum(DatumGetBOOL(a) op DatumGetBOOL(b)); }

/* casts */
#define CAST(name, TS, TD, kind) CAST_##kind(name, TS, TD)

#define CAST_II(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TS x = DatumGet##TS(a); \
		(void) b; \
		if (unlikely((cp_##TD) x != x)) cp_error(CP_RANGE_ERR_##TD); \
		return TD##GetDatum((cp_##TD) x); \
	}

/* PostgreSQL rounds with rint() in the source type's precision, then checks the range. */
#define CAST_FI(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TS num = DatumGet##TS(a); \
		(void) b; \
		num = (cp_##TS) rint(num); \
		if (unlikely(isnan(num) || !CP_FITS_##TD(num))) cp_error(CP_RANGE_ERR_##TD); \
		return TD##GetDatum((cp_##TD) num); \
	}

#define CAST_IF(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) b; return TD##GetDatum((cp_##TD) DatumGet##TS(a)); }

/* ftod is exact; dtof checks as PostgreSQL's dtof does */
#define CAST_FF(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TS num = DatumGet##TS(a); \
		cp_##TD r = (cp_##TD) num; \
		(void) b; \
		if (unlikely(isinf(r)) && !isinf(num)) cp_error(CP_ERR_FLOAT_OVERFLOW); \
		if (unlikely(r == 0.0) && num != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW); \
		return TD##GetDatum(r); \
	}

#define CAST_BI(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) b; return INT4GetDatum(DatumGetBOOL(a) ? 1 : 0); }

#define CAST_IB(name, TS, TD) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) b; return BOOLGetDatum(DatumGetINT4(a) != 0); }

#include "functions.def"

#undef ICMP
#undef IARITH
#undef IDIV
#undef IMOD
#undef IUNARY
#undef FCMP
#undef FARITH
#undef FUNARY
#undef BCMP
#undef CAST

#endif							/* COPYPATCH_FUNCTIONS_H */
