"""The directory: load a file (admins), check one, show it, and pass a retired unit's work to its successor.

Every change is an event on the system chain with who made it: a load logs
the difference it made (units, people with their roles and positions,
delegations), a transfer logs the cases it moved — and each case moved logs
the move on its own chain.  Refusals are logged too (``base.on_case``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock, definitions
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.errors import OptionValueError
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Delegation, Meta, Person, Unit
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.procedures import transfer as transfer_mod
from agreeflow.engine.service import base
from agreeflow.engine.service.base import iso, now, reading


def load_directory(settings: Settings, path: Path) -> dict[str, Any]:
    """Load a directory file (admins only; idempotent); every problem in the file is reported at once.

    The change is logged on the system chain with who made it and the
    difference it made (units, people, roles, positions, delegations), field by field.
    """
    return load(settings, path, "directory load")


def load(settings: Settings, path: Path, action: str | None) -> dict[str, Any]:
    """Read, check, then apply ``path`` in one transaction; ``action`` None is ``init`` on a new database."""
    data = directory_mod.read_file(path)

    def work(s: Session) -> dict[str, Any]:
        at = now()
        who = base.writer(s, settings, admin=True, action=action).email if action else "agreeflow init"
        result = directory_mod.apply(s, data, clock.to_local(at).date())
        s.merge(Meta(key="province", value=data.province))  # reports print it
        syscase = cases.lock(s, cases.system_case(s, at).id)
        counts = {k: v for k, v in result.items() if k != "diff"}
        audit.append_event(s, syscase, EventKind.DIRECTORY_LOADED, actor=who, note=str(path), at=at,
                           role="admin" if action else "",
                           payload=counts | {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                             "diff": result["diff"]})
        return counts
    return base.on_case(settings, cases.SYSTEM_REF, action or "init", work)


def check_directory(path: Path) -> dict[str, Any]:
    """Check a directory file without a database: its problems (exit 2) and what the workflows miss in it.

    A warning names each unit a workflow's timer or the reminder policies
    charge (``responsible: SNGV``, the coordinating unit) that the file lacks:
    such a file loads, but those deadlines would have nobody to remind.
    """
    data = directory_mod.read_file(path)
    codes = {u.code for u in data.units}
    needed: dict[str, list[str]] = {}
    for defn in definitions.newest():
        for name, state in defn.states.items():
            for timer in state.timers:
                if timer.responsible != "case" and not timer.responsible.startswith("field:"):
                    needed.setdefault(timer.responsible, []).append(f"{defn.id} ({name}.{timer.id})")
    needed.setdefault(reminders.load().coordinator_unit, []).append("reminder-policies.yaml (coordinator_unit)")
    warnings = [f"unit '{code}' is named by {', '.join(where)} but is not in the file"
                for code, where in sorted(needed.items()) if code not in codes]
    return {"file": str(path), "province": data.province, "units": len(data.units), "people": len(data.people),
            "delegations": len(data.delegations), "warnings": warnings}


def directory_show(settings: Settings) -> dict[str, Any]:
    """Every unit (active today or not), every active person with positions, every delegation (a logged read)."""
    with base.reading_for(settings, "directory show") as s:
        today = clock.to_local(now()).date()
        units = [{"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "email": u.email,
                  "parent": u.parent, "kind": u.kind, "active": directory_mod.is_active(u, today),
                  "active_from": iso(u.active_from), "active_to": iso(u.active_to)}
                 for u in s.exec(select(Unit).order_by(col(Unit.code))).all()]
        people = [{"email": p.email, "name": p.name, "unit": p.unit, "roles": p.roles, "active": p.active,
                   "title": p.title, "phone": p.phone, "positions": p.positions}
                  for p in s.exec(select(Person).order_by(col(Person.unit), col(Person.email))).all()]
        delegations = [directory_mod.delegation_view(d) | {"in_force": d.valid_from <= today and
                                                           (d.valid_to is None or d.valid_to >= today)}
                       for d in s.exec(select(Delegation).order_by(col(Delegation.valid_from),
                                                                   col(Delegation.id))).all()]
    return {"units": units, "people": people, "delegations": delegations}


def transfer(settings: Settings, old: str, new: str, since: str, dry_run: bool = False,
             note: str | None = None) -> dict[str, Any]:
    """Move the open cases and open deadlines of the retired unit ``old`` to ``new`` from ``since``.

    Admins only (the refusal is logged on the system chain).  ``dry_run``
    lists what would move and writes nothing (anyone may look).  Input that
    cannot be — an unknown or still active OLD, a NEW not active, a day not
    yet come — is exit 2 with nothing written.
    """
    try:
        day = parse_date(since)
    except ValueError:
        raise OptionValueError(option="--from", value=since,
                               remedy=Msg(N_("Give a date as YYYY-MM-DD or dd/mm/yyyy, e.g. 2025-07-01."))
                               ) from None

    def result(moves: list[transfer_mod.CaseMove]) -> dict[str, Any]:
        return {"from_unit": old, "to_unit": new, "effective_from": day.isoformat(), "dry_run": dry_run,
                "cases": [m.to_json() for m in moves], "deadlines": sum(len(m.deadlines) for m in moves)}
    if dry_run:
        with reading(settings) as s:
            transfer_mod.check(s, old, new, day, clock.to_local(now()).date())
            return result(transfer_mod.plan(s, old, new))

    def work(s: Session) -> dict[str, Any]:
        at = now()
        who = base.writer(s, settings, admin=True, action="directory transfer")
        transfer_mod.check(s, old, new, day, clock.to_local(at).date())
        return result(transfer_mod.transfer(s, old, new, day, who.email, at, note=note,
                                            ordered=clock.is_simulated()))
    return base.on_case(settings, cases.SYSTEM_REF, "directory transfer", work)
