"""Due dates of each kind of time phrase, with their explanation.

The phrase rules (``phrase_rules``) find *what* a phrase says (a month, a
quarter, a count of working days...); this module turns that into a ``Due``.
Kept apart so that callers that already know the period (e.g. an import that
has a month and a year in two columns) can build the same Due without text.

Rules applied: a period phrase ends on the last day of the
period and is not moved; "trước ngày X" ends at the end of X-1; a count runs
from the reference day under Civil Code arts. 147-148 (``Calendar.add``);
a year without a number means the nearest period that has not ended yet.

Every value is checked here, so a caller without text gets the same refusals:
a month outside 1–12, a quarter outside I–IV, a year outside the calendar
(``FIRST_YEAR``–``LAST_YEAR``), a negative count or one that runs off the
calendar raise ``PeriodValueError`` — a message of the catalogue, never another date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.vocabulary import duration
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR, Calendar, Unit
from agreeflow.engine.legaltime.calendar.due import (
    Due,
    DueKind,
    Step,
    fixed_end_steps,
    month_end,
    period_end_steps,
    quarter_end,
    recurring_end,
    recurring_steps,
    step,
)

_SPAN = f"{FIRST_YEAR}–{LAST_YEAR}"
MAX_COUNT: dict[str, int] = {"d": (LAST_YEAR - FIRST_YEAR + 1) * 366, "wd": (LAST_YEAR - FIRST_YEAR + 1) * 366,
                             "m": (LAST_YEAR - FIRST_YEAR + 1) * 12}
"""The largest count a phrase may give, per unit: the whole calendar; more can only run off it."""


class PeriodValueError(ValueError):
    """A value a phrase names that cannot be: what is wrong and what is accepted (``problem``, a message)."""

    def __init__(self, problem: Msg) -> None:
        super().__init__(problem.render("en"))
        self.problem = problem


def check_year(y: int) -> int:
    """``y`` when the calendar has it; PeriodValueError otherwise ("năm 0", "năm 9999")."""
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise PeriodValueError(Msg(N_("the year {year} is outside the calendar (it covers {span})"), year=y,
                                   span=_SPAN))
    return y


def check_month(m: int) -> int:
    if not 1 <= m <= 12:
        raise bad_month(str(m))
    return m


def check_quarter(q: int) -> int:
    if not 1 <= q <= 4:
        raise bad_quarter(str(q))
    return q


def bad_month(shown: str) -> PeriodValueError:
    return PeriodValueError(Msg(N_("there is no month {month} — months are 1 to 12"), month=shown))


def bad_quarter(shown: str) -> PeriodValueError:
    return PeriodValueError(Msg(N_("there is no quarter “{quarter}” — quarters are I, II, III, IV (or 1–4)"),
                                quarter=shown))
MONTHS = ("", N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))
QUARTERS = ("", N_("Q1"), N_("Q2"), N_("Q3"), N_("Q4"))


def _month(y: int, m: int) -> Msg:
    """"July 2024" / "Tháng 7/2024"."""
    return Msg(N_("{period} {year}"), period=Msg(MONTHS[m]), year=y)


def _year_of(year: str | None, ref: date, end_of: Callable[[int], date]) -> tuple[int, list[Step]]:
    """The given year, or the nearest one whose period has not ended by ``ref``."""
    if year is not None:
        return check_year(int(year)), []
    chosen = ref.year if end_of(ref.year) >= ref else ref.year + 1
    return chosen, [step(Msg(N_("No year given: the nearest period not yet ended ({year})"), year=chosen))]


def _period(kind: DueKind, phrase: str, end: date, cal: Calendar, period: Msg,
            before: list[Step] | None = None) -> Due:
    return Due(kind=kind, phrase=phrase, due_date=end,
               steps=(before or []) + period_end_steps(end, cal, period))


def month(cal: Calendar, phrase: str, ref: date, year: str | None, m: int) -> Due:
    """"trong tháng 7/2024" → 31/07/2024."""
    check_month(m)
    y, notes = _year_of(year, ref, lambda yy: month_end(yy, m))
    return _period(DueKind.MONTH, phrase, month_end(y, m), cal, _month(y, m), notes)


def months(cal: Calendar, phrase: str, listed: list[tuple[int, int]], span: bool) -> Due:
    """A list ("Tháng 3,4/2017") or range ("Tháng 6-8/2017") of months: due at the end of the last."""
    for y, m in listed:
        check_year(y)
        check_month(m)
    (y1, m1), (y2, m2) = listed[0], listed[-1]
    if (y1, m1) > (y2, m2):
        raise PeriodValueError(Msg(N_("the range starts after it ends: {first} – {last}"), first=f"{m1}/{y1}",
                                   last=f"{m2}/{y2}"))
    if span:
        note = step(Msg(N_("From {first} to {last}: due with the last month"), first=_month(y1, m1),
                        last=_month(y2, m2)))
    else:
        note = step(Msg(N_("Several months ({months}): due with the last month"),
                        months=Msg(N_("{period} {year}"), period=[Msg(MONTHS[m]) for _, m in listed], year=y2)))
    return _period(DueKind.MONTHS, phrase, month_end(y2, m2), cal, _month(y2, m2), [note])


def quarter(cal: Calendar, phrase: str, ref: date, year: str | None, q: int) -> Due:
    """"Quý III năm 2024" → 30/09/2024."""
    check_quarter(q)
    y, notes = _year_of(year, ref, lambda yy: quarter_end(yy, q))
    return _period(DueKind.QUARTER, phrase, quarter_end(y, q), cal,
                   Msg(N_("{period} {year}"), period=Msg(QUARTERS[q]), year=y), notes)


def half_year(cal: Calendar, phrase: str, ref: date, year: str | None, first: bool) -> Due:
    """"6 tháng đầu năm 2024" → 30/06/2024 (Civil Code art. 146: mid-year is 30 June)."""
    y, notes = _year_of(year, ref, lambda yy: date(yy, 6 if first else 12, 30 if first else 31))
    end = date(y, 6, 30) if first else date(y, 12, 31)
    half = Msg(N_("first half of {year}") if first else N_("second half of {year}"), year=y)
    return _period(DueKind.HALF_YEAR, phrase, end, cal, half, notes)


def year(cal: Calendar, phrase: str, y: int, first: int | None = None) -> Due:
    """"Năm 2021" → 31/12/2021 (art. 146: end of year); "2021-2025" → 31/12/2025."""
    check_year(y)
    notes = []
    if first is not None:
        check_year(first)
        if first > y:
            raise PeriodValueError(Msg(N_("the range starts after it ends: {first} – {last}"), first=first, last=y))
        notes = [step(Msg(N_("Period {first}–{last}: due with the last year"), first=first, last=y))]
    return _period(DueKind.YEAR, phrase, date(y, 12, 31), cal, Msg(N_("the year {year}"), year=y), notes)


def fixed_day(cal: Calendar, phrase: str, day: date, before: bool = False) -> Due:
    """An explicit day; "trước ngày X" (``before``) is due at the end of X-1. Not moved."""
    check_year(day.year)
    if not before:
        return Due(kind=DueKind.DATE, phrase=phrase, due_date=day, steps=fixed_end_steps(
            day, cal, Msg(N_("Due at the end of {day}"), day=day)))
    end = day - timedelta(days=1)
    return Due(kind=DueKind.BEFORE_DATE, phrase=phrase, due_date=end, steps=fixed_end_steps(
        end, cal, Msg(N_("“Before {day}” means due at the end of the day before: {end}"), day=day, end=end)))


def fixed_day_next(cal: Calendar, phrase: str, ref: date, day: int, m: int, before: bool) -> Due:
    """A day and month without a year: the first such day (or the day before it) on or after ref."""
    end = recurring_end(f"yearly:{m:02d}-{day:02d}", ref + timedelta(days=1 if before else 0))
    due = fixed_day(cal, phrase, end, before)
    note = step(Msg(N_("No year given: the next {day_month} from {ref}"), day_month=f"{day:02d}/{m:02d}", ref=ref))
    return Due(kind=due.kind, phrase=phrase, due_date=due.due_date, steps=[note] + due.steps)


def recurring(cal: Calendar, phrase: str, spec: str, ref: date) -> Due:
    """"Hàng năm" → end of ref's year, repeating; "hàng quý", "hàng tháng" likewise."""
    end = recurring_end(spec, ref)
    return Due(kind=DueKind.RECURRING, phrase=phrase, due_date=end,
               steps=recurring_steps(spec, end, cal), recurring=spec)


def recurring_day(cal: Calendar, phrase: str, ref: date, day: int, m: int, before: bool) -> Due:
    """"chậm nhất ngày 15/12 hằng năm" → the next 15/12 on or after ref, repeating yearly:12-15."""
    anchor = date(2001, m, day)  # a common year: 29 February is refused here, not guessed
    due_day = anchor - timedelta(days=1) if before else anchor
    spec = f"yearly:{due_day:%m-%d}"
    end = recurring_end(spec, ref)
    steps = recurring_steps(spec, end, cal)
    if before:
        steps.insert(0, step(Msg(N_("“Before {day_month}” means due at the end of {due_day_month}"),
                                 day_month=f"{day:02d}/{m:02d}", due_day_month=f"{due_day:%d/%m}")))
    return Due(kind=DueKind.RECURRING, phrase=phrase, due_date=end, steps=steps, recurring=spec)


def ongoing(phrase: str) -> Due:
    """"Thường xuyên": no due date; the task is reviewed periodically."""
    return Due(kind=DueKind.ONGOING, phrase=phrase, steps=[step(Msg(N_(
        "Ongoing: no fixed due date; follow up and review periodically (by default every quarter)")))])


def event_relative(phrase: str, event: str, n: int | None = None, unit: Unit | None = None) -> Due:
    """"Sau khi MOU được ký kết": due once the event happens (plus ``n`` ``unit`` if given)."""
    if n is None:
        text = Msg(N_("Due relative to the event “{event}”: not known until it happens"), event=event)
    else:
        text = Msg(N_("Due {count} before the event “{event}” (the event's day not counted — Civil Code art. 147); "
                      "computed when it happens") if n < 0 else
                   N_("Due {count} after the event “{event}” (the event's day not counted — Civil Code art. 147); "
                      "computed when it happens"), count=duration(abs(n), unit or "d"), event=event)
    return Due(kind=DueKind.EVENT_RELATIVE, phrase=phrase, steps=[step(text)],
               pending_event=event, offset_n=n, offset_unit=unit)


_UNIT_WORDS: tuple[tuple[tuple[str, ...], Unit, int], ...] = (
    (("ngay lam viec", "working day", "business day", "wd"), "wd", 1),
    (("tuan", "week"), "d", 7),
    (("thang", "month"), "m", 1),
    (("ngay", "day", "d"), "d", 1),
)



def count_unit(n: int, words: str) -> tuple[int, Unit]:
    """(10, "ngay lam viec") → (10, "wd"); weeks become 7 days each.

    Raises:
        PeriodValueError: ``n`` is negative ("trong vòng -5 ngày"), or larger than the calendar.
    """
    if n < 0:
        raise PeriodValueError(Msg(N_("a count cannot be negative ({n}) — write a positive number, e.g. within 5 "
                                      "working days; to count back write “5 working days before …”"), n=n))
    for prefixes, unit, factor in _UNIT_WORDS:
        if any(words.startswith(prefix) for prefix in prefixes):
            if n * factor > MAX_COUNT[unit]:
                raise PeriodValueError(Msg(N_("{count} run past the calendar ({span})"),
                                           count=duration(n * factor, unit), span=_SPAN))
            return n * factor, unit
    raise ValueError(f"unknown unit {words!r}")


def counted(cal: Calendar, start: date, n: int, unit: Unit, phrase: str, anchor: str | None = None) -> Due:
    """A count from ``start`` (the reference day, or a day named in the phrase)."""
    check_year(start.year)
    try:
        due = cal.add(start, n, unit, phrase=phrase)
    except (ValueError, OverflowError):  # the count lands outside the calendar's years
        raise PeriodValueError(Msg(N_("the due date falls outside the calendar ({span})"), span=_SPAN)) from None
    if anchor is None:
        return due
    note = step(Msg(N_("Counted from: {anchor}"), anchor=anchor), start)
    return Due(kind=due.kind, phrase=phrase, due_date=due.due_date, steps=[note] + due.steps)
