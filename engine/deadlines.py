"""Deadlines: state timers become rows when a case enters a state, close when it leaves.

The ``deadlines`` table is the source of truth for everything time-bound
(statutory limits, due phrases, reply deadlines, expiry watches).  A deadline
is ``pending`` (waiting for an event, e.g. "after the MOU is signed"), ``open``,
then ``met`` / ``missed`` (with the margin in working days) or ``cancelled``.
``next_action_at`` is when the sweep must next look at it (reminder ladder).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from engine import calendar as legal_calendar
from engine import clock
from engine.audit import append_event
from engine.definitions import Definition, TimerDef
from engine.store import CalendarDay, Case, Deadline

OPEN = ("open", "pending")


def calendar_for(session: Session) -> Any:
    """The working-day calendar: shipped data + the operator's overrides in the DB."""
    rows = session.exec(select(CalendarDay)).all()
    overrides = tuple((r.day, r.kind, r.reason, r.source) for r in rows)
    return legal_calendar.load(overrides=[{"day": d, "kind": k, "reason": r, "source": s}
                                          for d, k, r, s in overrides])


def _responsible(case: Case, timer: TimerDef) -> str | None:
    if timer.responsible == "case":
        return case.unit
    if timer.responsible.startswith("field:"):
        value = case.fields.get(timer.responsible[6:])
        return value[0] if isinstance(value, list) and value else value
    return timer.responsible


def _start_date(case: Case, timer: TimerDef, now: datetime) -> date | None:
    if timer.start.startswith("field:"):
        value = case.fields.get(timer.start[6:])
        return date.fromisoformat(value) if value else None
    return clock.to_local(now).date()


def project(case: Case, timer: TimerDef, cal: Any, now: datetime) -> Any:
    """The Due of one timer for this case (None when its start date is not known yet)."""
    if timer.phrase_field:
        phrase = case.fields.get(timer.phrase_field)
        if not phrase:
            return None
        ref_text = case.fields.get(timer.ref_field) if timer.ref_field else None
        ref = date.fromisoformat(ref_text) if ref_text else clock.to_local(now).date()
        return legal_calendar.parse_phrase(str(phrase), ref, cal)
    start = _start_date(case, timer, now)
    if start is None or timer.limit is None:
        return None
    return cal.add(start, timer.limit, timer.unit)


def open_timers(session: Session, case: Case, defn: Definition, state: str, cal: Any,
                actor: str, now: datetime) -> list[Deadline]:
    """Create the deadline rows of ``state``'s timers and log ``deadline_set`` for each."""
    made = []
    for timer in defn.states[state].timers:
        due = project(case, timer, cal, now)
        d = Deadline(case_id=case.id, key=f"timer:{state}:{timer.id}", kind=getattr(due, "kind", "") or timer.unit,
                     label_vi=timer.label.get("vi", timer.id), label_en=timer.label.get("en", timer.id),
                     unit=_responsible(case, timer), start_at=now, citation=timer.citation,
                     confirmed=timer.confirmed, policy=timer.policy or defn.reminder_policy)
        apply_due(d, due)
        session.add(d)
        session.flush()
        append_event(session, case, "deadline_set", actor=actor, payload=deadline_payload(d), at=now)
        made.append(d)
    return made


def apply_due(d: Deadline, due: Any) -> None:
    """Copy a calendar Due onto a deadline row and schedule its first reminder."""
    if due is None or due.due_date is None:
        d.status = "pending"
        d.due_date = d.due_at = d.next_action_at = None
        if due is not None:
            d.phrase, d.explanation = due.phrase, list(due.steps)
            d.extra = {**(d.extra or {}), **_due_extra(due)}
        return
    d.status = "open"
    d.due_date, d.due_at = due.due_date, due.due_at
    d.phrase = due.phrase or d.phrase
    d.explanation = list(due.steps)
    d.extra = {**(d.extra or {}), **_due_extra(due)}
    d.rung = 0
    from engine import reminders
    d.next_action_at = reminders.first_action(d)


def _due_extra(due: Any) -> dict[str, Any]:
    out = {}
    for key in ("recurring", "pending_event", "offset_n", "offset_unit"):
        if getattr(due, key, None) is not None:
            out[key] = getattr(due, key)
    return out


def deadline_payload(d: Deadline) -> dict[str, Any]:
    return {"deadline": d.key, "label": d.label_vi, "unit": d.unit, "status": d.status,
            "due_date": d.due_date.isoformat() if d.due_date else None,
            "phrase": d.phrase, "citation": d.citation, "confirmed": d.confirmed}


def close(session: Session, case: Case, d: Deadline, cal: Any, actor: str, now: datetime,
          cancel: bool = False) -> None:
    """Close one deadline: met / missed (with the margin in working days) or cancelled."""
    today = clock.to_local(now).date()
    if cancel or d.status == "pending" or d.due_date is None:
        d.status = "cancelled"
        kind = "deadline_cancelled"
    else:
        d.margin_wd = cal.working_days_between(today, d.due_date) if today <= d.due_date \
            else -cal.working_days_between(d.due_date, today)
        d.status = "met" if now <= d.due_at else "missed"
        kind = "deadline_met" if d.status == "met" else "deadline_missed"
    d.closed_at, d.next_action_at = now, None
    session.add(d)
    payload = deadline_payload(d) | {"margin_wd": d.margin_wd}
    append_event(session, case, kind, actor=actor, payload=payload, at=now)


def open_for_case(session: Session, case_id: int, prefix: str = "") -> list[Deadline]:
    rows = session.exec(select(Deadline).where(Deadline.case_id == case_id,
                                               Deadline.status.in_(OPEN))).all()  # type: ignore[attr-defined]
    return [d for d in rows if d.key.startswith(prefix)]


def on_transition(session: Session, case: Case, defn: Definition, old: str, new: str, cal: Any,
                  actor: str, now: datetime) -> None:
    """Close the timers this move meets: a timer closes when the case leaves its state, or —
    when it declares ``closes_on`` — when the case enters one of those states."""
    timers = {f"timer:{name}:{t.id}": t for name, st in defn.states.items() for t in st.timers}
    for d in open_for_case(session, case.id or 0, "timer:"):
        timer = timers.get(d.key)
        if timer is None:
            continue
        if timer.closes_on:
            if new in timer.closes_on:
                close(session, case, d, cal, actor, now)
        elif d.key.startswith(f"timer:{old}:") and new != old:
            close(session, case, d, cal, actor, now)


def cancel_all(session: Session, case: Case, cal: Any, actor: str, now: datetime) -> None:
    """A case that ends cancels every deadline still open (and so its reminder ladders)."""
    for d in open_for_case(session, case.id or 0):
        close(session, case, d, cal, actor, now, cancel=True)


def view(d: Deadline, cal: Any, now: datetime, lang: str) -> dict[str, Any]:
    """A deadline as users read it (case show, --json)."""
    today = clock.to_local(now).date()
    left = None
    if d.status == "open" and d.due_date:
        left = cal.working_days_between(today, d.due_date) if today <= d.due_date \
            else -cal.working_days_between(d.due_date, today)
    return {"key": d.key, "label": d.label_vi if lang == "vi" else d.label_en, "unit": d.unit,
            "status": d.status, "due_date": d.due_date.isoformat() if d.due_date else None,
            "due_at": d.due_at.strftime("%Y-%m-%dT%H:%M:%SZ") if d.due_at else None,
            "phrase": d.phrase, "kind": d.kind, "working_days_left": left, "margin_wd": d.margin_wd,
            "citation": d.citation, "confirmed": d.confirmed,
            "explanation": [s.get(lang, s.get("vi")) for s in d.explanation or []],
            "pending_event": (d.extra or {}).get("pending_event")}
