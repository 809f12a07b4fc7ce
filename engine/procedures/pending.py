"""Event-relative deadlines: a ``pending`` deadline starts when a related case reaches a state.

A task due "Sau khi MOU được ký kết" (seed 000) has no date until the MOU is
signed.  Its deadline row is ``pending`` (engine.deadlines.apply_due); the task
names the agreement case in ``related_case`` and the state that is the event
in ``related_state`` (default ``signed``).  When that case enters that state,
the effect :func:`on_state_entered` (engine.core.effects) opens the pending rows
of every task linked to it, counted from the event's date:

* the event's date is the related case's date field for that state
  (:data:`EVENT_DATE_FIELDS`, e.g. ``signed_on`` — the day written on the
  agreement, which may precede the day it was recorded), else the day it was
  recorded;
* the count is the phrase's own offset when it has one ("30 ngày sau khi ký"),
  else the task's ``after_event_days`` (calendar days; policy data, default
  :data:`DEFAULT_AFTER_EVENT_DAYS`).

A task opened after its agreement was already signed starts at once
(:func:`on_case_opened`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock, effects
from agreeflow.engine.core.errors import AgreeflowError
from agreeflow.engine.core.i18n import N_, Msg, pair
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.store import Case, Deadline, Event
from agreeflow.engine.core.vocabulary import duration
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.legaltime.calendar.due import step

DEFAULT_EVENT_STATE = "signed"
DEFAULT_AFTER_EVENT_DAYS = 30
EVENT_DATE_FIELDS = {"signed": "signed_on", "in_force": "effective_on", "terminated": "end_effective_on"}


def on_state_entered(s: Session, case: Case, state: str, cal: Any, actor: str, now: datetime) -> list[str]:
    """Start the pending deadlines of cases linked to ``case`` whose event is entering ``state``."""
    # Every move of every case asks, and almost always nothing waits for it: the link is matched
    # in SQL (the cost is the few pending rows linked to this case, not every pending row of the
    # database), first by a bare look for any row, then for the objects when there are some.
    s.flush()
    if _LINKED_ANY.run(s, {"ref": case.ref}).first() is None:
        return []
    rows = s.exec(_LINKED, params={"ref": case.ref}).all()
    started = []
    for d, linked in rows:
        if linked.fields.get("related_case") != case.ref:
            continue
        if (linked.fields.get("related_state") or DEFAULT_EVENT_STATE) != state:
            continue
        try:
            with s.begin_nested():
                start(s, linked, d, case, state, _event_day(case, state, now), cal, actor, now)
        except (AgreeflowError, ValueError, OverflowError) as exc:
            # A link must never block the linked case: the failure is the linking case's to fix.
            audit.forget_heads(s)  # the savepoint took back what it appended
            _log_failure(s, linked, d, case, exc, actor, now)
            continue
        started.append(linked.ref)
    return started


_LINKED = (select(Deadline, Case).join(Case, col(Case.id) == col(Deadline.case_id))
           .where(col(Deadline.status) == DeadlineStatus.PENDING,
                  Case.fields["related_case"].as_string() == sa.bindparam("ref")))
_LINKED_ANY = Prepared(sa.select(col(Deadline.id)).join(Case, col(Case.id) == col(Deadline.case_id))
                       .where(col(Deadline.status) == DeadlineStatus.PENDING,
                              Case.fields["related_case"].as_string() == sa.bindparam("ref")).limit(1))


def _log_failure(s: Session, linked: Case, d: Deadline, related: Case, exc: Exception, actor: str,
                 now: datetime) -> None:
    """Record on ``linked`` that its deadline could not start from ``related``'s event, and why."""
    problem = exc.render("en") if isinstance(exc, AgreeflowError) else str(exc)
    locked = s.exec(select(Case).where(Case.id == linked.id).with_for_update()).one()
    audit.append_event(s, locked, EventKind.EFFECT_FAILED, actor=actor, at=now,
                       note=Msg(N_("The deadline '{label}' could not start from the event of {ref}"),
                                label=pair(d.label_vi, d.label_en), ref=related.ref),
                       payload={"effect": "pending", "deadline": d.key, "event_case": related.ref,
                                "problem": problem[:500]})


def on_case_opened(s: Session, case: Case, cal: Any, actor: str, now: datetime) -> None:
    """A new case whose related case already passed the event starts its pending deadlines now."""
    ref = case.fields.get("related_case")
    if not ref:
        return
    pending = [d for d in deadlines.open_for_case(s, case.id or 0) if d.status == DeadlineStatus.PENDING]
    related = s.exec(select(Case).where(Case.ref == ref)).first()
    if not pending or related is None:
        return
    state = case.fields.get("related_state") or DEFAULT_EVENT_STATE
    entered = s.exec(select(Event).where(Event.case_id == related.id, Event.kind == EventKind.TRANSITION,
                                         Event.to_state == state).order_by(col(Event.seq))).first()
    if entered is None:
        return
    for d in pending:
        start(s, case, d, related, state, _event_day(related, state, entered.at), cal, actor, now)


def _event_day(case: Case, state: str, at: datetime) -> date:
    value = case.fields.get(EVENT_DATE_FIELDS.get(state, ""))
    return date.fromisoformat(value) if value else clock.to_local(at).date()


def start(s: Session, linked: Case, d: Deadline, related: Case, state: str, day: date, cal: Any,
          actor: str, now: datetime) -> None:
    """Open one pending deadline of ``linked``, counted from ``day`` (the event of ``related``)."""
    extra = d.extra or {}
    n, unit = extra.get("offset_n"), extra.get("offset_unit")
    if n is None:
        n, unit = int(linked.fields.get("after_event_days") or DEFAULT_AFTER_EVENT_DAYS), "d"
    due = cal.add(day, int(n), unit or "d", phrase=d.phrase)
    event = extra.get("pending_event") or state
    related_state = cases.definition_of(s, related.workflow, related.version).states.get(state)
    head = step(Msg(N_("Event “{event}”: case {ref} entered '{state}' on {day}"), event=event, ref=related.ref,
                    state=dict(related_state.label) if related_state and related_state.label else state, day=day), day)
    if extra.get("offset_n") is None:
        head_n = step(Msg(N_("The phrase gives no count: {count} apply (field after_event_days, policy)"),
                          count=duration(int(n), "d")))
        steps = [head, head_n] + list(due.steps)
    else:
        steps = [head] + list(due.steps)
    locked = s.exec(select(Case).where(Case.id == linked.id).with_for_update()).one()
    d.start_at = now
    deadlines.apply_due(d, replace(due, steps=steps), now)
    d.extra = {**(d.extra or {}), "started_by": related.ref}
    s.add(d)
    s.flush()
    audit.append_event(s, locked, EventKind.DEADLINE_SET, actor=actor, at=now,
                       payload=deadlines.deadline_payload(d) | {"started_by": related.ref, "event": event,
                                                                "event_date": day.isoformat()})


def _entered(m: effects.Moved) -> None:
    if m.new_state != m.old_state:
        on_state_entered(m.session, m.case, m.new_state, deadlines.calendar_for(m.session), m.actor, m.now)


def _opened(o: effects.Opened) -> None:
    on_case_opened(o.session, o.case, deadlines.calendar_for(o.session), o.actor, o.now)


effects.on_move("pending", 50, _entered)
effects.on_open("pending", 20, _opened)
