"""The service API the CLI calls: each function is one command in one transaction.

Order inside a write: parse and check input (UserInputError → nothing
written) → load and lock the case → check the actor's role, the trigger from
the current state, the guards (RefusedError → the refusal is logged in its
own transaction, nothing else is written) → write state, fields, events and
deadlines → commit.  Errors are ``engine.errors`` types; results are plain
dicts ready for ``--json``.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from agreeflow.engine.core import audit, clock, db, definitions

from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.definitions import Definition, TransitionDef
from agreeflow.engine.core.errors import (
    AgreeflowError, InputFileError, MissingFieldsError, ReadOnlyError, RefusedError, RoleRefusedError,
    StaleCaseError, StateRefusedError, TamperingError, UnknownCaseError, UnknownPersonError,
    UnknownTriggerError, GuardRefusedError,
)
from agreeflow.engine.core.fields import coerce, parse_pairs
from agreeflow.engine.core.guards import GuardContext
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Event, Meta, Person, Unit, WorkflowVersion

SYSTEM_REF = "HE-THONG"
SYSTEM_WORKFLOW = "_system"


# ------------------------------------------------------------------ setup
def init(settings: Settings, directory_file: Path | None = None) -> dict[str, Any]:
    """Create or upgrade the schema, create the system chain, load the directory if empty."""
    rev = db.upgrade(settings)
    with db.write(settings) as s:
        system_case(s)
        empty = s.exec(select(Unit.code)).first() is None
    loaded = None
    if directory_file is not None or empty:
        loaded = load_directory(settings, directory_file or directory_mod.SAMPLE, actor="agreeflow init")
    return {"database": settings.url, "revision": rev, "directory": loaded,
            "data_dir": str(settings.data_dir)}


def system_case(s: Session) -> Case:
    """The chain that records administrative events (directory, calendar)."""
    case = s.exec(select(Case).where(Case.ref == SYSTEM_REF)).first()
    if case is None:
        now = clock.now()
        case = Case(ref=SYSTEM_REF, workflow=SYSTEM_WORKFLOW, version=1, state="active",
                    title="Nhật ký hệ thống / System log", opened_at=now, updated_at=now)
        s.add(case)
        s.flush()
    return case


def load_directory(settings: Settings, path: Path, actor: str | None = None) -> dict[str, Any]:
    """Load a directory file (idempotent); every problem in the file is reported at once."""
    units, people = directory_mod.read_file(path)
    with db.write(settings) as s:
        who = actor or _write_actor(s, settings, admin=True).email
        counts = directory_mod.apply(s, units, people)
        s.merge(Meta(key="province", value=directory_mod.province_of(path)))  # reports print it
        syscase = _lock(s, system_case(s).id)
        audit.append_event(s, syscase, "directory_loaded", actor=who, note=str(path),
                           payload=counts | {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return counts


def directory_show(settings: Settings) -> dict[str, Any]:
    with db.read(settings) as s:
        today = clock.local_today()
        units = [{"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "email": u.email,
                  "parent": u.parent, "kind": u.kind, "active": directory_mod.is_active(u, today),
                  "active_from": _iso(u.active_from), "active_to": _iso(u.active_to)}
                 for u in s.exec(select(Unit).order_by(Unit.code)).all()]
        people = [{"email": p.email, "name": p.name, "unit": p.unit, "roles": p.roles, "active": p.active}
                  for p in s.exec(select(Person).order_by(Person.unit, Person.email)).all()]
    return {"units": units, "people": people}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# ------------------------------------------------------------------ people and roles
def _person(s: Session, settings: Settings) -> Person:
    email = settings.user
    person = s.get(Person, email) if email else None
    if person is None or not person.active:
        raise UnknownPersonError(email=email or "(chưa đặt / not set)")
    return person


def _write_actor(s: Session, settings: Settings, admin: bool = False, trigger: str = "admin") -> Person:
    person = _person(s, settings)
    if "auditor" in person.roles and len(person.roles) == 1:
        raise ReadOnlyError(actor=person.email)
    if admin and "admin" not in person.roles:
        raise RoleRefusedError(actor=person.email, trigger=trigger, case=SYSTEM_REF, needed=["admin"],
                               roles=person.roles)
    return person


def _case_units(case: Case, defn: Definition) -> set[str]:
    units = {case.unit} if case.unit else set()
    for name, f in defn.fields.items():
        value = case.fields.get(name)
        if f.type == "unit" and value:
            units.add(value)
        elif f.type == "units" and value:
            units.update(value)
    return units


def _role_for(person: Person, roles: tuple[str, ...], case: Case, defn: Definition) -> str | None:
    """The role under which ``person`` may act, or None."""
    for role in roles:
        if role not in person.roles:
            continue
        if role == "officer" and person.unit not in _case_units(case, defn):
            continue
        return role
    return None


# ------------------------------------------------------------------ definitions of cases
def definition_of(s: Session, workflow: str, version: int) -> Definition:
    """The definition a case runs on: from the files, else from the stored snapshot."""
    reg = definitions.registry()
    if (workflow, version) in reg:
        return reg[(workflow, version)]
    snap = s.get(WorkflowVersion, (workflow, version))
    if snap is None:
        return definitions.get(workflow, version)  # raises UnknownWorkflowError
    return _snapshot_cache(snap.sha256, snap.source, snap.path)


_SNAPSHOTS: dict[str, Definition] = {}


def _snapshot_cache(sha: str, source: str, path: str) -> Definition:
    if sha not in _SNAPSHOTS:
        _SNAPSHOTS[sha] = definitions.from_source(source, f"{path} (stored copy)")
    return _SNAPSHOTS[sha]


def _keep_snapshot(s: Session, defn: Definition) -> None:
    if s.get(WorkflowVersion, (defn.id, defn.version)) is None:
        text = Path(defn.path).read_text(encoding="utf-8")
        s.add(WorkflowVersion(workflow=defn.id, version=defn.version, source=text, path=defn.path,
                              sha256=hashlib.sha256(text.encode()).hexdigest(), stored_at=clock.now()))


# ------------------------------------------------------------------ cases
def _find(s: Session, ref: str, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.ref == ref)
    if lock:
        stmt = stmt.with_for_update()
    case = s.exec(stmt).first()
    if case is None or case.workflow == SYSTEM_WORKFLOW and ref != SYSTEM_REF:
        raise UnknownCaseError(ref, s.exec(select(Case.ref).where(Case.workflow != SYSTEM_WORKFLOW)).all())
    return case


def _lock(s: Session, case_id: int | None) -> Case:
    case = s.exec(select(Case).where(Case.id == case_id).with_for_update()).one()
    return case


def _next_ref(s: Session, prefix: str) -> str:
    year = clock.local_today().year
    like = f"{prefix}-{year}-%"
    refs = s.exec(select(Case.ref).where(Case.ref.like(like))).all()  # type: ignore[attr-defined]
    n = max((int(r.rsplit("-", 1)[1]) for r in refs if r.rsplit("-", 1)[1].isdigit()), default=0)
    return f"{prefix}-{year}-{n + 1:04d}"


def open_case(settings: Settings, workflow: str, title: str, field_args: list[str] | dict[str, str],
              parent: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Open a case on the newest version of ``workflow``; returns the case view."""
    defn = definitions.get(workflow)
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args)
    if not title.strip():
        raise MissingFieldsError(trigger="open", missing=["--title"])
    with db.write(settings) as s:
        actor = _write_actor(s, settings)
        case = _open_in(s, defn, title, raw, actor, parent_ref=parent, note=note)
        ref = case.ref
    return show_case(settings, ref)


def _open_in(s: Session, defn: Definition, title: str, raw: dict[str, str], actor: Person,
             parent_ref: str | None = None, note: str | None = None, role: str | None = None) -> Case:
    values = coerce(s, defn, raw)
    for name, f in defn.fields.items():
        if name not in values and f.default is not None:
            values[name] = f.default
    missing = [n for n, f in defn.fields.items() if f.required and values.get(n) in (None, "", [])]
    if missing:
        raise MissingFieldsError(trigger="open", missing=missing)
    if role is None:
        role = next((r for r in ("coordinator", "officer", "admin") if r in actor.roles), None)
        if role is None:
            raise RoleRefusedError(actor=actor.email, trigger="open", case=defn.id,
                                   needed=["coordinator", "officer"], roles=actor.roles)
    parent_case = _find(s, parent_ref) if parent_ref else None
    now = clock.now()
    unit = values.get(defn.unit_field) if defn.unit_field else actor.unit
    _keep_snapshot(s, defn)
    for attempt in range(5):
        case = Case(ref=_next_ref(s, defn.ref_prefix), workflow=defn.id, version=defn.version,
                    state=defn.initial, title=title.strip(), unit=unit, fields=values,
                    parent_id=parent_case.id if parent_case else None, opened_at=now, updated_at=now,
                    created_by=actor.email)
        try:
            with s.begin_nested():
                s.add(case)
                s.flush()
            break
        except sa.exc.IntegrityError:
            if attempt == 4:
                raise
    audit.append_event(s, case, "opened", actor=actor.email, role=role, to_state=defn.initial, note=note,
                       payload={"workflow": defn.id, "version": defn.version, "title": case.title,
                                "fields": values, "parent": parent_ref}, at=now)
    cal = deadlines.calendar_for(s)
    deadlines.open_timers(s, case, defn, defn.initial, cal, actor.email, now)
    from agreeflow.engine.procedures import pending
    pending.on_case_opened(s, case, cal, actor.email, now)  # a task whose agreement is already signed
    return case


def _refuse(settings: Settings, case_ref: str, err: RefusedError, actor: str, role: str,
            trigger: str | None) -> None:
    """Log a refusal on the case in its own transaction, then let the error go on."""
    with db.write(settings) as s:
        case = _find(s, case_ref, lock=True)
        audit.append_event(s, case, "refused", actor=actor, role=role, trigger=trigger, from_state=case.state,
                           payload={"error": type(err).__name__, "message": err.render("en")})


def _store_attachments(settings: Settings, paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        kind, _, file = str(p).partition("=") if "=" in str(p) and not Path(str(p)).exists() else ("document", "", str(p))
        path = Path(file)
        if not path.is_file():
            raise InputFileError(path=str(path), problem="không tìm thấy tệp / file not found")
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        target = settings.files_dir / sha[:2] / sha
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        out.append({"kind": kind, "name": path.name, "size": len(data), "sha256": sha})
    return out


def fire(settings: Settings, ref: str, trigger: str, field_args: list[str] | dict[str, str] = (),
         note: str | None = None, attach: list[Path] = (), expect_version: int | None = None) -> dict[str, Any]:
    """Fire ``trigger`` on case ``ref`` as the acting person; returns the new case view."""
    raw = field_args if isinstance(field_args, dict) else parse_pairs(field_args)
    files = _store_attachments(settings, list(attach))
    refusal: tuple[RefusedError, str, str] | None = None
    try:
        with db.write(settings) as s:
            case = _find(s, ref, lock=True)
            person = _person(s, settings)
            _fire_in(s, case, person, trigger, raw, note, files, expect_version)
    except _Refusal as r:
        refusal = (r.err, r.actor, r.role)
    if refusal:
        err, who, role = refusal
        _refuse(settings, ref, err, who, role, trigger)
        raise err
    return show_case(settings, ref)


class _Refusal(Exception):
    def __init__(self, err: RefusedError, actor: str, role: str) -> None:
        super().__init__(err.render("en"))
        self.err, self.actor, self.role = err, actor, role


def _fire_in(s: Session, case: Case, person: Person, trigger: str, raw: dict[str, str], note: str | None,
             files: list[dict[str, Any]], expect_version: int | None, role_override: str | None = None) -> str:
    defn = definition_of(s, case.workflow, case.version)
    if trigger not in defn.triggers:
        raise UnknownTriggerError(trigger, defn.triggers, case=case.ref)
    values = coerce(s, defn, raw)
    if expect_version is not None and expect_version != case.lock_version:
        raise _Refusal(StaleCaseError(case=case.ref, expected=expect_version, actual=case.lock_version),
                       person.email, "")
    if person.roles == ["auditor"]:
        raise _Refusal(ReadOnlyError(actor=person.email), person.email, "auditor")
    candidates = [t for t in defn.transitions if t.trigger == trigger and case.state in t.sources]
    if not candidates:
        allowed = [t.trigger for t in available(defn, case, person)]
        raise _Refusal(StateRefusedError(case=case.ref, state=defn.label(case.state, "vi"), trigger=trigger,
                                         allowed=allowed), person.email, "")
    role = role_override or next((r for t in candidates if (r := _role_for(person, t.roles, case, defn))), None)
    if role is None:
        needed = sorted({r for t in candidates for r in t.roles})
        raise _Refusal(RoleRefusedError(actor=person.email, trigger=trigger, case=case.ref, needed=needed,
                                        roles=person.roles), person.email, "")
    merged = {**case.fields, **values}
    docs = dict(merged.get("_documents") or {})
    for f in files:
        docs.setdefault(f["kind"], []).append({k: f[k] for k in ("name", "size", "sha256")})
    if docs:
        merged["_documents"] = docs
    tdef = candidates[0]
    missing = [f for f in tdef.requires if merged.get(f) in (None, "", [])]
    missing += [f"--attach {d}=TỆP" for d in tdef.documents if d not in docs]
    if missing:
        raise MissingFieldsError(trigger=trigger, missing=missing)
    now = clock.now()
    ctx = GuardContext(case=case, definition=defn, trigger=trigger, fields=merged, actor=person, now=now, session=s)
    from agreeflow.engine.core import machine
    new_state = machine.advance(defn, case.state, trigger, ctx)
    if new_state is None:
        reasons = ctx.refusals
        raise _Refusal(GuardRefusedError(case=case.ref, trigger=trigger,
                                         reason_vi="; ".join(r.vi for r in reasons),
                                         reason_en="; ".join(r.en for r in reasons)), person.email, role)
    tdef = next((t for t in candidates if t.dest == new_state), tdef)
    _apply(s, case, defn, tdef, person.email, role, values, merged, files, note, now)
    return new_state


def _apply(s: Session, case: Case, defn: Definition, tdef: TransitionDef, actor: str, role: str,
           values: dict[str, Any], merged: dict[str, Any], files: list[dict[str, Any]], note: str | None,
           now: datetime) -> None:
    """Write one accepted transition: events, fields, state, deadlines (caller's transaction)."""
    old_state, new_state = case.state, tdef.dest
    for name, value in values.items():
        if case.fields.get(name) != value:
            audit.append_event(s, case, "field_changed", actor=actor, role=role, trigger=tdef.trigger,
                               payload={"field": name, "before": case.fields.get(name), "after": value}, at=now)
    for f in files:
        audit.append_event(s, case, "attached", actor=actor, role=role, trigger=tdef.trigger, payload=f, at=now)
    audit.append_event(s, case, "transition", actor=actor, role=role, from_state=old_state, to_state=new_state,
                       trigger=tdef.trigger, note=note,
                       payload={"citation": tdef.citation, "confirmed": tdef.confirmed}, at=now)
    expected = case.lock_version
    result = s.execute(sa.update(Case).where(Case.id == case.id, Case.lock_version == expected)
                       .values(state=new_state, fields=merged, lock_version=expected + 1, updated_at=now,
                               closed_at=now if defn.states[new_state].terminal else None)
                       .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _Refusal(StaleCaseError(case=case.ref, expected=expected, actual="?"), actor, role)
    s.refresh(case)
    cal = deadlines.calendar_for(s)
    deadlines.on_transition(s, case, defn, old_state, new_state, cal, actor, now)
    from agreeflow.engine.procedures import actions
    for action in tdef.actions:
        actions.run(action, s, case, defn, actor, note, cal, now)
    if defn.states[new_state].terminal:
        deadlines.cancel_all(s, case, cal, actor, now)
    elif new_state != old_state:
        deadlines.open_timers(s, case, defn, new_state, cal, actor, now)
    from agreeflow.engine.procedures import fanout, pending
    fanout.after_transition(s, case, defn, tdef, actor, role, now)  # spawn children; fan in to the parent
    if new_state != old_state:
        pending.on_state_entered(s, case, new_state, cal, actor, now)  # deadlines waiting for this event


def available(defn: Definition, case: Case, person: Person | None) -> list[TransitionDef]:
    """Transitions the person may fire from the case's state (all of them when no person)."""
    out, seen = [], set()
    for t in defn.from_state(case.state):
        if t.trigger in seen:
            continue
        if person is None or _role_for(person, t.roles, case, defn):
            out.append(t)
            seen.add(t.trigger)
    return out


def show_case(settings: Settings, ref: str) -> dict[str, Any]:
    """Everything about one case: state, fields, what the reader may do next, deadlines."""
    with db.read(settings) as s:
        case = _find(s, ref)
        defn = definition_of(s, case.workflow, case.version)
        person = s.get(Person, settings.user) if settings.user else None
        cal = deadlines.calendar_for(s)
        now = clock.now()
        lang = settings.lang
        rows = s.exec(select(deadlines.Deadline).where(deadlines.Deadline.case_id == case.id)
                      .order_by(deadlines.Deadline.id)).all()
        children = s.exec(select(Case.ref, Case.state, Case.unit).where(Case.parent_id == case.id)
                          .order_by(Case.id)).all()
        parent = s.get(Case, case.parent_id).ref if case.parent_id else None  # type: ignore[union-attr]
        return {
            "id": case.ref, "workflow": case.workflow, "version": case.version, "title": case.title,
            "workflow_title": defn.title.get(lang, defn.id),
            "state": case.state, "state_label": defn.label(case.state, lang),
            "terminal": defn.states[case.state].terminal, "unit": case.unit,
            "lock_version": case.lock_version, "fields": {k: v for k, v in case.fields.items() if k != "_documents"},
            "documents": case.fields.get("_documents", {}),
            "opened_at": audit.fmt_at(case.opened_at), "updated_at": audit.fmt_at(case.updated_at),
            "suspended_since": audit.fmt_at(case.suspended_at) if case.suspended_at else None,
            "suspension": _suspension_view(s, case, cal, now),
            "parent": parent, "children": [{"id": r, "state": st, "unit": u} for r, st, u in children],
            "available_triggers": [
                {"trigger": t.trigger, "label": t.label.get(lang, t.trigger), "to": t.dest,
                 "citation": t.citation, "confirmed": t.confirmed, "requires": list(t.requires),
                 "documents": list(t.documents)}
                for t in available(defn, case, person)] if not defn.states[case.state].terminal else [],
            "deadlines": [deadlines.view(d, cal, now, lang) for d in rows],
            "unconfirmed": defn.unconfirmed(),
        }


def _suspension_view(s: Session, case: Case, cal: Any, now: datetime) -> dict[str, Any] | None:
    """Since when, why, and for how many working days so far the case's legal clock is stopped."""
    if case.suspended_at is None:
        return None
    from agreeflow.engine.procedures import actions
    since = clock.to_local(case.suspended_at).date()
    return {"since": since.isoformat(), "since_at": audit.fmt_at(case.suspended_at),
            "reason": actions.suspension_reason(s, case),
            "working_days_so_far": max(cal.working_days_between(since, clock.to_local(now).date()), 0)}


def list_cases(settings: Settings, workflow: str | None = None, state: str | None = None,
               unit: str | None = None) -> list[dict[str, Any]]:
    with db.read(settings) as s:
        stmt = select(Case).where(Case.workflow != SYSTEM_WORKFLOW)
        if workflow:
            stmt = stmt.where(Case.workflow == workflow)
        if state:
            stmt = stmt.where(Case.state == state)
        cases = s.exec(stmt.order_by(Case.id)).all()
        out = []
        for c in cases:
            defn = definition_of(s, c.workflow, c.version)
            if unit and unit not in _case_units(c, defn):
                continue
            out.append({"id": c.ref, "workflow": c.workflow, "version": c.version, "state": c.state,
                        "state_label": defn.label(c.state, settings.lang), "title": c.title, "unit": c.unit,
                        "flags": list(c.fields.get("_flags", [])),
                        "updated_at": audit.fmt_at(c.updated_at)})
    return out


def history(settings: Settings, ref: str) -> list[dict[str, Any]]:
    with db.read(settings) as s:
        case = _find(s, ref)
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(Event.seq)).all()
        return [event_view(e) for e in events]


def event_view(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "at": audit.fmt_at(e.at), "actor": e.actor, "role": e.role, "kind": e.kind,
            "from": e.from_state, "to": e.to_state, "trigger": e.trigger, "note": e.note,
            "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash}


# ------------------------------------------------------------------ workflows
def workflows_list(settings: Settings) -> list[dict[str, Any]]:
    return [{"id": d.id, "version": d.version, "title": d.title.get(settings.lang, d.id),
             "states": len(d.states), "transitions": len(d.transitions), "unconfirmed": len(d.unconfirmed())}
            for d in definitions.newest()]


def workflow_show(settings: Settings, workflow: str) -> dict[str, Any]:
    """Versions of a workflow with how many open cases run on each."""
    vers = definitions.versions(workflow)
    counts: dict[int, int] = {}
    stored: list[int] = []
    try:
        with db.read(settings) as s:
            rows = s.exec(select(Case.version, sa.func.count()).where(Case.workflow == workflow,
                                                                      Case.closed_at.is_(None))  # type: ignore[union-attr]
                          .group_by(Case.version)).all()
            counts = {v: n for v, n in rows}
            stored = [v for v in s.exec(select(WorkflowVersion.version).where(WorkflowVersion.workflow == workflow)).all()]
    except AgreeflowError:
        pass  # no database yet: show the files only
    newest = vers[-1]
    seen = {d.version for d in vers}
    versions_out = [{"version": d.version, "path": d.path, "open_cases": counts.get(d.version, 0),
                     "effective_from": _iso(d.effective_from)} for d in vers]
    versions_out += [{"version": v, "path": "(stored copy)", "open_cases": counts.get(v, 0), "effective_from": None}
                     for v in stored if v not in seen]
    return {"id": newest.id, "title": newest.title, "legal_basis": list(newest.legal_basis),
            "versions": sorted(versions_out, key=lambda v: v["version"]),
            "states": [{"name": n, "label": st.label, "terminal": st.terminal, "initial": st.initial,
                        "timers": [{"id": t.id, "limit": t.limit, "unit": t.unit, "phrase_field": t.phrase_field,
                                    "citation": t.citation, "confirmed": t.confirmed} for t in st.timers]}
                       for n, st in newest.states.items()],
            "transitions": [{"trigger": t.trigger, "from": list(t.sources), "to": t.dest, "roles": list(t.roles),
                             "guards": list(t.guards), "requires": list(t.requires), "citation": t.citation,
                             "confirmed": t.confirmed} for t in newest.transitions],
            "unconfirmed": newest.unconfirmed()}


def workflow_graph(settings: Settings, workflow: str, case_ref: str | None = None) -> str:
    from agreeflow.engine.core import machine
    if case_ref:
        with db.read(settings) as s:
            case = _find(s, case_ref)
            defn = definition_of(s, case.workflow, case.version)
            return machine.mermaid(defn, settings.lang, case.state)
    return machine.mermaid(definitions.get(workflow), settings.lang)


def lint(paths: list[Path]) -> dict[str, Any]:
    good, problems = definitions.lint(paths or [Path(definitions.folder())])
    return {"ok": [f"{d.id} v{d.version}" for d in good], "problems": problems,
            "unconfirmed": {f"{d.id} v{d.version}": d.unconfirmed() for d in good if d.unconfirmed()}}


# ------------------------------------------------------------------ audit
def verify(settings: Settings, case_ref: str | None = None, checkpoint_file: Path | None = None) -> dict[str, Any]:
    """Recompute every chain; TamperingError (exit 4) names the first broken event of each case.

    With a checkpoint file (``audit checkpoint``), also require every head it
    recorded to still be there with the same hash — which catches a rewrite
    whose author recomputed all the hashes in the database.
    """
    from agreeflow.engine.reports import checkpoint
    cp = checkpoint.read(checkpoint_file) if checkpoint_file else None
    with db.read(settings) as s:
        case_id = _find(s, case_ref).id if case_ref else None
        n_events, n_cases, breaks = audit.verify_log(s, case_id)
        if cp is not None:
            broken = {b.case for b in breaks}
            heads = [h for h in cp["heads"] if case_ref in (None, h["case"])]
            breaks += [b for b in checkpoint.breaks(s, {**cp, "heads": heads}) if b.case not in broken]
    result: dict[str, Any] = {"events": n_events, "cases": n_cases, "broken": [b.to_json() for b in breaks]}
    if cp is not None:
        result["checkpoint"] = {"root": cp["root"], "taken_at": cp.get("taken_at"), "heads": len(cp["heads"])}
    if breaks:
        raise TamperingError(listing="\n".join(f"  - {b.case} seq {b.seq}: {b.problem}" for b in breaks),
                             broken=result["broken"], events=n_events, cases=n_cases)
    return result


def with_session(settings: Settings, fn: Callable[[Session], Any]) -> Any:
    """Run ``fn`` in one write transaction (for engine modules the CLI drives)."""
    with db.write(settings) as s:
        return fn(s)


# ------------------------------------------------------------------ suspension ledger
def _clock_action(settings: Settings, ref: str, note: str | None, which: str) -> dict[str, Any]:
    from agreeflow.engine.procedures import actions
    with db.write(settings) as s:
        case = _find(s, ref, lock=True)
        person = _write_actor(s, settings)
        defn = definition_of(s, case.workflow, case.version)
        if not ({"coordinator", "admin"} & set(person.roles) or _role_for(person, ("officer",), case, defn)):
            raise RoleRefusedError(actor=person.email, trigger=which, case=ref, needed=["coordinator", "officer"],
                                   roles=person.roles)
        cal = deadlines.calendar_for(s)
        getattr(actions, which)(s, case, person.email, note, cal, clock.now())
        case.lock_version += 1
        case.updated_at = clock.now()
        s.add(case)
    return show_case(settings, ref)


def suspend(settings: Settings, ref: str, reason: str) -> dict[str, Any]:
    """Stop the legal clock of a case (logged with the reason)."""
    return _clock_action(settings, ref, reason, "suspend")


def resume(settings: Settings, ref: str, note: str | None = None) -> dict[str, Any]:
    """Restart the legal clock; open deadlines move by the working days that elapsed."""
    return _clock_action(settings, ref, note, "resume")


# ------------------------------------------------------------------ reports, exports, imports
def audit_log(settings: Settings, start: str | None = None, end: str | None = None, **filters: str | None
              ) -> list[dict[str, Any]]:
    """Events matching ``case``/``actor``/``unit``/``kind`` in the period, oldest first."""
    from agreeflow.engine.reports import auditlog, common as reports
    w = reports.window(start, end)
    with db.read(settings) as s:
        return auditlog.query(s, w, **filters)


def audit_export(settings: Settings, fmt: str, out: Any, start: str | None = None, end: str | None = None
                 ) -> dict[str, Any]:
    """Write every chain field of every event (in the period) to ``out`` as jsonl or csv."""
    from agreeflow.engine.reports import auditlog, common as reports
    w = reports.window(start, end)
    with db.read(settings) as s:
        return {"format": fmt, **auditlog.write(auditlog.export_rows(s, w), out, fmt)}


def audit_checkpoint(settings: Settings) -> dict[str, Any]:
    """Verify the log, then pin every chain's head and their Merkle root (exit 4 if already broken)."""
    from agreeflow.engine.reports import checkpoint
    with db.read(settings) as s:
        return checkpoint.take(s)


def report_compliance(settings: Settings, start: str | None = None, end: str | None = None,
                      unit: str | None = None, map_file: Path | None = None) -> dict[str, Any]:
    from agreeflow.engine.reports import compliance, common as reports
    w, m = reports.window(start, end), reports.load_map(map_file)
    with db.read(settings) as s:
        return compliance.report(s, m, w, unit, settings.lang)


def report_annual(settings: Settings, year: int, map_file: Path | None = None,
                  checkpoint_file: Path | None = None) -> dict[str, Any]:
    """The annual report; a checkpoint file's root is printed in it (keep that file with the inspector)."""
    from agreeflow.engine.reports import annual, checkpoint, common as reports
    m = reports.load_map(map_file)
    cp = checkpoint.read(checkpoint_file) if checkpoint_file else None
    pinned = {k: cp[k] for k in ("root", "taken_at", "events", "cases")} if cp else None
    with db.read(settings) as s:
        return annual.report(s, m, year, settings.lang, pinned)


def export_ics(settings: Settings, unit: str | None = None, person: str | None = None) -> tuple[bytes, int]:
    from agreeflow.engine.reports import ics
    with db.read(settings) as s:
        return ics.build(s, unit, person, settings.lang)


def open_cases(settings: Settings, workflow: str,
               items: Callable[[Session], list[tuple[str, dict[str, str], str | None]]]) -> list[str]:
    """Open many cases of one workflow in ONE transaction: all of them, or — on any error — none.

    ``items(session)`` returns (title, fields as text, note) per case; it runs
    inside the transaction so its checks see what the writes will see.
    """
    defn = definitions.get(workflow)
    with db.write(settings) as s:
        actor = _write_actor(s, settings)
        return [_open_in(s, defn, title, raw, actor, note=note).ref for title, raw, note in items(s)]


def import_tasks(settings: Settings, path: Path, dry_run: bool = False) -> dict[str, Any]:
    """Open one task case per row of a plan file; every bad row is listed and nothing is written."""
    from agreeflow.engine.procedures import plans
    rows = plans.read_rows(path)
    checked: list[Any] = []

    def items(s: Session) -> list[tuple[str, dict[str, str], str | None]]:
        checked.extend(plans.prepare(s, rows, deadlines.calendar_for(s)))
        return [(i.title, i.fields, f"{path.name}, {i.where}") for i in checked]
    if dry_run:
        with db.read(settings) as s:
            items(s)
        refs: list[str | None] = [None] * len(checked)
    else:
        refs = list(open_cases(settings, plans.WORKFLOW, items))
    return {"file": str(path), "rows": len(rows), "dry_run": dry_run,
            "tasks": [{"id": ref, **i.to_json()} for ref, i in zip(refs, checked)]}
