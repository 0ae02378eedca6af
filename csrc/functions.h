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

/* float -> integer casts: PostgreSQL's FLOAT8_FITS_IN_INT* after rint() */
#define CP_FITS_INT2(num) ((num) >= (double) INT16_MIN && (num) < -((double) INT16_MIN))
#define CP_FITS_INT4(num) ((num) >= (double) INT32_MIN && (num) < -((double) INT32_MIN))
#define CP_FITS_INT8(num) ((num) >= (double) INT64_MIN && (num) < -((double) INT64_MIN))

/*
 * a comparison's first argument read from a column of its type (the fused EEOP_QUAL_<name>),
 * and that type's width (a block step's contiguous fast path: a column whose stride it is)
 */
#define CP_LOAD0(name, T1) \
	static inline Datum name##_load0(const char *p) { return cp_load_##T1(p); } \
	enum { name##_width0 = (int) sizeof(cp_##T1) };

/* ICMP, IARITH, IDIV, IMOD, FCMP, FARITH: shared with the PostgreSQL provider */
#include "functions_arith.h"

#define IUNARY(name, T, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T x = DatumGet##T(a); \
		(void) b; \
		if ((0 op 1) < 0 && unlikely(x == CP_MIN_##T)) cp_error(CP_RANGE_ERR_##T); \
		return T##GetDatum((cp_##T) (op x)); \
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
#define FMATH0(name, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ (void) a; (void) b; return T##GetDatum(cp_##name()); }
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

/* ---- hyperbolic functions (float.c's dsinh ... datanh) ---- */
static inline double
cp_dsinh(double x)
{
	double		r;

	errno = 0;
	r = sinh(x);
	/* ERANGE is an overflow: PostgreSQL returns the infinity of x's sign, no error */
	if (errno == ERANGE)
		r = x < 0 ? -INFINITY : INFINITY;
	return r;
}

static inline double
cp_dcosh(double x)
{
	double		r;

	errno = 0;
	r = cosh(x);
	if (errno == ERANGE)
		r = INFINITY;
	if (unlikely(r == 0.0))
		cp_error(CP_ERR_FLOAT_UNDERFLOW);
	return r;
}

static inline double
cp_dtanh(double x)
{
	double		r = tanh(x);

	if (unlikely(isinf(r)))
		cp_error(CP_ERR_FLOAT_OVERFLOW);
	return r;
}

static inline double cp_dasinh(double x) { return asinh(x); }

static inline double
cp_dacosh(double x)
{
	/* checked here rather than through EDOM, which some libms also report for NaN */
	if (x < 1.0)
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	return acosh(x);
}

static inline double
cp_datanh(double x)
{
	if (x < -1.0 || x > 1.0)
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	/* the poles are answered here: old glibc sets the wrong errno for them */
	if (x == -1.0)
		return -INFINITY;
	if (x == 1.0)
		return INFINITY;
	return atanh(x);
}

/*
 * ---- degree-based trigonometry (float.c's dsind ... datan2d) ----
 *
 * PostgreSQL makes sind(30) = 0.5, cosd(60) = 0.5, tand(45) = 1, asind(0.5) = 30 ... exact by
 * scaling each libm result by the libm result at the angle that must come out exact, so the
 * rounding errors cancel. The scaling constants must come from the same libm at run time, not
 * from the compiler folding sin(constant) with its own arithmetic: they are computed once from
 * volatile inputs, and every intermediate is stored to a volatile double so that it is rounded
 * to double exactly as the constant was. The algorithm and constants are float.c's.
 */
typedef struct CpDegreeConsts
{
	double		sin_30;
	double		one_minus_cos_60;
	double		asin_0_5;
	double		acos_0_5;
	double		atan_1_0;
	double		tan_45;
	double		cot_45;
} CpDegreeConsts;

const CpDegreeConsts *cp_degree_consts(void);

static inline double
cp_sind_0_to_30(const CpDegreeConsts *k, double x)
{
	volatile double sin_x = sin(x * CP_RADIANS_PER_DEGREE);

	return (sin_x / k->sin_30) / 2.0;
}

static inline double
cp_cosd_0_to_60(const CpDegreeConsts *k, double x)
{
	volatile double one_minus_cos_x = 1.0 - cos(x * CP_RADIANS_PER_DEGREE);

	return 1.0 - (one_minus_cos_x / k->one_minus_cos_60) / 2.0;
}

/* the first quadrant, stitched from the two pieces that are exact at their ends */
static inline double
cp_sind_q1(const CpDegreeConsts *k, double x)
{
	return x <= 30.0 ? cp_sind_0_to_30(k, x) : cp_cosd_0_to_60(k, 90.0 - x);
}

static inline double
cp_cosd_q1(const CpDegreeConsts *k, double x)
{
	return x <= 60.0 ? cp_cosd_0_to_60(k, x) : cp_sind_0_to_30(k, 90.0 - x);
}

static inline double
cp_asind_q1(const CpDegreeConsts *k, double x)
{
	if (x <= 0.5)
	{
		volatile double asin_x = asin(x);

		return (asin_x / k->asin_0_5) * 30.0;
	}
	else
	{
		volatile double acos_x = acos(x);

		return 90.0 - (acos_x / k->acos_0_5) * 60.0;
	}
}

static inline double
cp_acosd_q1(const CpDegreeConsts *k, double x)
{
	if (x <= 0.5)
	{
		volatile double asin_x = asin(x);

		return 90.0 - (asin_x / k->asin_0_5) * 30.0;
	}
	else
	{
		volatile double acos_x = acos(x);

		return (acos_x / k->acos_0_5) * 60.0;
	}
}

static inline double
cp_finite_or_overflow(double r)
{
	if (unlikely(isinf(r)))
		cp_error(CP_ERR_FLOAT_OVERFLOW);
	return r;
}

static inline double
cp_dasind(double x)
{
	const CpDegreeConsts *k;

	if (isnan(x))
		return x;
	k = cp_degree_consts();
	if (x < -1.0 || x > 1.0)
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	return cp_finite_or_overflow(x >= 0.0 ? cp_asind_q1(k, x) : -cp_asind_q1(k, -x));
}

static inline double
cp_dacosd(double x)
{
	const CpDegreeConsts *k;

	if (isnan(x))
		return x;
	k = cp_degree_consts();
	if (x < -1.0 || x > 1.0)
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	return cp_finite_or_overflow(x >= 0.0 ? cp_acosd_q1(k, x) : 90.0 + cp_asind_q1(k, -x));
}

static inline double
cp_datand(double x)
{
	const CpDegreeConsts *k;
	volatile double atan_x;

	if (isnan(x))
		return x;
	k = cp_degree_consts();
	atan_x = atan(x);			/* exactly 45 for x = 1 */
	return cp_finite_or_overflow((atan_x / k->atan_1_0) * 45.0);
}

static inline double
cp_datan2d(double y, double x)
{
	const CpDegreeConsts *k;
	volatile double atan2_y_x;

	if (isnan(y) || isnan(x))
		return NAN;
	k = cp_degree_consts();
	atan2_y_x = atan2(y, x);
	return cp_finite_or_overflow((atan2_y_x / k->atan_1_0) * 45.0);
}

/*
 * sind, cosd, tand, cotd: reduce to [0, 90] degrees with fmod and the symmetries, keeping the
 * sign apart. `flip` says which of the three reflections (x < 0, x > 180, x > 90) change the
 * function's sign, in that order.
 */
#define CP_FLIP_NEG 1
#define CP_FLIP_360 2
#define CP_FLIP_180 4
static inline double
cp_degrees_to_q1(double x, int flip, int *sign)
{
	*sign = 1;
	if (isinf(x))
		cp_error(CP_ERR_INPUT_OUT_OF_RANGE);
	x = fmod(x, 360.0);
	if (x < 0.0)
	{
		x = -x;
		if (flip & CP_FLIP_NEG)
			*sign = -*sign;
	}
	if (x > 180.0)
	{
		x = 360.0 - x;
		if (flip & CP_FLIP_360)
			*sign = -*sign;
	}
	if (x > 90.0)
	{
		x = 180.0 - x;
		if (flip & CP_FLIP_180)
			*sign = -*sign;
	}
	return x;
}

static inline double
cp_dsind(double x)
{
	const CpDegreeConsts *k;
	int			sign;

	if (isnan(x))
		return x;
	x = cp_degrees_to_q1(x, CP_FLIP_NEG | CP_FLIP_360, &sign);
	k = cp_degree_consts();
	return cp_finite_or_overflow(sign * cp_sind_q1(k, x));
}

static inline double
cp_dcosd(double x)
{
	const CpDegreeConsts *k;
	int			sign;

	if (isnan(x))
		return x;
	x = cp_degrees_to_q1(x, CP_FLIP_180, &sign);
	k = cp_degree_consts();
	return cp_finite_or_overflow(sign * cp_cosd_q1(k, x));
}

static inline double
cp_dtand(double x)
{
	const CpDegreeConsts *k;
	volatile double tan_x;
	double		r;
	int			sign;

	if (isnan(x))
		return x;
	x = cp_degrees_to_q1(x, CP_FLIP_NEG | CP_FLIP_360 | CP_FLIP_180, &sign);
	k = cp_degree_consts();
	tan_x = cp_sind_q1(k, x) / cp_cosd_q1(k, x);
	r = sign * (tan_x / k->tan_45);
	/* tand(180) may come out as -0; PostgreSQL makes it 0. tand(90) is infinite: no check */
	return r == 0.0 ? 0.0 : r;
}

static inline double
cp_dcotd(double x)
{
	const CpDegreeConsts *k;
	volatile double cot_x;
	double		r;
	int			sign;

	if (isnan(x))
		return x;
	x = cp_degrees_to_q1(x, CP_FLIP_NEG | CP_FLIP_360 | CP_FLIP_180, &sign);
	k = cp_degree_consts();
	cot_x = cp_cosd_q1(k, x) / cp_sind_q1(k, x);
	r = sign * (cot_x / k->cot_45);
	/* cotd(270) may come out as -0; PostgreSQL makes it 0. cotd(0) is infinite: no check */
	return r == 0.0 ? 0.0 : r;
}

/* M_PI is not ISO C; the value of PostgreSQL's fallback definition */
#define CP_PI 3.14159265358979323846
static inline double cp_dpi(void) { return CP_PI; }

/*
 * ---- gcd and lcm (int.c's int4gcd_internal, int8.c's int8gcd_internal) ----
 * Worked in negative space, where the most negative value fits: gcd(MIN, 0) and gcd(MIN, MIN)
 * are MIN's magnitude, which does not fit, so they are out of range.
 */
#define IGCD(name, T) \
	static inline cp_##T name##_internal(cp_##T a, cp_##T b) \
	{ \
		cp_##T		swap; \
		/* the larger magnitude first: saves a modulo and isolates MIN */ \
		if ((a < 0 ? a : -a) > (b < 0 ? b : -b)) \
		{ \
			swap = a; \
			a = b; \
			b = swap; \
		} \
		if (a == CP_MIN_##T) \
		{ \
			if (b == 0 || b == CP_MIN_##T) \
				cp_error(CP_RANGE_ERR_##T); \
			/* MIN % -1 traps on some hardware; the gcd is 1 */ \
			if (b == -1) \
				return 1; \
		} \
		while (b != 0) \
		{ \
			swap = b; \
			b = a % b; \
			a = swap; \
		} \
		return a < 0 ? -a : a; \
	} \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ return T##GetDatum(name##_internal(DatumGet##T(a), DatumGet##T(b))); }

/* lcm(x, y) = |x / gcd(x, y) * y|; lcm(x, 0) = 0 before gcd could overflow */
#define ILCM(name, gcdname, T) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##T		x = DatumGet##T(a), y = DatumGet##T(b), r; \
		if (x == 0 || y == 0) \
			return T##GetDatum(0); \
		x = x / gcdname##_internal(x, y); \
		if (unlikely(__builtin_mul_overflow(x, y, &r)) || unlikely(r == CP_MIN_##T)) \
			cp_error(CP_RANGE_ERR_##T); \
		return T##GetDatum(r < 0 ? -r : r); \
	}

/*
 * ---- functions given the whole call info: more than two arguments, or NULL arguments ----
 * FCINFO(name, nargs) in functions.def: name##_impl(fcinfo) here; nargs -1 is variadic.
 */

/* width_bucket(operand, b1, b2, count) over float8: float.c's width_bucket_float8 */
static inline Datum
width_bucket_float8_impl(FunctionCallInfo fcinfo)
{
	double		operand = DatumGetFLOAT8(fcinfo->args[0].value);
	double		bound1 = DatumGetFLOAT8(fcinfo->args[1].value);
	double		bound2 = DatumGetFLOAT8(fcinfo->args[2].value);
	int32_t		count = DatumGetINT4(fcinfo->args[3].value);
	double		bucket;

	if (count <= 0)
		cp_error(CP_ERR_WIDTH_BUCKET_COUNT);
	if (isnan(operand) || isnan(bound1) || isnan(bound2))
		cp_error(CP_ERR_WIDTH_BUCKET_NAN);
	/* an infinite operand is allowed */
	if (isinf(bound1) || isinf(bound2))
		cp_error(CP_ERR_WIDTH_BUCKET_INFINITE);
	if (bound1 == bound2)
		cp_error(CP_ERR_WIDTH_BUCKET_EQUAL_BOUNDS);
	if (bound1 < bound2 ? operand < bound1 : operand > bound1)
		return INT4GetDatum(0);
	if (bound1 < bound2 ? operand >= bound2 : operand <= bound2)
	{
		if (unlikely(count == INT32_MAX))
			cp_error(CP_ERR_INT4_OUT_OF_RANGE);
		return INT4GetDatum(count + 1);
	}
	if (bound1 < bound2)
		bucket = ((double) count * (operand - bound1) / (bound2 - bound1)) + 1;
	else
		bucket = ((double) count * (bound1 - operand) / (bound1 - bound2)) + 1;

	/*
	 * PostgreSQL 15 converts bucket to int32 unchecked. Bounds far apart overflow the arithmetic
	 * (width_bucket(0, -1e308, 1e308, 10) computes inf / inf), and C leaves the conversion of
	 * NaN or infinity undefined; x86-64, where the reference server runs, gives INT32_MIN. That
	 * answer is made explicit here so that every machine gives it.
	 */
	if (!(bucket >= (double) INT32_MIN && bucket < -(double) INT32_MIN))
		return INT4GetDatum(INT32_MIN);
	return INT4GetDatum((int32_t) bucket);
}

/* num_nulls / num_nonnulls (VARIADIC "any"): not strict, they count their NULL arguments */
static inline Datum
pg_num_nulls_impl(FunctionCallInfo fcinfo)
{
	int32_t		n = 0;

	for (int i = 0; i < fcinfo->nargs; i++)
		n += fcinfo->args[i].isnull;
	return INT4GetDatum(n);
}

static inline Datum
pg_num_nonnulls_impl(FunctionCallInfo fcinfo)
{
	return INT4GetDatum(fcinfo->nargs - DatumGetINT4(pg_num_nulls_impl(fcinfo)));
}

#include "datetime.h"

#define FCINFO(name, nargs)
#define FCINFO_NULL(name, nargs)

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
#undef IGCD
#undef ILCM
#undef FCINFO
#undef FCINFO_NULL
#undef FMATH0
#undef DTCMP
#undef DTFN

#include "block.h"				/* the block-at-a-time tests, from the bodies above */

#endif							/* COPYPATCH_FUNCTIONS_H */
