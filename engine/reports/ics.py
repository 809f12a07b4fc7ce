"""Open deadlines as iCalendar to-dos (VTODO), for officials' own calendar programs.

Why the UID, SEQUENCE and DTSTAMP are what they are: a calendar that imports
the file again must *update* a to-do, not add a second one.  The UID is
``deadline-<row id>@agreeflow`` (a deadline row keeps its id when it moves);
SEQUENCE is how many times the deadline was moved (``deadline_moved``
events); DTSTAMP and LAST-MODIFIED are when it was set or last moved — no
METHOD is given, so DTSTAMP is "last revised" (RFC 5545 §3.8.7.2) and two
exports of an unchanged log are byte-identical.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from agreeflow.engine.core import clock
from agreeflow.engine.core.errors import OptionValueError, UnknownUnitError
from agreeflow.engine.core.i18n import N_, Msg, localized, pair, show, t
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind
from agreeflow.engine.core.store import Case, Deadline, Event, Person, Unit
from agreeflow.engine.legaltime import reminders

PRODID = "-//agreeflow//open deadlines//VI"


def uid(d: Deadline) -> str:
    return f"deadline-{d.id}@agreeflow"


def _unit_of(s: Session, unit: str | None, person: str | None) -> str | None:
    if person:
        p = s.get(Person, person)
        if p is None:
            raise OptionValueError(option="--person", value=person,
                                   remedy=Msg(N_("No such person in the directory. See: agreeflow directory show")))
        return p.unit
    if unit and s.get(Unit, unit) is None:
        raise UnknownUnitError(unit, s.exec(select(Unit.code)).all())
    return unit


def _revisions(s: Session, rows: list[tuple[Deadline, Case]]) -> dict[int, tuple[int, datetime | None]]:
    """Per deadline id: (times moved, when last moved) from the cases' ``deadline_moved`` events."""
    case_ids = sorted({c.id or 0 for _, c in rows})
    moved = s.exec(select(Event).where(col(Event.case_id).in_(case_ids), Event.kind == EventKind.DEADLINE_MOVED)
                   .order_by(col(Event.case_id), col(Event.seq))).all() if case_ids else []
    out: dict[int, tuple[int, datetime | None]] = {}
    for d, _ in rows:
        # Keys repeat when a case re-enters a state; only moves after this row was set count.
        mine = [e for e in moved if e.case_id == d.case_id and (e.payload or {}).get("deadline") == d.key
                and (d.start_at is None or e.at >= d.start_at)]
        out[d.id or 0] = (len(mine), mine[-1].at if mine else None)
    return out


def open_deadlines(s: Session, unit: str | None = None, person: str | None = None) -> list[tuple[Deadline, Case]]:
    """Open deadlines with a due date, of one unit (or a person's unit) or of everyone."""
    code = _unit_of(s, unit, person)
    stmt = (select(Deadline, Case).join(Case, col(Case.id) == col(Deadline.case_id))
            .where(Deadline.status == DeadlineStatus.OPEN, col(Deadline.due_date).is_not(None)))
    if code:
        stmt = stmt.where(Deadline.unit == code)
    return list(s.exec(stmt.order_by(col(Deadline.due_date), col(Deadline.id))).all())


def build(s: Session, unit: str | None, person: str | None, lang: str, now: datetime) -> tuple[bytes, int]:
    """The iCalendar text and the number of to-dos in it."""
    from icalendar import Alarm, Calendar, Todo

    rows = open_deadlines(s, unit, person)
    revisions = _revisions(s, rows)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "agreeflow" + (f" — {person or unit}" if person or unit else ""))
    for d, case in rows:
        label = localized(pair(d.label_vi, d.label_en), lang)
        sequence, moved_at = revisions[d.id or 0]
        stamp = moved_at or d.start_at or case.opened_at
        todo = Todo()
        todo.add("uid", uid(d))
        todo.add("dtstamp", stamp)
        todo.add("last-modified", stamp)
        todo.add("sequence", sequence)
        todo.add("summary", f"[{case.ref}] {label} — {case.title}")
        todo.add("description", _description(d, case, lang))
        todo.add("due", d.due_date)
        todo.add("status", "NEEDS-ACTION")
        todo.add("categories", [case.workflow])
        if d.unit:
            todo.add("x-agreeflow-unit", d.unit)
        for at in _alarm_times(d, now):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{case.ref}: {label}")
            alarm.add("trigger", at, parameters={"VALUE": "DATE-TIME"})  # absolute: RFC 5545 §3.8.6.3
            todo.add_component(alarm)
        cal.add_component(todo)
    return cal.to_ical(), len(rows)


def _alarm_times(d: Deadline, now: datetime) -> list[datetime]:
    """08:00 local a week before (the reminder ladder's first rung) and 08:00 on the due day."""
    assert d.due_date is not None
    on_the_day = clock.local_at(d.due_date, 8)
    first = reminders.next_action(d, now) or on_the_day - timedelta(days=7)
    return sorted({first, on_the_day})


def _description(d: Deadline, case: Case, lang: str) -> str:
    lines = [case.title]
    if d.phrase:
        lines.append(t("Time limit: {phrase}", lang, phrase=d.phrase))
    lines += [show(step, lang) for step in d.explanation or []]
    if d.citation:
        lines.append(t("Legal basis: {citation}", lang, citation=d.citation) if d.confirmed
                     else t("Legal basis: {citation} (unconfirmed)", lang, citation=d.citation))
    lines.append(f"agreeflow case show {case.ref}")
    return "\n".join(lines)
