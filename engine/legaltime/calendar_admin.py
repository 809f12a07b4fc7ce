"""Changing the working-day calendar, and the calendar as the commands show it.

The calendar the engine counts with is the shipped data plus the operator's
overrides in ``calendar_days``.  Changing a day (:func:`set_day`) is an admin
act (engine.service.calendar checks it) logged on the system chain
(``calendar_changed``).  In the same transaction every open
deadline the change touches is re-projected from its stored source
(``deadlines.reprojected``) and each move is logged on its own case's chain
(``deadline_moved``, with the day, the reason and the deciding document): a
due date never changes silently.  Results are plain dicts ready for ``--json``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases
from agreeflow.engine.core.errors import DateValueError
from agreeflow.engine.core.i18n import N_, Msg, show
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind
from agreeflow.engine.core.store import CalendarDay, Case, Deadline
from agreeflow.engine.legaltime import deadlines, reminders
from agreeflow.engine.legaltime.calendar import DayInfo, Due, weekday_name
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR
from agreeflow.engine.legaltime.calendar.due import step

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


# ------------------------------------------------------------------ input
def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` (or ``dd/mm/yyyy``, as documents write it) within the calendar's years.

    Raises:
        DateValueError: malformed, no such day, or outside the calendar's years.
    """
    raw = text.strip()
    dmy = _DMY.match(raw)
    try:
        day = date(int(dmy[3]), int(dmy[2]), int(dmy[1])) if dmy else date.fromisoformat(raw)
    except ValueError:
        raise bad_date(text, Msg(N_("malformed, or no such day"))) from None
    check_year(day.year, text)
    return day


def check_year(year: int, shown: str | None = None) -> None:
    """Raise DateValueError when ``year`` is outside the calendar's years."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise bad_date(shown or str(year), Msg(N_("outside the calendar's years")))


def bad_date(value: str, problem: Msg) -> DateValueError:
    return DateValueError(value=value, problem=problem, first=FIRST_YEAR, last=LAST_YEAR)


# ------------------------------------------------------------------ reading
def day_json(info: DayInfo, lang: str) -> dict[str, Any]:
    """One day's status as users read it (and as ``--json`` prints it).

    ``source`` is the legal basis in ``lang`` (a public holiday: "Bộ luật Lao động 2019, Điều 112");
    ``computed_by`` names what computed the day (the ``holidays`` package and its version) for a
    maintainer, or is None for a day of the data file or an operator's.
    """
    return {"date": info.day.isoformat(), "weekday": weekday_name(info.day, lang), "working": info.working,
            "kind": info.kind, "reason": info.describe(lang), "reason_vi": info.reason_vi,
            "reason_en": info.reason_en, "source": info.cited(lang), "computed_by": info.computed_by or None,
            "confirmed": info.confirmed, "category": str(info.category)}


def due_json(due: Due, lang: str) -> dict[str, Any]:
    """A Due with its explanation in ``lang`` next to the stored steps."""
    out = due.to_json()
    out["weekday"] = weekday_name(due.due_date, lang) if due.due_date else None
    out["explanation"] = [show(s, lang) for s in due.steps]
    return out


# ------------------------------------------------------------------ changing
def set_day(s: Session, actor: str, when: date, kind: str, reason: str, source: str, now: datetime
            ) -> dict[str, Any]:
    """Make ``when`` a day off (``kind="off"``) or a working day, and re-project the deadlines it touches.

    In the caller's transaction: the ``calendar_days`` row, a ``deadline_moved``
    event per moved deadline on its case's chain, and ``calendar_changed`` on
    the system chain.  Setting a day to what it already is writes nothing.
    """
    # Lock order: the system chain, then cases by id (as any other multi-case write must).
    syscase = cases.lock(s, cases.system_case(s, now).id)
    row = s.get(CalendarDay, when)
    result: dict[str, Any] = {"date": when.isoformat(), "kind": kind, "reason": reason, "source": source,
                              "changed": False, "moved": [], "not_reprojected": []}
    if row is not None and (row.kind, row.reason, row.source) == (kind, reason, source):
        return result
    old_cal = deadlines.calendar_for(s)
    before = old_cal.day_info(when)
    if row is None:
        row = CalendarDay(day=when, kind=kind, created_at=now)
    row.kind, row.reason, row.source, row.created_by, row.created_at = kind, reason, source, actor, now
    s.add(row)
    s.flush()
    new_cal = deadlines.calendar_for(s, fresh=True)
    change = {"date": when.isoformat(), "kind": kind, "reason": reason, "source": source}
    moved, unknown = _reproject(s, old_cal, new_cal, change, actor, now)
    result.update(changed=True, moved=moved, not_reprojected=unknown,
                  before={"kind": before.kind, "reason": before.label().to_json(),
                          "source": before.basis().to_json()})
    audit.append_event(s, syscase, EventKind.CALENDAR_CHANGED, actor=actor, role="admin", note=reason, at=now,
                       payload={**change, "before": result["before"], "moved": moved,
                                "not_reprojected": unknown})
    return result


def _reproject(s: Session, old_cal: Any, new_cal: Any, change: dict[str, Any], actor: str,
               now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move every open deadline whose projection differs between the two calendars; log each move.

    Returns (moves, open deadlines that may be touched but have no source to
    recompute from).  Rows are read again after their case is locked, so a
    transition committed meanwhile (closing a deadline) is respected.
    """
    day = date.fromisoformat(change["date"])
    case_ids = s.exec(select(Deadline.case_id).where(Deadline.status == DeadlineStatus.OPEN).distinct()).all()
    moved: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    for case_id in sorted(case_ids):
        case = cases.lock(s, case_id)
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.status == DeadlineStatus.OPEN)
                      .order_by(col(Deadline.id))).all()
        for d in rows:
            old, new = deadlines.reprojected(d, old_cal), deadlines.reprojected(d, new_cal)
            if old is None or new is None:
                if d.due_date is not None and d.due_date >= day and not (d.extra or {}).get("recurring"):
                    unknown.append({"case": case.ref, "deadline": d.key, "due_date": d.due_date.isoformat()})
                continue
            if new.due_date == old.due_date or new.due_date == d.due_date:
                continue
            moved.append(_move(s, case, d, new, new_cal, change, actor, now))
            if case.suspended_at is None:  # a suspended case's ladder restarts on resume
                d.next_action_at = reminders.next_action(d, now, new_cal)
            s.add(d)
    return moved, unknown


def _move(s: Session, case: Case, d: Deadline, new: Due, cal: Any, change: dict[str, Any], actor: str,
          now: datetime) -> dict[str, Any]:
    """Put the re-projected due date on ``d`` and log ``deadline_moved`` on its case."""
    before, after = d.due_date, new.due_date
    assert before is not None and after is not None
    d.due_date, d.due_at = after, new.due_at
    d.explanation = list(new.steps) + [calendar_step(change, before, after)]
    wd = cal.working_days_between(before, after)
    payload = {"deadline": d.key, "label": d.label_vi, "label_en": d.label_en, "before": before.isoformat(),
               "after": after.isoformat(),
               "working_days": wd, "why": "calendar", "calendar_day": change["date"],
               "calendar_kind": change["kind"], "reason": change["reason"], "source": change["source"]}
    audit.append_event(s, case, EventKind.DEADLINE_MOVED, actor=actor, role="admin", note=change["reason"],
                       payload=payload, at=now)
    return {"case": case.ref, **payload}


def calendar_step(change: dict[str, Any], before: date, after: date) -> dict[str, Any]:
    """The explanation step saying which calendar decision moved a due date."""
    text = N_("Calendar changed: {day} is a day off ({reason}; source: {source}) — due recomputed from {before} to "
              "{after}") if change["kind"] == "off" else N_("Calendar changed: {day} is a working day ({reason}; "
                                                            "source: {source}) — due recomputed from {before} to "
                                                            "{after}")
    return step(Msg(text, day=date.fromisoformat(change["date"]), reason=change["reason"], source=change["source"],
                    before=before, after=after), after)
