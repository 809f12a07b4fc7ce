"""Working days of Vietnamese state bodies: which days count, and counting them.

Why a class of our own and not just the ``holidays`` package: the package
knows the fixed public holidays (Labour Code 2019 art. 112) and some swaps, but
it cannot say that a Saturday is a make-up working day (ngày làm bù), and the
Prime Minister decides swaps every year.  So a day's status is layered, each
layer overriding the one before:

1. the weekly schedule: Saturday and Sunday off (40-hour week);
2. the ``holidays`` package, country VN (public holidays, nghỉ bù, known swaps):
   it computes the days, the law sets them, so such a day cites Labour Code
   2019 art. 112 (``HOLIDAY_LAW``, shown "Bộ luật Lao động 2019, Điều 112") and
   names the package and its version only in ``DayInfo.computed_by``, for a
   maintainer (``--json``), never as its legal basis;
3. the shipped data file ``engine/data/calendar-vn.yaml`` (operator-editable);
4. overrides from the database (``calendar_days``), passed in by the caller.

Counting follows the Civil Code 2015 arts. 147-148: day 0 (the start) is not
counted; a period ends at 24:00 of its last day.  ``add`` is O(log n): every
loaded year is kept as a sorted list of working-day ordinals and a bitmap, so
the deadline sweep can project many dates cheaply.  Years load lazily (whole
years at a time); the object is safe to share between threads.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from agreeflow.engine.core.errors import OffCalendarError
from agreeflow.engine.core.i18n import N_, Msg, pair, t
from agreeflow.engine.core.vocabulary import duration
from agreeflow.engine.legaltime.calendar import lunar, package_cache
from agreeflow.engine.legaltime.calendar.due import Due, DueKind, add_months, step

Unit = Literal["wd", "d", "m"]
FIRST_YEAR, LAST_YEAR = 1995, 2200  # the package's VN rules start in 1995
HOLIDAY_LAW = N_("Labour Code 2019, Article 112")
"""The legal basis of a day off the package computes (Bộ luật Lao động 2019, No. 45/2019/QH14, Điều 112: the
public holidays; the Prime Minister fixes the Tết and National Day days each year).  A decision of a year
that the data file or an operator records (a swap, a make-up Saturday) cites its own document instead."""
PACKAGE_COMPUTED_BY = f"holidays {package_cache.PACKAGE_VERSION} (VN)"  # one metadata lookup a process (~1.5 ms)
"""What computed a package day (``DayInfo.computed_by``): for a maintainer, never shown as a citation."""
PACKAGE_DAY_29 = "29 Tết"
"""The holidays package's name for the day two before Lunar New Year; we name its real lunar date."""
WEEK_SOURCE = N_("40-hour working week (Saturday and Sunday off)")
OBSERVED_LAW = N_("Labour Code 2019, Article 111(3)")
"""A holiday that fell on the weekly rest day is taken the next working day (nghỉ bù): Điều 111 khoản 3."""
CATALOGUE_SOURCES = frozenset({HOLIDAY_LAW, OBSERVED_LAW, WEEK_SOURCE})
"""The sources the engine itself gives (msgids, read in the reader's language); any other source is data —
the calendar file's or an operator's — shown as written."""


class DayCategory(StrEnum):
    """Why a day has its status; decides the words shown next to its reason."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"        # public holiday from the package
    OBSERVED = "observed"      # nghỉ bù: a holiday that fell on a rest day
    SWAP = "swap"              # a working day turned into a day off
    MAKEUP = "makeup"          # a rest day turned into a working day (làm bù)
    OVERRIDE = "override"      # an operator's entry in the database


_CATEGORY_WORDS: dict[DayCategory, str] = {
    DayCategory.WORKDAY: N_("working day"),
    DayCategory.WEEKEND: N_("weekly rest"),
    DayCategory.HOLIDAY: N_("public holiday"),
    DayCategory.OBSERVED: N_("compensatory day off"),
    DayCategory.SWAP: N_("swapped day off"),
    DayCategory.MAKEUP: N_("make-up working day — counted"),
    DayCategory.OVERRIDE: N_("operator override"),
}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))
"""The days of the week, Monday first (``date.weekday()``): the one source of their names, through
:func:`weekday_name`.  Vietnamese writes them as administrative usage does inside a sentence, a parenthesis
or a table cell alike: "thứ Hai" … "thứ Bảy", "Chủ nhật"."""


@dataclass(frozen=True)
class DayInfo:
    """One day's status: ``kind`` is ``working`` or ``off``, with the reason and its source."""

    day: date
    kind: Literal["working", "off"]
    reason_vi: str
    reason_en: str
    source: str
    confirmed: bool = True
    category: DayCategory = DayCategory.WORKDAY
    computed_by: str = ""
    """What computed the day when it is not data (the ``holidays`` package and its version), for a maintainer."""

    @property
    def working(self) -> bool:
        """True when the day counts as a working day."""
        return self.kind == "working"

    def label(self) -> Msg:
        """``reason (category)``, e.g. ``Tết Nguyên Đán (nghỉ lễ)``, as a message for any language.

        An ordinary working day is only its reason ("Ngày làm việc"), never "Ngày làm việc (ngày làm việc)".
        """
        # A weekly rest day is named by the catalogue (weekday_name's word), so a stored explanation reads as
        # the catalogue spells it now; other reasons are data (the package's names, the file's, an operator's).
        reason = Msg(WEEKDAYS[self.day.weekday()]) if self.category == DayCategory.WEEKEND \
            else pair(self.reason_vi, self.reason_en)
        text = Msg("{reason}", reason=reason) if self.category == DayCategory.WORKDAY \
            else Msg(N_("{reason} ({category})"), reason=reason, category=Msg(_CATEGORY_WORDS[self.category]))
        return text if self.confirmed else Msg(N_("{text} — UNCONFIRMED"), text=text)

    def describe(self, lang: str = "vi") -> str:
        """:meth:`label` in ``lang``."""
        return self.label().render(lang)

    def basis(self) -> Msg:
        """The day's legal basis as a message: the engine's own sources from the catalogue, data as written."""
        return Msg(self.source) if self.source in CATALOGUE_SOURCES else Msg("{source}", source=self.source)

    def cited(self, lang: str = "vi") -> str:
        """:meth:`basis` in ``lang`` ("Bộ luật Lao động 2019, Điều 112" / "Labour Code 2019, Article 112")."""
        return self.basis().render(lang)


def weekday_name(day: date | int, lang: str = "vi") -> str:
    """The day of the week of ``day`` (a date, or 0 = Monday … 6 = Sunday) in ``lang``.

    The one source of weekday names (mail, deadline explanations, the calendar commands and pages):
    ``thứ Hai`` … ``thứ Bảy``, ``Chủ nhật`` / ``Monday`` … ``Sunday``, from the catalogue.
    """
    return t(WEEKDAYS[day if isinstance(day, int) else day.weekday()], lang)


def _package_day(day: date, name_vi: str, name_en: str) -> DayInfo:
    """Turn a package entry into a DayInfo, telling nghỉ bù and swaps from holidays."""
    if "thay cho" in name_vi:
        category = DayCategory.SWAP
    elif "nghỉ bù" in name_vi:
        category = DayCategory.OBSERVED
        name_vi = name_vi.replace(" (nghỉ bù)", "").replace("nghỉ bù, ", "")
        name_en = name_en.replace(" (observed)", "").replace("observed, ", "")
    else:
        category = DayCategory.HOLIDAY
    if name_vi == PACKAGE_DAY_29:  # the package's name for "two days before Tết", wrong when Chạp has 29 days
        label = lunar.chap_label(day)  # the row keeps both names, as it does the package's
        name_vi, name_en = label.render("vi"), label.render("en")
    law = OBSERVED_LAW if category == DayCategory.OBSERVED else HOLIDAY_LAW
    return DayInfo(day, "off", name_vi, name_en, law, True, category, PACKAGE_COMPUTED_BY)


@lru_cache(maxsize=4096)
def _weekly(day: date) -> DayInfo:
    if day.weekday() >= 5:
        return DayInfo(day, "off", weekday_name(day, "vi"), weekday_name(day, "en"), WEEK_SOURCE, True,
                       DayCategory.WEEKEND)
    return DayInfo(day, "working", "Ngày làm việc", "Working day", WEEK_SOURCE, True,
                   DayCategory.WORKDAY)


@dataclass(frozen=True)
class _Span:
    """The loaded years, replaced as a whole so readers never see half an update."""

    lo: int                          # first loaded year
    hi: int                          # last loaded year
    base: int                        # ordinal of 1 January of lo
    bitmap: bytes                    # 1 = working, indexed by ordinal - base
    working: list[int]               # sorted ordinals of working days
    off: list[int]                   # sorted ordinals of days off
    makeup: list[int]                # sorted ordinals of weekend days worked
    special: dict[date, DayInfo]     # days that differ from the weekly schedule

    def covers(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi <= self.hi


_EMPTY = _Span(0, -1, 0, b"", [], [], [], {})


class Calendar:
    """Working-day calendar built from the package, shipped data and DB overrides.

    Args:
        entries: day decisions from the shipped data file (layer 3).
        overrides: operator overrides from the database (layer 4, wins).
        unconfirmed_names: package holiday names (Vietnamese) whose status as a
            day off is not confirmed; such days report ``confirmed=False``.
    """

    def __init__(self, entries: Iterable[DayInfo] = (), overrides: Iterable[DayInfo] = (),
                 unconfirmed_names: Iterable[str] = ()) -> None:
        self._entries = {e.day: e for e in entries}
        self._entries.update({e.day: e for e in overrides})
        self._unconfirmed = tuple(unconfirmed_names)
        self._lock = threading.Lock()
        self._state = _EMPTY
        self._years(2016, 2030)

    # ------------------------------------------------------------ loading years
    def _years(self, lo: int, hi: int) -> _Span:
        """The loaded span, extended first when it does not cover the years lo..hi."""
        state = self._state
        if state.covers(lo, hi):
            return state
        if lo < FIRST_YEAR or hi > LAST_YEAR:
            raise OffCalendarError(years=f"{lo}–{hi}" if lo != hi else str(lo), first=FIRST_YEAR, last=LAST_YEAR)
        with self._lock:
            state = self._state
            if state.covers(lo, hi):
                return state  # another thread loaded them meanwhile
            if state is not _EMPTY:
                lo, hi = min(lo, state.lo), max(hi, state.hi)
            years = [y for y in range(lo, hi + 1) if not state.covers(y, y)]
            special = dict(state.special)
            special.update(self._read_package(years))
            special.update({d: i for d, i in self._entries.items() if d.year in years})
            self._state = _build_span(lo, hi, special)
            return self._state

    def _days(self, a: date, b: date) -> _Span:
        return self._years(min(a.year, b.year), max(a.year, b.year))

    def _read_package(self, years: list[int]) -> dict[date, DayInfo]:
        found: dict[date, DayInfo] = {}
        for day, (name_vi, name_en) in package_cache.holiday_names(years).items():
            info = _package_day(day, name_vi, name_en)
            if any(name in name_vi for name in self._unconfirmed):
                info = replace(info, confirmed=False)
            found[day] = info  # a holiday on a weekend is kept too: its name is the reason
        return found

    # ------------------------------------------------------------ single days
    def is_working(self, d: date) -> bool:
        """True when ``d`` is a working day for state bodies."""
        state = self._days(d, d)
        return bool(state.bitmap[d.toordinal() - state.base])

    def day_info(self, d: date) -> DayInfo:
        """The status of ``d`` with its reason and source."""
        return self._days(d, d).special.get(d) or _weekly(d)

    def holidays(self, year: int) -> list[DayInfo]:
        """Every weekday off and every weekend day worked in ``year``, with reasons, by date."""
        days = [info for day, info in self._years(year, year).special.items() if day.year == year]
        return sorted((i for i in days if i.working == (i.day.weekday() >= 5)),
                      key=lambda i: i.day)

    def next_working(self, d: date) -> date:
        """``d`` if it is a working day, else the first working day after it."""
        return date.fromordinal(self._nth_working(d - timedelta(days=1), 1))

    def previous_working(self, d: date) -> date:
        """``d`` if it is a working day, else the last working day before it."""
        return date.fromordinal(self._nth_working(d, -1, inclusive=True))

    # ------------------------------------------------------------ counting
    def _nth_working(self, day: date, n: int, inclusive: bool = False) -> int:
        """Ordinal of the n-th working day after ``day`` (n>0) or before it (n<0).

        ``day`` itself is day 0 and not counted either way (Civil Code art.
        147), so counting back from a working day s gives a day D with exactly
        |n| working days in (D, s].  With ``inclusive`` (n = -1) the result is
        the latest working day <= day.
        """
        ordinal = day.toordinal()
        state = self._days(day, day)
        while True:
            if n > 0:
                index = bisect_right(state.working, ordinal) + n - 1
            elif inclusive:
                index = bisect_right(state.working, ordinal) - 1
            else:
                index = bisect_left(state.working, ordinal) + n
            if 0 <= index < len(state.working):
                return state.working[index]
            state = self._years(state.lo - 5, state.lo) if index < 0 else self._years(state.hi, state.hi + 5)

    def add_date(self, start: date, n: int, unit: Unit = "wd") -> date:
        """The due date only (no explanation): the fast path of :meth:`add`."""
        if unit == "wd":
            return start if n == 0 else date.fromordinal(self._nth_working(start, n))
        end = _plain_end(start, n, unit)
        # Civil Code art. 148: a last day that is a rest day moves to the next
        # working day; counting back, the safe side is the working day before.
        return self.previous_working(end) if n < 0 else self.next_working(end)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        working = self._days(a, b).working
        return bisect_right(working, b.toordinal()) - bisect_right(working, a.toordinal())

    def days_off_between(self, a: date, b: date) -> list[DayInfo]:
        """Days off strictly between a and b (either order), by date."""
        return self._infos("off", a, b)

    def makeup_days_between(self, a: date, b: date) -> list[DayInfo]:
        """Weekend days worked (làm bù) after the earlier and up to the later date, by date."""
        return self._infos("makeup", a, b)

    def _infos(self, which: Literal["off", "makeup"], a: date, b: date) -> list[DayInfo]:
        lo, hi = sorted((a, b))
        state = self._days(lo, hi)
        ordinals = state.off if which == "off" else state.makeup
        cut = bisect_left if which == "off" else bisect_right   # off: (lo, hi); makeup: (lo, hi]
        found = ordinals[bisect_right(ordinals, lo.toordinal()):cut(ordinals, hi.toordinal())]
        return [state.special.get(d) or _weekly(d) for d in map(date.fromordinal, found)]

    def add(self, start: date, n: int, unit: Unit = "wd", phrase: str | None = None) -> Due:
        """``n`` working days (``wd``), days (``d``) or months (``m``) from ``start``, explained.

        Day 0 is not counted (Civil Code art. 147).  ``wd`` counts working days;
        ``d`` lands on start+n, ``m`` on the same day n months later (or that
        month's last day); either moves to the next working day when it lands
        on a day off (art. 148; counting back, to the working day before).
        Negative ``n`` counts back, e.g. "submit at least 15 working days before".
        ``phrase`` is the text that asked for the count (a canonical one if None).
        """
        due = self.add_date(start, n, unit)
        return Due(kind=_UNIT_KINDS[unit], phrase=phrase or _canonical_phrase(n, unit),
                   due_date=due, steps=self.count_steps(start, n, unit, due))

    def count_steps(self, start: date, n: int, unit: Unit, due: date) -> list[dict[str, Any]]:
        """The explanation of a count: day 0, each day skipped and why, the last day."""
        steps = [step(Msg(N_("Start (day 0, not counted — Civil Code 2015 art. 147): {day}"), day=start), start)]
        if unit == "wd":
            skipped = [step(Msg(N_("{day} — {why}: not counted"), day=i.day, why=i.label()), i.day)
                       for i in self.days_off_between(start, due)]
            worked = [step(Msg(N_("{day} — {why}"), day=i.day, why=i.label()), i.day)
                      for i in self.makeup_days_between(start, due)]
            steps += sorted(skipped + worked, key=lambda s: s["date"], reverse=n < 0)
            last = N_("Working day {n} after the start: {day}; due at the end of that day (24:00, Civil Code art. "
                      "148)") if n >= 0 else N_("Working day {n} before the start: {day}; due at the end of that "
                                               "day (24:00, Civil Code art. 148)")
            steps.append(step(Msg(last, n=abs(n), day=due), due))
            return steps
        plain = _plain_end(start, n, unit)
        steps.append(step(Msg(N_("Start {sign} {count} = {day}"), sign="+" if n >= 0 else "−",
                              count=duration(abs(n), unit), day=plain), plain))
        if plain != due:
            moved = N_("{day} is a day off ({why}): the deadline moves to the next working day {due} (Civil Code "
                       "art. 148)") if n >= 0 else N_("{day} is a day off ({why}): the deadline moves to the "
                                                      "previous working day {due} (Civil Code art. 148)")
            steps.append(step(Msg(moved, day=plain, why=self.day_info(plain).label(), due=due), due))
        return steps


def _build_span(lo: int, hi: int, special: dict[date, DayInfo]) -> _Span:
    base = date(lo, 1, 1).toordinal()
    end = date(hi, 12, 31).toordinal()
    bitmap = bytearray(1 if date.fromordinal(o).weekday() < 5 else 0 for o in range(base, end + 1))
    for day, info in special.items():
        bitmap[day.toordinal() - base] = 1 if info.working else 0
    makeup = sorted(d.toordinal() for d, i in special.items() if i.working and d.weekday() >= 5)
    return _Span(lo, hi, base, bytes(bitmap), [base + i for i, bit in enumerate(bitmap) if bit],
                 [base + i for i, bit in enumerate(bitmap) if not bit], makeup, special)


_UNIT_KINDS = {"wd": DueKind.WORKING_DAYS, "d": DueKind.CALENDAR_DAYS, "m": DueKind.MONTHS}


def _plain_end(start: date, n: int, unit: Unit) -> date:
    """start + n days or months, before any move to a working day (OffCalendarError past year 9999 or 1)."""
    if unit not in ("d", "m"):
        raise ValueError(f"unit must be 'wd', 'd' or 'm', not {unit!r}")
    try:
        return start + timedelta(days=n) if unit == "d" else add_months(start, n)
    except (OverflowError, ValueError):  # beyond what a date can hold, let alone the calendar
        year = start.year + (n // 365 if unit == "d" else n // 12)
        raise OffCalendarError(years=str(year), first=FIRST_YEAR, last=LAST_YEAR) from None


def _canonical_phrase(n: int, unit: Unit) -> str:
    words = {"wd": "ngày làm việc", "d": "ngày", "m": "tháng"}[unit]
    return f"{n} {words}" if n >= 0 else f"{-n} {words} trước"
