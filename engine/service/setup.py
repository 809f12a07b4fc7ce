"""Setting up a database: the schema, the system chain, the directory of units and people."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from agreeflow.engine.core import audit, authority, cases, clock, db
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Meta, Person, Unit
from agreeflow.engine.service.base import iso, now, reading, writing


def init(settings: Settings, directory_file: Path | None = None) -> dict[str, Any]:
    """Create or upgrade the schema, create the system chain, load the directory if empty."""
    rev = db.upgrade(settings)
    with writing(settings) as s:
        cases.system_case(s, now())
        empty = s.exec(select(Unit.code)).first() is None
    loaded = None
    if directory_file is not None or empty:
        loaded = load_directory(settings, directory_file or directory_mod.SAMPLE, actor="agreeflow init")
    return {"database": settings.url, "revision": rev, "directory": loaded,
            "data_dir": str(settings.data_dir)}


def load_directory(settings: Settings, path: Path, actor: str | None = None) -> dict[str, Any]:
    """Load a directory file (idempotent); every problem in the file is reported at once."""
    units, people = directory_mod.read_file(path)
    at = now()
    with writing(settings) as s:
        who = actor or authority.writer(s, settings.user, admin=True).email
        counts = directory_mod.apply(s, units, people, clock.to_local(at).date())
        s.merge(Meta(key="province", value=directory_mod.province_of(path)))  # reports print it
        syscase = cases.lock(s, cases.system_case(s, at).id)
        audit.append_event(s, syscase, EventKind.DIRECTORY_LOADED, actor=who, note=str(path), at=at,
                           payload=counts | {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return counts


def directory_show(settings: Settings) -> dict[str, Any]:
    """Every unit (active today or not) and every active person."""
    with reading(settings) as s:
        today = clock.to_local(now()).date()
        units = [{"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "email": u.email,
                  "parent": u.parent, "kind": u.kind, "active": directory_mod.is_active(u, today),
                  "active_from": iso(u.active_from), "active_to": iso(u.active_to)}
                 for u in s.exec(select(Unit).order_by(col(Unit.code))).all()]
        people = [{"email": p.email, "name": p.name, "unit": p.unit, "roles": p.roles, "active": p.active}
                  for p in s.exec(select(Person).order_by(col(Person.unit), col(Person.email))).all()]
    return {"units": units, "people": people}
