"""date and timestamp at compile time: PostgreSQL 15's input, output and unit lookup, and columns."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._core import lib
from ._errors import CompileError, EvalError
from ._lazy import lazy_numpy

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)

# datatype/timestamp.h and utils/date.h (csrc/copypatch.h has the same, for C)
DATEVAL_NOBEGIN, DATEVAL_NOEND = -(2**31), 2**31 - 1
DT_NOBEGIN, DT_NOEND = -(2**63), 2**63 - 1
POSTGRES_EPOCH_JDATE = 2451545
UNIX_EPOCH_DAYS = POSTGRES_EPOCH_JDATE - 2440588  # numpy's days - PostgreSQL's: 10957
USECS_PER_DAY = 86_400_000_000
DATE_MIN, DATE_END = -POSTGRES_EPOCH_JDATE, 2147483494 - POSTGRES_EPOCH_JDATE
TIMESTAMP_MIN, TIMESTAMP_END = -211813488000000000, 9223371331200000000
# numpy's stand-ins for -infinity and infinity (copypatch.h's UNIX_DAYS/UNIX_USECS columns)
NUMPY_MINUS_INFINITY, NUMPY_INFINITY = -(2**63) + 1, 2**63 - 1


def date2j(y: int, m: int, d: int) -> int:
    """datetime.c's date2j: the Julian day of a proleptic Gregorian date (year 0 is 1 BC)."""
    if m > 2:
        m, y = m + 1, y + 4800
    else:
        m, y = m + 13, y + 4799
    century = _cdiv(y, 100)
    return y * 365 - 32167 + _cdiv(y, 4) - century + _cdiv(century, 4) + _cdiv(7834 * m, 256) + d


def j2date(jd: int) -> tuple[int, int, int]:
    """The inverse of date2j, for Julian days >= 0."""
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365 if y != 0 else (julian + 306) % 366) + 123
    y += quad * 4
    quad = julian * 2141 // 65536
    return y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad // 256


def _cdiv(a: int, b: int) -> int:
    """C's integer division, which truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _isleap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


_MDAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_julian(y: int, m: int, d: int) -> bool:
    return (y > -4713 or (y == -4713 and (m > 11 or (m == 11 and d >= 24)))) and y < 5874898


# The ISO 8601 forms copypatch reads: YYYY-MM-DD (a year of four digits or more), then a time
# HH:MM[:SS[.fraction]] after a space or T, then BC or AD. PostgreSQL reads many more (month
# names, MDY orders, time zones, Julian days); those raise CompileError rather than be guessed.
_ISO = re.compile(
    r"(?P<y>\d{4,})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:[ \t\n\v\f\r]+|[Tt])(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?)?"
    r"(?:[ \t\n\v\f\r]+(?P<era>[Bb][Cc]|[Aa][Dd]))?"
)
_C_SPACE = " \t\n\v\f\r"
_NOW_WORDS = ("now", "today", "tomorrow", "yesterday")
_FORMS = ("YYYY-MM-DD, optionally followed by HH:MM[:SS[.ffffff]] and BC; infinity, -infinity, "
          "epoch")


def _parse(text: str, t: str) -> tuple[str, Any]:
    """ParseDateTime + DecodeDateTime for the forms above: ("special", word) or ("fields", tm)."""
    s = text.strip(_C_SPACE)
    low = s.lower()
    if low in ("infinity", "-infinity", "epoch"):
        return "special", low
    if low in _NOW_WORDS:
        raise CompileError(f"{t} input '{text}' depends on the current time, which copypatch "
                           "does not read: write the date")
    m = _ISO.fullmatch(s)
    if m is None:
        raise CompileError(f"{t} input form '{text}' is not supported: copypatch reads {_FORMS}")
    y, mon, d = int(m["y"]), int(m["m"]), int(m["d"])
    bc = (m["era"] or "").lower() == "bc"
    overflow = EvalError("22008", f'date/time field value out of range: "{text}"')
    # ValidateDate: no year 0 in AD/BC notation; 1 BC is year 0 inside
    if y <= 0:
        raise overflow
    if bc:
        y = -(y - 1)
    if not 1 <= mon <= 12 or not 1 <= d <= 31:
        raise overflow
    if d > _MDAYS[mon - 1] + (mon == 2 and _isleap(y)):
        raise overflow
    usecs = 0
    if m["H"] is not None:
        hh, mm, ss = int(m["H"]), int(m["M"]), int(m["S"] or 0)
        # ParseFractionalSecond: strtod of the fraction, rint() of its microseconds
        fsec = round(float(m["f"]) * 1e6) if m["f"] else 0
        if hh > 24 or mm >= 60 or ss > 60 or fsec > 1_000_000:
            raise overflow
        usecs = ((hh * 60 + mm) * 60 + ss) * 1_000_000 + fsec
        # time_overflows: 24:00:00 and 23:59:60 are allowed, nothing later
        if usecs > USECS_PER_DAY:
            raise overflow
    return "fields", (y, mon, d, usecs)


def date_in(text: str) -> int:
    """date_in: PostgreSQL's days from 2000-01-01 (EvalError 22008 as the server's)."""
    kind, v = _parse(text, "date")
    if kind == "special":
        return {"infinity": DATEVAL_NOEND, "-infinity": DATEVAL_NOBEGIN,
                "epoch": -UNIX_EPOCH_DAYS}[v]
    y, m, d, _ = v
    out_of_range = EvalError("22008", f'date out of range: "{text}"')
    if not _valid_julian(y, m, d):
        raise out_of_range
    date = date2j(y, m, d) - POSTGRES_EPOCH_JDATE
    if not DATE_MIN <= date < DATE_END:
        raise out_of_range
    return date


def timestamp_in(text: str) -> int:
    """timestamp_in: PostgreSQL's microseconds from 2000-01-01 (EvalError 22008)."""
    kind, v = _parse(text, "timestamp")
    if kind == "special":
        return {"infinity": DT_NOEND, "-infinity": DT_NOBEGIN,
                "epoch": -UNIX_EPOCH_DAYS * USECS_PER_DAY}[v]
    fields: tuple[int, int, int, int] = v
    y, m, d, usecs = fields
    out_of_range = EvalError("22008", f'timestamp out of range: "{text}"')
    if not _valid_julian(y, m, d):
        raise out_of_range
    result = (date2j(y, m, d) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + usecs
    if not TIMESTAMP_MIN <= result < TIMESTAMP_END:
        raise out_of_range
    return result


def _ymd_text(jd: int) -> str:
    y, m, d = j2date(jd)
    return f"{y if y > 0 else 1 - y:04d}-{m:02d}-{d:02d}"


def date_out(date: int) -> str:
    """date_out in the ISO style: 2000-01-01, 0044-03-15 BC, infinity."""
    if date == DATEVAL_NOEND:
        return "infinity"
    if date == DATEVAL_NOBEGIN:
        return "-infinity"
    y = j2date(date + POSTGRES_EPOCH_JDATE)[0]
    return _ymd_text(date + POSTGRES_EPOCH_JDATE) + (" BC" if y <= 0 else "")


def timestamp_out(ts: int) -> str:
    """timestamp_out in the ISO style: 2000-01-01 12:00:00.5, infinity."""
    if ts == DT_NOEND:
        return "infinity"
    if ts == DT_NOBEGIN:
        return "-infinity"
    days, usecs = divmod(ts, USECS_PER_DAY)
    jd = days + POSTGRES_EPOCH_JDATE
    secs, fsec = divmod(usecs, 1_000_000)
    text = f"{_ymd_text(jd)} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if fsec:
        text += f".{fsec:06d}".rstrip("0")
    return text + (" BC" if j2date(jd)[0] <= 0 else "")


# ---- units of date_part and date_trunc: datetime.c's deltatktbl and datetktbl ----

_U: dict[str, int] = {name: int(getattr(lib, f"CP_UNIT_{name}")) for name in (
    "MICROSEC", "MILLISEC", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
    "DECADE", "CENTURY", "MILLENNIUM", "JULIAN", "ISOYEAR", "DOW", "ISODOW", "DOY", "EPOCH", "TZ",
    "RESERVED", "UNKNOWN")}
#: deltatktbl (DecodeUnits): each token's unit; None for a token that is no unit ("@", "ago")
DELTA_TOKENS: dict[str, str | None] = {
    "@": None, "ago": None, "c": "CENTURY", "cent": "CENTURY", "centuries": "CENTURY",
    "century": "CENTURY", "d": "DAY", "day": "DAY", "days": "DAY", "dec": "DECADE",
    "decade": "DECADE", "decades": "DECADE", "decs": "DECADE", "h": "HOUR", "hour": "HOUR",
    "hours": "HOUR", "hr": "HOUR", "hrs": "HOUR", "m": "MINUTE", "microsecon": "MICROSEC",
    "mil": "MILLENNIUM", "millennia": "MILLENNIUM", "millennium": "MILLENNIUM",
    "millisecon": "MILLISEC", "mils": "MILLENNIUM", "min": "MINUTE", "mins": "MINUTE",
    "minute": "MINUTE", "minutes": "MINUTE", "mon": "MONTH", "mons": "MONTH", "month": "MONTH",
    "months": "MONTH", "ms": "MILLISEC", "msec": "MILLISEC", "msecond": "MILLISEC",
    "mseconds": "MILLISEC", "msecs": "MILLISEC", "qtr": "QUARTER", "quarter": "QUARTER",
    "s": "SECOND", "sec": "SECOND", "second": "SECOND", "seconds": "SECOND", "secs": "SECOND",
    "timezone": "TZ", "timezone_h": "TZ", "timezone_m": "TZ", "us": "MICROSEC",
    "usec": "MICROSEC", "usecond": "MICROSEC", "useconds": "MICROSEC", "usecs": "MICROSEC",
    "w": "WEEK", "week": "WEEK", "weeks": "WEEK", "y": "YEAR", "year": "YEAR", "years": "YEAR",
    "yr": "YEAR", "yrs": "YEAR",
}
#: datetktbl (DecodeSpecial), the words date_part also tries: units, reserved words (RESERVED),
#: and other keywords (None: month and day names, am/pm, ...)
SPECIAL_TOKENS: dict[str, str | None] = {
    "-infinity": "RESERVED", "ad": None, "allballs": "RESERVED", "am": None, "apr": None,
    "april": None, "at": None, "aug": None, "august": None, "bc": None, "d": "DAY", "dec": None,
    "december": None, "dow": "DOW", "doy": "DOY", "dst": None, "epoch": "EPOCH", "feb": None,
    "february": None, "fri": None, "friday": None, "h": "HOUR", "infinity": "RESERVED",
    "isodow": "ISODOW", "isoyear": "ISOYEAR", "j": "JULIAN", "jan": None, "january": None,
    "jd": "JULIAN", "jul": None, "julian": "JULIAN", "july": None, "jun": None, "june": None,
    "m": "MONTH", "mar": None, "march": None, "may": None, "mm": "MINUTE", "mon": None,
    "monday": None, "nov": None, "november": None, "now": "RESERVED", "oct": None,
    "october": None, "on": None, "pm": None, "s": "SECOND", "sat": None, "saturday": None,
    "sep": None, "sept": None, "september": None, "sun": None, "sunday": None, "t": None,
    "thu": None, "thur": None, "thurs": None, "thursday": None, "today": "RESERVED",
    "tomorrow": "RESERVED", "tue": None, "tues": None, "tuesday": None, "wed": None,
    "wednesday": None, "weds": None, "y": "YEAR", "yesterday": "RESERVED", "z": None,
    "zulu": None,
}
TOKMAXLEN = 10  # datetime.h: tokens are compared on their first ten characters


def _lookup(table: dict[str, str | None], key: str) -> tuple[bool, str | None]:
    """datebsearch: strncmp(key, token, TOKMAXLEN) == 0 against each token."""
    for token, unit in table.items():
        if key[:TOKMAXLEN] == token[:TOKMAXLEN] and (len(token) >= TOKMAXLEN or key == token):
            return True, unit
    return False, None


def _downcase(text: str) -> str:
    """downcase_truncate_identifier: ASCII letters only (the server's encoding is UTF8)."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def unit_code(text: str, trunc: bool) -> int:
    """The CP_UNIT_* code (api.h) of a date_part (trunc False) or date_trunc unit."""
    low = _downcase(text)
    found, unit = _lookup(DELTA_TOKENS, low)
    if not found and not trunc:
        found, unit = _lookup(SPECIAL_TOKENS, low)
    if unit is None:
        return _U["UNKNOWN"]
    return _U[unit]


def to_numpy(t_name: str, v: int) -> int:
    """A date's or timestamp's value as its numpy column holds it (csrc/copypatch.h's
    UNIX_DAYS, UNIX_USECS): from 1970 rather than 2000, the infinities as numpy's extremes."""
    if t_name == "date":
        ends, shift = (DATEVAL_NOBEGIN, DATEVAL_NOEND), UNIX_EPOCH_DAYS
    else:
        ends, shift = (DT_NOBEGIN, DT_NOEND), UNIX_EPOCH_DAYS * USECS_PER_DAY
    if v == ends[0]:
        return NUMPY_MINUS_INFINITY
    if v == ends[1]:
        return NUMPY_INFINITY
    return v + shift


def from_numpy(t_name: str, v: int) -> int:
    """The inverse of to_numpy."""
    if v == NUMPY_MINUS_INFINITY:
        return DATEVAL_NOBEGIN if t_name == "date" else DT_NOBEGIN
    if v == NUMPY_INFINITY:
        return DATEVAL_NOEND if t_name == "date" else DT_NOEND
    return v - (UNIX_EPOCH_DAYS if t_name == "date" else UNIX_EPOCH_DAYS * USECS_PER_DAY)


def check_column(name: str, data: np.ndarray, mask: Any, t_name: str) -> None:
    """Refuse a datetime64 column holding a value PostgreSQL's type cannot: NaT (NULL is the
    mask, not NaT) or a value before 4714-11-24 BC (or, for date, after 5874897-12-31). numpy's
    largest value and its smallest but NaT are infinity and -infinity."""
    raw = data.view(np.int64)
    if t_name == "date":
        lo, hi = DATE_MIN + UNIX_EPOCH_DAYS, DATE_END + UNIX_EPOCH_DAYS
    else:
        lo, hi = TIMESTAMP_MIN + UNIX_EPOCH_DAYS * USECS_PER_DAY, NUMPY_INFINITY
    special = (raw == NUMPY_INFINITY) | (raw == NUMPY_MINUS_INFINITY)
    bad = ~special & ((raw < lo) | (raw >= hi))
    if mask is not None and mask is not np.ma.nomask:
        bad &= ~np.asarray(mask, dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        v = int(raw[row])
        what = "NaT" if v == -(2**63) else str(data[row])
        raise ValueError(
            f'column "{name}" holds {what} in row {row}, which PostgreSQL\'s {t_name} cannot '
            "hold (NULL is the mask, not NaT; the range starts at 4714-11-24 BC and ends at "
            f"{'5874897-12-31' if t_name == 'date' else '294247-01-10'}; numpy's "
            "largest value and its smallest but NaT stand for infinity and -infinity)"
        )
