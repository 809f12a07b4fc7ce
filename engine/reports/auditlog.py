"""Reading the log: filtered queries for people, and full exports for outside verifiers.

An export carries every field the hash covers plus the hash itself, one event
per line (JSONL) or row (CSV), so anyone can re-check the chains without our
code: docs/audit.md is the procedure.  Exports stream in batches, so a large
log never sits in memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, seclog
from agreeflow.engine.core.errors import OptionValueError, UnknownUnitError, did_you_mean
from agreeflow.engine.core.i18n import N_, Msg, from_json
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.store import Case, Event, SecurityEvent, Unit
from agreeflow.engine.reports.common import Window

# The canonical fields (engine/audit.py) in reading order, then the hash.
FIELDS = ("case", "seq", "at", "actor", "role", "kind", "from", "to", "trigger", "note", "payload",
          "prev_hash", "hash", "recorded_at", "recorded_by", "origin", "hashed")
"""Export columns.  ``recorded_at``, ``recorded_by``, ``origin`` exist for events recorded since migration
0002; in CSV an older event has ``\\N`` there, and a verifier leaves the three out of the object it hashes.
``hashed`` is the text that was hashed, only where it is not the canonical text of the others (``\\N``
otherwise; docs/audit.md section 2)."""
NULL = r"\N"
"""How CSV writes a null (``from``/``to``/``trigger``/``note``); an empty cell is an empty text."""

KINDS = tuple(EventKind)


def record(ref: str, ev: Event, payload_text: Any = None) -> dict[str, Any]:
    """One event as exported: exactly the canonical fields plus ``hash`` (and ``hashed``, see audit.export_record)."""
    return audit.export_record(ref, ev, payload_text)


_RECORDED_KINDS = sa.text(
    "WITH RECURSIVE k(kind) AS (SELECT min(kind) FROM events UNION ALL"
    " SELECT (SELECT min(e.kind) FROM events e WHERE e.kind > k.kind) FROM k WHERE k.kind IS NOT NULL)"
    " SELECT kind FROM k WHERE kind IS NOT NULL")


def recorded_kinds(s: Session) -> set[str]:
    """The event kinds the log holds, one index probe each (a loose index scan on ``ix_events_kind_at_id``):
    ``SELECT DISTINCT kind`` reads the whole index on PostgreSQL, a million entries under every log page."""
    return {str(k) for k in s.connection().execute(_RECORDED_KINDS).scalars()}


def _check_kind(s: Session, kind: str) -> None:
    known = set(KINDS) | recorded_kinds(s)
    if kind not in known:
        guess = did_you_mean(kind, known)
        raise OptionValueError(option="--kind", value=kind,
                               remedy=Msg(N_("{hint}Kinds: {kinds}"), kinds=sorted(known),
                                          hint=Msg(N_("Did you mean '{guess}'? "), guess=guess) if guess else ""))


def _cases_of_unit(s: Session, unit: str) -> list[int]:
    """Ids of the cases a unit takes part in (the case's unit or a unit/units field)."""
    if s.get(Unit, unit) is None:
        raise UnknownUnitError(unit, s.exec(select(Unit.code)).all())
    ids: list[int] = []
    for case in s.exec(select(Case).where(Case.workflow != cases.SYSTEM_WORKFLOW)).all():
        if case.id is not None and (case.unit == unit or unit in authority.case_units(
                case, cases.definition_of(s, case.workflow, case.version))):
            ids.append(case.id)
    return ids


def query(s: Session, w: Window, case: str | None = None, actor: str | None = None, unit: str | None = None,
          kind: str | None = None) -> list[dict[str, Any]]:
    """Events matching every given filter, oldest first (all cases, including the system chain)."""
    stmt = select(Case.ref, Event).join(Case, col(Case.id) == col(Event.case_id))
    if case:
        stmt = stmt.where(Event.case_id == cases.find(s, case).id)
    if unit:
        stmt = stmt.where(col(Event.case_id).in_(_cases_of_unit(s, unit)))
    if kind:
        _check_kind(s, kind)
        stmt = stmt.where(Event.kind == kind)
    if actor:
        stmt = stmt.where(Event.actor == actor)
    if w.start:
        stmt = stmt.where(Event.at >= w.start)
    if w.end:
        stmt = stmt.where(Event.at < w.end)
    rows = s.exec(stmt.order_by(col(Event.at), col(Event.id))).all()
    return [record(ref, ev) for ref, ev in rows]


def security_query(s: Session, w: Window, kind: str | None = None, actor: str | None = None, lang: str = "vi"
                   ) -> list[dict[str, Any]]:
    """Entries of the security log in the period (by recording time), oldest first, with a one-line summary."""
    stmt = select(SecurityEvent)
    if kind:
        known = [str(k) for k in seclog.SecurityKind]
        if kind not in known:
            guess = did_you_mean(kind, known)
            remedy = Msg(N_("Did you mean '{guess}'? Kinds: {kinds}"), guess=guess, kinds=known) if guess \
                else Msg(N_("Kinds: {kinds}"), kinds=known)
            raise OptionValueError(option="--kind", value=kind, remedy=remedy)
        stmt = stmt.where(SecurityEvent.kind == kind)
    if actor:
        stmt = stmt.where(SecurityEvent.actor == actor)
    if w.start:
        stmt = stmt.where(SecurityEvent.recorded_at >= w.start)
    if w.end:
        stmt = stmt.where(SecurityEvent.recorded_at < w.end)
    return [{"seq": e.seq, "at": audit.fmt_at(e.recorded_at), "actor": e.actor, "kind": e.kind, "origin": e.origin,
             "detail": e.detail, "summary": _summary(e.kind, e.detail or {}, lang), "hash": e.hash}
            for e in s.exec(stmt.order_by(col(SecurityEvent.seq))).all()]


def _summary(kind: str, detail: dict[str, Any], lang: str) -> str:
    """What one entry says, on one line, in ``lang`` (the full detail is in ``--json``)."""
    if kind == seclog.SecurityKind.READ:
        args = [f"{k}={v}" if k not in ("case",) else str(v) for k, v in detail.items() if k != "what"]
        return " ".join([str(detail.get("what", ""))] + args)
    if kind == seclog.SecurityKind.SETTING_CHANGED:
        return f"{detail.get('setting')}: {detail.get('before')} → {detail.get('after')}"
    said = from_json(detail)  # a refusal kept as its message key and values
    if said is not None:
        where = " ".join(str(detail[k]) for k in ("action", "case") if detail.get(k))
        return f"{where}: {said.render(lang)}" if where else said.render(lang)
    if "message" in detail:  # written before messages were kept as keys
        where = " ".join(str(detail[k]) for k in ("action", "case") if detail.get(k))
        return f"{where}: {detail['message']}" if where else str(detail["message"])
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")) if detail else ""


def export_rows(s: Session, w: Window) -> Iterator[dict[str, Any]]:
    """Every event in the period, chain by chain in seq order (what a verifier walks)."""
    for ref, ev, text in audit.chain_rows(s):
        if w.holds(ev.at):
            yield record(ref, ev, text)


def write(rows: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> dict[str, int]:
    """Write ``rows`` as ``jsonl`` or ``csv``; returns how many events and chains were written.

    ``before_recorded_at`` counts the events recorded before migration 0002 (no ``recorded_at``,
    ``recorded_by``, ``origin``): the file keeps exactly their hashed fields, the summary names them.
    """
    if fmt not in ("jsonl", "csv"):
        raise OptionValueError(option="--format", value=fmt, remedy=Msg(N_("Choose jsonl or csv.")))
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(FIELDS)
    events, chains, before = 0, set(), 0
    for row in rows:
        before += "recorded_at" not in row
        if writer:
            writer.writerow([_csv_cell(row.get(k)) for k in FIELDS])
        else:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        events += 1
        chains.add(row["case"])
    return {"events": events, "cases": len(chains), "before_recorded_at": before}


def _csv_cell(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return value
