"""Reply links: a consulted body answers its own consultation-reply case without an account.

A reply link (engine.core.tokens.reply_token) names one child case and its
addressee unit, signed with the secret of the data folder.  It opens that
case's page and nothing else: the token is the only key, the page takes no
case reference from anywhere.  It is valid while the case waits for the
unit's answer (``authority.may_reply``); afterwards the same link shows the
reply that was recorded.  The reply is fired in the name of the unit
(``authority.unit_person``, role ``reply-link``): the event's actor is
``unit:<code>``, its origin names the token by its id (never the token), and
the security log records that the token was used.  Checks, guards, required
fields and documents are the engine's, as for anyone else.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, files, seclog, tokens
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.errors import FieldValueError, StateRefusedError, UnknownCaseError
from agreeflow.engine.core.i18n import N_, Msg, localized, pair
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Deadline, Event, Unit
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.service.base import now, on_case, reading
from agreeflow.engine.service.cases import uploaded

NOT_A_LINK = "—"
"""What an unknown or forged link is called in the error (never the token itself)."""


def secret(settings: Settings) -> bytes:
    """The signing secret of this data folder (made, mode 0600, on first use)."""
    return tokens.load_secret(settings.secret_file)


def _claim(settings: Settings, token: str) -> tuple[str, str]:
    claim = tokens.read_reply_token(secret(settings), token)
    if claim is None:
        raise UnknownCaseError(NOT_A_LINK)
    return claim


def _bound(s: Session, ref: str, unit: str) -> tuple[Case, Definition, Unit]:
    """The case the token names, if it is still addressed to the token's unit."""
    try:
        case = cases.find(s, ref)
    except UnknownCaseError:
        raise UnknownCaseError(NOT_A_LINK) from None
    row = s.get(Unit, unit)
    if case.unit != unit or row is None or case.parent_id is None:
        raise UnknownCaseError(NOT_A_LINK)
    return case, cases.definition_of(s, case.workflow, case.version), row


def reply_page(settings: Settings, token: str) -> dict[str, Any]:
    """What the consulted body reads: the request, its deadline and legal basis, the answers it may give
    (with the fields and documents each needs) — or, once answered, the reply that was recorded.

    Raises:
        UnknownCaseError (exit 2): the token is not one of ours, or its case is gone or re-addressed.
    """
    ref, unit = _claim(settings, token)
    lang = settings.lang
    with reading(settings) as s:
        case, defn, unit_row = _bound(s, ref, unit)
        parent = s.get(Case, case.parent_id)
        assert parent is not None
        pdefn = cases.definition_of(s, parent.workflow, parent.version)
        cal, at = deadlines.calendar_for(s), now()
        rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id))).all()
        answered = s.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.TRANSITION)
                          .order_by(col(Event.seq).desc())).first()
        open_now = authority.may_reply(case, defn, unit)
        answers = [{"trigger": t.trigger, "label": t.label.get(lang, t.trigger), "requires": list(t.requires),
                    "documents": list(t.documents), "citation": t.citation}
                   for t in defn.from_state(case.state) if t.trigger in authority.REPLY_TRIGGERS] if open_now else []
        docs = [{"kind": k, **d} for k, ds in (case.fields.get(cases.DOCUMENTS) or {}).items() for d in ds]
        return {
            "id": case.ref, "title": case.title, "unit": unit,
            "unit_name": localized(pair(unit_row.name_vi, unit_row.name_en), lang),
            "request": {"parent": parent.ref, "parent_title": parent.title,
                        "procedure": pdefn.title.get(lang, pdefn.id), "legal_basis": list(pdefn.legal_basis),
                        "document": case.fields.get("document"), "letter_no": case.fields.get("letter_no"),
                        "sent_on": case.fields.get("sent_on"), "reply_by": case.fields.get("reply_by"),
                        "on_silence": case.fields.get("on_silence")},
            "deadlines": [deadlines.view(d, cal, at, lang) for d in rows],
            "open": open_now, "answers": answers,
            "state": case.state, "state_label": defn.label(case.state, lang),
            "reply": None if open_now else {
                "state_label": defn.label(case.state, lang), "comment": case.fields.get("comment"),
                "reply_no": case.fields.get("reply_no"), "documents": docs,
                "at": audit.fmt_at(answered.at) if answered is not None else None,
                "by_link": bool(answered is not None and answered.role == authority.REPLY_LINK)},
            "comment_field": defn.fields["comment"].label.get(lang, "comment") if "comment" in defn.fields else None,
            "token_id": tokens.token_id(token),
        }


def reply(settings: Settings, token: str, answer: str, comment: str = "", reply_no: str = "",
          upload: tuple[str, bytes] | None = None) -> dict[str, Any]:
    """Record the body's answer (``agree``, ``comment`` or ``disagree``) with an optional note, letter
    number and document; returns the reply page as it now reads.

    Raises:
        UnknownCaseError (exit 2): not a genuine link (nothing written, nothing logged on any case).
        FieldValueError, MissingFieldsError (exit 2): an answer we do not know, or what the answer needs
            is missing (nothing written).
        StateRefusedError (exit 3): the case no longer waits for this unit's answer; logged on the case.
    """
    if answer not in authority.REPLY_TRIGGERS:
        raise FieldValueError(field="answer", problem=Msg(N_("'{answer}' is not an answer"), answer=answer),
                              remedy=Msg(N_("Choose agree, comment or disagree.")))
    ref, unit = _claim(settings, token)
    tid = tokens.token_id(token)
    attached = uploaded([("reply", upload[0], upload[1])], settings.max_attachment_bytes) if upload else []
    raw = {k: v.strip() for k, v in (("comment", comment), ("reply_no", reply_no)) if v.strip()}
    acting = replace(settings, origin=f"{settings.origin} {authority.REPLY_LINK}:{tid}")

    def work(s: Session) -> None:
        case, defn, unit_row = _bound(s, ref, unit)
        case = cases.lock(s, case.id)
        person = authority.unit_person(unit_row)
        if not authority.may_reply(case, defn, unit):
            state = dict(defn.states[case.state].label) or case.state
            raise cases.Refusal(StateRefusedError(case=case.ref, state=state, trigger=answer, allowed=[]),
                                person.email, authority.REPLY_LINK)
        at = now()
        if clock.is_simulated():
            cases.check_time_order(s, case, at, person.email)
        cases.fire(s, case, person, answer, raw, at, note=Msg(N_("through the reply link {id}"), id=tid),
                   files=[m for m, _ in attached], role_override=authority.REPLY_LINK)
        for _, data in attached:
            files.put_blob(settings.files_dir, data)
        seclog.append(s, seclog.SecurityKind.TOKEN_USED, actor=person.email, origin=acting.origin,
                      at=clock.real_now(), detail={"token": tid, "case": case.ref, "unit": unit, "answer": answer})
    on_case(acting, ref, answer, work)
    return reply_page(settings, token)


def token_of(settings: Settings, ref: str, unit: str) -> str:
    """The reply link token of ``ref`` for ``unit`` (what the reminder mail carries)."""
    return tokens.reply_token(secret(settings), ref, unit)
