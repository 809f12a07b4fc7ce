"""Engine checks that flag cases: delegations operating without permission (seed 003).

Seed 003 names as a weakness that "some foreign delegations operate locally
without the required permission".  :func:`flag_unapproved_delegations` finds
delegation cases whose start date has come while the case is still before its
approval, appends one ``flagged`` event to each (once: a flag is never
repeated) and records ``"unapproved"`` in the case's ``_flags`` field, which
``agreeflow case list`` shows.  A flag is history: it stays after a late
approval, because the visit did begin without one.

"Before its approval" is read from the workflow graph, not a list of states:
a state is before approval while the ``approve`` trigger can still be reached
from it.  The sweep calls this function; ``agreeflow case flags`` runs it too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, EventKind
from agreeflow.engine.core.store import Case

RULES: tuple[tuple[str, str, str], ...] = (   # (workflow, start-date field, approval trigger)
    ("delegation-outbound", "start_date", "approve"),
    ("delegation-inbound", "start_date", "approve"),
)
FLAG = "unapproved"


def before(defn: Definition, trigger: str) -> set[str]:
    """States from which a transition named ``trigger`` can still be fired (its sources included)."""
    found = {s for t in defn.transitions if t.trigger == trigger for s in t.sources}
    todo = list(found)
    while todo:
        target = todo.pop()
        for t in defn.transitions:
            if t.dest == target:
                for s in t.sources:
                    if s not in found and not defn.states[s].terminal:
                        found.add(s)
                        todo.append(s)
    return found


def flag_unapproved_delegations(session: Session, now: datetime) -> list[str]:
    """Flag every delegation whose start date has arrived without approval; the refs newly flagged."""
    today = clock.to_local(now).date()
    flagged = []
    for workflow, date_field, trigger in RULES:
        found = session.exec(select(Case).where(Case.workflow == workflow, col(Case.closed_at).is_(None))
                             .order_by(col(Case.id))).all()
        for case in found:
            start = case.fields.get(date_field)
            if not start or FLAG in (case.fields.get("_flags") or []) or date.fromisoformat(start) > today:
                continue
            defn = cases.definition_of(session, case.workflow, case.version)
            if case.state not in before(defn, trigger):
                continue
            locked = cases.lock(session, case.id)
            locked.fields = {**locked.fields, "_flags": [*(locked.fields.get("_flags") or []), FLAG]}
            cases.touch(session, locked, now)
            audit.append_event(
                session, locked, EventKind.FLAGGED, actor=SYSTEM_ACTOR, role=SYSTEM_ACTOR, at=now,
                note=Msg(N_("The start date {day} has come but the delegation is not approved (step '{state}') — "
                            "activity without permission"), day=date.fromisoformat(start),
                         state=dict(defn.states[case.state].label) or case.state),
                payload={"flag": FLAG, "start_date": start, "state": case.state,
                         "why": "delegation started without approval"})
            flagged.append(case.ref)
    session.flush()
    return flagged
