"""The transition log: append-only, SHA-256 hash-chained per case.

``append_event`` is the only writer of the ``events`` table.  Each event's
hash covers a canonical serialisation of the event including the previous
event's hash, so editing, removing or reordering any event breaks every hash
after it.  The database refuses UPDATE and DELETE on ``events`` (triggers in
the first migration); ``verify`` catches whoever drops the trigger anyway.

Canonical form (documented for outside verifiers in docs/audit.md): UTF-8 JSON
with sorted keys, no spaces (separators ``,`` and ``:``), non-ASCII kept, of
``{"case", "seq", "at", "actor", "role", "kind", "from", "to", "trigger",
"note", "payload", "prev_hash"}`` and — for every event written since the
two times were introduced — ``"recorded_at", "recorded_by", "origin"``;
times are UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; the first event's
``prev_hash`` is 64 zeros.  An event written before (``recorded_at`` NULL)
keeps its old form, so its stored hash still verifies.

Two times.  ``at`` is when the event took effect; ``recorded_at`` is when it
was written, from the real clock, never from an option.  Every event a
transaction appends shares one :class:`Recording` (when, from where, typed
by whom), declared once by the service layer with :func:`start_recording`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.store import Case, Event

GENESIS = "0" * 64


def fmt_at(at: datetime) -> str:
    """The canonical UTC text of an event time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# One encoder for every event: json.dumps with these options builds a new one per call.
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class Recording:
    """When, from where and by whom a transaction writes: the same for every event it appends."""

    at: datetime
    """The real time of writing (``recorded_at``)."""
    origin: str
    """``cli:<os account>@<host>``, ``web:<address>``, ``worker:<node>``."""
    recorded_by: str = ""
    """The person who typed it when that is not the actor (an admin acting on behalf of someone)."""
    late: dict[str, str] | None = None
    """``{"effective", "reason"}`` when the command records what took effect earlier ("ghi nhận muộn")."""


_RECORDING = "agreeflow.recording"
LATE_ENTRY = "late_entry"
"""Payload key of an event recorded after it took effect: ``{"effective", "reason"}``."""


def start_recording(session: Session, rec: Recording) -> Recording:
    """Declare how this transaction records; every append_event in it uses ``rec``."""
    session.info[_RECORDING] = rec
    return rec


def is_recording(session: Session) -> bool:
    """True inside a write transaction that declared its recording."""
    return _RECORDING in session.info


def recording(session: Session) -> Recording:
    """The transaction's :class:`Recording`; a write without one is a programming error."""
    rec = session.info.get(_RECORDING)
    if rec is None:
        raise RuntimeError("events are appended only inside a transaction opened by engine.service "
                           "(audit.start_recording was not called)")
    return rec  # type: ignore[no-any-return]


def canonical(case_ref: str, seq: int, at: datetime, actor: str, role: str, kind: str,
              from_state: str | None, to_state: str | None, trigger: str | None,
              note: str | None, payload: dict[str, Any], prev_hash: str,
              recorded_at: datetime | None = None, recorded_by: str = "", origin: str = "") -> bytes:
    """The bytes that are hashed for one event."""
    return _canonical(case_ref, seq, fmt_at(at), actor, role, kind, from_state, to_state, trigger, note,
                      payload, prev_hash, fmt_at(recorded_at) if recorded_at else None, recorded_by, origin)


def _canonical(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
               from_state: str | None, to_state: str | None, trigger: str | None,
               note: str | None, payload: dict[str, Any], prev_hash: str,
               recorded_text: str | None = None, recorded_by: str = "", origin: str = "") -> bytes:
    return _encode(canonical_doc(case_ref, seq, at_text, actor, role, kind, from_state, to_state, trigger, note,
                                 payload, prev_hash, recorded_text, recorded_by, origin)).encode("utf-8")


def canonical_doc(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
                  from_state: str | None, to_state: str | None, trigger: str | None,
                  note: str | None, payload: dict[str, Any], prev_hash: str,
                  recorded_text: str | None = None, recorded_by: str = "", origin: str = "") -> dict[str, Any]:
    """The object whose canonical JSON is hashed (and which an export writes, plus ``hash``)."""
    doc = {"case": case_ref, "seq": seq, "at": at_text, "actor": actor, "role": role,
           "kind": kind, "from": from_state, "to": to_state, "trigger": trigger,
           "note": note, "payload": payload, "prev_hash": prev_hash}
    if recorded_text is not None:
        doc |= {"recorded_at": recorded_text, "recorded_by": recorded_by, "origin": origin}
    return doc


def event_hash(case_ref: str, ev: Event) -> str:
    """The hash ``ev`` must carry."""
    return hashlib.sha256(canonical(case_ref, ev.seq, ev.at, ev.actor, ev.role, ev.kind, ev.from_state,
                                    ev.to_state, ev.trigger, ev.note, ev.payload or {}, ev.prev_hash,
                                    ev.recorded_at, ev.recorded_by, ev.origin)).hexdigest()


_HEADS = "agreeflow.heads"


def head(session: Session, case_id: int) -> tuple[int, str, datetime | None]:
    """(last seq, last hash, last effective time) of a case's chain; (0, GENESIS, None) for a new case.

    Remembered for the rest of the transaction once read: the caller holds
    the case's row lock, so nobody else can append meanwhile.
    """
    heads: dict[int, tuple[int, str, datetime | None]] = session.info.setdefault(_HEADS, {})
    if case_id not in heads:
        row = session.exec(select(Event.seq, Event.hash, Event.at).where(Event.case_id == case_id)
                           .order_by(col(Event.seq).desc()).limit(1)).first()
        heads[case_id] = (row[0], row[1], row[2]) if row else (0, GENESIS, None)
    return heads[case_id]


def append_event(session: Session, case: Case, kind: EventKind, *, at: datetime, actor: str = "", role: str = "",
                 from_state: str | None = None, to_state: str | None = None, trigger: str | None = None,
                 note: str | None = None, payload: dict[str, Any] | None = None) -> Event:
    """Append one event to ``case``'s chain in the caller's transaction.

    ``at`` is when it takes effect — the instant of the command, or the
    effective time it was given (never read here from the clock: one command,
    one instant); ``recorded_at``, ``recorded_by`` and ``origin`` come from
    the transaction's :class:`Recording`.  The caller holds the case row lock
    (FOR UPDATE), so the chain stays linear; the UNIQUE(case_id, seq)
    constraint is the backstop.
    """
    assert case.id is not None
    rec = recording(session)
    seq, prev, _ = head(session, case.id)
    body = payload or {}
    if rec.late is not None:
        body = {**body, LATE_ENTRY: rec.late}
    ev = Event(case_id=case.id, seq=seq + 1, at=at, actor=actor, role=role, kind=kind,
               from_state=from_state, to_state=to_state, trigger=trigger, note=note,
               payload=body, prev_hash=prev, hash="", recorded_at=rec.at,
               recorded_by=rec.recorded_by, origin=rec.origin)
    ev.hash = event_hash(case.ref, ev)
    session.add(ev)
    session.info[_HEADS][case.id] = (ev.seq, ev.hash, at)
    return ev


def forget_heads(session: Session) -> None:
    """Drop the remembered chain heads (after a savepoint was rolled back)."""
    session.info.pop(_HEADS, None)


def last_effective(session: Session, case_id: int) -> datetime | None:
    """When the case's last event took effect (None for a case with no events)."""
    return head(session, case_id)[2]


def event_view(e: Event) -> dict[str, Any]:
    """One event as users read it (``--json``): the canonical fields, the hash, and the recording."""
    return {"seq": e.seq, "at": fmt_at(e.at), "actor": e.actor, "role": e.role, "kind": e.kind,
            "from": e.from_state, "to": e.to_state, "trigger": e.trigger, "note": e.note,
            "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash,
            "recorded_at": fmt_at(e.recorded_at) if e.recorded_at else None, "recorded_by": e.recorded_by,
            "origin": e.origin}


def export_record(ref: str, e: Event) -> dict[str, Any]:
    """One event as exported for outside verification: exactly the hashed fields, plus ``hash``."""
    return canonical_doc(ref, e.seq, fmt_at(e.at), e.actor, e.role, e.kind, e.from_state, e.to_state, e.trigger,
                         e.note, e.payload or {}, e.prev_hash, fmt_at(e.recorded_at) if e.recorded_at else None,
                         e.recorded_by, e.origin) | {"hash": e.hash}


@dataclass
class Break:
    """The first broken event of one case's chain."""

    case: str
    seq: int
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "seq": self.seq, "problem": self.problem}


def verify_rows(rows: Iterable[tuple[str, Event]]) -> tuple[int, int, list[Break]]:
    """Check chains given (case ref, event) rows ordered by case then seq.

    Returns (events checked, cases checked, first break of each broken case).
    """
    return _check_chains(((ref, ev.seq, ev.prev_hash, ev.hash, ev) for ref, ev in rows),
                         lambda row: event_hash(row[0], row[4]))


def verify_log(session: Session, case_id: int | None = None, batch: int = 5000) -> tuple[int, int, list[Break]]:
    """``verify_rows`` over the stored log (or one case's chain), reading plain SQL rows.

    Same result as ``verify_rows(chain_rows(session, case_id))``, several times
    faster on large logs: no ORM object per event, and the stored time text is
    turned into the canonical one without building a datetime.
    """
    where = " WHERE e.case_id = :case_id" if case_id is not None else ""
    result = session.connection().execute(sa.text(_CHAIN_SQL.format(where=where)), {"case_id": case_id},
                                          execution_options={"stream_results": True})
    return _check_chains((row for part in result.partitions(batch) for row in part), _stored_hash)


_CHAIN_SQL = ('SELECT c.ref, e.seq, e.prev_hash, e.hash, e.at, e.actor, e.role, e.kind, e.from_state, e.to_state,'
              ' e."trigger", e.note, e.payload, e.recorded_at, e.recorded_by, e.origin'
              ' FROM events e JOIN cases c ON c.id = e.case_id{where} ORDER BY e.case_id, e.seq')


def _stored_hash(row: Any) -> str:
    """The hash a row of ``_CHAIN_SQL`` should carry (as ``event_hash`` computes it)."""
    (ref, seq, prev_hash, _, at, actor, role, kind, from_state, to_state, trigger, note, payload,
     recorded_at, recorded_by, origin) = row
    if isinstance(payload, (str, bytes)):  # SQLite hands JSON back as text; PostgreSQL already parsed
        payload = json.loads(payload)
    recorded = _stored_at_text(recorded_at) if recorded_at is not None else None
    return hashlib.sha256(_canonical(ref, seq, _stored_at_text(at), actor, role, kind, from_state, to_state,
                                     trigger, note, payload or {}, prev_hash, recorded, recorded_by,
                                     origin)).hexdigest()


def _stored_at_text(value: Any) -> str:
    """The canonical text of a stored event time: naive UTC text (SQLite) or a datetime."""
    if isinstance(value, str):
        # SQLAlchemy's SQLite format "YYYY-MM-DD HH:MM:SS.ffffff" differs from ours only in two characters.
        if len(value) == 26 and value[10] == " " and value[19] == "." and value[0] != "0":
            return f"{value[:10]}T{value[11:]}Z"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return fmt_at(value)


def _check_chains(rows: Iterable[Any], content_hash: Callable[[Any], str]) -> tuple[int, int, list[Break]]:
    """Walk rows ``(ref, seq, prev_hash, hash, …)`` ordered by case then seq.

    ``content_hash(row)`` recomputes a row's hash; it is called only while the
    row's chain is still sound.
    """
    breaks: list[Break] = []
    current, expected_seq, prev, broken = None, 0, GENESIS, False
    n_events = n_cases = 0
    for row in rows:
        ref, seq, prev_hash, stored = row[0], row[1], row[2], row[3]
        n_events += 1
        if ref != current:
            current, expected_seq, prev, broken = ref, 1, GENESIS, False
            n_cases += 1
        if broken:
            continue
        problem = ""
        if seq != expected_seq:
            problem = f"expected seq {expected_seq}, found {seq} (event missing or reordered)"
        elif prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        elif content_hash(row) != stored:
            problem = "hash does not match the event's content (event edited)"
        if problem:
            breaks.append(Break(ref, expected_seq if seq != expected_seq else seq, problem))
            broken = True
        prev, expected_seq = stored, expected_seq + 1
    return n_events, n_cases, breaks


def chain_rows(session: Session, case_id: int | None = None, batch: int = 5000) -> Iterable[tuple[str, Event]]:
    """Stream (ref, event) ordered by case, seq — in batches, for large logs."""
    stmt = select(Case.ref, Event).join(Case, col(Case.id) == col(Event.case_id))
    if case_id is not None:
        stmt = stmt.where(Event.case_id == case_id)
    stmt = stmt.order_by(col(Event.case_id), col(Event.seq)).execution_options(yield_per=batch)
    yield from session.exec(stmt)


def heads(session: Session) -> list[tuple[str, int, str]]:
    """(case ref, last seq, last hash) of every chain, ordered by ref."""
    sub = select(Event.case_id, sa.func.max(Event.seq).label("mx")).group_by(col(Event.case_id)).subquery()
    stmt = (select(Case.ref, Event.seq, Event.hash).join(Case, col(Case.id) == col(Event.case_id))
            .join(sub, sa.and_(sub.c.case_id == Event.case_id, sub.c.mx == Event.seq)).order_by(Case.ref))
    return [(r, s, h) for r, s, h in session.exec(stmt)]
