"""Who may act: one decision, from the directory, for the command line and the web alike.

A person acts under a role they hold (``people.roles``).  An officer acts
only on cases of their own unit: the case's unit, or a unit named in one of
its unit fields.  Auditors read and never write.  Every check that decides
whether somebody may do something to a case goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.errors import ReadOnlyError, RoleRefusedError, UnknownPersonError
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, Role
from agreeflow.engine.core.store import Case, Person, Unit

NOT_SET = "(chưa đặt / not set)"
SEE_ALL = frozenset({Role.COORDINATOR, Role.APPROVER, Role.AUDITOR, Role.ADMIN})
"""Roles that see every case; an officer sees the cases that concern their unit."""
REPLY_LINK = "reply-link"
"""The role under which a consulted body acts through its reply link (no account, no directory person)."""
REPLY_TRIGGERS = ("agree", "comment", "disagree")
"""What a reply link may do: answer its own consultation-reply case, nothing else."""
UNIT_ACTOR = "unit:"
"""Prefix of the actor of an event a unit caused through its reply link (``unit:CA``)."""


def person(s: Session, email: str | None) -> Person:
    """The active directory person behind ``email``; UnknownPersonError (exit 2) otherwise."""
    found = s.get(Person, email) if email else None
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
    """Every unit a case concerns: its own unit and each unit named in a unit field."""
    units = {case.unit} if case.unit else set()
    for name, f in defn.fields.items():
        value = case.fields.get(name)
        if f.type == "unit" and value:
            units.add(value)
        elif f.type == "units" and value:
            units.update(value)
    return units


def role_for(who: Person, roles: Iterable[str], case: Case, defn: Definition) -> str | None:
    """The role under which ``who`` may take a step open to ``roles`` on ``case``, or None."""
    for role in roles:
        if role not in (who.roles or []):
            continue
        if role == Role.OFFICER and who.unit not in case_units(case, defn):
            continue
        return role
    return None


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
