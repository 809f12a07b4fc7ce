"""Setting up a database: the schema, the system chain, the directory of units and people."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock, db
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.errors import OptionValueError
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Meta, Person, Unit
from agreeflow.engine.service import base
from agreeflow.engine.service.base import iso, now, reading, writing


def init(settings: Settings, directory_file: Path | None = None, simulation: bool = False) -> dict[str, Any]:
    """Create or upgrade the schema and the system chain; a new database gets the directory.

    ``simulation`` declares a NEW database a simulation (the demo, tests,
    training): only there may a simulated clock (``--now``) and self-declared
    identities (``--as``) be used.  A database's kind never changes after it
    is created.  On an existing database the directory is reloaded only when
    a file is given, and only by an admin (``load_directory``).
    """
    rev = db.upgrade(settings)
    with db.write(settings) as s:  # before the clock check: this transaction decides the kind
        fresh = s.exec(select(Unit.code)).first() is None and s.get(Meta, base.SIMULATION_KEY) is None
        if fresh:
            base.set_meta(s, base.SIMULATION_KEY, "true" if simulation else "false")
        kind_is_simulation = (s.get(Meta, base.SIMULATION_KEY) or Meta(key="", value="")).value == "true"
    if simulation and not kind_is_simulation:
        raise OptionValueError(option="--simulation", value="true",
                               remedy_vi="Cơ sở dữ liệu này đã được tạo là cơ sở dữ liệu thật; "
                                         "không thể đổi thành mô phỏng. Tạo một cơ sở dữ liệu mới.",
                               remedy_en="This database was created as a real one; it cannot become a "
                                         "simulation. Create a new database.")
    with writing(settings) as s:
        cases.system_case(s, now())
    loaded = None
    if fresh:
        loaded = _load(settings, directory_file or directory_mod.SAMPLE, None)
    elif directory_file is not None:
        loaded = load_directory(settings, directory_file)
    return {"database": db.safe_url(settings.url), "revision": rev, "directory": loaded,
            "data_dir": str(settings.data_dir), "simulation": kind_is_simulation}


def load_directory(settings: Settings, path: Path) -> dict[str, Any]:
    """Load a directory file (admins only; idempotent); every problem in the file is reported at once.

    The change is logged on the system chain with who made it and the
    difference it made (units, people, roles), field by field.
    """
    return _load(settings, path, "directory load")


def _load(settings: Settings, path: Path, action: str | None) -> dict[str, Any]:
    units, people = directory_mod.read_file(path)
    at = now()

    def work(s: Session) -> dict[str, Any]:
        who = base.writer(s, settings, admin=True, action=action).email if action else "agreeflow init"
        result = directory_mod.apply(s, units, people, clock.to_local(at).date())
        s.merge(Meta(key="province", value=directory_mod.province_of(path)))  # reports print it
        syscase = cases.lock(s, cases.system_case(s, at).id)
        counts = {k: v for k, v in result.items() if k != "diff"}
        audit.append_event(s, syscase, EventKind.DIRECTORY_LOADED, actor=who, note=str(path), at=at,
                           role="admin" if action else "",
                           payload=counts | {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                             "diff": result["diff"]})
        return counts
    return base.on_case(settings, cases.SYSTEM_REF, action or "init", work)


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
