"""A computed deadline (``Due``) and the explanation that travels with it.

Why the explanation is part of the value: an official must be able to check a
due date by hand, so every Due carries the steps that produced it (day 0, the
days skipped and why, the last day of a period and whether it is a day off).
Each step is a message of the catalogue with its values (``{"msg", "args",
"date"}``), read in the reader's language (``i18n.show``); steps stored
before kept ``{"vi", "en", "date"}`` and read as they are.  The deadlines
table stores ``to_json()`` as is.

Period phrases ("trong tháng 7/2024", "Quý III/2024") end on the last day of
the period and are NOT moved when that day is a day off: they are dates set by
a notice, not periods counted under Civil Code art. 148.
The steps then name the last working day before, so a reminder can aim at it.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from agreeflow.engine.core.clock import end_of_local_day
from agreeflow.engine.core.i18n import N_, Msg

if TYPE_CHECKING:
    from agreeflow.engine.legaltime.calendar.days import Calendar


class DueKind(StrEnum):
    """What sort of time phrase produced a Due."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"
    MONTHS = "months"            # a list or range of months, or N months counted
    DATE = "date"
    BEFORE_DATE = "before_date"  # "trước ngày X": due at the end of X-1
    RECURRING = "recurring"
    ONGOING = "ongoing"
    EVENT_RELATIVE = "event_relative"


Step = dict[str, Any]
"""One explanation step: ``{"msg", "args"[, "date"]}`` (see the module docstring)."""


def step(text: Msg, d: date | None = None) -> Step:
    """One explanation step; ``date`` (ISO) only when the step is about a day."""
    out = text.to_json()
    if d is not None:
        out["date"] = d.isoformat()
    return out


@dataclass(frozen=True)
class Due:
    """A deadline computed from a phrase or a count.

    ``due_at`` is derived: 24:00 Vietnamese time of ``due_date`` as aware UTC
    (Civil Code art. 148).  ``due_date`` is None for ongoing and event-relative
    phrases; an event-relative phrase with a count keeps it in ``offset_n`` /
    ``offset_unit`` ("wd" or "d") so the caller can compute once the event happens.
    """

    kind: DueKind
    phrase: str
    due_date: date | None = None
    steps: list[Step] = field(default_factory=list)
    recurring: str | None = None
    pending_event: str | None = None
    offset_n: int | None = None
    offset_unit: str | None = None
    due_at: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        at = end_of_local_day(self.due_date) if self.due_date is not None else None
        object.__setattr__(self, "due_at", at)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: ISO dates, ``due_at`` as UTC ending in ``Z``."""
        at = self.due_at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.due_at else None
        return {"phrase": self.phrase, "kind": str(self.kind),
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "due_at": at, "recurring": self.recurring,
                "pending_event": self.pending_event, "offset_n": self.offset_n,
                "offset_unit": self.offset_unit, "steps": [dict(s) for s in self.steps]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Due:
        """Rebuild a Due stored with :meth:`to_json` (``due_at`` is recomputed)."""
        raw = data.get("due_date")
        return cls(kind=DueKind(data["kind"]), phrase=data["phrase"],
                   due_date=date.fromisoformat(raw) if raw else None,
                   steps=list(data.get("steps") or []), recurring=data.get("recurring"),
                   pending_event=data.get("pending_event"), offset_n=data.get("offset_n"),
                   offset_unit=data.get("offset_unit"))


# ---------------------------------------------------------------- periods
def month_end(year: int, month: int) -> date:
    """Last day of the month (Civil Code art. 146: "end of month")."""
    return date(year, month, _stdlib_calendar.monthrange(year, month)[1])


def quarter_end(year: int, quarter: int) -> date:
    """Last day of quarter 1..4."""
    return month_end(year, quarter * 3)


def clamp_day(year: int, month: int, day: int) -> date:
    """``day`` of the month, or its last day when the month is shorter (art. 148)."""
    return date(year, month, min(day, _stdlib_calendar.monthrange(year, month)[1]))


def add_months(d: date, months: int) -> date:
    """The corresponding day ``months`` later (or the month's last day if none)."""
    index = d.year * 12 + d.month - 1 + months
    return clamp_day(index // 12, index % 12 + 1, d.day)


def fixed_end_steps(end: date, cal: Calendar, text: Msg) -> list[Step]:
    """Steps for a due date that is not moved: ``text`` then a day-off note if needed."""
    steps = [step(text, end)]
    info = cal.day_info(end)
    if not info.working:
        last = cal.previous_working(end)
        steps.append(step(Msg(N_("{day} is a day off ({why}); this deadline is not moved. The last working day "
                                 "before it: {last}"), day=end, why=info.label(), last=last), last))
    return steps


def period_end_steps(end: date, cal: Calendar, period: Msg) -> list[Step]:
    """Steps for "the period ends on its last day", e.g. ``tháng 7/2024`` → 31/07/2024."""
    return fixed_end_steps(end, cal, Msg(N_("Due at the end of the last day of the period ({period}): {day}"),
                                         period=period, day=end))


# ---------------------------------------------------------------- recurrence
_RECURRING_LABELS = {
    "yearly": (N_("Repeats every year; each occurrence is due at the end of the year's last day"),
               N_("current year")),
    "quarterly": (N_("Repeats every quarter; each occurrence is due at the end of the quarter's last day"),
                  N_("current quarter")),
    "monthly": (N_("Repeats every month; each occurrence is due at the end of the month's last day"),
                N_("current month")),
}


def recurring_end(spec: str, after: date) -> date:
    """The first due day of recurrence ``spec`` on or after ``after``.

    ``spec`` is ``yearly``, ``quarterly``, ``monthly`` (end of the period that
    contains ``after``) or ``yearly:MM-DD`` (that day each year, clamped to the
    month's length, e.g. 29 February in a common year is the 28th).
    """
    if spec.startswith("yearly:"):
        month, day = (int(x) for x in spec.split(":", 1)[1].split("-"))
        candidate = clamp_day(after.year, month, day)
        return candidate if candidate >= after else clamp_day(after.year + 1, month, day)
    if spec == "yearly":
        return date(after.year, 12, 31)
    if spec == "quarterly":
        return quarter_end(after.year, (after.month - 1) // 3 + 1)
    if spec == "monthly":
        return month_end(after.year, after.month)
    raise ValueError(f"unknown recurrence {spec!r}: use yearly, quarterly, monthly or yearly:MM-DD")


def recurring_steps(spec: str, end: date, cal: Calendar) -> list[Step]:
    """Explain one occurrence of ``spec`` ending on ``end``."""
    if spec.startswith("yearly:"):
        head = step(Msg(N_("Repeats every year on {day_month}"), day_month=f"{end:%d/%m}"))
        return [head] + fixed_end_steps(end, cal, Msg(N_("Due this time: end of {day}"), day=end))
    repeats, current = _RECURRING_LABELS[spec]
    return [step(Msg(repeats))] + period_end_steps(end, cal, Msg(current))


def next_occurrence(due: Due, cal: Calendar) -> Due | None:
    """The occurrence after ``due`` of a recurring deadline; None when not recurring."""
    if due.recurring is None or due.due_date is None:
        return None
    following = recurring_end(due.recurring, date.fromordinal(due.due_date.toordinal() + 1))
    return Due(kind=due.kind, phrase=due.phrase, due_date=following,
               steps=recurring_steps(due.recurring, following, cal), recurring=due.recurring,
               pending_event=due.pending_event)

