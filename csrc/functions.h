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

#include <errno.h>
#include <math.h>
#include <stdbool.h>

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

/* integer abs (@): the most negative value has no absolute value */
#define IABS(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T x = DatumGet##T(a); \
		(void) b; \
		if (unlikely(x == CP_MIN_##T)) cp_error(CP_RANGE_ERR_##T); \
		return T##GetDatum((cp_##T) (x < 0 ? -x : x)); \
	}

/* & | # (xor): no errors */
#define IBIT(name, T, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ return T##GetDatum((cp_##T) (DatumGet##T(a) op DatumGet##T(b))); }

#define IBITNOT(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) b; return T##GetDatum((cp_##T) ~DatumGet##T(a)); }

/*
 * << and >> by an int4 count. PostgreSQL shifts with C's operators, whose result C leaves
 * undefined for counts out of range; the machine (x86-64 and AArch64 alike) takes the count
 * modulo the operand width: 32 bits for int2 and int4 (int2 is promoted), 64 for int8. Done
 * explicitly here, in unsigned arithmetic for <<, so that the answer is PostgreSQL's on both.
 */
#define CP_SHIFT_MASK_INT2 31
#define CP_SHIFT_MASK_INT4 31
#define CP_SHIFT_MASK_INT8 63
#define CP_SHIFT_WIDE_INT2 int32_t
#define CP_SHIFT_WIDE_INT4 int32_t
#define CP_SHIFT_WIDE_INT8 int64_t
#define ISHL(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		CP_SHIFT_WIDE_##T x = DatumGet##T(a); \
		int			n = DatumGetINT4(b) & CP_SHIFT_MASK_##T; \
		return T##GetDatum((cp_##T) (CP_SHIFT_WIDE_##T) ((uint64_t) x << n)); \
	}
#define ISHR(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		CP_SHIFT_WIDE_##T x = DatumGet##T(a); \
		int			n = DatumGetINT4(b) & CP_SHIFT_MASK_##T; \
		return T##GetDatum((cp_##T) (x >> n)); \
	}

/* btree comparison support (btint4cmp, ...): -1, 0 or 1; floats order NaN above everything */
#define BTCMP(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T x = DatumGet##T(a), y = DatumGet##T(b); \
		return INT4GetDatum(CP_BTCMP_##T(x, y)); \
	}
#define CP_BTCMP_ORDER(x, y) ((x) > (y) ? 1 : (x) < (y) ? -1 : 0)
#define CP_BTCMP_BOOL(x, y) CP_BTCMP_ORDER((int) (x), (int) (y))
#define CP_BTCMP_INT2(x, y) CP_BTCMP_ORDER(x, y)
#define CP_BTCMP_INT4(x, y) CP_BTCMP_ORDER(x, y)
#define CP_BTCMP_INT8(x, y) CP_BTCMP_ORDER(x, y)
#define CP_BTCMP_FLOAT4(x, y) (isnan(x) ? !isnan(y) : isnan(y) ? -1 : CP_BTCMP_ORDER(x, y))
#define CP_BTCMP_FLOAT8(x, y) CP_BTCMP_FLOAT4(x, y)

/* float functions of one or two float8 arguments (and float4abs): cp_<name> below */
#define FMATH(name, T, nargs) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		(void) b; \
		return T##GetDatum(cp_##name(DatumGet##T(a) CP_FMATH_ARG##nargs)); \
	}
#define CP_FMATH_ARG1
#define CP_FMATH_ARG2 , DatumGetFLOAT8(b)

/* PostgreSQL's float.c, function by function: the same checks in the same order */
static inline float cp_float4abs(float x) { return fabsf(x); }
static inline double cp_float8abs(double x) { return fabs(x); }
static inline double cp_dround(double x) { return rint(x); }
static inline double cp_dceil(double x) { return ceil(x); }
static inline double cp_dfloor(double x) { return floor(x); }
static inline double cp_dsign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }
static inline double cp_dtrunc(double x) { return x >= 0 ? floor(x) : -floor(-x); }

static inline double
cp_dsqrt(double x)
{
	double		r;

	if (x < 0)
		cp_error(CP_ERR_SQRT_NEGATIVE);
	r = sqrt(x);
	if (unlikely(isinf(r)) && !isinf(x)) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0) && x != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_dcbrt(double x)
{
	double		r = cbrt(x);

	if (unlikely(isinf(r)) && !isinf(x)) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0) && x != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_dexp(double x)
{
	double		r;

	if (isnan(x))
		return x;
	if (isinf(x))
		return x > 0 ? x : 0.0;
	errno = 0;
	r = exp(x);
	if (unlikely(errno == ERANGE))
		cp_error(r != 0.0 ? CP_ERR_FLOAT_OVERFLOW : CP_ERR_FLOAT_UNDERFLOW);
	if (unlikely(isinf(r))) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0)) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_log_checked(double x, double r)
{
	if (unlikely(isinf(r)) && !isinf(x)) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0) && x != 1.0) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_dlog1(double x)
{
	if (x == 0.0) cp_error(CP_ERR_LOG_ZERO);
	if (x < 0) cp_error(CP_ERR_LOG_NEGATIVE);
	return cp_log_checked(x, log(x));
}

static inline double
cp_dlog10(double x)
{
	if (x == 0.0) cp_error(CP_ERR_LOG_ZERO);
	if (x < 0) cp_error(CP_ERR_LOG_NEGATIVE);
	return cp_log_checked(x, log10(x));
}

/* trigonometry (radians): NaN passes through; an infinite input, or errno, is out of range */
static inline double
cp_trig_checked(double x, double r, bool overflow_ok)
{
	if (errno != 0 || isinf(x))
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	if (!overflow_ok && unlikely(isinf(r)))
		cp_error(CP_ERR_FLOAT_OVERFLOW);
	return r;
}

#define CP_TRIG(name, fn, overflow_ok) \
	static inline double \
	cp_##name(double x) \
	{ \
		double		r; \
		if (isnan(x)) \
			return x; \
		errno = 0; \
		r = fn(x); \
		return cp_trig_checked(x, r, overflow_ok); \
	}
CP_TRIG(dsin, sin, false)
CP_TRIG(dcos, cos, false)
CP_TRIG(dtan, tan, true)	/* tan(pi/2) is infinite: not checked */

static inline double
cp_dcot(double x)
{
	double		r;

	if (isnan(x))
		return x;
	errno = 0;
	r = tan(x);
	cp_trig_checked(x, r, true);
	return 1.0 / r;				/* cot(0) is infinite: not checked */
}

/* the inverse functions: [-1, 1] in for asin/acos; the results are always finite */
#define CP_INVERSE_TRIG(name, fn) \
	static inline double \
	cp_##name(double x) \
	{ \
		if (isnan(x)) \
			return x; \
		if (x < -1.0 || x > 1.0) \
			cp_error(CP_ERR_INPUT_OUT_OF_RANGE); \
		return fn(x); \
	}
CP_INVERSE_TRIG(dasin, asin)
CP_INVERSE_TRIG(dacos, acos)

static inline double
cp_datan(double x)
{
	return isnan(x) ? x : atan(x);
}

static inline double
cp_datan2(double y, double x)
{
	return isnan(y) || isnan(x) ? NAN : atan2(y, x);
}

/* degrees/radians: check_float8_val(result, isinf(x), x == 0) */
#define CP_RADIANS_PER_DEGREE 0.0174532925199432957692
static inline double
cp_angle_checked(double x, double r)
{
	if (unlikely(isinf(r)) && !isinf(x)) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0) && x != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_degrees(double x)
{
	return cp_angle_checked(x, x / CP_RADIANS_PER_DEGREE);
}

static inline double
cp_radians(double x)
{
	return cp_angle_checked(x, x * CP_RADIANS_PER_DEGREE);
}

static inline double
cp_dpow(double x, double y)
{
	double		r;

	/* POSIX: NaN ^ 0 = 1 and 1 ^ NaN = 1; any other NaN input gives NaN */
	if (isnan(x))
		return (isnan(y) || y != 0.0) ? x : 1.0;
	if (isnan(y))
		return x != 1.0 ? y : 1.0;
	if (x == 0 && y < 0)
		cp_error(CP_ERR_POW_ZERO_NEGATIVE);
	if (x < 0 && floor(y) != y)
		cp_error(CP_ERR_POW_COMPLEX);
	if (isinf(y))
	{
		double		absx = fabs(x);

		if (absx == 1.0)
			return 1.0;
		if (y > 0.0)
			return absx > 1.0 ? y : 0.0;
		return absx > 1.0 ? 0.0 : -y;
	}
	if (isinf(x))
	{
		double		halfy = y / 2;
		bool		odd = floor(halfy) != halfy;

		if (y == 0.0)
			return 1.0;
		if (x > 0.0)
			return y > 0.0 ? x : 0.0;
		if (y > 0.0)
			return odd ? x : -x;
		return odd ? -0.0 : 0.0;
	}
	errno = 0;
	r = pow(x, y);
	if (errno == EDOM || isnan(r))
	{
		/* old glibc on x86 fails like this for |y| > 2^63 (a huge, certainly even y) */
		double		absx = fabs(x);

		if (x == 0.0)
			return 0.0;
		if (absx == 1.0)
			return 1.0;
		cp_error((y >= 0.0 ? absx > 1.0 : absx < 1.0) ? CP_ERR_FLOAT_OVERFLOW
				 : CP_ERR_FLOAT_UNDERFLOW);
	}
	if (errno == ERANGE)
		cp_error(r != 0.0 ? CP_ERR_FLOAT_OVERFLOW : CP_ERR_FLOAT_UNDERFLOW);
	if (unlikely(isinf(r))) cp_error(CP_ERR_FLOAT_OVERFLOW);
	if (unlikely(r == 0.0) && x != 0.0) cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

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
#undef IABS
#undef IBIT
#undef IBITNOT
#undef ISHL
#undef ISHR
#undef FMATH
#undef BTCMP

#endif							/* COPYPATCH_FUNCTIONS_H */
