"""The calendar commands: read the working-day calendar in force, and change its data (admins)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from agreeflow.engine.core import cases, clock
from agreeflow.engine.core.errors import MissingFieldsError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import calendar_admin, deadlines
from agreeflow.engine.legaltime.calendar import parse_phrase
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, on_case, reading


def _calendar(settings: Settings) -> Any:
    with reading(settings) as s:
        return deadlines.calendar_for(s)


def holidays(settings: Settings, year: int) -> dict[str, Any]:
    """Every weekday off and every weekend day worked in ``year``, with reason and source."""
    calendar_admin.check_year(year)
    cal = _calendar(settings)
    return {"year": year, "days": [calendar_admin.day_json(i, settings.lang) for i in cal.holidays(year)]}


def day(settings: Settings, text: str) -> dict[str, Any]:
    """Whether the day ``text`` is a working day, why, and on whose decision."""
    return calendar_admin.day_json(_calendar(settings).day_info(calendar_admin.parse_day(text)), settings.lang)


def add(settings: Settings, start_text: str, n: int, unit: str = "wd") -> dict[str, Any]:
    """``n`` working (``wd``) or calendar (``d``) days from a start day, with the explanation."""
    start = calendar_admin.parse_day(start_text)
    cal = _calendar(settings)
    try:
        due = cal.add(start, n, unit)
    except ValueError:  # the count runs off the calendar's years
        raise calendar_admin.bad_date(f"{start_text} + {n}",
                                      Msg(N_("the result falls outside the calendar's years"))) from None
    return {"start": start.isoformat(), "n": n, "unit": unit, **calendar_admin.due_json(due, settings.lang)}


def due(settings: Settings, phrase: str, from_text: str | None = None) -> dict[str, Any]:
    """The due date a deadline phrase gives, read on ``from_text`` (default: today).

    Raises:
        PhraseError: nothing reads the phrase; the error lists the accepted forms.
    """
    ref = calendar_admin.parse_day(from_text) if from_text else clock.to_local(now()).date()
    result = parse_phrase(phrase, ref, _calendar(settings))
    return {"from": ref.isoformat(), **calendar_admin.due_json(result, settings.lang)}


def set_day(settings: Settings, day_text: str, kind: str, reason: str, source: str) -> dict[str, Any]:
    """Make a day a day off (``kind="off"``) or a working day, and re-project the deadlines it touches.

    Raises:
        DateValueError, MissingFieldsError: bad input; nothing is written.
        RoleRefusedError, ReadOnlyError: the actor is not an admin; the refusal
            is logged on the system chain and nothing else is written.
    """
    command = f"calendar set-{kind}"
    when = calendar_admin.parse_day(day_text)
    reason, source = reason.strip(), source.strip()
    missing = [name for name, value in (("--reason", reason), ("--source", source)) if not value]
    if missing:
        raise MissingFieldsError(trigger=command, missing=missing)

    def work(s: Session) -> dict[str, Any]:
        actor = base.writer(s, settings, admin=True, action=command).email
        return calendar_admin.set_day(s, actor, when, kind, reason, source, now())
    return on_case(settings, cases.SYSTEM_REF, command, work)
