"""Fan-out and fan-in: one child case per addressee, and the parent's next step when all have ended.

Any workflow may use it; nothing here knows about consultations.

* **Fan-out** — a transition with ``spawn: {workflow, for_each, fields, title}``
  opens one child case of ``workflow`` per unit in the parent's ``units`` field
  ``for_each``, with ``parent_id`` set, and logs ``child_opened`` on the parent.
  The children's refs are kept in the parent's ``_round`` field: the current
  round (a later spawn starts a new round).  Values in ``spawn.fields``:

  - ``$unit`` — this child's unit; ``$parent`` — the parent's ref;
  - ``field:NAME`` — the parent's field NAME;
  - ``deadline:TIMER`` — the due date of the parent's timer TIMER in the state
    just entered (one limit, written once, e.g. the 7 working days of Law
    70/2020 art. 19(2), reaches every addressee);
  - anything else — that text.

* **Fan-in** — a state with ``on_children_done: <trigger>``: when a child
  reaches a terminal state and every sibling of its round is terminal too, the
  engine fires ``<trigger>`` on the parent as actor ``system`` (role checks do
  not apply to the engine; guards do).

* **Silence** — :func:`apply_silence` applies the consequence of no reply once
  a child's reply deadline has passed: ``deemed_agreed`` (the request letter
  said so, seed 001) fires ``deem_agreed`` and records the rule; ``overdue``
  (the default for statutory consultations, Law 70/2020 art. 19) writes
  nothing — the deadline stays open and overdue, and the sweep's reminder
  ladder reminds and escalates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, clock

from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.core.definitions import Definition, SpawnDef, TransitionDef
from agreeflow.engine.core.store import Case, Deadline, Event, Person

SYSTEM_ACTOR = "system"
DEEM_TRIGGER = "deem_agreed"           # the child's trigger for "no reply = agreement"
CLOSE_TRIGGER = "close_unanswered"     # the child's trigger used by the close_children action
DEFAULT_ON_SILENCE = "overdue"


def system_person() -> Person:
    """The engine as an actor (never stored): fires fan-in and silence transitions."""
    return Person(email=SYSTEM_ACTOR, name="agreeflow", unit="", roles=["system"])


def person_for(s: Session, email: str) -> Person:
    """The directory person behind ``email``, or the system actor."""
    return s.get(Person, email) or system_person()


# ------------------------------------------------------------------ hook from service._apply
def after_transition(s: Session, case: Case, defn: Definition, tdef: TransitionDef, actor: str, role: str,
                     now: datetime) -> None:
    """Called by ``service._apply`` once a transition is written: spawn children, then fan in."""
    if tdef.spawn is not None:
        spawn(s, case, tdef.spawn, actor, role, now)
    if case.parent_id is not None and defn.states[case.state].terminal:
        children_done(s, case, now)


def _value(spec: str, case: Case, unit: str, s: Session) -> Any:
    if spec == "$unit":
        return unit
    if spec == "$parent":
        return case.ref
    if spec.startswith("field:"):
        return case.fields.get(spec[6:])
    if spec.startswith("deadline:"):
        key = f"timer:{case.state}:{spec[9:]}"
        row = next((d for d in deadlines.open_for_case(s, case.id or 0, key) if d.key == key), None)
        return row.due_date.isoformat() if row is not None and row.due_date else None
    return spec


def as_text(value: Any) -> str:
    """A field value as the ``--field`` text that gives it back (lists comma-joined)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def spawn(s: Session, case: Case, spec: SpawnDef, actor: str, role: str, now: datetime) -> list[Case]:
    """Open one child case per unit of ``case.fields[spec.for_each]``; returns them."""
    from agreeflow.engine.core import definitions
    from agreeflow.engine import service
    child_defn = definitions.get(spec.workflow)
    person = person_for(s, actor)
    made = []
    for unit in case.fields.get(spec.for_each) or []:
        raw = {name: _value(v, case, unit, s) for name, v in spec.fields.items()}
        raw_text = {k: as_text(v) for k, v in raw.items() if v not in (None, "", [])}
        title = (spec.title or "{parent_title} — {unit}").format(parent_title=case.title, unit=unit, parent=case.ref)
        child = service._open_in(s, child_defn, title, raw_text, person, parent_ref=case.ref,
                                 note=f"{case.ref}: {spec.workflow} → {unit}", role=role or SYSTEM_ACTOR)
        audit.append_event(s, case, "child_opened", actor=actor, role=role, at=now,
                           payload={"child": child.ref, "unit": unit, "workflow": spec.workflow})
        made.append(child)
    case.fields = {**case.fields, "_round": [c.ref for c in made]}
    s.add(case)
    s.flush()
    return made


def round_of(s: Session, parent: Case) -> list[Case]:
    """The children of the parent's current round (all children when no round is recorded)."""
    refs = parent.fields.get("_round")
    stmt = select(Case).where(Case.parent_id == parent.id)
    if refs:
        stmt = stmt.where(col(Case.ref).in_(refs))
    return list(s.exec(stmt.order_by(col(Case.id))).all())


def is_terminal(s: Session, case: Case) -> bool:
    from agreeflow.engine import service
    return service.definition_of(s, case.workflow, case.version).states[case.state].terminal


def children_done(s: Session, child: Case, now: datetime) -> str | None:
    """Fire the parent's ``on_children_done`` trigger when ``child``'s round has ended; the new state or None."""
    from agreeflow.engine import service
    parent = service._lock(s, child.parent_id)
    pdefn = service.definition_of(s, parent.workflow, parent.version)
    trigger = pdefn.states[parent.state].on_children_done
    if not trigger:
        return None
    siblings = round_of(s, parent)
    if child.ref not in {c.ref for c in siblings} or not all(is_terminal(s, c) for c in siblings):
        return None
    return fire_as_system(s, parent, trigger, note=f"Các hồ sơ con đã kết thúc / all child cases ended "
                                                   f"({len(siblings)}; cuối cùng / last: {child.ref})")


def fire_as_system(s: Session, case: Case, trigger: str, raw: dict[str, str] | None = None,
                   note: str | None = None) -> str | None:
    """Fire ``trigger`` as the engine inside the caller's transaction; None when a rule refuses it."""
    from agreeflow.engine import service
    try:
        return service._fire_in(s, case, system_person(), trigger, raw or {}, note, [], None,
                                role_override=SYSTEM_ACTOR)
    except service._Refusal:
        return None


# ------------------------------------------------------------------ actions
def close_children(s: Session, case: Case, defn: Any, actor: str, note: str | None, cal: Any,
                   now: datetime) -> None:
    """Action ``close_children``: end every child of the round still open (``close_unanswered``)."""
    for child in round_of(s, case):
        if not is_terminal(s, child):
            fire_as_system(s, service_lock(s, child), CLOSE_TRIGGER,
                           note=note or f"{case.ref}: đợt xin ý kiến kết thúc / round closed")


def service_lock(s: Session, case: Case) -> Case:
    from agreeflow.engine import service
    return service._lock(s, case.id)


# ------------------------------------------------------------------ silence
def on_silence_rule(s: Session, child: Case) -> str:
    """What no reply means for ``child``: its own field, else its parent workflow's ``fanout.on_silence``."""
    rule = child.fields.get("on_silence")
    if rule:
        return str(rule)
    if child.parent_id is not None:
        from agreeflow.engine import service
        parent = s.get(Case, child.parent_id)
        if parent is not None:
            return service.definition_of(s, parent.workflow, parent.version).fanout.get("on_silence",
                                                                                      DEFAULT_ON_SILENCE)
    return DEFAULT_ON_SILENCE


def due_reply(s: Session, child: Case, now: datetime) -> Deadline | None:
    """The child's open deadline of its current state whose time has run out, if any."""
    rows = deadlines.open_for_case(s, child.id or 0, f"timer:{child.state}:")
    return next((d for d in rows if d.status == "open" and d.due_at is not None and d.due_at <= now), None)


def apply_silence(session: Session, case: Case, now: datetime | None = None) -> list[dict[str, Any]]:
    """Apply the consequence of silence to ``case`` (a child) or to every child of its round (a parent).

    Idempotent: a child that replied, was already deemed, or whose deadline has
    not passed is reported and left alone.  Runs in the caller's transaction.
    Returns one ``{"case", "unit", "result", "rule"}`` per child looked at.
    """
    now = now or clock.now()
    children = round_of(session, case) if session.exec(
        select(Case.id).where(Case.parent_id == case.id)).first() is not None else [case]
    return [_silence_one(session, service_lock(session, c), now) for c in children]


def _silence_one(s: Session, child: Case, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"case": child.ref, "unit": child.unit, "result": child.state, "rule": None}
    if is_terminal(s, child):
        return out
    due = due_reply(s, child, now)
    if due is None:
        out["result"] = "waiting"
        return out
    rule = on_silence_rule(s, child)
    out["rule"] = rule
    if rule != "deemed_agreed":
        out["result"] = "overdue"
        return out
    wording = child.fields.get("silence_rule") or ""
    deadline_text = due.due_date.strftime("%d/%m/%Y") if due.due_date else ""
    note = (f"Không trả lời trước hạn {deadline_text}: coi như nhất trí theo văn bản xin ý kiến"
            + (f" («{wording}»)" if wording else ""))
    new_state = fire_as_system(s, child, DEEM_TRIGGER, note=note)
    if new_state is None:
        out["result"] = "refused"
        return out
    audit.append_event(s, child, "deemed_agreed", actor=SYSTEM_ACTOR, role=SYSTEM_ACTOR, note=note, at=now,
                       payload={"rule": "on_silence=deemed_agreed", "wording": wording,
                                "deadline": due.due_date.isoformat() if due.due_date else None,
                                "deadline_key": due.key, "source": "letter"})
    out["result"] = new_state
    return out


def rule_events(s: Session, case: Case) -> list[Event]:
    """The ``deemed_agreed`` events of a case (the rule that made each so)."""
    return list(s.exec(select(Event).where(Event.case_id == case.id, Event.kind == "deemed_agreed")
                       .order_by(col(Event.seq))).all())
