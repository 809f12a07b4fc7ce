"""What the user interfaces need besides the commands: settings, the clock option, words and dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agreeflow.engine.core import clock
from agreeflow.engine.core.clock import fmt_day, fmt_local, parse_instant
from agreeflow.engine.core.errors import (
    DateValueError,
    DefinitionError,
    FieldValueError,
    MissingFieldsError,
    NotSignedInError,
    ReadOnlyError,
    SignInRefusedError,
    StaleCaseError,
    UnknownCaseError,
    UnknownUnitError,
)
from agreeflow.engine.core.files import atomic_write as write_file
from agreeflow.engine.core.i18n import t as _translate
from agreeflow.engine.core.i18n import translations
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR

__all__ = ["DefinitionError", "FieldValueError", "MissingFieldsError", "NotSignedInError", "ReadOnlyError",
           "SignInRefusedError", "StaleCaseError", "UnknownCaseError", "UnknownUnitError", "Settings", "write_file",
           "fmt_day", "fmt_local", "fmt_at_local", "parse_instant", "set_clock", "text", "catalogue"]


def set_clock(value: str | datetime | None, option: str = "--now") -> None:
    """Run as if at ``value`` (``--now``); None frees the clock.

    Raises:
        DateValueError (exit 2): empty text, not ISO-8601, or outside the calendar's years.  Whether a
            simulated time is allowed at all is decided per database (engine.service.base).
    """
    if value is None:
        clock.set_now(None)
        return
    if isinstance(value, str):
        try:
            value = clock.parse_instant(value) if value.strip() else None
        except ValueError:
            value = None
        if value is None:
            clock.set_now(None)
            raise DateValueError(value=f"{option} {value!s}".strip(), first=FIRST_YEAR, last=LAST_YEAR,
                                 problem_vi="không phải thời điểm ISO-8601 (ví dụ 2024-07-01T08:00)",
                                 problem_en="not an ISO-8601 time (e.g. 2024-07-01T08:00)")
    local_year = clock.to_local(value).year if value.tzinfo else value.year
    if not FIRST_YEAR <= local_year <= LAST_YEAR:
        clock.set_now(None)
        raise DateValueError(value=f"{option} {value.isoformat()}", first=FIRST_YEAR, last=LAST_YEAR,
                             problem_vi="ngoài phạm vi của lịch", problem_en="outside the calendar's years")
    clock.set_now(value)


def text(key: str, lang: str, **values: Any) -> str:
    """A user-facing phrase in ``lang``."""
    return _translate(key, lang, **values)


def catalogue(lang: str) -> dict[str, str]:
    """Every translation of ``lang`` (msgid → text) as the catalogue reads now: a page looks up many words,
    and asks for the catalogue once."""
    return translations(lang)


def fmt_at_local(at: str | None) -> str:
    """A stored UTC instant (canonical text) as dd/mm/yyyy HH:MM in Vietnam."""
    return fmt_local(parse_instant(at)) if at else ""
