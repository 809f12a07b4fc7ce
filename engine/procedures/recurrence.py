"""Recurring deadlines ("Hàng năm", "hằng quý"): the next occurrence when one closes.

The action ``open_next_occurrence`` (``actions: [open_next_occurrence]`` on a
transition) looks at the case's latest deadline whose phrase recurs:

* if the transition ends the case (a task accepted), the next occurrence is a
  **new case** of the same workflow (newest version) with the fields the case
  was opened with, the timer's reference date moved to the day after this
  occurrence's due date, and ``previous_occurrence`` naming this case — each
  year's task has its own owner, history and result;
* if the case goes on (an agreement in force reporting every year), the
  occurrence's row is closed (met / missed) and the next one opened on the
  same case.

A case without a recurring deadline is left alone, so the action is safe on
any transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, definitions, effects
from agreeflow.engine.core.fields import to_text
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, EventKind
from agreeflow.engine.core.store import Case, Deadline, Event
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.legaltime.calendar import Due, DueKind, next_occurrence


def latest_recurring(s: Session, case: Case) -> Deadline | None:
    """The case's most recent deadline row whose phrase recurs."""
    rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id).desc())).all()
    return next((d for d in rows if (d.extra or {}).get("recurring") and d.status != "cancelled"), None)


def open_next_occurrence(m: effects.Moved) -> None:
    """Action: open the next occurrence of the case's recurring deadline (see module docstring)."""
    s, case, defn, actor, now = m.session, m.case, m.definition, m.actor, m.now
    cal = deadlines.calendar_for(s)
    row = latest_recurring(s, case)
    if row is None or row.due_date is None:
        return
    if defn.states[case.state].terminal:
        _next_case(s, case, defn, row, actor, now)
    else:
        _next_row(s, case, row, cal, actor, now)


def _opened_fields(s: Session, case: Case) -> dict[str, Any]:
    opened = s.exec(select(Event).where(Event.case_id == case.id, Event.kind == "opened")).first()
    return dict((opened.payload or {}).get("fields") or {}) if opened else {}


def _next_case(s: Session, case: Case, defn: Any, row: Deadline, actor: str, now: datetime) -> None:
    newest = definitions.get(defn.id)
    fields = _opened_fields(s, case)
    timer_id = row.key.rsplit(":", 1)[-1]
    ref_field = next((t.ref_field for st in newest.states.values() for t in st.timers
                      if t.id == timer_id and t.ref_field), None)
    assert row.due_date is not None
    if ref_field:
        fields[ref_field] = (row.due_date + timedelta(days=1)).isoformat()
    if "previous_occurrence" in newest.fields:
        fields["previous_occurrence"] = case.ref
    raw = {k: to_text(v) for k, v in fields.items() if k in newest.fields and v not in (None, "", [])}
    nxt = cases.open_case(s, newest, case.title, raw, authority.person_or_system(s, actor), now,
                          role=SYSTEM_ACTOR, note=f"Kỳ tiếp theo của {case.ref} / next occurrence of {case.ref}")
    audit.append_event(s, case, EventKind.OCCURRENCE_OPENED, actor=actor, at=now,
                       payload={"next": nxt.ref, "after": row.due_date.isoformat(),
                                "recurring": (row.extra or {}).get("recurring")})


def _next_row(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> None:
    extra = row.extra or {}
    current = Due(kind=DueKind.RECURRING, phrase=row.phrase or "", due_date=row.due_date,
                  recurring=extra.get("recurring"))
    following = next_occurrence(current, cal)
    if following is None:
        return
    if row.status in deadlines.OPEN:
        deadlines.close(s, case, row, cal, actor, now)
    new = Deadline(case_id=row.case_id, key=row.key, kind=row.kind, label_vi=row.label_vi, label_en=row.label_en,
                   unit=row.unit, start_at=now, citation=row.citation, confirmed=row.confirmed,
                   policy=row.policy, extra={k: v for k, v in extra.items() if k == "recurring"})
    deadlines.apply_due(new, following, now)
    s.add(new)
    s.flush()
    audit.append_event(s, case, EventKind.DEADLINE_SET, actor=actor, at=now,
                       payload=deadlines.deadline_payload(new) | {"occurrence_after": row.due_date.isoformat()
                                                                  if row.due_date else None})


effects.register_action("open_next_occurrence", open_next_occurrence)
