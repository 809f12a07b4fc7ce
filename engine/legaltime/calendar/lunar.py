"""The Vietnamese lunisolar calendar (âm lịch): which lunar day a solar date is.

Used to name the days around Tết correctly.  The holidays package calls the
day two before Lunar New Year "29 Tết" every year, but the twelfth month
(tháng Chạp) has 29 days in some years: in 2025 Giao thừa was 29 Chạp, so
27/01/2025 was 28 tháng Chạp.  Month lengths depend on when each new moon
falls in Vietnam's time zone (UTC+7), so the calendar is computed, not
tabulated: new moons after Jean Meeus' "Astronomical Algorithms" (ch. 49,
the short series), months numbered by the winter solstice (month 11 holds
it) and a leap month where a lunar month holds no major solar term — the
method the Vietnamese calendar uses (as published by Hồ Ngọc Đức).  Accurate
to the day for 1900–2100; tests check it against the holidays package's Tết
dates and known Chạp lengths.
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache

from agreeflow.engine.core.i18n import N_, Msg

TZ_HOURS = 7.0
"""Vietnam's time zone: the Vietnamese calendar places new moons in UTC+7 (since 1968)."""
_SYNODIC = 29.530588853
_JD_1900 = 2415021.076998695  # the first new moon of 1900, in Julian days
_ORDINAL_TO_JDN = 1721425      # date.toordinal() + this = Julian day number (at noon)


def _jdn(d: date) -> int:
    return d.toordinal() + _ORDINAL_TO_JDN


def _new_moon(k: int) -> float:
    """The Julian day (UT) of the ``k``-th new moon after 1 January 1900."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3        # sun's mean anomaly
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3     # moon's mean anomaly
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3        # moon's argument of latitude
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 = c1 - 0.4068 * math.sin(mpr * dr) + 0.0161 * math.sin(dr * 2 * mpr)
    c1 = c1 - 0.0004 * math.sin(dr * 3 * mpr)
    c1 = c1 + 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 = c1 - 0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 = c1 - 0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 = c1 + 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - delta_t


def _new_moon_day(k: int) -> int:
    """The Julian day number, in Vietnam, of the ``k``-th new moon."""
    return math.floor(_new_moon(k) + 0.5 + TZ_HOURS / 24)


def _sun_longitude_sector(jdn: int) -> int:
    """Which twelfth of the ecliptic (0–11, 30° each from the vernal equinox) the sun is in at the start of
    ``jdn`` in Vietnam: a major solar term begins where the sector changes."""
    t = (jdn - 0.5 - TZ_HOURS / 24 - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    lon -= math.pi * 2 * math.floor(lon / (math.pi * 2))
    return math.floor(lon / math.pi * 6)


@lru_cache(maxsize=256)
def _month11(year: int) -> int:
    """The first day (JDN) of the lunar month that holds the winter solstice of ``year``."""
    off = _jdn(date(year, 12, 31)) - 2415021
    k = math.floor(off / _SYNODIC)
    nm = _new_moon_day(k)
    if _sun_longitude_sector(nm) >= 9:  # the month starts after the solstice: take the one before
        nm = _new_moon_day(k - 1)
    return nm


def _leap_offset(a11: int) -> int:
    """Months after month 11 of a 13-month year until the leap month (the first without a major term)."""
    k = math.floor((a11 - _JD_1900) / _SYNODIC + 0.5)
    i, arc = 1, _sun_longitude_sector(_new_moon_day(k + 1))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            return i - 1


def lunar_date(d: date) -> tuple[int, int, bool]:
    """(day, month, leap) of solar date ``d`` in the Vietnamese lunar calendar; month 12 is tháng Chạp."""
    day_number = _jdn(d)
    k = math.floor((day_number - _JD_1900) / _SYNODIC)
    month_start = _new_moon_day(k + 1)
    if month_start > day_number:
        month_start = _new_moon_day(k)
    a11 = _month11(d.year)
    b11 = a11
    if a11 >= month_start:
        a11 = _month11(d.year - 1)
    else:
        b11 = _month11(d.year + 1)
    day = day_number - month_start + 1
    diff = math.floor((month_start - a11) / 29)
    leap, month = False, diff + 11
    if b11 - a11 > 365:  # a year of 13 months
        leap_diff = _leap_offset(a11)
        if diff >= leap_diff:
            month = diff + 10
            leap = diff == leap_diff
    if month > 12:
        month -= 12
    return day, month, leap


def chap_label(d: date) -> Msg:
    """"28 tháng Chạp" / "day 28 of the 12th lunar month" for a day of tháng Chạp."""
    day, month, _ = lunar_date(d)
    if month != 12:
        raise ValueError(f"{d} is day {day} of lunar month {month}, not of tháng Chạp")
    return Msg(N_("day {day} of the 12th lunar month"), day=day)
