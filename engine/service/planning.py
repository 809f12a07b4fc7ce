"""``agreeflow plan``: the fastest legal path of a procedure, read-only."""

from __future__ import annotations

from typing import Any

from agreeflow.engine.core import definitions
from agreeflow.engine.core.errors import NotInitialisedError
from agreeflow.engine.core.fields import parse_pairs
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import calendar as legal_calendar
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.procedures import planner
from agreeflow.engine.service.base import reading


def plan(settings: Settings, workflow: str, start: str, by: str | None = None, goal: str | None = None,
         field_args: list[str] | None = None) -> dict[str, Any]:
    """The fastest legal path; the calendar includes the database's overrides when there is a database."""
    defn = definitions.get(workflow)
    raw = parse_pairs(field_args or [])
    start_day, by_day = planner.parse_day(start, "--start"), planner.parse_day(by, "--by") if by else None
    try:
        with reading(settings) as s:
            cal = deadlines.calendar_for(s)
    except NotInitialisedError:  # no database yet: the shipped calendar
        cal = legal_calendar.load()
    return planner.plan(defn, start_day, cal, raw, goal, by_day, settings.lang)
