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

from agreeflow.engine.core import audit, authority, cases, definitions, effects
from agreeflow.engine.core.definitions import SpawnDef
from agreeflow.engine.core.fields import to_text
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, DeadlineStatus, EventKind
from agreeflow.engine.core.store import Case, Deadline, Event, Unit
from agreeflow.engine.legaltime import deadlines

DEEM_TRIGGER = "deem_agreed"           # the child's trigger for "no reply = agreement"
CLOSE_TRIGGER = "close_unanswered"     # the child's trigger used by the close_children action (no reply)
SUPERSEDE_TRIGGER = "supersede"        # the child's trigger when the request is no longer needed
DEFAULT_ON_SILENCE = "overdue"


# ------------------------------------------------------------------ the effect (engine.core.effects, order 40)
def after_transition(m: effects.Moved) -> None:
    """Once a transition is written: spawn its children, then fan in to the parent when the round has ended."""
    if m.transition.spawn is not None:
        spawn(m.session, m.case, m.transition.spawn, m.actor, m.role, m.now, m.values)
    if m.case.parent_id is not None and m.definition.states[m.case.state].terminal:
        children_done(m.session, m.case, m.now)


def _value(spec: str, case: Case, unit: str, s: Session, given: dict[str, Any]) -> Any:
    if spec == "$unit":
        return unit
    if spec == "$parent":
        return case.ref
    if spec.startswith("field:"):
        return case.fields.get(spec[6:])
    if spec.startswith("given:"):  # only as given in the step that opens the round: a later round asks again
        return given.get(spec[6:])
    if spec.startswith("deadline:"):
        key = f"timer:{case.state}:{spec[9:]}"
        row = next((d for d in deadlines.open_for_case(s, case.id or 0, key) if d.key == key), None)
        return row.due_date.isoformat() if row is not None and row.due_date else None
    return spec


def spawn(s: Session, case: Case, spec: SpawnDef, actor: str, role: str, now: datetime,
          given: dict[str, Any] | None = None) -> list[Case]:
    """Open one child case per unit of ``case.fields[spec.for_each]``; returns them.  ``given``: the fields given
    in the step that opens the round (``given:NAME`` in ``spec.fields``)."""
    child_defn = definitions.get(spec.workflow)
    person = authority.person_or_system(s, actor)
    made = []
    for unit in case.fields.get(spec.for_each) or []:
        raw = {name: _value(v, case, unit, s, given or {}) for name, v in spec.fields.items()}
        raw_text = {k: to_text(v) for k, v in raw.items() if v not in (None, "", [])}
        known = s.get(Unit, unit)  # the title is read by people: the unit's name, its code only if unknown
        title = (spec.title or "{parent_title} — {unit_name}").format(
            parent_title=case.title, unit=unit, unit_name=known.name_vi if known is not None else unit, parent=case.ref)
        child = cases.open_case(s, child_defn, title, raw_text, person, now, parent_ref=case.ref,
                                note=Msg(N_("Opened from {parent} for {unit}: {workflow}"), parent=case.ref,
                                         unit=unit, workflow=dict(child_defn.title)),
                                role=role or SYSTEM_ACTOR)
        audit.append_event(s, case, EventKind.CHILD_OPENED, actor=actor, role=role, at=now,
                           payload={"child": child.ref, "unit": unit, "workflow": spec.workflow})
        made.append(child)
    if not made and case.fields.get("_round") != []:
        # No addressee: the round is empty.  Every change of a case's fields is logged (audit verify replays
        # them); with children, their child_opened events already say who is in the round.
        audit.append_event(s, case, EventKind.FIELD_CHANGED, actor=actor, role=role, at=now,
                           payload={"field": "_round", "before": case.fields.get("_round"), "after": []})
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


def children_done(s: Session, child: Case, now: datetime) -> str | None:
    """Fire the parent's ``on_children_done`` trigger when ``child``'s round has ended; the new state or None."""
    parent = cases.lock(s, child.parent_id)
    pdefn = cases.definition_of(s, parent.workflow, parent.version)
    trigger = pdefn.states[parent.state].on_children_done
    if not trigger:
        return None
    siblings = round_of(s, parent)
    if child.ref not in {c.ref for c in siblings} or not all(cases.is_terminal(s, c) for c in siblings):
        return None
    return fire_as_system(s, parent, trigger, now, note=Msg(N_("All child cases ended ({n}; last: {ref})"),
                                                            n=len(siblings), ref=child.ref))


def fire_as_system(s: Session, case: Case, trigger: str, now: datetime, raw: dict[str, str] | None = None,
                   note: str | Msg | None = None) -> str | None:
    """Fire ``trigger`` as the engine inside the caller's transaction; the new state, or None when refused."""
    try:
        return cases.fire(s, case, authority.system_person(), trigger, raw or {}, now, note=note,
                          role_override=SYSTEM_ACTOR).new_state
    except cases.Refusal:
        return None


# ------------------------------------------------------------------ actions
def close_children(m: effects.Moved) -> None:
    """Action ``close_children``: every child of the round still open ends as "no reply" (``close_unanswered``)."""
    _end_open_children(m, CLOSE_TRIGGER, m.note or Msg(N_("{ref}: the round is closed"), ref=m.case.ref))


def supersede_children(m: effects.Moved) -> None:
    """Action ``supersede_children``: every child still open ends as no longer needed (``supersede``)."""
    _end_open_children(m, SUPERSEDE_TRIGGER, Msg(N_("{ref}: {step} — no reply needed any more"), ref=m.case.ref,
                                                 step=dict(m.transition.label) or m.transition.trigger))


def _end_open_children(m: effects.Moved, trigger: str, note: str | Msg) -> list[str]:
    ended = []
    for child in round_of(m.session, m.case):
        if not cases.is_terminal(m.session, child):
            if fire_as_system(m.session, cases.lock(m.session, child.id), trigger, m.now, note=note) is not None:
                ended.append(child.ref)
    return ended


def children_left_behind(m: effects.Moved) -> None:
    """The effect that ends a round its parent has left: no child waits for a step that will never come.

    When the parent moves from a state that waits for its children
    (``on_children_done``) to one that does not, and children are still
    open, each ends as superseded — unless the transition's own actions
    already ended them (``close_children``: no reply).
    """
    states = m.definition.states
    if m.new_state == m.old_state or not states[m.old_state].on_children_done \
            or states[m.new_state].on_children_done:
        return
    _end_open_children(m, SUPERSEDE_TRIGGER, f"{m.case.ref}: hồ sơ đã sang bước "
                                             f"'{m.definition.label(m.new_state, 'vi')}' — không còn cần trả lời")


# ------------------------------------------------------------------ silence
def on_silence_rule(s: Session, child: Case) -> str:
    """What no reply means for ``child``: its own field, else its parent workflow's ``fanout.on_silence``."""
    rule = child.fields.get("on_silence")
    if rule:
        return str(rule)
    if child.parent_id is not None:
        parent = s.get(Case, child.parent_id)
        if parent is not None:
            return cases.definition_of(s, parent.workflow, parent.version).fanout.get("on_silence",
                                                                                      DEFAULT_ON_SILENCE)
    return DEFAULT_ON_SILENCE


def due_reply(s: Session, child: Case, now: datetime) -> Deadline | None:
    """The child's open deadline of its current state whose time has run out, if any."""
    rows = deadlines.open_for_case(s, child.id or 0, f"timer:{child.state}:")
    return next((d for d in rows if d.status == DeadlineStatus.OPEN and d.due_at is not None and d.due_at <= now), None)


def apply_silence(session: Session, case: Case, now: datetime) -> list[dict[str, Any]]:
    """Apply the consequence of silence to ``case`` (a child) or to every child of its round (a parent).

    Idempotent: a child that replied, was already deemed, or whose deadline has
    not passed is reported and left alone.  Runs in the caller's transaction.
    Returns one ``{"case", "unit", "result", "rule"}`` per child looked at.
    """
    children = round_of(session, case) if session.exec(
        select(Case.id).where(Case.parent_id == case.id)).first() is not None else [case]
    return [_silence_one(session, cases.lock(session, c.id), now) for c in children]


def _silence_one(s: Session, child: Case, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"case": child.ref, "unit": child.unit, "result": child.state, "rule": None}
    if cases.is_terminal(s, child):
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
    note = Msg(N_("No reply by {day}: deemed agreed under the request letter{wording}"), day=due.due_date,
               wording=Msg(" («{wording}»)", wording=wording) if wording else "")
    new_state = fire_as_system(s, child, DEEM_TRIGGER, now, note=note)
    if new_state is None:
        out["result"] = "refused"
        return out
    audit.append_event(s, child, EventKind.DEEMED_AGREED, actor=SYSTEM_ACTOR, role=SYSTEM_ACTOR, note=note, at=now,
                       payload={"rule": "on_silence=deemed_agreed", "wording": wording,
                                "deadline": due.due_date.isoformat() if due.due_date else None,
                                "deadline_key": due.key, "source": "letter"})
    out["result"] = new_state
    return out


def rule_events(s: Session, case: Case) -> list[Event]:
    """The ``deemed_agreed`` events of a case (the rule that made each so)."""
    return list(s.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.DEEMED_AGREED)
                       .order_by(col(Event.seq))).all())


effects.on_move("fanout", 40, after_transition)
effects.on_move("fanout.left_behind", 45, children_left_behind)
effects.register_action("close_children", close_children)
effects.register_action("supersede_children", supersede_children)
