/*
 * datetime.h: the built-ins over date and timestamp (without time zone), PostgreSQL 15's
 * semantics: utils/adt/date.c, timestamp.c and datetime.c.
 *
 * A date is int32 days and a timestamp int64 microseconds from 2000-01-01; the extreme values of
 * each C type are -infinity and infinity (copypatch.h). The calendar is PostgreSQL's proleptic
 * Gregorian one, computed with its own Julian-day routines (date2j, j2date), so that the odd
 * corners (the ISO week of a date near the start of the range, the truncation of a BC century)
 * come out as the server's do. Included by functions.h; each NAME_impl is listed in
 * functions.def as DTFN(NAME, nargs) or FCINFO(NAME, nargs).
 */
#ifndef COPYPATCH_DATETIME_H
#define COPYPATCH_DATETIME_H

#include "copypatch.h"

#define CP_USECS_PER_HOUR INT64_C(3600000000)
#define CP_USECS_PER_MINUTE INT64_C(60000000)
#define CP_USECS_PER_SEC INT64_C(1000000)
#define CP_SECS_PER_DAY 86400

#define CP_DATE_NOT_FINITE(d) ((d) == CP_DATEVAL_NOBEGIN || (d) == CP_DATEVAL_NOEND)
#define CP_TIMESTAMP_NOT_FINITE(t) ((t) == CP_DT_NOBEGIN || (t) == CP_DT_NOEND)
#define CP_IS_VALID_DATE(d) ((d) >= CP_DATE_MIN && (d) < CP_DATE_END)
#define CP_IS_VALID_TIMESTAMP(t) ((t) >= CP_TIMESTAMP_MIN && (t) < CP_TIMESTAMP_END)
/* IS_VALID_JULIAN: from 4714-11-24 BC (year -4713), sloppy about the maximum */
#define CP_IS_VALID_JULIAN(y, m, d) \
	(((y) > -4713 || ((y) == -4713 && ((m) > 11 || ((m) == 11 && (d) >= 24)))) \
	 && (y) < 5874898)

/* struct pg_tm, as much of it as a timestamp without time zone fills; tm_year 0 is 1 BC */
typedef struct CpTm
{
	int			year;
	int			mon;
	int			mday;
	int			hour;
	int			min;
	int			sec;
	int32_t		fsec;			/* microseconds */
} CpTm;

/* datetime.c's date2j: the Julian day of a date */
static inline int
cp_date2j(int y, int m, int d)
{
	int			julian;
	int			century;

	if (m > 2)
	{
		m += 1;
		y += 4800;
	}
	else
	{
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

/* datetime.c's j2date, in its unsigned arithmetic (valid for Julian days >= 0) */
static inline void
cp_j2date(int jd, int *year, int *month, int *day)
{
	unsigned int julian = (unsigned int) jd;
	unsigned int quad;
	unsigned int extra;
	int			y;

	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = (int) (julian * 4 / 1461);
	julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
	y += (int) (quad * 4);
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = (int) (julian - 7834 * quad / 256);
	*month = (int) ((quad + 10) % 12 + 1);
}

/* datetime.c's j2day: the day of the week, 0 = Sunday */
static inline int
cp_j2day(int date)
{
	date += 1;
	date %= 7;
	if (date < 0)
		date += 7;
	return date;
}

/* timestamp.c's timestamp2tm for a finite timestamp without time zone (never fails in range) */
static inline void
cp_timestamp2tm(int64_t dt, CpTm *tm)
{
	int64_t		date = dt / CP_USECS_PER_DAY;
	int64_t		time = dt - date * CP_USECS_PER_DAY;

	if (time < 0)
	{
		time += CP_USECS_PER_DAY;
		date -= 1;
	}
	cp_j2date((int) (date + CP_POSTGRES_EPOCH_JDATE), &tm->year, &tm->mon, &tm->mday);
	tm->hour = (int) (time / CP_USECS_PER_HOUR);
	time -= tm->hour * CP_USECS_PER_HOUR;
	tm->min = (int) (time / CP_USECS_PER_MINUTE);
	time -= tm->min * CP_USECS_PER_MINUTE;
	tm->sec = (int) (time / CP_USECS_PER_SEC);
	tm->fsec = (int32_t) (time - tm->sec * CP_USECS_PER_SEC);
}

/* timestamp.c's tm2timestamp: false if the fields are out of the timestamp's range */
static inline bool
cp_tm2timestamp(const CpTm *tm, int64_t *result)
{
	int64_t		date;
	int64_t		time;

	if (!CP_IS_VALID_JULIAN(tm->year, tm->mon, tm->mday))
		return false;
	date = cp_date2j(tm->year, tm->mon, tm->mday) - CP_POSTGRES_EPOCH_JDATE;
	time = ((tm->hour * INT64_C(60) + tm->min) * 60 + tm->sec) * CP_USECS_PER_SEC + tm->fsec;
	*result = date * CP_USECS_PER_DAY + time;
	/* no overflow is possible from a valid Julian day; the range check is what is left */
	return CP_IS_VALID_TIMESTAMP(*result);
}

/* timestamp.c's date2isoweek: the ISO 8601 week number of a date */
static inline int
cp_date2isoweek(int year, int mon, int mday)
{
	double		result;
	int			day0;
	int			day4;
	int			dayn = cp_date2j(year, mon, mday);

	/* the fourth of January is in week 1; day0 is its offset from that week's Monday */
	day4 = cp_date2j(year, 1, 4);
	day0 = cp_j2day(day4 - 1);
	if (dayn < day4 - day0)
	{
		day4 = cp_date2j(year - 1, 1, 4);
		day0 = cp_j2day(day4 - 1);
	}
	result = (dayn - (day4 - day0)) / 7 + 1;
	/* the last days of December can be in week 1 of the next year */
	if (result >= 52)
	{
		day4 = cp_date2j(year + 1, 1, 4);
		day0 = cp_j2day(day4 - 1);
		if (dayn >= day4 - day0)
			result = (dayn - (day4 - day0)) / 7 + 1;
	}
	return (int) result;
}

/* timestamp.c's date2isoyear: the year an ISO week belongs to */
static inline int
cp_date2isoyear(int year, int mon, int mday)
{
	double		result;
	int			day0;
	int			day4;
	int			dayn = cp_date2j(year, mon, mday);

	day4 = cp_date2j(year, 1, 4);
	day0 = cp_j2day(day4 - 1);
	if (dayn < day4 - day0)
	{
		day4 = cp_date2j(year - 1, 1, 4);
		day0 = cp_j2day(day4 - 1);
		year--;
	}
	result = (dayn - (day4 - day0)) / 7 + 1;
	if (result >= 52)
	{
		day4 = cp_date2j(year + 1, 1, 4);
		day0 = cp_j2day(day4 - 1);
		if (dayn >= day4 - day0)
			year++;
	}
	return year;
}

/* ---- comparisons: within a type as integers, across types as date.c does ---- */

/*
 * date2timestamp_opt_overflow for a comparison: a date past the last timestamp compares above
 * every finite timestamp and below infinity, instead of raising (date_cmp_timestamp_internal).
 */
static inline int
cp_cmp_date_timestamp(int32_t d, int64_t t)
{
	int64_t		dt;

	if (d == CP_DATEVAL_NOBEGIN)
		dt = CP_DT_NOBEGIN;
	else if (d == CP_DATEVAL_NOEND)
		dt = CP_DT_NOEND;
	else if (d >= CP_TIMESTAMP_END_JULIAN - CP_POSTGRES_EPOCH_JDATE)
		return t == CP_DT_NOEND ? -1 : 1;
	else
		dt = d * CP_USECS_PER_DAY;
	return dt < t ? -1 : dt > t ? 1 : 0;
}

#define CP_BTCMP_DATE(x, y) CP_BTCMP_ORDER(x, y)
#define CP_BTCMP_TIMESTAMP(x, y) CP_BTCMP_ORDER(x, y)
#define CP_DTCMP_DATE_DATE(a, b) CP_BTCMP_ORDER(DatumGetDATE(a), DatumGetDATE(b))
#define CP_DTCMP_TIMESTAMP_TIMESTAMP(a, b) CP_BTCMP_ORDER(DatumGetTIMESTAMP(a), DatumGetTIMESTAMP(b))
#define CP_DTCMP_DATE_TIMESTAMP(a, b) cp_cmp_date_timestamp(DatumGetDATE(a), DatumGetTIMESTAMP(b))
#define CP_DTCMP_TIMESTAMP_DATE(a, b) (-cp_cmp_date_timestamp(DatumGetDATE(b), DatumGetTIMESTAMP(a)))

/* DTCMP(name, T1, T2, op): date_lt, timestamp_eq, date_lt_timestamp, timestamp_ge_date, ... */
#define DTCMP(name, T1, T2, op) \
	static inline Datum name##_impl(Datum a, Datum b) \
	{ return BOOLGetDatum(CP_DTCMP_##T1##_##T2(a, b) op 0); }

/* ---- casts ---- */

/* date2timestamp: dates past 294276 AD have no timestamp */
static inline Datum
date_timestamp_impl(Datum a, Datum b)
{
	int32_t		d = DatumGetDATE(a);

	(void) b;
	if (d == CP_DATEVAL_NOBEGIN)
		return TIMESTAMPGetDatum(CP_DT_NOBEGIN);
	if (d == CP_DATEVAL_NOEND)
		return TIMESTAMPGetDatum(CP_DT_NOEND);
	if (unlikely(d >= CP_TIMESTAMP_END_JULIAN - CP_POSTGRES_EPOCH_JDATE))
		cp_error(CP_ERR_DATE_OUT_OF_RANGE_FOR_TIMESTAMP);
	return TIMESTAMPGetDatum(d * CP_USECS_PER_DAY);
}

/* timestamp_date: the day the timestamp falls in (every timestamp's day is a date) */
static inline Datum
timestamp_date_impl(Datum a, Datum b)
{
	int64_t		t = DatumGetTIMESTAMP(a);
	int64_t		day;

	(void) b;
	if (t == CP_DT_NOBEGIN)
		return DATEGetDatum(CP_DATEVAL_NOBEGIN);
	if (t == CP_DT_NOEND)
		return DATEGetDatum(CP_DATEVAL_NOEND);
	day = t / CP_USECS_PER_DAY;
	if (t % CP_USECS_PER_DAY < 0)
		day -= 1;
	return DATEGetDatum((int32_t) day);
}

/* ---- date arithmetic (date.c) ---- */

/* date_pli: date + days, infinities unchanged, a result out of range an error */
static inline Datum
date_pli_impl(Datum a, Datum b)
{
	int32_t		d = DatumGetDATE(a);
	int32_t		days = DatumGetINT4(b);
	int32_t		r;

	if (CP_DATE_NOT_FINITE(d))
		return DATEGetDatum(d);
	if (unlikely(__builtin_add_overflow(d, days, &r) || !CP_IS_VALID_DATE(r)))
		cp_error(CP_ERR_DATE_OUT_OF_RANGE);
	return DATEGetDatum(r);
}

static inline Datum
date_mii_impl(Datum a, Datum b)
{
	int32_t		d = DatumGetDATE(a);
	int32_t		days = DatumGetINT4(b);
	int32_t		r;

	if (CP_DATE_NOT_FINITE(d))
		return DATEGetDatum(d);
	if (unlikely(__builtin_sub_overflow(d, days, &r) || !CP_IS_VALID_DATE(r)))
		cp_error(CP_ERR_DATE_OUT_OF_RANGE);
	return DATEGetDatum(r);
}

/* integer_pl_date: int4 + date */
static inline Datum
integer_pl_date_impl(Datum a, Datum b)
{
	return date_pli_impl(b, a);
}

/* date_mi: date - date in days; the range makes overflow impossible */
static inline Datum
date_mi_impl(Datum a, Datum b)
{
	int32_t		d1 = DatumGetDATE(a);
	int32_t		d2 = DatumGetDATE(b);

	if (unlikely(CP_DATE_NOT_FINITE(d1) || CP_DATE_NOT_FINITE(d2)))
		cp_error(CP_ERR_SUBTRACT_INFINITE_DATES);
	return INT4GetDatum(d1 - d2);
}

/*
 * timestamp_scale(timestamp, typmod): the length coercion to timestamp(p), timestamp.c's
 * AdjustTimestampForTypmod: rounds half away from zero to p fractional digits.
 */
static inline Datum
timestamp_scale_impl(Datum a, Datum b)
{
	static const int64_t scales[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
	static const int64_t offsets[7] = {500000, 50000, 5000, 500, 50, 5, 0};
	int64_t		t = DatumGetTIMESTAMP(a);
	int32_t		typmod = DatumGetINT4(b);

	if (CP_TIMESTAMP_NOT_FINITE(t) || typmod == -1 || typmod == 6)
		return TIMESTAMPGetDatum(t);
	if (typmod < 0 || typmod > 6)
		cp_error(CP_ERR_TIMESTAMP_PRECISION);
	if (t >= 0)
		t = ((t + offsets[typmod]) / scales[typmod]) * scales[typmod];
	else
		t = -((((-t) + offsets[typmod]) / scales[typmod]) * scales[typmod]);
	if (!CP_IS_VALID_TIMESTAMP(t))
		cp_error(CP_ERR_TIMESTAMP_OUT_OF_RANGE);
	return TIMESTAMPGetDatum(t);
}

static inline Datum
date_finite_impl(Datum a, Datum b)
{
	(void) b;
	return BOOLGetDatum(!CP_DATE_NOT_FINITE(DatumGetDATE(a)));
}

static inline Datum
timestamp_finite_impl(Datum a, Datum b)
{
	(void) b;
	return BOOLGetDatum(!CP_TIMESTAMP_NOT_FINITE(DatumGetTIMESTAMP(a)));
}

/* make_date(year, month, day): a negative year is BC; date.c's checks, in its order */
static inline Datum
make_date_impl(FunctionCallInfo fcinfo)
{
	int			year = DatumGetINT4(fcinfo->args[0].value);
	int			mon = DatumGetINT4(fcinfo->args[1].value);
	int			mday = DatumGetINT4(fcinfo->args[2].value);
	static const int mdays[2][12] = {
		{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
		{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
	};
	int32_t		date;
	bool		leap;

	/* ValidateDate: there is no year 0; internally 1 BC is year 0, 2 BC year -1, ... */
	if (year == 0 || year == INT32_MIN)
		cp_error(CP_ERR_DATE_FIELD_OUT_OF_RANGE);
	if (year < 0)
		year = year + 1;
	if (mon < 1 || mon > 12)
		cp_error(CP_ERR_DATE_FIELD_OUT_OF_RANGE);
	leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	if (mday < 1 || mday > mdays[leap][mon - 1])
		cp_error(CP_ERR_DATE_FIELD_OUT_OF_RANGE);
	/* the Julian-day routines overflow beyond this */
	if (!CP_IS_VALID_JULIAN(year, mon, mday))
		cp_error(CP_ERR_DATE_OUT_OF_RANGE);
	date = cp_date2j(year, mon, mday) - CP_POSTGRES_EPOCH_JDATE;
	if (!CP_IS_VALID_DATE(date))
		cp_error(CP_ERR_DATE_OUT_OF_RANGE);
	return DATEGetDatum(date);
}

/* ---- date_part and date_trunc: the unit is a CP_UNIT_* code (api.h) ---- */

/*
 * timestamp.c's NonFiniteTimestampTzPart for date_part (float8): units that only grow give
 * -infinity or infinity, the others NULL; a unit that is none is an error even here.
 */
static inline Datum
cp_part_nonfinite(FunctionCallInfo fcinfo, int32_t unit, bool negative)
{
	switch (unit)
	{
		case CP_UNIT_YEAR:
		case CP_UNIT_DECADE:
		case CP_UNIT_CENTURY:
		case CP_UNIT_MILLENNIUM:
		case CP_UNIT_JULIAN:
		case CP_UNIT_ISOYEAR:
		case CP_UNIT_EPOCH:
			return FLOAT8GetDatum(negative ? -INFINITY : INFINITY);
		case CP_UNIT_RESERVED:
			cp_error(CP_ERR_UNIT_NOT_SUPPORTED);
		case CP_UNIT_UNKNOWN:
			cp_error(CP_ERR_UNIT_NOT_RECOGNIZED);
		default:
			fcinfo->isnull = true;
			return (Datum) 0;
	}
}

/* date_part(text, timestamp): timestamp.c's timestamp_part_common, float8 form */
static inline Datum
timestamp_part_impl(FunctionCallInfo fcinfo)
{
	int32_t		unit = DatumGetINT4(fcinfo->args[0].value);
	int64_t		t = DatumGetTIMESTAMP(fcinfo->args[1].value);
	CpTm		tm;
	double		r;

	if (CP_TIMESTAMP_NOT_FINITE(t))
		return cp_part_nonfinite(fcinfo, unit, t == CP_DT_NOBEGIN);
	cp_timestamp2tm(t, &tm);
	switch (unit)
	{
		case CP_UNIT_MICROSEC:
			r = tm.sec * 1000000.0 + tm.fsec;
			break;
		case CP_UNIT_MILLISEC:
			r = tm.sec * 1000.0 + tm.fsec / 1000.0;
			break;
		case CP_UNIT_SECOND:
			r = tm.sec + tm.fsec / 1000000.0;
			break;
		case CP_UNIT_MINUTE:
			r = tm.min;
			break;
		case CP_UNIT_HOUR:
			r = tm.hour;
			break;
		case CP_UNIT_DAY:
			r = tm.mday;
			break;
		case CP_UNIT_MONTH:
			r = tm.mon;
			break;
		case CP_UNIT_QUARTER:
			r = (tm.mon - 1) / 3 + 1;
			break;
		case CP_UNIT_WEEK:
			r = cp_date2isoweek(tm.year, tm.mon, tm.mday);
			break;
		case CP_UNIT_YEAR:
			/* there is no year 0: 1 BC is -1 */
			r = tm.year > 0 ? tm.year : tm.year - 1;
			break;
		case CP_UNIT_DECADE:
			/* decade 0 starts in 1 BC; C's division truncates, hence the BC form */
			r = tm.year >= 0 ? tm.year / 10 : -((8 - (tm.year - 1)) / 10);
			break;
		case CP_UNIT_CENTURY:
			/* century 1 is 1-100 AD, century -1 is 100 BC to 1 BC */
			r = tm.year > 0 ? (tm.year + 99) / 100 : -((99 - (tm.year - 1)) / 100);
			break;
		case CP_UNIT_MILLENNIUM:
			r = tm.year > 0 ? (tm.year + 999) / 1000 : -((999 - (tm.year - 1)) / 1000);
			break;
		case CP_UNIT_JULIAN:
			r = cp_date2j(tm.year, tm.mon, tm.mday)
				+ (tm.hour * 3600 + tm.min * 60 + tm.sec + tm.fsec / 1000000.0)
				/ (double) CP_SECS_PER_DAY;
			break;
		case CP_UNIT_ISOYEAR:
			{
				int			y = cp_date2isoyear(tm.year, tm.mon, tm.mday);

				/* BC years count from -1 */
				r = y <= 0 ? y - 1 : y;
				break;
			}
		case CP_UNIT_DOW:
		case CP_UNIT_ISODOW:
			{
				int			dow = cp_j2day(cp_date2j(tm.year, tm.mon, tm.mday));

				r = unit == CP_UNIT_ISODOW && dow == 0 ? 7 : dow;
				break;
			}
		case CP_UNIT_DOY:
			r = cp_date2j(tm.year, tm.mon, tm.mday) - cp_date2j(tm.year, 1, 1) + 1;
			break;
		case CP_UNIT_EPOCH:
			{
				/* (t - epoch) / 1e6, without the int64 overflow the subtraction can make */
				int64_t		epoch = -CP_UNIX_EPOCH_USECS;

				if (t < INT64_MAX + epoch)
					r = (double) (t - epoch) / 1000000.0;
				else
					r = ((double) t - epoch) / 1000000.0;
				break;
			}
		case CP_UNIT_UNKNOWN:
			cp_error(CP_ERR_UNIT_NOT_RECOGNIZED);
		default:
			cp_error(CP_ERR_UNIT_NOT_SUPPORTED);
	}
	return FLOAT8GetDatum(r);
}

/*
 * date_trunc(text, timestamp): timestamp.c's timestamp_trunc. Infinities are returned before
 * the unit is looked at; a truncation can leave the range (the millennium of 4713 BC).
 */
static inline Datum
timestamp_trunc_impl(Datum a, Datum b)
{
	int32_t		unit = DatumGetINT4(a);
	int64_t		t = DatumGetTIMESTAMP(b);
	int64_t		result;
	CpTm		tm;

	if (CP_TIMESTAMP_NOT_FINITE(t))
		return TIMESTAMPGetDatum(t);
	if (unit == CP_UNIT_UNKNOWN)
		cp_error(CP_ERR_UNIT_NOT_RECOGNIZED);
	cp_timestamp2tm(t, &tm);
	switch (unit)
	{
		case CP_UNIT_WEEK:
			{
				int			woy = cp_date2isoweek(tm.year, tm.mon, tm.mday);

				/* week 52/53 in January is last year's, week 1 in December next year's */
				if (woy >= 52 && tm.mon == 1)
					--tm.year;
				if (woy <= 1 && tm.mon == 12)
					++tm.year;
				/* isoweek2date: the Monday of week woy */
				{
					int			day4 = cp_date2j(tm.year, 1, 4);
					int			day0 = cp_j2day(day4 - 1);

					cp_j2date((woy - 1) * 7 + (day4 - day0), &tm.year, &tm.mon, &tm.mday);
				}
				tm.hour = tm.min = tm.sec = 0;
				tm.fsec = 0;
				break;
			}
		case CP_UNIT_MILLENNIUM:
			/* the first year of the millennium: 2001, 1001, 1 AD; 1000 BC, 2000 BC */
			if (tm.year > 0)
				tm.year = ((tm.year + 999) / 1000) * 1000 - 999;
			else
				tm.year = -((999 - (tm.year - 1)) / 1000) * 1000 + 1;
			/* FALLTHROUGH */
		case CP_UNIT_CENTURY:
			if (tm.year > 0)
				tm.year = ((tm.year + 99) / 100) * 100 - 99;
			else
				tm.year = -((99 - (tm.year - 1)) / 100) * 100 + 1;
			/* FALLTHROUGH */
		case CP_UNIT_DECADE:
			/* not again once the year is a century's or millennium's first */
			if (unit != CP_UNIT_MILLENNIUM && unit != CP_UNIT_CENTURY)
			{
				if (tm.year > 0)
					tm.year = (tm.year / 10) * 10;
				else
					tm.year = -((8 - (tm.year - 1)) / 10) * 10;
			}
			/* FALLTHROUGH */
		case CP_UNIT_YEAR:
			tm.mon = 1;
			/* FALLTHROUGH */
		case CP_UNIT_QUARTER:
			tm.mon = (3 * ((tm.mon - 1) / 3)) + 1;
			/* FALLTHROUGH */
		case CP_UNIT_MONTH:
			tm.mday = 1;
			/* FALLTHROUGH */
		case CP_UNIT_DAY:
			tm.hour = 0;
			/* FALLTHROUGH */
		case CP_UNIT_HOUR:
			tm.min = 0;
			/* FALLTHROUGH */
		case CP_UNIT_MINUTE:
			tm.sec = 0;
			/* FALLTHROUGH */
		case CP_UNIT_SECOND:
			tm.fsec = 0;
			break;
		case CP_UNIT_MILLISEC:
			tm.fsec = (tm.fsec / 1000) * 1000;
			break;
		case CP_UNIT_MICROSEC:
			break;
		default:
			cp_error(CP_ERR_UNIT_NOT_SUPPORTED);
	}
	if (!cp_tm2timestamp(&tm, &result))
		cp_error(CP_ERR_TIMESTAMP_OUT_OF_RANGE);
	return TIMESTAMPGetDatum(result);
}

/* the implementation of each DTFN is written out above */
#define DTFN(name, nargs)

#endif							/* COPYPATCH_DATETIME_H */
