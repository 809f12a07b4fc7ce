"""The suspension ledger of the legal clock; the actions ``suspend`` and ``resume``.

``suspend`` / ``resume`` keep the suspension ledger of the legal clock: while a
case is suspended (e.g. "dossier incomplete — completion requested") its open
deadlines do not run; on resume every open deadline moves forward by the
working days that elapsed, and each move is logged with before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import clock, effects
from agreeflow.engine.core.audit import append_event
from agreeflow.engine.core.errors import StateRefusedError
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind
from agreeflow.engine.core.store import Case, Event
from agreeflow.engine.legaltime.deadlines import calendar_for, open_for_case, suspension_step


def suspend(s: Session, case: Case, actor: str, reason: str | None, cal: Any, now: datetime) -> None:
    """Stop the legal clock of ``case``."""
    if case.suspended_at is not None:
        raise StateRefusedError(case=case.ref, state="suspended / tạm dừng", trigger="suspend", allowed=["resume"])
    case.suspended_at = now
    paused = []
    for d in open_for_case(s, case.id or 0):
        paused_at = d.next_action_at.isoformat() if d.next_action_at else None
        d.extra = {**(d.extra or {}), "paused_next_action_at": paused_at}
        d.next_action_at = None
        s.add(d)
        paused.append(d.key)
    s.add(case)
    append_event(s, case, EventKind.SUSPENDED, actor=actor, note=reason,
                 payload={"reason": reason, "since": clock.to_local(now).date().isoformat(), "deadlines": paused},
                 at=now)


def resume(s: Session, case: Case, actor: str, note: str | None, cal: Any, now: datetime) -> None:
    """Restart the legal clock; move every open deadline by the working days suspended."""
    if case.suspended_at is None:
        raise StateRefusedError(case=case.ref, state="running / đang chạy", trigger="resume", allowed=["suspend"])
    since = clock.to_local(case.suspended_at).date()
    today = clock.to_local(now).date()
    k = max(cal.working_days_between(since, today), 0)
    reason = suspension_reason(s, case)
    moved: list[str] = []
    new_dates: list[dict[str, Any]] = []
    for d in open_for_case(s, case.id or 0):
        extra = dict(d.extra or {})
        extra.pop("paused_next_action_at", None)
        if d.status == DeadlineStatus.OPEN and d.due_date is not None:
            # The ledger: a calendar change re-counts each period (deadlines.reprojected).
            extra["suspensions"] = [*extra.get("suspensions", []), {
                "since": since.isoformat(), "until": today.isoformat(), "working_days": k}]
        if d.status == DeadlineStatus.OPEN and d.due_date is not None and k:
            before = d.due_date
            due = cal.add(before, k, "wd")
            d.due_date, d.due_at = due.due_date, due.due_at
            d.explanation = list(d.explanation or []) + [suspension_step(k, since, today, before, d.due_date)]
            append_event(s, case, EventKind.DEADLINE_MOVED, actor=actor, at=now,
                         payload={"deadline": d.key, "label": d.label_vi, "label_en": d.label_en,
                                  "before": before.isoformat(),
                                  "after": d.due_date.isoformat(), "working_days": k, "why": "suspension",
                                  "reason": reason})
            moved.append(d.key)
            new_dates.append({"deadline": d.key, "label": d.label_vi, "label_en": d.label_en,
                              "before": before.isoformat(), "after": d.due_date.isoformat()})
        d.extra = extra
        d.rung = 0
        from agreeflow.engine.legaltime import reminders  # only when a deadline moves: a read imports none
        d.next_action_at = reminders.next_action(d, now)
        s.add(d)
    case.suspended_at = None
    s.add(case)
    append_event(s, case, EventKind.RESUMED, actor=actor, note=note, at=now,
                 payload={"since": since.isoformat(), "until": today.isoformat(), "working_days": k, "moved": moved,
                          "reason": reason, "deadlines": new_dates})


def suspension_reason(s: Session, case: Case) -> str | None:
    """The reason given when ``case`` was last suspended (its ``suspended`` event)."""
    return s.exec(select(Event.note).where(Event.case_id == case.id, Event.kind == EventKind.SUSPENDED)
                  .order_by(col(Event.seq).desc()).limit(1)).first()


def _own(note: object) -> str | None:
    """A person's reason for the suspension (the engine never suspends in its own words)."""
    return note if isinstance(note, str) else None


def _suspend_action(m: effects.Moved) -> None:
    suspend(m.session, m.case, m.actor, _own(m.note), calendar_for(m.session), m.now)


def _resume_action(m: effects.Moved) -> None:
    resume(m.session, m.case, m.actor, _own(m.note), calendar_for(m.session), m.now)


effects.register_action("suspend", _suspend_action)
effects.register_action("resume", _resume_action)
