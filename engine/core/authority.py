"""Who may act: one decision, from the directory, for the command line and the web alike.

A step is open to the roles its workflow names (``roles:``) and, when it
says so, only to certain positions (``who:``: "the Chairman of UBND, or a
vice-chairman acting under a recorded delegation").  The decision, in order:

* **role** — the person holds one of the step's roles;
* **unit scope** — an officer acts only for the case's own unit (the
  proposing body, the addressee of a reply, the lead unit of a task), or a
  unit their own is part of (a division acts for its department, MOFA's
  Department of External Relations for MOFA — not a district for the
  Provincial People's Committee that supervises it);
* **position** — when the step names positions, the person holds one of
  them in the named unit, or holds a delegation of authority (ủy quyền)
  recorded in the directory from the holder of that position, valid that day,
  for that step.

Auditors read and never write.  :func:`decide` gives the rule that refused,
so a refusal says which rule and who may; every check that decides whether
somebody may do something to a case goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core.definitions import Definition, TransitionDef
from agreeflow.engine.core.errors import (
    PositionRefusedError,
    ReadOnlyError,
    RefusedError,
    RoleRefusedError,
    ScopeRefusedError,
    UnknownPersonError,
)
from agreeflow.engine.core.i18n import N_, Msg, join, pair
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, Position, Role
from agreeflow.engine.core.store import Case, Delegation, Person, Unit

NOT_SET = Msg(N_("(not set)"))
SEE_ALL = frozenset({Role.COORDINATOR, Role.APPROVER, Role.AUDITOR, Role.ADMIN})
"""Roles that see every case; an officer sees the cases that concern their unit."""
REPLY_LINK = "reply-link"
"""The role under which a consulted body acts through its reply link (no account, no directory person)."""
REPLY_TRIGGERS = ("agree", "comment", "disagree")
"""What a reply link may do: answer its own consultation-reply case, nothing else."""
UNIT_ACTOR = "unit:"
"""Prefix of the actor of an event a unit caused through its reply link (``unit:CA``)."""


_PERSON = select(Person).where(col(Person.email) == sa.bindparam("email"))
"""Built once: every command asks who acts (``Session.get`` builds its statement anew each time)."""


def person(s: Session, email: str | None) -> Person:
    """The active directory person behind ``email``; UnknownPersonError (exit 2) otherwise."""
    found = s.exec(_PERSON, params={"email": email}).first() if email else None
    if found is None or not found.active:
        raise UnknownPersonError(email=email or NOT_SET)
    return found


def system_person() -> Person:
    """The engine as an actor (never stored): fires fan-in and silence transitions, opens children."""
    return Person(email=SYSTEM_ACTOR, name="agreeflow", unit="", roles=[SYSTEM_ACTOR])


def person_or_system(s: Session, email: str) -> Person:
    """The directory person behind ``email``, or the engine when it acted itself."""
    return s.get(Person, email) or system_person()


def unit_person(unit: Unit) -> Person:
    """A consulted unit acting through its reply link (never stored): its events name the unit."""
    return Person(email=f"{UNIT_ACTOR}{unit.code}", name=unit.name_vi, unit=unit.code, roles=[REPLY_LINK])


def is_read_only(who: Person) -> bool:
    """True for a person whose only role is auditor."""
    return set(who.roles or []) == {Role.AUDITOR}


def check_writer(who: Person, *, admin: bool = False, action: str = "admin", target: str = "HE-THONG") -> Person:
    """``who`` if they may write: not read-only, and an admin when ``admin`` is asked."""
    if is_read_only(who):
        raise ReadOnlyError(actor=who.email)
    if admin and Role.ADMIN not in who.roles:
        raise RoleRefusedError(actor=who.email, trigger=action, case=target, needed=[Role.ADMIN], roles=who.roles)
    return who


def require_any(who: Person, roles: Iterable[str], action: str, target: str) -> str:
    """The first of ``roles`` that ``who`` holds; RoleRefusedError (exit 3) otherwise."""
    wanted = list(roles)
    held = next((r for r in wanted if r in (who.roles or [])), None)
    if held is None:
        raise RoleRefusedError(actor=who.email, trigger=action, case=target, needed=wanted, roles=who.roles)
    return held


def case_units(case: Case, defn: Definition) -> set[str]:
    """Every unit a case concerns (who may see it): its own unit and each unit named in a unit field."""
    units = {case.unit} if case.unit else set()
    for name, f in defn.fields.items():
        value = case.fields.get(name)
        if f.type == "unit" and value:
            units.add(value)
        elif f.type == "units" and value:
            units.update(value)
    return units


def in_scope(s: Session | None, who: Person, case: Case) -> bool:
    """True when ``who``'s unit is the case's own unit or one of its sub-units (a division of the department)."""
    return unit_in_scope(s, who, case.unit)


def unit_in_scope(s: Session | None, who: Person, target: str | None) -> bool:
    """True when ``who``'s unit is ``target`` or a part of it.

    A part is a division (kind ``division``) or a unit of the same kind as its
    parent (MOFA's Department of External Relations within MOFA).  A
    department or a district is not a part of the Provincial People's
    Committee that supervises it: its officers do not act for the Committee.
    """
    if not target:
        return False
    unit: str | None = who.unit
    seen: set[str] = set()
    while unit and unit not in seen:
        if unit == target:
            return True
        seen.add(unit)
        row = s.get(Unit, unit) if s is not None else None
        parent = s.get(Unit, row.parent) if s is not None and row is not None and row.parent else None
        if row is None or parent is None or not (row.kind == "division" or row.kind == parent.kind):
            return False
        unit = parent.code
    return False


def role_for(who: Person, roles: Iterable[str], case: Case, defn: Definition, s: Session | None = None) -> str | None:
    """The role under which ``who`` may take a step open to ``roles`` on ``case``, or None (positions aside)."""
    for role in roles:
        if role not in (who.roles or []):
            continue
        if role == Role.OFFICER and not in_scope(s, who, case):
            continue
        return role
    return None


@dataclass(frozen=True)
class Permit:
    """Whether a person may take one step, and if not, which rule refused."""

    role: str | None
    rule: str | None = None
    """None when allowed; else ``role``, ``unit`` or ``position``."""
    delegation: dict[str, str] | None = None
    """``{"principal", "document"}`` when the person acts under a delegation of authority."""

    @property
    def allowed(self) -> bool:
        return self.rule is None


def holds(who: Person, position: str, unit: str) -> bool:
    """True when ``who`` holds ``position`` in ``unit``."""
    return any(p.get("position") == position and p.get("unit") == unit for p in who.positions or [])


def _unit_of(spec: str, case: Case) -> str | None:
    if spec == "case":
        return case.unit
    if spec.startswith("field:"):
        value = case.fields.get(spec[6:])
        return str(value) if value else None
    return spec


def delegation_for(s: Session, who: Person, position: str, unit: str, trigger: str, on: date) -> Delegation | None:
    """A delegation, valid on ``on`` for ``trigger``, to ``who`` from a person holding ``position`` in ``unit``."""
    rows = s.exec(select(Delegation).where(Delegation.delegate == who.email)).all()
    for d in rows:
        if d.valid_from > on or (d.valid_to is not None and d.valid_to < on):
            continue
        if "*" not in d.scope and trigger not in d.scope:
            continue
        principal = s.get(Person, d.principal)
        if principal is not None and principal.active and holds(principal, position, unit):
            return d
    return None


def decide(s: Session, who: Person, tdef: TransitionDef, case: Case, defn: Definition, on: date) -> Permit:
    """May ``who`` take ``tdef`` on ``case`` on day ``on``: role, then unit scope, then position."""
    held = [r for r in tdef.roles if r in (who.roles or [])]
    if not held:
        return Permit(None, "role")
    role = role_for(who, tdef.roles, case, defn, s)
    if role is None:
        return Permit(held[0], "unit")
    if not tdef.who:
        return Permit(role)
    for w in tdef.who:
        unit = _unit_of(w.unit, case)
        if unit is None:
            continue
        if holds(who, w.position, unit):
            return Permit(role)
        if w.delegated and (w.delegate_position is None or any(p.get("position") == w.delegate_position
                                                                 for p in who.positions or [])):
            d = delegation_for(s, who, w.position, unit, tdef.trigger, on)
            if d is not None:
                return Permit(role, delegation={"principal": d.principal, "document": d.document})
    return Permit(role, "position")


POSITION_LABELS = {
    Position.CHAIRMAN: N_("Chairman"), Position.VICE_CHAIRMAN: N_("Vice-chairman"),
    Position.DIRECTOR: N_("Director"), Position.DEPUTY_DIRECTOR: N_("Deputy director"),
    Position.HEAD: N_("Head"), Position.DEPUTY_HEAD: N_("Deputy head"), Position.OFFICER: N_("Officer"),
}


def _unit_name(s: Session, code: str | None) -> dict[str, str] | str:
    row = s.get(Unit, code) if code else None
    if row is None:
        return code or ""
    return pair(row.name_vi, row.name_en or row.name_vi)


def describe_who(s: Session, tdef: TransitionDef, case: Case) -> Msg:
    """Who may take ``tdef`` on ``case``, in words ("Chủ tịch Ủy ban nhân dân tỉnh …; …")."""
    parts = []
    for w in tdef.who:
        unit = _unit_name(s, _unit_of(w.unit, case))
        position = Msg(POSITION_LABELS.get(Position(w.position), w.position))
        if w.delegated:
            parts.append(Msg(N_("{position} of {unit}, or a person the {position} delegated this step to "
                                "(recorded delegation of authority)"), position=position, unit=unit))
        else:
            parts.append(Msg(N_("{position} of {unit}"), position=position, unit=unit))
    if not parts:
        parts.append(Msg(N_("an officer or coordinator of {unit}"), unit=_unit_name(s, case.unit)))
    return join(parts)


def refusal(s: Session, permit: Permit, who: Person, tdef: TransitionDef, case: Case, needed_roles: list[str]
            ) -> RefusedError:
    """The error that names the rule which refused ``who`` (role, unit scope or position) and who may."""
    if permit.rule == "unit":
        return ScopeRefusedError(actor=who.email, unit=who.unit, trigger=tdef.trigger, case=case.ref,
                                 case_unit=case.unit or "", who=describe_who(s, tdef, case))
    if permit.rule == "position":
        return PositionRefusedError(actor=who.email, trigger=tdef.trigger, case=case.ref,
                                    who=describe_who(s, tdef, case), citation=tdef.citation)
    return RoleRefusedError(actor=who.email, trigger=tdef.trigger, case=case.ref, needed=needed_roles,
                            roles=who.roles)


def may_see(who: Person, case: Case, defn: Definition) -> bool:
    """Whether ``who`` may read ``case``: every case for coordinators, approvers, auditors and admins;
    for an officer, the cases of their unit and those addressed to it (a unit field names it)."""
    if SEE_ALL & set(who.roles or []):
        return True
    return Role.OFFICER in (who.roles or []) and who.unit in case_units(case, defn)


def may_reply(case: Case, defn: Definition, unit: str) -> bool:
    """Whether a reply link for ``unit`` may answer ``case`` now: it is addressed to that unit and a reply
    step leaves its current state."""
    return case.unit == unit and any(t.trigger in REPLY_TRIGGERS for t in defn.from_state(case.state))
