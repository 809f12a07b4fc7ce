"""Due dates of each kind of time phrase, with their bilingual explanation.

The phrase rules (``phrase_rules``) find *what* a phrase says (a month, a
quarter, a count of working days...); this module turns that into a ``Due``.
Kept apart so that callers that already know the period (e.g. an import that
has a month and a year in two columns) can build the same Due without text.

Rules applied (legal-basis.md §9): a period phrase ends on the last day of the
period and is not moved; "trước ngày X" ends at the end of X-1; a count runs
from the reference day under Civil Code arts. 147-148 (``Calendar.add``);
a year without a number means the nearest period that has not ended yet.

Every value is checked here, so a caller without text gets the same refusals:
a month outside 1–12, a quarter outside I–IV, a year outside the calendar
(``FIRST_YEAR``–``LAST_YEAR``), a negative count or one that runs off the
calendar raise ``PeriodValueError`` — in both languages, never another date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR, Calendar, Unit
from agreeflow.engine.legaltime.calendar.due import (
    Due,
    DueKind,
    fixed_end_steps,
    month_end,
    period_end_steps,
    quarter_end,
    recurring_end,
    recurring_steps,
    step,
)

_ROMAN = ("", "I", "II", "III", "IV")
_SPAN = f"{FIRST_YEAR}–{LAST_YEAR}"
MAX_COUNT: dict[str, int] = {"d": (LAST_YEAR - FIRST_YEAR + 1) * 366, "wd": (LAST_YEAR - FIRST_YEAR + 1) * 366,
                             "m": (LAST_YEAR - FIRST_YEAR + 1) * 12}
"""The largest count a phrase may give, per unit: the whole calendar; more can only run off it."""


class PeriodValueError(ValueError):
    """A value a phrase names that cannot be: what is wrong and what is accepted, in Vietnamese and English."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


def check_year(y: int) -> int:
    """``y`` when the calendar has it; PeriodValueError otherwise ("năm 0", "năm 9999")."""
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise PeriodValueError(f"năm {y} nằm ngoài phạm vi của lịch (lịch có các năm {_SPAN})",
                               f"the year {y} is outside the calendar (it covers {_SPAN})")
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
    return PeriodValueError(f"không có tháng {shown} — tháng từ 1 đến 12",
                            f"there is no month {shown} — months are 1 to 12")


def bad_quarter(shown: str) -> PeriodValueError:
    return PeriodValueError(f"không có quý “{shown}” — quý là I, II, III, IV (hoặc 1–4)",
                            f"there is no quarter “{shown}” — quarters are I, II, III, IV (or 1–4)")
_MONTH_EN = ("", "January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


def _year_of(year: str | None, ref: date, end_of: Callable[[int], date]) -> tuple[int, list[dict[str, str]]]:
    """The given year, or the nearest one whose period has not ended by ``ref``."""
    if year is not None:
        return check_year(int(year)), []
    chosen = ref.year if end_of(ref.year) >= ref else ref.year + 1
    return chosen, [step(f"Không ghi năm: lấy kỳ gần nhất chưa kết thúc (năm {chosen})",
                         f"No year given: the nearest period not yet ended ({chosen})")]


def _period(kind: DueKind, phrase: str, end: date, cal: Calendar, vi: str, en: str,
            before: list[dict[str, str]] | None = None) -> Due:
    return Due(kind=kind, phrase=phrase, due_date=end,
               steps=(before or []) + period_end_steps(end, cal, vi, en))


def month(cal: Calendar, phrase: str, ref: date, year: str | None, m: int) -> Due:
    """"trong tháng 7/2024" → 31/07/2024."""
    check_month(m)
    y, notes = _year_of(year, ref, lambda yy: month_end(yy, m))
    return _period(DueKind.MONTH, phrase, month_end(y, m), cal, f"tháng {m}/{y}",
                   f"{_MONTH_EN[m]} {y}", notes)


def months(cal: Calendar, phrase: str, listed: list[tuple[int, int]], span: bool) -> Due:
    """A list ("Tháng 3,4/2017") or range ("Tháng 6-8/2017") of months: due at the end of the last."""
    for y, m in listed:
        check_year(y)
        check_month(m)
    (y1, m1), (y2, m2) = listed[0], listed[-1]
    if (y1, m1) > (y2, m2):
        raise ValueError(f"the range starts after it ends: {m1}/{y1} – {m2}/{y2}")
    if span:
        note = step(f"Khoảng thời gian từ tháng {m1}/{y1} đến tháng {m2}/{y2}: hạn theo tháng cuối",
                    f"From {_MONTH_EN[m1]} {y1} to {_MONTH_EN[m2]} {y2}: due with the last month")
    else:
        names = ", ".join(str(m) for _, m in listed)
        note = step(f"Nhiều tháng (tháng {names}/{y2}): hạn theo tháng cuối",
                    f"Several months ({', '.join(_MONTH_EN[m] for _, m in listed)} {y2}): "
                    "due with the last month")
    return _period(DueKind.MONTHS, phrase, month_end(y2, m2), cal, f"tháng {m2}/{y2}",
                   f"{_MONTH_EN[m2]} {y2}", [note])


def quarter(cal: Calendar, phrase: str, ref: date, year: str | None, q: int) -> Due:
    """"Quý III năm 2024" → 30/09/2024."""
    check_quarter(q)
    y, notes = _year_of(year, ref, lambda yy: quarter_end(yy, q))
    return _period(DueKind.QUARTER, phrase, quarter_end(y, q), cal, f"Quý {_ROMAN[q]}/{y}",
                   f"Q{q} {y}", notes)


def half_year(cal: Calendar, phrase: str, ref: date, year: str | None, first: bool) -> Due:
    """"6 tháng đầu năm 2024" → 30/06/2024 (Civil Code art. 146: mid-year is 30 June)."""
    y, notes = _year_of(year, ref, lambda yy: date(yy, 6 if first else 12, 30 if first else 31))
    end = date(y, 6, 30) if first else date(y, 12, 31)
    vi = f"6 tháng {'đầu' if first else 'cuối'} năm {y}"
    en = f"{'first' if first else 'second'} half of {y}"
    return _period(DueKind.HALF_YEAR, phrase, end, cal, vi, en, notes)


def year(cal: Calendar, phrase: str, y: int, first: int | None = None) -> Due:
    """"Năm 2021" → 31/12/2021 (art. 146: end of year); "2021-2025" → 31/12/2025."""
    check_year(y)
    notes = []
    if first is not None:
        check_year(first)
        if first > y:
            raise ValueError(f"the range starts after it ends: {first}–{y}")
        notes = [step(f"Giai đoạn {first}–{y}: hạn theo năm cuối", f"Period {first}–{y}: due with the last year")]
    return _period(DueKind.YEAR, phrase, date(y, 12, 31), cal, f"năm {y}", str(y), notes)


def fixed_day(cal: Calendar, phrase: str, day: date, before: bool = False) -> Due:
    """An explicit day; "trước ngày X" (``before``) is due at the end of X-1. Not moved."""
    check_year(day.year)
    if not before:
        return Due(kind=DueKind.DATE, phrase=phrase, due_date=day, steps=fixed_end_steps(
            day, cal, f"Hạn là hết ngày {fmt_day(day)}", f"Due at the end of {fmt_day(day)}"))
    end = day - timedelta(days=1)
    return Due(kind=DueKind.BEFORE_DATE, phrase=phrase, due_date=end, steps=fixed_end_steps(
        end, cal,
        f"“Trước ngày {fmt_day(day)}” nghĩa là hạn là hết ngày liền trước: {fmt_day(end)}",
        f"“Before {fmt_day(day)}” means due at the end of the day before: {fmt_day(end)}"))


def fixed_day_next(cal: Calendar, phrase: str, ref: date, day: int, m: int, before: bool) -> Due:
    """A day and month without a year: the first such day (or the day before it) on or after ref."""
    end = recurring_end(f"yearly:{m:02d}-{day:02d}", ref + timedelta(days=1 if before else 0))
    due = fixed_day(cal, phrase, end, before)
    note = step(f"Không ghi năm: lấy ngày {day:02d}/{m:02d} gần nhất kể từ {fmt_day(ref)}",
                f"No year given: the next {day:02d}/{m:02d} from {fmt_day(ref)}")
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
        steps.insert(0, step(f"“Trước ngày {day:02d}/{m:02d}” nghĩa là hạn là hết ngày {due_day:%d/%m}",
                             f"“Before {day:02d}/{m:02d}” means due at the end of {due_day:%d/%m}"))
    return Due(kind=DueKind.RECURRING, phrase=phrase, due_date=end, steps=steps, recurring=spec)


def ongoing(phrase: str) -> Due:
    """"Thường xuyên": no due date; the task is reviewed periodically."""
    return Due(kind=DueKind.ONGOING, phrase=phrase, steps=[step(
        "Thường xuyên: không có hạn cố định; theo dõi và rà soát định kỳ (mặc định mỗi quý)",
        "Ongoing: no fixed due date; follow up and review periodically (by default every quarter)")])


def event_relative(phrase: str, event: str, n: int | None = None, unit: Unit | None = None) -> Due:
    """"Sau khi MOU được ký kết": due once the event happens (plus ``n`` ``unit`` if given)."""
    if n is None:
        vi = f"Hạn tính từ sự kiện “{event}”: chưa xác định cho đến khi sự kiện xảy ra"
        en = f"Due relative to the event “{event}”: not known until it happens"
    else:
        words_vi = {"wd": "ngày làm việc", "d": "ngày", "m": "tháng"}[unit or "d"]
        words_en = {"wd": "working days", "d": "days", "m": "months"}[unit or "d"]
        vi = (f"Hạn là {abs(n)} {words_vi} {'trước' if n < 0 else 'sau'} sự kiện “{event}” "
              "(ngày xảy ra sự kiện không tính — BLDS điều 147); tính khi sự kiện xảy ra")
        en = (f"Due {abs(n)} {words_en} {'before' if n < 0 else 'after'} the event “{event}” "
              "(the event's day not counted — Civil Code art. 147); computed when it happens")
    return Due(kind=DueKind.EVENT_RELATIVE, phrase=phrase, steps=[step(vi, en)],
               pending_event=event, offset_n=n, offset_unit=unit)


_UNIT_WORDS: tuple[tuple[tuple[str, ...], Unit, int], ...] = (
    (("ngay lam viec", "working day", "business day", "wd"), "wd", 1),
    (("tuan", "week"), "d", 7),
    (("thang", "month"), "m", 1),
    (("ngay", "day", "d"), "d", 1),
)


_COUNT_WORDS = {"wd": ("ngày làm việc", "working days"), "d": ("ngày", "days"), "m": ("tháng", "months")}


def count_unit(n: int, words: str) -> tuple[int, Unit]:
    """(10, "ngay lam viec") → (10, "wd"); weeks become 7 days each.

    Raises:
        PeriodValueError: ``n`` is negative ("trong vòng -5 ngày"), or larger than the calendar.
    """
    if n < 0:
        raise PeriodValueError(f"số lượng không thể âm ({n}) — viết số dương, ví dụ trong vòng 5 ngày làm việc; "
                               "đếm lùi thì viết “5 ngày làm việc trước ngày …”",
                               f"a count cannot be negative ({n}) — write a positive number, e.g. within 5 working "
                               "days; to count back write “5 working days before …”")
    for prefixes, unit, factor in _UNIT_WORDS:
        if any(words.startswith(prefix) for prefix in prefixes):
            if n * factor > MAX_COUNT[unit]:
                vi, en = _COUNT_WORDS[unit]
                raise PeriodValueError(f"{n * factor} {vi} vượt quá phạm vi của lịch ({_SPAN})",
                                       f"{n * factor} {en} run past the calendar ({_SPAN})")
            return n * factor, unit
    raise ValueError(f"unknown unit {words!r}")


def counted(cal: Calendar, start: date, n: int, unit: Unit, phrase: str, anchor: str | None = None) -> Due:
    """A count from ``start`` (the reference day, or a day named in the phrase)."""
    check_year(start.year)
    try:
        due = cal.add(start, n, unit, phrase=phrase)
    except (ValueError, OverflowError):  # the count lands outside the calendar's years
        raise PeriodValueError(f"hạn rơi ra ngoài phạm vi của lịch ({_SPAN})",
                               f"the due date falls outside the calendar ({_SPAN})") from None
    if anchor is None:
        return due
    note = step(f"Mốc tính: {anchor}", f"Counted from: {anchor}", start)
    return Due(kind=due.kind, phrase=phrase, due_date=due.due_date, steps=[note] + due.steps)
