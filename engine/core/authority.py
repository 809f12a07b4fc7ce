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
from agreeflow.engine.core.store import Case, Person

NOT_SET = "(chưa đặt / not set)"


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
