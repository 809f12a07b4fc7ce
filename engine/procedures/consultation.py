"""Consultation rounds as users see them: the summary, closing at the deadline, the follow-up round.

The mechanics (children per addressee, fan-in, silence) are the engine's
fan-out (engine/fanout.py); this module reads and drives one round:

* :func:`summary` — who agreed, who commented what, who disagreed, who was
  deemed to agree and by which rule, who has not answered (overdue or still
  within the time);
* :func:`close_round` — at the deadline, apply what silence means to every
  addressee that has not answered (``fanout.apply_silence``); the round closes
  by itself when every reply is in or deemed;
* :func:`follow_up` — open (and optionally send) the next round, addressed only
  to the units that did not actually answer.

Each function works in the caller's session; engine.service.rounds opens the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, definitions, notes
from agreeflow.engine.core.errors import UserInputError
from agreeflow.engine.core.i18n import N_, Msg, localized, pair
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.store import Case, Deadline, Event, Person, Unit
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.procedures import fanout

ANSWERED = ("agreed", "commented", "disagreed")   # states of a child that hold a real reply
WORKFLOW = "consultation"


class NotARoundError(UserInputError):
    msgid = N_("Case {case} is not a consultation round that was sent (it has no child cases). "
               "See: agreeflow case show {case}")


class NobodyToFollowUpError(UserInputError):
    msgid = N_("Every addressee of round {case} has answered: no follow-up round is needed.")


def _round(s: Session, ref: str) -> tuple[Case, list[Case]]:
    case = cases.find(s, ref)
    children = fanout.round_of(s, case)
    if not children:
        raise NotARoundError(case=ref)
    return case, children


def _reply_view(s: Session, child: Case, now: Any, cal: Any, lang: str) -> dict[str, Any]:
    defn = cases.definition_of(s, child.workflow, child.version)
    unit = s.get(Unit, child.unit) if child.unit else None
    last = s.exec(select(Event).where(Event.case_id == child.id, Event.kind == EventKind.TRANSITION)
                  .order_by(col(Event.seq).desc())).first()
    rule = fanout.rule_events(s, child)
    rows = s.exec(select(Deadline).where(Deadline.case_id == child.id)
                  .order_by(col(Deadline.id))).all()
    due = rows[-1] if rows else None
    status = child.state
    if child.state == "awaiting":
        status = "overdue" if due is not None and due.due_at is not None and due.due_at <= now else "waiting"
    return {
        "case": child.ref, "unit": child.unit,
        "unit_name": localized(pair(unit.name_vi, unit.name_en), lang) if unit else child.unit,
        "status": status, "state_label": defn.label(child.state, lang),
        "answered": child.state in ANSWERED,
        "at": audit.fmt_at(last.at) if last is not None else None,
        "reply_no": child.fields.get("reply_no"), "replied_on": child.fields.get("replied_on"),
        "comment": child.fields.get("comment"),
        "documents": [d["name"] for docs in (child.fields.get("_documents") or {}).values() for d in docs],
        "due_date": due.due_date.isoformat() if due is not None and due.due_date else None,
        "rule": ({"rule": rule[-1].payload.get("rule"), "wording": rule[-1].payload.get("wording"),
                  "deadline": rule[-1].payload.get("deadline"),
                  "note": notes.note_of(audit.event_view(rule[-1]), lang)} if rule else None),
    }


def summary(s: Session, ref: str, now: datetime, lang: str) -> dict[str, Any]:
    """The round's replies, per addressee, with counts by status."""
    case, children = _round(s, ref)
    cal = deadlines.calendar_for(s)
    replies = [_reply_view(s, c, now, cal, lang) for c in children]
    counts: dict[str, int] = {}
    for r in replies:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"id": case.ref, "title": case.title, "state": case.state, "round": case.fields.get("round", 1),
            "document": case.fields.get("document"), "letter_no": case.fields.get("letter_no"),
            "reply_by": case.fields.get("reply_by"), "on_silence": case.fields.get("on_silence"),
            "previous_round": case.fields.get("previous_round"), "counts": counts, "replies": replies,
            "non_responders": [r["unit"] for r in replies if not r["answered"]]}


def close_round(s: Session, ref: str, actor: Person, role: str, now: datetime) -> list[dict[str, Any]]:
    """At or after the deadline: apply the consequence of silence to every addressee of the round."""
    case, _ = _round(s, ref)
    case = cases.lock(s, case.id)
    results = fanout.apply_silence(s, case, now)
    audit.append_event(s, case, EventKind.ROUND_CHECKED, actor=actor.email, role=role, at=now,
                       payload={"results": [{k: r[k] for k in ("case", "unit", "result")} for r in results]})
    return results


def follow_up(s: Session, ref: str, person: Person, now: datetime, reply_by: str, sent_on: str | None = None,
              on_silence: str | None = None, letter_no: str | None = None, send: bool = False) -> Case:
    """Open the next round of ``ref`` addressed to its non-responders (and send it with ``send``)."""
    defn = definitions.get(WORKFLOW)
    case, children = _round(s, ref)
    case = cases.lock(s, case.id)
    units = [c.unit for c in children if c.state not in ANSWERED and c.unit]
    if not units:
        raise NobodyToFollowUpError(case=ref)
    n = int(case.fields.get("round") or 1) + 1
    keep = ("lead_unit", "document", "silence_rule", "subject_case")
    raw = {k: str(case.fields[k]) for k in keep if case.fields.get(k)}
    raw |= {"units": ",".join(units), "reply_by": reply_by, "round": str(n), "previous_round": ref,
            "on_silence": on_silence or str(case.fields.get("on_silence") or "overdue")}
    raw |= {k: v for k, v in (("sent_on", sent_on), ("letter_no", letter_no)) if v}
    title = f"{case.title.split(' — đợt ')[0]} — đợt {n}"
    new = cases.open_case(s, defn, title, raw, person, now, note=Msg(N_("Next round of {ref}: {units}"), ref=ref,
                                                                                  units=units))
    audit.append_event(s, case, EventKind.FOLLOW_UP_OPENED, actor=person.email, at=now,
                       payload={"next": new.ref, "units": units})
    if not cases.is_terminal(s, case):
        # The earlier round ends here: its silent addressees are asked again in the new round, and in
        # this one they did not reply.
        try:
            cases.fire(s, case, person, "close", {}, now, note=Msg(N_("Next round: {ref}"), ref=new.ref))
        except cases.Refusal as r:
            raise r.err from None
    if send:
        try:
            cases.fire(s, new, person, "send", {}, now)
        except cases.Refusal as r:  # nothing is kept: the new round and its sending are one transaction
            raise r.err from None
    return new
