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

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, definitions, directory, files, notes
from agreeflow.engine.core.definitions import Definition, TransitionDef
from agreeflow.engine.core.errors import (
    AttachmentTooLargeError,
    InputFileError,
    MissingFieldsError,
    OptionValueError,
    RoleRefusedError,
    ScopeRefusedError,
)
from agreeflow.engine.core.fields import parse_pairs
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.settings import MB, Settings
from agreeflow.engine.core.store import Case, Deadline, Event, Person
from agreeflow.engine.legaltime import deadlines, suspension
from agreeflow.engine.procedures import flags
from agreeflow.engine.service import base, words
from agreeflow.engine.service.base import now, on_case, reading, reading_for
from agreeflow.engine.service.present import recorded_text


# ------------------------------------------------------------------ opening
def open_case(settings: Settings, workflow: str, title: str, field_args: list[str] | dict[str, str],
              parent: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Open a case on the newest version of ``workflow``; returns the case view."""
    defn = definitions.get(workflow)
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args)
    if not title.strip():
        raise MissingFieldsError(trigger=Msg(N_("open a case")), missing=["--title"])
    def work(s: Session) -> dict[str, Any]:
        actor = base.writer(s, settings)
        case = cases.open_case(s, defn, title, raw, actor, now(), parent_ref=parent, note=note)
        return case_view(s, settings, case, actor)
    return base.refused(settings, f"open {workflow}", work)


# ------------------------------------------------------------------ firing
def uploaded(files: list[tuple[str, str, bytes]], limit: int) -> list[tuple[dict[str, Any], bytes]]:
    """Documents received by the web as (kind, file name, content) → (metadata, bytes), checked (exit 2):
    an empty file, or one over ``limit`` bytes (``AGREEFLOW_MAX_ATTACHMENT_MB``), the same limit as ``--attach``."""
    out = []
    for kind, name, data in files:
        clean = Path(name.replace("\\", "/")).name.strip() or "tep"
        if not data:
            raise InputFileError(path=clean, problem=Msg(N_("the file is empty")))
        _check_size(Path(clean), len(data), limit)
        out.append(({"kind": kind, "name": clean, "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}, data))
    return out


def read_attachments(paths: list[Path], limit: int) -> list[tuple[dict[str, Any], bytes]]:
    """``[KIND=]FILE`` arguments → (metadata, bytes), every file checked before any is read in full.

    Raises (exit 2, nothing read into memory, nothing stored, nothing written):
        InputFileError: a file that does not exist, is a folder, or cannot be read.
        AttachmentTooLargeError: a file over ``limit`` bytes (``AGREEFLOW_MAX_ATTACHMENT_MB``).
    """
    found: list[tuple[str, Path]] = []
    for p in paths:
        text = str(p)
        kind, _, name = text.partition("=") if "=" in text and not Path(text).exists() else ("document", "", text)
        path = Path(name)
        if path.is_dir():
            raise InputFileError(path=str(path), problem=Msg(N_("it is a folder, not a file")))
        if not path.is_file():
            raise InputFileError(path=str(path), problem=Msg(N_("file not found")))
        _check_size(path, _size(path), limit)
        found.append((kind, path))
    out = []
    for kind, path in found:
        try:
            with path.open("rb") as fh:
                data = fh.read(limit + 1)  # the file may have grown since it was measured
        except OSError as exc:
            raise InputFileError(path=str(path), problem=exc.strerror or type(exc).__name__) from None
        _check_size(path, len(data), limit)
        meta = {"kind": kind, "name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        out.append((meta, data))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise InputFileError(path=str(path), problem=exc.strerror or type(exc).__name__) from None


def _check_size(path: Path, size: int, limit: int) -> None:
    if size > limit:
        raise AttachmentTooLargeError(path=str(path), size=megabytes(size), bytes=thousands(size),
                                      limit=megabytes(limit), limit_bytes=thousands(limit))


def megabytes(n: int) -> dict[str, str]:
    """``n`` bytes as MB with one decimal, in Vietnamese (25,3 MB) and English (25.3 MB)."""
    text = f"{n / MB:.1f}".removesuffix(".0")
    return {"vi": text.replace(".", ",") + " MB", "en": text + " MB"}


def thousands(n: int) -> dict[str, str]:
    """``n`` with its thousands marked: 26.532.864 (vi), 26,532,864 (en)."""
    return {"vi": f"{n:,}".replace(",", "."), "en": f"{n:,}"}


def fire(settings: Settings, ref: str, trigger: str, field_args: list[str] | dict[str, str] | None = None,
         note: str | None = None, attach: list[Path] | None = None, expect_version: int | None = None,
         effective: str | None = None, reason: str | None = None,
         uploads: list[tuple[str, str, bytes]] | None = None, view: bool = True) -> dict[str, Any]:
    """Fire ``trigger`` on case ``ref`` as the acting person; returns the new case view.

    With ``view=False`` it returns only what a caller that reads nothing back needs — the case's
    ``id``, ``state``, ``state_label`` and ``lock_version`` after the step: the web, which redirects
    to the case page, and the command line's text output.  The case view (the next steps each
    checked against the guards and the directory, every deadline on the legal calendar) costs about
    a fifth of a fire's CPU (bench/fire_bench.py).

    ``effective`` records a step that took effect earlier than now (a paper
    reply received on 30/07 and entered on 05/08); it needs a ``reason``, may
    not be later than now nor earlier than the case's last event, and every
    event of the step is marked "ghi nhận muộn" (recorded late).
    Attachments are checked first — each exists and is within the size limit
    (``AGREEFLOW_MAX_ATTACHMENT_MB``, exit 2) before any is read — and stored
    in the content store only once the engine has accepted the step (the
    person, role, unit scope, state and guards): a refused or unknown person
    cannot fill the disk.  ``uploads`` are documents the web received, as
    (kind, file name, content), under the same limit.
    """
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args or [])
    limit = settings.max_attachment_bytes
    attached = read_attachments(list(attach or []), limit) + uploaded(list(uploads or []), limit)
    when = effective_time(effective, reason)

    def work(s: Session) -> dict[str, Any]:
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
        if not view:
            return _moved(s, settings, case)
        return case_view(s, settings, case, person)
    return on_case(settings, ref, trigger, work)


def _moved(s: Session, settings: Settings, case: Case) -> dict[str, Any]:
    """Where a step left ``case``: its reference, state (with its label in the reader's language) and
    record version — what ``fire(view=False)`` returns."""
    defn = cases.definition_of(s, case.workflow, case.version)
    return {"id": case.ref, "state": case.state, "state_label": defn.label(case.state, settings.lang),
            "lock_version": case.lock_version}


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
    def work(s: Session) -> dict[str, Any]:
        case = cases.find(s, ref, lock=True)
        person = base.writer(s, settings)
        defn = cases.definition_of(s, case.workflow, case.version)
        if not ({Role.COORDINATOR, Role.ADMIN} & set(person.roles)
                or authority.role_for(person, (Role.OFFICER,), case, defn)):
            if Role.OFFICER in (person.roles or []):
                # An officer of another unit: name the unit-scope rule, as a refused step does (issue 13 point 2).
                raise ScopeRefusedError(actor=person.email, unit=person.unit, trigger=which, case=ref,
                                        case_unit=case.unit or "",
                                        who=Msg(N_("an officer of {unit} or a coordinator"), unit=case.unit))
            raise RoleRefusedError(actor=person.email, trigger=which, case=ref,
                                   needed=[Role.COORDINATOR, Role.OFFICER], roles=person.roles)
        at = now()
        action = suspension.suspend if which == "suspend" else suspension.resume
        action(s, case, person.email, note, deadlines.calendar_for(s), at)
        cases.touch(s, case, at)
        return case_view(s, settings, case, person)
    return on_case(settings, ref, which, work)


def suspend(settings: Settings, ref: str, reason: str) -> dict[str, Any]:
    """Stop the legal clock of a case (logged with the reason; a blank reason is exit 2)."""
    if not reason.strip():
        raise OptionValueError(option="--reason", value=reason,
                               remedy=Msg(N_('Say why the legal clock stops, e.g. --reason "Hồ sơ thiếu bản dịch".')))
    return _clock_action(settings, ref, reason, "suspend")


def resume(settings: Settings, ref: str, note: str | None = None) -> dict[str, Any]:
    """Restart the legal clock; open deadlines move by the working days that elapsed."""
    return _clock_action(settings, ref, note, "resume")


# ------------------------------------------------------------------ reading
def show_case(settings: Settings, ref: str, logged: bool = True) -> dict[str, Any]:
    """Everything about one case: state, fields, what the reader may do next, deadlines.

    A read in the access log (when the database keeps one), except as the answer of a command that has
    just written the case (``logged=False``: the write is in the case's log already).
    """
    with reading_for(settings, "case show", case=ref) if logged else reading(settings) as s:
        case = cases.find(s, ref)
        return case_view(s, settings, case, base.viewer(s, settings))


# Rows, not objects: the view only reads them (after a flush, so they are what the transaction wrote).
_DEADLINES = Prepared(select(Deadline).where(col(Deadline.case_id) == sa.bindparam("case_id"))
                      .order_by(col(Deadline.id)))
_CHILDREN = Prepared(sa.select(col(Case.ref), col(Case.state), col(Case.unit))
                     .where(col(Case.parent_id) == sa.bindparam("case_id")).order_by(col(Case.id)))


def case_view(s: Session, settings: Settings, case: Case, person: Person | None) -> dict[str, Any]:
    """The view of ``case`` as ``person`` reads it, in the caller's transaction.

    A command that changed the case returns this view built in its own
    transaction, after its writes: what it shows is what it committed, with
    no second transaction to open.  :func:`show_case` and the web's case page
    (which reads more in the same transaction) call it too.
    """
    defn = cases.definition_of(s, case.workflow, case.version)
    cal = deadlines.calendar_for(s)
    at = now()
    lang = settings.lang
    s.flush()
    rows = _DEADLINES.run(s, {"case_id": case.id}).all()
    children = _CHILDREN.run(s, {"case_id": case.id}).all()
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
        "children": [{"id": r, "state": st, "unit": u, "state_label": _label_of(s, r, st, lang)}
                     for r, st, u in children],
        "available_triggers": [_action_view(o.transition, lang) | {"to_label": defn.label(o.transition.dest, lang)}
                               for o in offered if o.allowed],
        "actions": [_action_view(o.transition, lang) | {"allowed": o.allowed, "rule": o.rule,
                                                         "reason": o.reason.render(lang) if o.reason else None}
                    for o in offered],
        "deadlines": [deadlines.view(d, cal, at, lang) for d in rows],
        "unconfirmed": defn.unconfirmed(),
        "words": workflow_words(defn, lang),
        "unit_names": _unit_names(s, defn, case, lang),
    }


def _unit_names(s: Session, defn: Definition, case: Case, lang: str) -> dict[str, str]:
    """Code → name (in ``lang``) of the units the case's unit fields name, and of its own unit: what a reader
    sees in place of the codes."""
    codes = {case.unit} if case.unit else set()
    for name, fdef in defn.fields.items():
        if fdef.type in ("unit", "units"):
            value = case.fields.get(name)
            codes.update(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    return directory.unit_names(s, lang, codes) if codes else {}


def workflow_words(defn: Definition, lang: str) -> dict[str, Any]:
    """The words of a workflow a page needs: its title, states, fields and transitions, in ``lang``."""
    return {"id": defn.id, "version": defn.version, "title": defn.title.get(lang, defn.id),
            "legal_basis": list(defn.legal_basis),
            "states": {n: defn.label(n, lang) for n in defn.states},
            "terminal": [n for n, st in defn.states.items() if st.terminal],
            "triggers": {t.trigger: t.label.get(lang, t.trigger) for t in defn.transitions},
            "fields": {n: {"name": n, "label": f.label.get(lang) or f.label.get("vi") or n, "type": f.type,
                           "required": f.required, "choices": list(f.choices), "default": f.default}
                       for n, f in defn.fields.items()},
            "unit_field": defn.unit_field}


def _label_of(s: Session, ref: str, state: str, lang: str) -> str:
    case = cases.find(s, ref)
    return cases.definition_of(s, case.workflow, case.version).label(state, lang)


def _trigger_label(defn: Definition, trigger: str | None, source: str | None, lang: str) -> str | None:
    """A trigger's label: the transition from ``source`` (one trigger may have a label per source), else the
    one label all its transitions share, else the trigger itself."""
    moves = [t for t in defn.transitions if t.trigger == trigger]
    exact = [t for t in moves if source in t.sources]
    labels = {t.label.get(lang, t.trigger) for t in (exact or moves)}
    return labels.pop() if len(labels) == 1 else trigger


def label_events(s: Session, events: list[dict[str, Any]], lang: str, ref: str | None = None) -> list[dict[str, Any]]:
    """Event views with their states and trigger in words (``from_label``, ``to_label``, ``trigger_label``), and
    ``text``: what the event says (``notes.describe``), which every reader of the log shows — the CLI's history
    and audit log, the web's pages.

    Each event's case is its ``case`` key, or ``ref`` for the events of one case; its workflow version gives
    the words.
    """
    defs: dict[str, Definition | None] = {}
    # The fields and documents a step records are logged just before its move, at the same instant and with the
    # same trigger: the move's source state tells which transition's label they belong to.
    sources = {(e.get("case") or ref, e.get("trigger"), e.get("at")): e["from"] for e in events if e.get("from")}
    for e in events:
        key = e.get("case") or ref
        if key and key not in defs:
            case = cases.find(s, key)
            defs[key] = None if case.workflow == cases.SYSTEM_WORKFLOW else \
                cases.definition_of(s, case.workflow, case.version)
        defn = defs.get(key) if key else None
        if defn is None:
            continue
        e["from_label"] = defn.label(e["from"], lang) if e.get("from") in defn.states else e.get("from")
        e["to_label"] = defn.label(e["to"], lang) if e.get("to") in defn.states else e.get("to")
        e["trigger_label"] = _trigger_label(defn, e.get("trigger"),
                                            e.get("from") or sources.get((key, e.get("trigger"), e.get("at"))), lang)
        changed = (e.get("payload") or {}).get("field")
        if changed in defn.fields:
            f = defn.fields[changed]
            e["field_label"] = f.label.get(lang) or f.label.get("vi") or changed
            e["field_type"], e["field_choices"] = f.type, list(f.choices)
    for e in events:
        key = e.get("case") or ref
        defn = defs.get(key) if key else None
        e["text"] = notes.describe(e, lang, defn.field_label if defn is not None else None,
                                   lambda rung: words.rung_word(rung, lang))
    return events


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
               unit: str | None = None, logged: bool = True) -> list[dict[str, Any]]:
    """Cases (oldest first), optionally of one workflow, in one state, or concerning one unit (a logged read)."""
    with reading_for(settings, "case list", workflow=workflow, state=state, unit=unit) if logged \
            else reading(settings) as s:
        out = []
        for c in _listing(bool(workflow), bool(state)).run(s, {"workflow": workflow, "state": state}).all():
            defn = cases.definition_of(s, c.workflow, c.version)
            if unit and unit not in authority.case_units(c, defn):
                continue
            out.append({"id": c.ref, "workflow": c.workflow, "version": c.version,
                        "workflow_title": defn.title.get(settings.lang, defn.id), "state": c.state,
                        "state_label": defn.label(c.state, settings.lang), "title": c.title, "unit": c.unit,
                        "flags": list(c.fields.get("_flags", [])),
                        "updated_at": audit.fmt_at(c.updated_at)})
    return out


_LISTINGS: dict[tuple[bool, bool], Prepared] = {}


def _listing(by_workflow: bool, by_state: bool) -> Prepared:
    """The cases to list, as rows (a listing reads; no ORM object is built), filtered as asked."""
    key = (by_workflow, by_state)
    if key not in _LISTINGS:
        stmt = select(Case).where(col(Case.workflow) != cases.SYSTEM_WORKFLOW)
        if by_workflow:
            stmt = stmt.where(col(Case.workflow) == sa.bindparam("workflow"))
        if by_state:
            stmt = stmt.where(col(Case.state) == sa.bindparam("state"))
        _LISTINGS[key] = Prepared(stmt.order_by(col(Case.id)))
    return _LISTINGS[key]


def history(settings: Settings, ref: str) -> list[dict[str, Any]]:
    """The case's events in order (a logged read), each with ``text``: what it says, in the reader's language."""
    with reading_for(settings, "case history", case=ref) as s:
        case = cases.find(s, ref)
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.seq))).all()
        views = label_events(s, [audit.event_view(e) for e in events], settings.lang, ref=case.ref)
    return [v | {"recorded": recorded_text(v, settings.lang)} for v in views]


# ------------------------------------------------------------------ engine checks
def check_flags(settings: Settings) -> dict[str, Any]:
    """``agreeflow case flags``: run the check (one transaction), then list every flagged case."""
    def work(s: Session) -> list[str]:
        base.writer(s, settings, action="case flags")
        return flags.flag_unapproved_delegations(s, now())
    new = base.refused(settings, "case flags", work)
    return {"newly_flagged": new, "flagged": [c for c in list_cases(settings, logged=False) if c["flags"]]}
