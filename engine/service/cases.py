"""Cases as the command line and the web use them: open, fire, show, list, history, suspend, resume, flags.

Each function is one command in one transaction (engine.service.base).  A
refusal on an existing case is rolled back, logged on the case as
``refused`` in a transaction of its own, and raised (exit 3).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, definitions, files, notes
from agreeflow.engine.core.definitions import TransitionDef
from agreeflow.engine.core.errors import InputFileError, MissingFieldsError, OptionValueError, RoleRefusedError
from agreeflow.engine.core.fields import parse_pairs
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Deadline, Event, Person
from agreeflow.engine.legaltime import deadlines, suspension
from agreeflow.engine.procedures import flags
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, on_case, reading, writing


# ------------------------------------------------------------------ opening
def open_case(settings: Settings, workflow: str, title: str, field_args: list[str] | dict[str, str],
              parent: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Open a case on the newest version of ``workflow``; returns the case view."""
    defn = definitions.get(workflow)
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args)
    if not title.strip():
        raise MissingFieldsError(trigger="open", missing=["--title"])
    def work(s: Session) -> str:
        actor = base.writer(s, settings)
        return cases.open_case(s, defn, title, raw, actor, now(), parent_ref=parent, note=note).ref
    return show_case(settings, base.refused(settings, f"open {workflow}", work))


# ------------------------------------------------------------------ firing
MAX_UPLOAD = 50 * 2**20
"""Largest document accepted from the web (bytes)."""


def uploaded(files: list[tuple[str, str, bytes]]) -> list[tuple[dict[str, Any], bytes]]:
    """Documents received by the web as (kind, file name, content) → (metadata, bytes), checked (exit 2)."""
    out = []
    for kind, name, data in files:
        clean = Path(name.replace("\\", "/")).name.strip() or "tep"
        if not data:
            raise InputFileError(path=clean, problem=Msg(N_("the file is empty")))
        if len(data) > MAX_UPLOAD:
            raise InputFileError(path=clean, problem=Msg(N_("larger than {size} MiB"), size=MAX_UPLOAD // 2**20))
        out.append(({"kind": kind, "name": clean, "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}, data))
    return out


def read_attachments(paths: list[Path]) -> list[tuple[dict[str, Any], bytes]]:
    """``[KIND=]FILE`` arguments → (metadata, bytes); a missing file is exit 2 before anything is written."""
    out = []
    for p in paths:
        text = str(p)
        kind, _, name = text.partition("=") if "=" in text and not Path(text).exists() else ("document", "", text)
        path = Path(name)
        if not path.is_file():
            raise InputFileError(path=str(path), problem=Msg(N_("file not found")))
        data = path.read_bytes()
        meta = {"kind": kind, "name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        out.append((meta, data))
    return out


def fire(settings: Settings, ref: str, trigger: str, field_args: list[str] | dict[str, str] | None = None,
         note: str | None = None, attach: list[Path] | None = None, expect_version: int | None = None,
         effective: str | None = None, reason: str | None = None,
         uploads: list[tuple[str, str, bytes]] | None = None) -> dict[str, Any]:
    """Fire ``trigger`` on case ``ref`` as the acting person; returns the new case view.

    ``effective`` records a step that took effect earlier than now (a paper
    reply received on 30/07 and entered on 05/08); it needs a ``reason``, may
    not be later than now nor earlier than the case's last event, and every
    event of the step is marked "ghi nhận muộn" (recorded late).
    Attachments are read and checked first, and stored in the content store
    only once the engine has accepted the step: a refused or unknown person
    cannot fill the disk.  ``uploads`` are documents the web received, as (kind, file name, content).
    """
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args or [])
    attached = read_attachments(list(attach or [])) + uploaded(list(uploads or []))
    when = effective_time(effective, reason)

    def work(s: Session) -> None:
        case = cases.find(s, ref, lock=True)
        person = base.actor(s, settings)
        at = now()
        if when is not None:
            at = base.late_entry(s, case, when, reason or "", at, person.email)
        if when is not None or clock.is_simulated():
            cases.check_time_order(s, case, at, person.email)
        cases.fire(s, case, person, trigger, raw, at, note=note, files=[m for m, _ in attached],
                   expect_version=expect_version)
        for _, data in attached:
            files.put_blob(settings.files_dir, data)
    on_case(settings, ref, trigger, work)
    return show_case(settings, ref)


def effective_time(text: str | None, reason: str | None) -> datetime | None:
    """``--effective`` as an instant (a bare date: the end of that day), checked with its reason (exit 2)."""
    if text is None:
        if reason:
            raise MissingFieldsError(trigger="--reason", missing=["--effective"])
        return None
    if not (reason or "").strip():
        raise MissingFieldsError(trigger="--effective", missing=["--reason"])
    try:
        when = clock.parse_instant(text)
    except ValueError:
        raise OptionValueError(option="--effective", value=text,
                               remedy=Msg(N_("Give a date YYYY-MM-DD or an ISO-8601 time, e.g. 2024-07-30."))
                               ) from None
    if len(text.strip()) <= 10:  # a day alone: the step took effect during that day — its end
        when = clock.end_of_local_day(clock.to_local(when).date()) - timedelta(microseconds=1)
    return when


# ------------------------------------------------------------------ the legal clock
def _clock_action(settings: Settings, ref: str, note: str | None, which: str) -> dict[str, Any]:
    def work(s: Session) -> None:
        case = cases.find(s, ref, lock=True)
        person = base.writer(s, settings)
        defn = cases.definition_of(s, case.workflow, case.version)
        if not ({Role.COORDINATOR, Role.ADMIN} & set(person.roles)
                or authority.role_for(person, (Role.OFFICER,), case, defn)):
            raise RoleRefusedError(actor=person.email, trigger=which, case=ref,
                                   needed=[Role.COORDINATOR, Role.OFFICER], roles=person.roles)
        at = now()
        action = suspension.suspend if which == "suspend" else suspension.resume
        action(s, case, person.email, note, deadlines.calendar_for(s), at)
        cases.touch(s, case, at)
    on_case(settings, ref, which, work)
    return show_case(settings, ref)


def suspend(settings: Settings, ref: str, reason: str) -> dict[str, Any]:
    """Stop the legal clock of a case (logged with the reason)."""
    return _clock_action(settings, ref, reason, "suspend")


def resume(settings: Settings, ref: str, note: str | None = None) -> dict[str, Any]:
    """Restart the legal clock; open deadlines move by the working days that elapsed."""
    return _clock_action(settings, ref, note, "resume")


# ------------------------------------------------------------------ reading
def show_case(settings: Settings, ref: str) -> dict[str, Any]:
    """Everything about one case: state, fields, what the reader may do next, deadlines."""
    with reading(settings) as s:
        case = cases.find(s, ref)
        return case_view(s, settings, case, base.viewer(s, settings))


def case_view(s: Session, settings: Settings, case: Case, person: Person | None) -> dict[str, Any]:
    """:func:`show_case` inside the caller's transaction (the web's case page reads more in the same one)."""
    defn = cases.definition_of(s, case.workflow, case.version)
    cal = deadlines.calendar_for(s)
    at = now()
    lang = settings.lang
    rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id))).all()
    children = s.exec(select(Case.ref, Case.state, Case.unit).where(Case.parent_id == case.id)
                      .order_by(col(Case.id))).all()
    parent = s.get(Case, case.parent_id) if case.parent_id else None
    offered = cases.options(s, defn, case, person, at)
    return {
        "id": case.ref, "workflow": case.workflow, "version": case.version, "title": case.title,
        "workflow_title": defn.title.get(lang, defn.id),
        "state": case.state, "state_label": defn.label(case.state, lang),
        "terminal": defn.states[case.state].terminal, "unit": case.unit,
        "lock_version": case.lock_version,
        "fields": {k: v for k, v in case.fields.items() if k != cases.DOCUMENTS},
        "documents": case.fields.get(cases.DOCUMENTS, {}),
        "opened_at": audit.fmt_at(case.opened_at), "updated_at": audit.fmt_at(case.updated_at),
        "suspended_since": audit.fmt_at(case.suspended_at) if case.suspended_at else None,
        "suspension": _suspension_view(s, case, cal, at),
        "parent": parent.ref if parent else None,
        "children": [{"id": r, "state": st, "unit": u} for r, st, u in children],
        "available_triggers": [_action_view(o.transition, lang) for o in offered if o.allowed],
        "actions": [_action_view(o.transition, lang) | {"allowed": o.allowed, "rule": o.rule,
                                                         "reason": o.reason.render(lang) if o.reason else None}
                    for o in offered],
        "deadlines": [deadlines.view(d, cal, at, lang) for d in rows],
        "unconfirmed": defn.unconfirmed(),
    }


def _action_view(t: TransitionDef, lang: str) -> dict[str, Any]:
    return {"trigger": t.trigger, "label": t.label.get(lang, t.trigger), "to": t.dest, "citation": t.citation,
            "confirmed": t.confirmed, "requires": list(t.requires), "documents": list(t.documents)}


def _suspension_view(s: Session, case: Case, cal: Any, at: datetime) -> dict[str, Any] | None:
    """Since when, why, and for how many working days so far the case's legal clock is stopped."""
    if case.suspended_at is None:
        return None
    since = clock.to_local(case.suspended_at).date()
    return {"since": since.isoformat(), "since_at": audit.fmt_at(case.suspended_at),
            "reason": suspension.suspension_reason(s, case),
            "working_days_so_far": max(cal.working_days_between(since, clock.to_local(at).date()), 0)}


def list_cases(settings: Settings, workflow: str | None = None, state: str | None = None,
               unit: str | None = None) -> list[dict[str, Any]]:
    """Cases (oldest first), optionally of one workflow, in one state, or concerning one unit."""
    with reading(settings) as s:
        stmt = select(Case).where(Case.workflow != cases.SYSTEM_WORKFLOW)
        if workflow:
            stmt = stmt.where(Case.workflow == workflow)
        if state:
            stmt = stmt.where(Case.state == state)
        out = []
        for c in s.exec(stmt.order_by(col(Case.id))).all():
            defn = cases.definition_of(s, c.workflow, c.version)
            if unit and unit not in authority.case_units(c, defn):
                continue
            out.append({"id": c.ref, "workflow": c.workflow, "version": c.version, "state": c.state,
                        "state_label": defn.label(c.state, settings.lang), "title": c.title, "unit": c.unit,
                        "flags": list(c.fields.get("_flags", [])),
                        "updated_at": audit.fmt_at(c.updated_at)})
    return out


def history(settings: Settings, ref: str) -> list[dict[str, Any]]:
    """The case's events in order, each with ``text``: what it says, in the reader's language."""
    with reading(settings) as s:
        case = cases.find(s, ref)
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.seq))).all()
        fields = {} if case.workflow == cases.SYSTEM_WORKFLOW else cases.definition_of(s, case.workflow,
                                                                                       case.version).fields
        out = []
        for e in events:
            view = audit.event_view(e)
            view["text"] = notes.describe(view, settings.lang, lambda name: fields[name].label if name in fields
                                          else None)
            out.append(view)
        return out


# ------------------------------------------------------------------ engine checks
def check_flags(settings: Settings) -> dict[str, Any]:
    """``agreeflow case flags``: run the check (one transaction), then list every flagged case."""
    with writing(settings) as s:
        base.writer(s, settings)
        new = flags.flag_unapproved_delegations(s, now())
    return {"newly_flagged": new, "flagged": [c for c in list_cases(settings) if c["flags"]]}
