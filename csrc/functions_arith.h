/*
 * functions_arith.h: the families of functions.def whose bodies the PostgreSQL provider inlines
 * too (csrc/pgjit/template.c, for inline.def's functions): integer and float comparisons and
 * arithmetic, PostgreSQL's overflow, underflow and division checks included. Written once,
 * included by functions.h (copypatch's types and errors) and by the provider's template
 * (PostgreSQL's Datum, the same conventions under copypatch's names).
 *
 * The includer provides: Datum; the C types cp_<T> and the conversions DatumGet<T> and
 * <T>GetDatum for T in INT2, INT4, INT8, FLOAT4, FLOAT8, and BOOLGetDatum; unlikely();
 * cp_error(code), which does not return, and errors.def's codes; isnan/isinf (math.h); and
 * CP_LOAD0(name, T1), what a comparison adds beside its _impl (empty if nothing).
 */
#ifndef COPYPATCH_FUNCTIONS_ARITH_H
#define COPYPATCH_FUNCTIONS_ARITH_H

#define CP_MIN_INT2 INT16_MIN
#define CP_MIN_INT4 INT32_MIN
#define CP_MIN_INT8 INT64_MIN
#define CP_RANGE_ERR_INT2 CP_ERR_INT2_OUT_OF_RANGE
#define CP_RANGE_ERR_INT4 CP_ERR_INT4_OUT_OF_RANGE
#define CP_RANGE_ERR_INT8 CP_ERR_INT8_OUT_OF_RANGE

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
	{ return BOOLGetDatum(DatumGet##T1(a) op DatumGet##T2(b)); } \
	CP_LOAD0(name, T1)

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

#define FCMP(name, T1, T2, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		double x = DatumGet##T1(a), y = DatumGet##T2(b); \
		return BOOLGetDatum(CP_FCMP_##op(x, y)); \
	} \
	CP_LOAD0(name, T1)

#define FARITH(name, T1, T2, TR, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ \
		cp_##TR x = DatumGet##T1(a), y = DatumGet##T2(b), r; \
		CP_FARITH_##op(x, y, r); \
		return TR##GetDatum(r); \
	}

#endif							/* COPYPATCH_FUNCTIONS_ARITH_H */
