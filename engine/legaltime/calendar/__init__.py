"""Vietnamese legal time: working days, holidays, deadline phrases (see docs/architecture.md).

Public API::

    cal = load(overrides=None, data_path=None)   # package + shipped YAML + DB rows
    cal.is_working(d); cal.day_info(d); cal.holidays(year); weekday_name(d, lang)
    cal.add(start, n, "wd" | "d" | "m") -> Due; cal.working_days_between(a, b)
    parse_phrase(text, ref, cal) -> Due           # raises engine.errors.PhraseError
    next_occurrence(due, cal) -> Due | None       # for recurring deadlines
"""

from typing import TYPE_CHECKING, Any

from agreeflow.engine.legaltime.calendar.days import Calendar, DayInfo, weekday_name
from agreeflow.engine.legaltime.calendar.due import Due, DueKind, next_occurrence
from agreeflow.engine.legaltime.calendar.sources import load

if TYPE_CHECKING:
    from agreeflow.engine.legaltime.calendar.phrases import parse_phrase

__all__ = ["Calendar", "DayInfo", "Due", "DueKind", "load", "next_occurrence", "parse_phrase",
           "weekday_name"]


def __getattr__(name: str) -> Any:
    """``parse_phrase`` on first use: its rule tables cost a command that reads no phrase (``case show``)."""
    if name == "parse_phrase":
        from agreeflow.engine.legaltime.calendar.phrases import parse_phrase

        return parse_phrase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
