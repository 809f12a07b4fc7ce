"""The case core: find, lock, open, fire, apply, the triggers available, and refusals.

Every function works in the caller's session (one transaction, opened by the
service layer) and takes an explicit ``now``: nothing here reads the clock,
opens a transaction, or imports a feature.  What else a transition does —
deadlines, actions, child cases, pending deadlines, recurrence — is an effect
registered in :mod:`agreeflow.engine.core.effects` by the layers above and
run here, in order, in the same transaction.

Order of :func:`fire`: the trigger exists (UserInputError, exit 2) → the
values are typed (exit 2) → stale or read-only (Refusal) → the state allows
the trigger (Refusal) → the person may take one of the candidate transitions
(Refusal) → required fields and documents (exit 2) → the guards, through the
machine, which names the transition that fired (Refusal) → :func:`apply`.
A :class:`Refusal` carries the error and who was refused; the service layer
rolls back, logs the refusal on the case in a transaction of its own
(:func:`log_refusal`), and raises the error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, definitions, effects, machine
from agreeflow.engine.core.clock import fmt_local, to_local
from agreeflow.engine.core.definitions import Definition, TransitionDef
from agreeflow.engine.core.errors import (
    GuardRefusedError,
    MissingFieldsError,
    ReadOnlyError,
    RefusedError,
    ScopeRefusedError,
    StaleCaseError,
    StateRefusedError,
    TimeOrderRefusedError,
    UnknownCaseError,
    UnknownTriggerError,
)
from agreeflow.engine.core.fields import check_rules, coerce
from agreeflow.engine.core.guards import GuardContext, Reason, registered_guards
from agreeflow.engine.core.i18n import N_, Msg, join
from agreeflow.engine.core.kinds import EventKind, Role
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.store import Case, Event, Person, WorkflowVersion

SYSTEM_REF = "HE-THONG"
SYSTEM_WORKFLOW = "_system"
DOCUMENTS = "_documents"   # the case field that lists attached documents by kind


class Refusal(Exception):
    """A rule refused the command: roll back, log it on the case, then raise ``err``."""

    def __init__(self, err: RefusedError, actor: str, role: str) -> None:
        super().__init__(err.render("en"))
        self.err, self.actor, self.role = err, actor, role


@dataclass(frozen=True)
class Fired:
    """What one accepted trigger did."""

    case: Case
    transition: TransitionDef
    old_state: str
    new_state: str
    role: str


# ------------------------------------------------------------------ finding and locking
# Built once: every command runs them, and a statement built anew is compiled and keyed anew.
_BY_REF = select(Case).where(col(Case.ref) == sa.bindparam("ref"))
_BY_REF_LOCKED = _BY_REF.with_for_update().execution_options(populate_existing=True)
_BY_ID_LOCKED = (select(Case).where(col(Case.id) == sa.bindparam("id")).with_for_update()
                 .execution_options(populate_existing=True))


def find(s: Session, ref: str, lock: bool = False) -> Case:
    """The case ``ref`` (locked FOR UPDATE when asked); UnknownCaseError with a "did you mean"."""
    case = s.exec(_BY_REF_LOCKED if lock else _BY_REF, params={"ref": ref}).first()
    if case is None or case.workflow == SYSTEM_WORKFLOW and ref != SYSTEM_REF:
        raise UnknownCaseError(ref, s.exec(select(Case.ref).where(Case.workflow != SYSTEM_WORKFLOW)).all())
    return case


def lock(s: Session, case_id: int | None) -> Case:
    """Lock a case row and read it afresh (a copy loaded before the lock is refreshed, not trusted)."""
    return s.exec(_BY_ID_LOCKED, params={"id": case_id}).one()


def system_case(s: Session, now: datetime) -> Case:
    """The chain that records administrative events (directory, calendar)."""
    case = s.exec(select(Case).where(Case.ref == SYSTEM_REF)).first()
    if case is None:
        case = Case(ref=SYSTEM_REF, workflow=SYSTEM_WORKFLOW, version=1, state="active",
                    title="Nhật ký hệ thống", opened_at=now, updated_at=now)  # a title is data: the office's words
        s.add(case)
        s.flush()
    return case


def is_terminal(s: Session, case: Case) -> bool:
    """True when the case is in a terminal state of its own definition version."""
    return definition_of(s, case.workflow, case.version).states[case.state].terminal


# ------------------------------------------------------------------ definitions of cases
_SNAPSHOTS: dict[str, Definition] = {}


def definition_of(s: Session, workflow: str, version: int) -> Definition:
    """The definition a case runs on: from the files, else from the copy stored when it was opened."""
    reg = definitions.registry()
    if (workflow, version) in reg:
        return reg[(workflow, version)]
    snap = s.get(WorkflowVersion, (workflow, version))
    if snap is None:
        return definitions.get(workflow, version)  # raises UnknownWorkflowError
    if snap.sha256 not in _SNAPSHOTS:
        _SNAPSHOTS[snap.sha256] = definitions.from_source(snap.source, f"{snap.path} (stored copy)")
    return _SNAPSHOTS[snap.sha256]


_SNAPSHOT_KEPT = Prepared(sa.select(col(WorkflowVersion.sha256)).where(
    col(WorkflowVersion.workflow) == sa.bindparam("workflow"), col(WorkflowVersion.version) == sa.bindparam("version")))


def keep_snapshot(s: Session, defn: Definition, now: datetime) -> None:
    """Store the YAML of ``defn`` once, so cases opened on it keep their rules after the file changes."""
    s.flush()  # one stored earlier in this transaction counts
    if _SNAPSHOT_KEPT.run(s, {"workflow": defn.id, "version": defn.version}).first() is None:
        text = Path(defn.path).read_text(encoding="utf-8")
        s.add(WorkflowVersion(workflow=defn.id, version=defn.version, source=text, path=defn.path,
                              sha256=hashlib.sha256(text.encode()).hexdigest(), stored_at=now))


# ------------------------------------------------------------------ opening
_HIGHEST_REFS = Prepared(sa.select(col(Case.ref)).where(col(Case.ref).like(sa.bindparam("like")))
                         .order_by(sa.func.length(col(Case.ref)).desc(), col(Case.ref).desc()).limit(8))


def next_ref(s: Session, prefix: str, year: int) -> str:
    """``<prefix>-<year>-<NNNN>``, one more than the highest of that prefix and year.

    The highest is looked for among the longest, then greatest refs: the
    number is zero-padded to four digits and longer past 9999, so for every
    ref made here the order of the text is the order of the numbers — the
    database sorts, this reads a few rows instead of every case of the year.
    """
    like = f"{prefix}-{year}-%"
    s.flush()
    refs = [r.ref for r in _HIGHEST_REFS.run(s, {"like": like}).all()]
    if not any(r.rsplit("-", 1)[1].isdigit() for r in refs):  # none numbered among the first few: read them all
        refs = list(s.exec(select(Case.ref).where(col(Case.ref).like(like))).all())
    n = max((int(r.rsplit("-", 1)[1]) for r in refs if r.rsplit("-", 1)[1].isdigit()), default=0)
    return f"{prefix}-{year}-{n + 1:04d}"


def open_case(s: Session, defn: Definition, title: str, raw: dict[str, str], actor: Person, now: datetime, *,
              parent_ref: str | None = None, note: str | Msg | None = None, role: str | None = None,
              year: int | None = None) -> Case:
    """Open a case of ``defn`` with typed fields, log ``opened`` and run the open effects.

    ``role`` is given by the engine when it opens a case itself (a child, the
    next occurrence); a person opens under their own coordinator, officer or
    admin role.  ``year`` (default: the year of ``now`` in UTC+7) numbers the ref.
    """
    values = coerce(s, defn, raw, to_local(now).date())
    for name, f in defn.fields.items():
        if name not in values and f.default is not None:
            values[name] = f.default
    missing = [n for n, f in defn.fields.items() if f.required and values.get(n) in (None, "", [])]
    if missing:
        raise MissingFieldsError(trigger=Msg(N_("open a case")), missing=missing)
    check_rules(defn, values, values, to_local(now).date(), lambda trigger: None)
    unit = values.get(defn.unit_field) if defn.unit_field else actor.unit
    if role is None:
        role = authority.require_any(actor, (Role.COORDINATOR, Role.ADMIN, Role.OFFICER), "open", defn.id)
        if role == Role.OFFICER and not authority.unit_in_scope(s, actor, unit):
            # The same rule as for a step: an officer works for their own unit only.
            raise ScopeRefusedError(actor=actor.email, unit=actor.unit, trigger="open", case=f"{defn.id} ({unit})",
                                    case_unit=unit or "",
                                    who=Msg(N_("an officer of {unit} or a coordinator"), unit=unit or ""))
    parent_case = find(s, parent_ref) if parent_ref else None
    keep_snapshot(s, defn, now)
    number_year = year or to_local(now).year
    for attempt in range(5):
        case = Case(ref=next_ref(s, defn.ref_prefix, number_year), workflow=defn.id, version=defn.version,
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
    audit.append_event(s, case, EventKind.OPENED, actor=actor.email, role=role, to_state=defn.initial, note=note,
                       payload={"workflow": defn.id, "version": defn.version, "title": case.title,
                                "fields": values, "parent": parent_ref}, at=now)
    effects.run_opened(effects.Opened(s, case, defn, actor.email, now))
    return case


# ------------------------------------------------------------------ firing
def candidates(defn: Definition, state: str, trigger: str) -> list[TransitionDef]:
    """The transitions named ``trigger`` that leave ``state``, in file order."""
    return [t for t in defn.transitions if t.trigger == trigger and state in t.sources]


def _missing(tdef: TransitionDef, merged: dict[str, Any], docs: dict[str, Any]) -> list[str | Msg]:
    missing = [f for f in tdef.requires if merged.get(f) in (None, "", [])]
    return missing + [Msg(N_("--attach {kind}=FILE"), kind=d) for d in tdef.documents if d not in docs]


def fire(s: Session, case: Case, person: Person, trigger: str, raw: dict[str, str], now: datetime, *,
         note: str | Msg | None = None, files: Iterable[dict[str, Any]] = (), expect_version: int | None = None,
         role_override: str | None = None) -> Fired:
    """Fire ``trigger`` on the locked ``case`` as ``person``; see the module docstring for the order of checks.

    ``role_override`` is the engine acting as itself (fan-in, silence rules):
    role and unit checks do not apply to it; guards do.
    """
    defn = definition_of(s, case.workflow, case.version)
    if trigger not in defn.triggers:
        raise UnknownTriggerError(trigger, defn.triggers, case=case.ref)
    values = coerce(s, defn, raw, to_local(now).date())
    if expect_version is not None and expect_version != case.lock_version:
        raise Refusal(StaleCaseError(case=case.ref, expected=expect_version, actual=case.lock_version),
                      person.email, "")
    if role_override is None and authority.is_read_only(person):
        raise Refusal(ReadOnlyError(actor=person.email), person.email, Role.AUDITOR)
    found = candidates(defn, case.state, trigger)
    if not found:
        allowed = [t.trigger for t in available(s, defn, case, person, now)]
        state = defn.states.get(case.state)
        raise Refusal(StateRefusedError(case=case.ref, state=dict(state.label) if state and state.label else case.state,
                                        trigger=trigger,
                                        allowed=allowed), person.email, "")
    delegations: dict[TransitionDef, dict[str, str]] = {}
    if role_override is not None:
        roles = {t: role_override for t in found}
    else:
        permits = {t: authority.decide(s, person, t, case, defn, to_local(now).date()) for t in found}
        roles = {t: p.role for t, p in permits.items() if p.allowed and p.role}
        delegations = {t: p.delegation for t, p in permits.items() if p.allowed and p.delegation}
        if not roles:
            # Name the rule that refused the candidate that came closest (position, then unit, then role).
            order = {"position": 0, "unit": 1, "role": 2}
            first, permit = min(permits.items(), key=lambda kv: order.get(kv[1].rule or "", 3))
            needed = sorted({r for t in found for r in t.roles})
            raise Refusal(authority.refusal(s, permit, person, first, case, needed), person.email,
                          permit.role or "")
    merged = {**case.fields, **values}
    files = list(files)
    docs = dict(merged.get(DOCUMENTS) or {})
    for f in files:
        docs.setdefault(f["kind"], []).append({k: f[k] for k in ("name", "size", "sha256")})
    if docs:
        merged[DOCUMENTS] = docs
    permitted = [t for t in found if t in roles]
    if len(permitted) == 1 and (missing := _missing(permitted[0], merged, docs)):
        raise MissingFieldsError(trigger=trigger, missing=missing)
    ctx = GuardContext(case=case, definition=defn, trigger=trigger, fields=merged, actor=person, now=now,
                       session=s, permitted=set(permitted))
    tdef = machine.advance(defn, case.state, trigger, ctx)
    role = roles[tdef] if tdef is not None else next(iter(roles.values()))
    if tdef is None:
        raise Refusal(GuardRefusedError(case=case.ref, trigger=trigger, reason=join(ctx.refusals)),
                      person.email, role)
    if missing := _missing(tdef, merged, docs):
        raise MissingFieldsError(trigger=trigger, missing=missing)
    check_rules(defn, set(values) | set(tdef.requires), merged, to_local(now).date(), lambda tr: day_of(s, case, tr))
    old_state = case.state
    apply(s, case, defn, tdef, person.email, role, values, merged, files, note, now, delegations.get(tdef))
    return Fired(case, tdef, old_state, tdef.dest, role)


def apply(s: Session, case: Case, defn: Definition, tdef: TransitionDef, actor: str, role: str,
          values: dict[str, Any], merged: dict[str, Any], files: list[dict[str, Any]], note: str | Msg | None,
          now: datetime, delegation: dict[str, str] | None = None) -> None:
    """Write one accepted transition — events, fields, state — then run the effects (caller's transaction)."""
    old_state, new_state = case.state, tdef.dest
    for name, value in values.items():
        if case.fields.get(name) != value:
            audit.append_event(s, case, EventKind.FIELD_CHANGED, actor=actor, role=role, trigger=tdef.trigger,
                               payload={"field": name, "before": case.fields.get(name), "after": value}, at=now)
    for f in files:
        audit.append_event(s, case, EventKind.ATTACHED, actor=actor, role=role, trigger=tdef.trigger, payload=f,
                           at=now)
    audit.append_event(s, case, EventKind.TRANSITION, actor=actor, role=role, from_state=old_state,
                       to_state=new_state, trigger=tdef.trigger, note=note,
                       payload={"citation": tdef.citation, "confirmed": tdef.confirmed}
                       | ({"delegation": delegation} if delegation else {}), at=now)
    expected = case.lock_version
    s.flush()  # what the caller changed through the ORM (a touched lock version) is written first
    result = _MOVE.run(s, {
        "_id": case.id, "_expected": expected, "state": new_state, "fields": merged, "lock_version": expected + 1,
        "updated_at": now, "closed_at": now if defn.states[new_state].terminal else None})
    if result.rowcount != 1:
        raise Refusal(StaleCaseError(case=case.ref, expected=expected, actual="?"), actor, role)
    # The row is written; the object takes the new values without being marked dirty (no second UPDATE).
    for name, value in (("state", new_state), ("fields", merged), ("lock_version", expected + 1),
                        ("updated_at", now), ("closed_at", now if defn.states[new_state].terminal else None)):
        set_committed_value(case, name, value)
    effects.run_moved(effects.Moved(s, case, defn, tdef, old_state, new_state, actor, role, note, now, values))


_MOVE = Prepared(sa.update(Case).where(col(Case.id) == sa.bindparam("_id"),
                                       col(Case.lock_version) == sa.bindparam("_expected")))
"""The case row's move, guarded by its lock version (the values are the statement's parameters)."""


def touch(s: Session, case: Case, now: datetime) -> None:
    """Record a change made outside a transition (suspension, flags): bump the lock version."""
    case.lock_version += 1
    case.updated_at = now
    s.add(case)


def attach_document(s: Session, case: Case, meta: dict[str, Any], actor: str, role: str, now: datetime) -> None:
    """Add a document to ``case`` outside a step (a letter agreeflow wrote), logged as ``attached``.

    ``meta`` is ``{kind, name, size, sha256}`` (more keys are kept in the event).  The document is
    listed under its kind in the case's documents as a step's attachment is, so replaying the log
    gives the row back; the lock version moves, so a form read before it is stale.  The caller
    holds the case's row lock and keeps the bytes in the content store.
    """
    fields = dict(case.fields)
    docs = {k: list(v) for k, v in (fields.get(DOCUMENTS) or {}).items()}
    docs.setdefault(str(meta["kind"]), []).append({k: meta[k] for k in ("name", "size", "sha256")})
    fields[DOCUMENTS] = docs
    audit.append_event(s, case, EventKind.ATTACHED, actor=actor, role=role, payload=dict(meta), at=now)
    case.fields = fields
    touch(s, case, now)


def day_of(s: Session, case: Case, trigger: str) -> date | None:
    """The day (in Vietnam) the case last took step ``trigger``; None when it never did."""
    at = s.exec(select(Event.at).where(Event.case_id == case.id, Event.kind == EventKind.TRANSITION,
                                       Event.trigger == trigger).order_by(col(Event.seq).desc()).limit(1)).first()
    return to_local(at).date() if at is not None else None


def check_time_order(s: Session, case: Case, now: datetime, actor: str) -> None:
    """Refuse a step said to take effect before the case's last event.

    The service asks for it whenever the instant was chosen by a person — an
    effective time (``--effective``) or a simulated clock — not for the real
    clock, whose order between concurrent writers is a matter of milliseconds.
    """
    last = audit.last_effective(s, case.id or 0)
    if last is not None and now < last:
        raise Refusal(TimeOrderRefusedError(effective=fmt_local(now), case=case.ref,
                                            problem=Msg(N_("earlier than the case's last event ({at})"),
                                                        at=fmt_local(last))),
                      actor, "")


def available(s: Session, defn: Definition, case: Case, person: Person | None, now: datetime
              ) -> list[TransitionDef]:
    """Transitions from the case's state the person's role, unit and position allow (all, for no person)."""
    out, seen = [], set()
    for t in defn.from_state(case.state):
        if t.trigger in seen:
            continue
        if person is None or authority.decide(s, person, t, case, defn, to_local(now).date()).allowed:
            out.append(t)
            seen.add(t.trigger)
    return out


@dataclass(frozen=True)
class Option:
    """One step the reader could try from the case's state, and whether it would be refused, and why."""

    transition: TransitionDef
    allowed: bool
    rule: str | None = None
    """Why not: ``role``, ``unit``, ``position`` or ``guard`` (None when allowed)."""
    reason: Msg | None = None
    """Why not, as a message for the reader's language (None when allowed)."""


def options(s: Session, defn: Definition, case: Case, person: Person | None, now: datetime) -> list[Option]:
    """Every step from the case's state (one per trigger) with the rule that would refuse it now, if any.

    Honest actions: a page or ``case show`` offers the allowed ones and shows
    the others greyed out with their reason.  Guards are judged on the case as
    it is; a step whose guard waits for a value the form asks for says so.
    """
    out: list[Option] = []
    by_trigger: dict[str, list[TransitionDef]] = {}
    for t in defn.from_state(case.state):
        by_trigger.setdefault(t.trigger, []).append(t)
    if defn.states[case.state].terminal:
        return out
    for found in by_trigger.values():
        out.append(_option(s, defn, case, person, now, found))
    return out


def _option(s: Session, defn: Definition, case: Case, person: Person | None, now: datetime,
            found: list[TransitionDef]) -> Option:
    if person is None:
        return Option(found[0], False, "role", Msg(N_("not signed in")))
    if authority.is_read_only(person):
        return Option(found[0], False, "role", Msg(N_("auditors read only")))
    permits = {t: authority.decide(s, person, t, case, defn, to_local(now).date()) for t in found}
    allowed = [t for t, p in permits.items() if p.allowed]
    if not allowed:
        order = {"position": 0, "unit": 1, "role": 2}
        first, permit = min(permits.items(), key=lambda kv: order.get(kv[1].rule or "", 3))
        err = authority.refusal(s, permit, person, first, case, sorted({r for t in found for r in t.roles}))
        return Option(first, False, permit.rule, err.message())
    guards = registered_guards()
    reasons: list[Reason] = []
    for t in allowed:
        ctx = GuardContext(case=case, definition=defn, trigger=t.trigger, fields=dict(case.fields), actor=person,
                           now=now, session=s)
        refused = [r for g in t.guards if (r := guards[g](ctx)) is not None]
        if refused:
            refused = _left_with_a_choice(t, defn, ctx, guards, refused)
        if not refused:
            return Option(t, True)
        reasons.extend(refused)
    return Option(allowed[0], False, "guard", join(reasons))


def _left_with_a_choice(t: TransitionDef, defn: Definition, ctx: GuardContext, guards: Any,
                        refused: list[Reason]) -> list[Reason]:
    """The guards' reasons that remain with the best value of a choice the step's form asks for (a required
    choice field, e.g. ``change_kind``).

    The form will ask for that value, so a step some choice lets through is offered (no reason left), not
    greyed out with the reason the case's old or empty value gives ("'' is not an amendment"); a step no
    choice lets through shows only the reasons no choice removes (the agreement's term is over).  Firing
    still judges the value given.
    """
    best = refused
    for name in t.requires:
        f = defn.fields.get(name)
        for choice in f.choices if f is not None else ():
            ctx.fields[name] = choice
            left = [r for g in t.guards if (r := guards[g](ctx)) is not None]
            if len(left) < len(best):
                best = left
            if not best:
                return best
    return best


def log_refusal(s: Session, case: Case, err: RefusedError, actor: str, role: str, trigger: str | None,
                now: datetime) -> None:
    """Append a ``refused`` event to the (locked) case.

    The payload keeps the error's message as a message key with its values
    (``{"error", "msg", "args"}``): the log reads it in each reader's language.
    Events written before kept ``"message"`` in English; they read as they are.
    """
    audit.append_event(s, case, EventKind.REFUSED, actor=actor, role=role, trigger=trigger, from_state=case.state,
                       payload={"error": type(err).__name__, **err.message().to_json()}, at=now)
