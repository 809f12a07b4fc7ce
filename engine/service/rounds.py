"""Consultation rounds (xin ý kiến): the summary, closing at the deadline, the follow-up round."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from agreeflow.engine.core import authority, cases
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Person
from agreeflow.engine.procedures import consultation
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, on_case, reading, reading_for
from agreeflow.engine.service.cases import show_case

LEADS = (Role.COORDINATOR, Role.ADMIN)
"""Who may close a round or send its follow-up: the coordinating office (an addressee may not)."""


def _leader(s: Session, settings: Settings, ref: str, action: str) -> tuple[Person, str]:
    person = base.writer(s, settings)
    cases.find(s, ref)
    return person, authority.require_any(person, LEADS, action, ref)


def summary(settings: Settings, ref: str) -> dict[str, Any]:
    """Who agreed, who commented what, who was deemed to agree, who has not answered (a logged read)."""
    with reading_for(settings, "consultation summary", case=ref) as s:
        return _summary(s, ref, settings.lang)


def _summary(s: Session, ref: str, lang: str) -> dict[str, Any]:
    """The round's summary, with its state in words (``state_label``)."""
    out = consultation.summary(s, ref, now(), lang)
    case = cases.find(s, ref)
    out["state_label"] = cases.definition_of(s, case.workflow, case.version).label(case.state, lang)
    return out


def close_round(settings: Settings, ref: str) -> dict[str, Any]:
    """At or after the deadline: apply what silence means to every addressee that has not answered."""
    def work(s: Session) -> list[dict[str, Any]]:
        person, role = _leader(s, settings, ref, "close-round")
        return consultation.close_round(s, ref, person, role, now())
    results = on_case(settings, ref, "close-round", work)
    with reading(settings) as s:
        answer = _summary(s, ref, settings.lang)
    return {"id": ref, "results": results, "summary": answer}


def follow_up(settings: Settings, ref: str, reply_by: str, sent_on: str | None = None,
              on_silence: str | None = None, letter_no: str | None = None, send: bool = False) -> dict[str, Any]:
    """Open the next round, addressed only to the units that did not answer (and send it with ``send``)."""
    def work(s: Session) -> str:
        person, _ = _leader(s, settings, ref, "follow-up")
        return consultation.follow_up(s, ref, person, now(), reply_by, sent_on, on_silence, letter_no, send).ref
    return show_case(settings, on_case(settings, ref, "follow-up", work), logged=False)
