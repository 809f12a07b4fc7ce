"""The directory of units and people, loaded from an operator's YAML file.

Loading is idempotent and keeps history: a unit missing from the new file is
retired (``active_to`` set), not deleted, so old cases still name it; a person
missing from the file is deactivated.  The whole file is checked first and
every problem is reported at once — a bad file writes nothing.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from agreeflow.engine.core.definitions import ROLES
from agreeflow.engine.core.errors import DirectoryFileError, UnknownUnitError, did_you_mean
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.store import Person, Unit
from agreeflow.engine.core.yamlio import LineDict, load_checked, load_file

SAMPLE = DATA_DIR / "directory-bac-giang-2024.yaml"
UNIT_KEYS = {"code", "name_vi", "name_en", "email", "parent", "kind", "active_from", "active_to"}
PERSON_KEYS = {"email", "name", "unit", "roles", "lang"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def read_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parse and check a directory file; DirectoryFileError lists every problem."""
    raw = load_checked(path, DirectoryFileError)
    problems: list[str] = []
    if not isinstance(raw, LineDict) or "units" not in raw:
        raise DirectoryFileError([f"{path}:1: a directory file needs 'units' (and 'people')"])
    units = [u for u in raw.get("units") or [] if isinstance(u, LineDict)]
    people = [p for p in raw.get("people") or [] if isinstance(p, LineDict)]
    codes: dict[str, int] = {}
    for u in units:
        where = f"{path}:{u.line}"
        _keys(u, UNIT_KEYS, where, problems)
        code = str(u.get("code") or "")
        if not code or not u.get("name_vi"):
            problems.append(f"{where}: a unit needs 'code' and 'name_vi'")
        if code in codes:
            problems.append(f"{where}: unit code '{code}' is already used at line {codes[code]}")
        codes[code] = u.line
        if u.get("email") and not EMAIL.match(str(u["email"])):
            problems.append(f"{where}: unit '{code}': '{u['email']}' is not an e-mail address")
        for key in ("active_from", "active_to"):
            if u.get(key) is not None and not isinstance(u[key], date):
                problems.append(f"{where}: unit '{code}': {key} must be a date YYYY-MM-DD")
    for u in units:
        parent = u.get("parent")
        if parent and parent not in codes:
            problems.append(f"{path}:{u.line}: unit '{u.get('code')}': parent {_unknown(str(parent), codes)}")
    emails: set[str] = set()
    for p in people:
        where = f"{path}:{p.line}"
        _keys(p, PERSON_KEYS, where, problems)
        email = str(p.get("email") or "")
        if not EMAIL.match(email):
            problems.append(f"{where}: person needs a valid 'email' (got '{email}')")
        if email in emails:
            problems.append(f"{where}: person '{email}' appears twice")
        emails.add(email)
        if p.get("unit") not in codes:
            problems.append(f"{where}: person '{email}': unit {_unknown(str(p.get('unit')), codes)}")
        for r in p.get("roles") or []:
            if r not in ROLES:
                problems.append(f"{where}: person '{email}': role {_unknown(str(r), ROLES)} "
                                f"(roles: {', '.join(ROLES)})")
    if problems:
        raise DirectoryFileError(problems)
    return [dict(u) for u in units], [dict(p) for p in people]


def province_of(path: Path) -> str:
    """The ``province:`` a directory file names ('' when none): reports print it in their heading."""
    raw = load_file(path)
    return str(raw.get("province") or "") if isinstance(raw, dict) else ""


def _keys(node: LineDict, allowed: set[str], where: str, problems: list[str]) -> None:
    for k in node:
        if k not in allowed:
            problems.append(f"{where}: unknown key '{k}' {_hint(str(k), allowed)}"
                            f"(allowed: {', '.join(sorted(allowed))})")


def _hint(name: str, known: Any) -> str:
    g = did_you_mean(name, known)
    return f"— did you mean '{g}'? " if g else ""


def _unknown(name: str, known: Any) -> str:
    return f"'{name}' is unknown {_hint(name, known)}".rstrip()


def apply(session: Session, units: list[dict[str, Any]], people: list[dict[str, Any]], today: date
          ) -> dict[str, int]:
    """Upsert units and people; retire (from ``today``) what the file no longer lists. Returns counts."""
    seen_units = set()
    counts = {"units": 0, "people": 0, "units_retired": 0, "people_deactivated": 0}
    for u in units:
        row = session.get(Unit, u["code"]) or Unit(code=u["code"], name_vi=u["name_vi"])
        for key in UNIT_KEYS - {"code"}:
            setattr(row, key, u.get(key, "" if key in ("name_en", "email", "kind") else None))
        session.add(row)
        seen_units.add(u["code"])
        counts["units"] += 1
    for row in session.exec(select(Unit)).all():
        if row.code not in seen_units and (row.active_to is None or row.active_to >= today):
            row.active_to = today - timedelta(days=1)
            session.add(row)
            counts["units_retired"] += 1
    seen_people = set()
    for p in people:
        person = session.get(Person, p["email"]) or Person(email=p["email"], name=p["name"], unit=p["unit"])
        person.name, person.unit, person.roles = p["name"], p["unit"], list(p.get("roles") or [])
        person.lang, person.active = p.get("lang", "vi"), True
        session.add(person)
        seen_people.add(p["email"])
        counts["people"] += 1
    for person in session.exec(select(Person)).all():
        if person.email not in seen_people and person.active:
            person.active = False
            session.add(person)
            counts["people_deactivated"] += 1
    session.flush()
    return counts


def is_active(unit: Unit, on: date) -> bool:
    return (unit.active_from is None or unit.active_from <= on) and (unit.active_to is None or unit.active_to >= on)


def active_unit(session: Session, code: str, on: date) -> Unit:
    """A unit addressable on day ``on``; UnknownUnitError otherwise."""
    unit = session.get(Unit, code)
    if unit is None or not is_active(unit, on):
        active = [u.code for u in session.exec(select(Unit)).all() if is_active(u, on)]
        raise UnknownUnitError(code, active)
    return unit


def supervisor(session: Session, code: str | None) -> Unit | None:
    """The supervising unit of ``code`` (directory ``parent``), for escalation."""
    unit = session.get(Unit, code) if code else None
    return session.get(Unit, unit.parent) if unit and unit.parent else None
