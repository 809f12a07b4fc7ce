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

The payload as stored.  ``events.payload`` is written as its canonical text
(store.CanonicalJSON), so the hashed bytes are the canonical text of the
other fields with the payload's stored text in its place — and ``audit
verify`` hashes that text as it is (:func:`hashed_text`) instead of parsing
and re-encoding it.  A stored hash is accepted when it is the hash of either
text: the payload as stored (when that is one JSON object) or re-encoded
(:func:`canonical_bytes`; every event written before the payload was stored
canonical).  Both say the same fields; the export carries the text that was
hashed whenever it is not the re-encoded one (docs/audit.md section 2).

Two times.  ``at`` is when the event took effect; ``recorded_at`` is when it
was written, from the real clock, never from an option.  Every event a
transaction appends shares one :class:`Recording` (when, from where, typed
by whom), declared once by the service layer with :func:`start_recording`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core.i18n import N_, Msg, join, show
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.notes import stored
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.store import Case, Event, canonical_json

GENESIS = "0" * 64


def fmt_at(at: datetime) -> str:
    """The canonical UTC text of an event time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# One encoder for every event: json.dumps with these options builds a new one per call.
_encode = canonical_json
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


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
    return canonical_bytes(case_ref, seq, fmt_at(at), actor, role, kind, from_state, to_state, trigger, note,
                           payload, prev_hash, fmt_at(recorded_at) if recorded_at else None, recorded_by, origin)


def canonical_bytes(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
                    from_state: str | None, to_state: str | None, trigger: str | None,
                    note: str | None, payload: Any, prev_hash: str,
                    recorded_text: str | None = None, recorded_by: str = "", origin: str = "") -> bytes:
    """The hashed bytes of an event given its times as canonical text (the reference: :func:`canonical_doc`)."""
    return _encode(canonical_doc(case_ref, seq, at_text, actor, role, kind, from_state, to_state, trigger, note,
                                 payload, prev_hash, recorded_text, recorded_by, origin)).encode("utf-8")


def canonical_doc(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
                  from_state: str | None, to_state: str | None, trigger: str | None,
                  note: str | None, payload: Any, prev_hash: str,
                  recorded_text: str | None = None, recorded_by: str = "", origin: str = "") -> dict[str, Any]:
    """The object whose canonical JSON is hashed (and which an export writes, plus ``hash``)."""
    doc = {"case": case_ref, "seq": seq, "at": at_text, "actor": actor, "role": role,
           "kind": kind, "from": from_state, "to": to_state, "trigger": trigger,
           "note": note, "payload": payload, "prev_hash": prev_hash}
    if recorded_text is not None:
        doc |= {"recorded_at": recorded_text, "recorded_by": recorded_by, "origin": origin}
    return doc


def stored_object(text: Any) -> dict[str, Any] | None:
    """The payload a stored text holds when it can be hashed as it is: one JSON object, nothing around it."""
    if not isinstance(text, str):
        return None
    try:
        obj, end = _scan(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    return obj if end == len(text) and type(obj) is dict else None


def hashed_text(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
                from_state: str | None, to_state: str | None, trigger: str | None, note: str | None,
                payload_text: str, prev_hash: str, recorded_text: str | None = None, recorded_by: str = "",
                origin: str = "") -> str:
    """The hashed text of an event whose payload is hashed as stored (the reference).

    The canonical JSON of :func:`canonical_doc` with ``payload`` written as
    ``payload_text`` itself; the same as ``canonical_bytes(...).decode()``
    whenever ``payload_text`` is the payload's canonical text, as agreeflow
    writes it.  ``payload_text`` must be one JSON object (:func:`stored_object`).
    """
    doc = canonical_doc(case_ref, seq, at_text, actor, role, kind, from_state, to_state, trigger, note, None,
                        prev_hash, recorded_text, recorded_by, origin)
    return "{" + ",".join(f"{_encode(k)}:{payload_text if k == 'payload' else _encode(v)}"
                          for k, v in sorted(doc.items())) + "}"


def matching_text(case_ref: str, seq: int, at_text: str, actor: str, role: str, kind: str,
                  from_state: str | None, to_state: str | None, trigger: str | None, note: str | None,
                  payload_text: Any, prev_hash: str, recorded_text: str | None, recorded_by: str, origin: str,
                  digest: str) -> tuple[str | None, Any]:
    """(the text whose SHA-256 is ``digest``, or None; the payload parsed) — the rule ``audit verify`` applies.

    The payload as stored when it is one JSON object, else (and when that does not
    match) the payload re-encoded: events written before payloads were stored
    canonical, and any whose text was respelt without changing what it says.
    ``payload_text`` is the column as stored (text, or what the driver parsed).
    """
    obj = stored_object(payload_text)
    if obj is not None:
        try:
            text = hashed_text(case_ref, seq, at_text, actor, role, kind, from_state, to_state, trigger, note,
                               payload_text, prev_hash, recorded_text, recorded_by, origin)
            if hashlib.sha256(text.encode("utf-8")).hexdigest() == digest:
                return text, obj
        except (TypeError, ValueError, UnicodeEncodeError):
            pass  # a column no JSON text spells (or no UTF-8 encodes): the other form cannot match either
    payload = payload_text
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None, None  # not JSON at all: no hash can match
    payload = payload or {}
    try:
        blob = canonical_bytes(case_ref, seq, at_text, actor, role, kind, from_state, to_state, trigger, note,
                               payload, prev_hash, recorded_text, recorded_by, origin)
    except (TypeError, ValueError, UnicodeEncodeError):
        return None, payload  # a value no JSON text spells (or no UTF-8 encodes): no hash can match
    return (blob.decode("utf-8") if hashlib.sha256(blob).hexdigest() == digest else None), payload


# The canonical form assembled by hand, for the verifier's inner loop.  Keys in sorted order;
# every string goes through the very function the JSON encoder uses (encode_basestring), so
# the text is the one hashed_text(...) gives — CanonicalText returns None for any value it
# would have to spell differently, and the caller then takes the reference path.
_q = encode_basestring
_FORM_LIMIT = 10_000


class CanonicalText:
    """The hashed text of an event given its payload's text, fast.

    Most of an event — actor, role, kind, states, trigger, note, origin — repeats
    from one event to the next; the encoded text of those parts is built once
    per combination (:meth:`form`, a format with slots for the rest) and reused.
    A call returns what :func:`hashed_text` returns — ``canonical_bytes(...).decode()``
    when the payload's text is its canonical JSON — or None.  ``prev_hash`` must
    already be known to be 64 hex digits (the verifier compares it with the
    previous hash first) and ``case_json`` is ``encode_basestring(case ref)``.
    """

    def __init__(self) -> None:
        self._forms: dict[tuple[Any, ...], str | None] = {}

    def __call__(self, case_json: str, seq: Any, at_text: Any, actor: Any, role: Any, kind: Any, from_state: Any,
                 to_state: Any, trigger: Any, note: Any, payload_json: str, prev_hash: str, recorded_text: Any,
                 recorded_by: Any, origin: Any) -> str | None:
        if type(seq) is not int:  # bool or float would be spelled otherwise
            return None
        new = recorded_text is not None
        key = (actor, role, kind, from_state, to_state, trigger, note, recorded_by, origin, new)
        form = self._forms.get(key, "")
        if form == "":
            if len(self._forms) >= _FORM_LIMIT:
                self._forms.clear()
            form = self._forms[key] = self.form(*key)
        if form is None or type(at_text) is not str:
            return None
        if new:
            if type(recorded_text) is not str:
                return None
            return form % (_q(at_text), case_json, payload_json, prev_hash, _q(recorded_text), seq)
        return form % (_q(at_text), case_json, payload_json, prev_hash, seq)

    @staticmethod
    def form(actor: Any, role: Any, kind: Any, from_state: Any, to_state: Any, trigger: Any, note: Any,
             recorded_by: Any, origin: Any, new: bool) -> str | None:
        """The hashed text with %-slots: (at, case, payload, prev_hash[, recorded_at], seq) — the first, the
        second and the recorded time quoted JSON strings, the seq an int; None if a value is not text."""
        def j(v: Any) -> str:
            return "null" if v is None else str(_q(v)).replace("%", "%%")
        try:
            head = '{"actor":' + j(actor) + ',"at":%s,"case":%s,"from":' + j(from_state) + ',"kind":' + j(kind) \
                + ',"note":' + j(note)
            tail = ',"role":' + j(role) + ',"seq":%d,"to":' + j(to_state) + ',"trigger":' + j(trigger) + "}"
            if new:
                return head + ',"origin":' + j(origin) + ',"payload":%s,"prev_hash":"%s","recorded_at":%s,' \
                    '"recorded_by":' + j(recorded_by) + tail
            return head + ',"payload":%s,"prev_hash":"%s"' + tail
        except TypeError:  # a value of another type than the columns hold: the reference spells it
            return None


def stored_at_text(value: Any) -> str:
    """The canonical text of a stored event time: naive UTC text (SQLite) or a datetime."""
    if isinstance(value, str):
        # SQLAlchemy's SQLite format "YYYY-MM-DD HH:MM:SS.ffffff" differs from ours only in two characters.
        if len(value) == 26 and value[10] == " " and value[19] == "." and value[0] != "0":
            return f"{value[:10]}T{value[11:]}Z"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return fmt_at(value)


def event_hash(case_ref: str, ev: Event) -> str:
    """The hash :func:`append_event` gives ``ev``: of its canonical text (its payload is stored as written there)."""
    return hashlib.sha256(canonical(case_ref, ev.seq, ev.at, ev.actor, ev.role, ev.kind, ev.from_state,
                                    ev.to_state, ev.trigger, ev.note, ev.payload or {}, ev.prev_hash,
                                    ev.recorded_at, ev.recorded_by, ev.origin)).hexdigest()


_HEADS = "agreeflow.heads"


@dataclass(frozen=True)
class Head:
    """The last event of a case's chain, as the next append needs it."""

    seq: int
    hash: str
    at: datetime | None
    recorded_at: datetime | None


def head(session: Session, case_id: int) -> Head:
    """The last event of a case's chain; ``Head(0, GENESIS, None, None)`` for a new case.

    Remembered for the rest of the transaction once read: the caller holds
    the case's row lock, so nobody else can append meanwhile.
    """
    heads: dict[int, Head] = session.info.setdefault(_HEADS, {})
    if case_id not in heads:
        # Straight to the connection: events are never pending in the session (append_event inserts them).
        row = _HEAD.run(session, {"case_id": case_id}).first()
        heads[case_id] = Head(row[0], row[1], row[2], row[3]) if row else Head(0, GENESIS, None, None)
    return heads[case_id]


_HEAD = Prepared(sa.select(col(Event.seq), col(Event.hash), col(Event.at), col(Event.recorded_at))
                 .where(col(Event.case_id) == sa.bindparam("case_id")).order_by(col(Event.seq).desc()).limit(1))


def load_heads(session: Session, case_ids: Iterable[int]) -> None:
    """Read the chain heads of many cases in one query (for a batch of appends); the caller holds their locks.

    What :func:`head` would read one case at a time, remembered the same way.
    """
    heads: dict[int, Head] = session.info.setdefault(_HEADS, {})
    wanted = sorted({i for i in case_ids if i not in heads})
    if not wanted:
        return
    last = (select(Event.case_id, sa.func.max(Event.seq).label("seq"))
            .where(col(Event.case_id).in_(wanted)).group_by(col(Event.case_id)).subquery())
    rows = session.connection().execute(
        sa.select(col(Event.case_id), col(Event.seq), col(Event.hash), col(Event.at), col(Event.recorded_at))
        .join(last, sa.and_(col(Event.case_id) == last.c.case_id, col(Event.seq) == last.c.seq))).all()
    for case_id in wanted:
        heads[case_id] = Head(0, GENESIS, None, None)
    for case_id, seq, digest, at, recorded_at in rows:
        heads[case_id] = Head(seq, digest, at, recorded_at)


_INSERT_EVENT = Prepared(sa.insert(Event))
"""An event is a row to write, not an object for the unit of work to track (nobody updates it)."""
_INSERT_EVENTS = sa.insert(Event)
"""The same INSERT for a batch of rows (one executemany through SQLAlchemy; Prepared runs one row)."""


def append_event(session: Session, case: Case, kind: EventKind, *, at: datetime, actor: str = "", role: str = "",
                 from_state: str | None = None, to_state: str | None = None, trigger: str | None = None,
                 note: str | Msg | None = None, payload: dict[str, Any] | None = None) -> Head:
    """Append one event to ``case``'s chain in the caller's transaction.

    ``at`` is when it takes effect — the instant of the command, or the
    effective time it was given (never read here from the clock: one command,
    one instant); ``recorded_at``, ``recorded_by`` and ``origin`` come from
    the transaction's :class:`Recording`.  The caller holds the case row lock
    (FOR UPDATE), so the chain stays linear; the UNIQUE(case_id, seq)
    constraint is the backstop.  The row is inserted at once, in the
    transaction (no ORM object: the unit of work has nothing to track); the
    new head of the chain is returned.  A ``note`` the engine writes is a
    message (``i18n.Msg``): it is kept in the payload as a message key with its
    values (``notes.stored``), a person's note as their text.
    """
    assert case.id is not None
    row, new = _next_row(recording(session), head(session, case.id), case.id, case.ref, kind, at, actor, role,
                         from_state, to_state, trigger, note, payload)
    _INSERT_EVENT.run(session, row)
    session.info[_HEADS][case.id] = new
    return new


def append_events(session: Session, events: Iterable[tuple[Case, dict[str, Any]]], kind: EventKind, *,
                  at: datetime, actor: str = "", role: str = "") -> int:
    """Append one ``kind`` event per ``(case, payload)``, in that order, to each case's chain: one INSERT.

    Every event is the one :func:`append_event` would write, called once per
    pair (same hash chain, same times, same recording); only the database
    work is shared: the heads of all the cases are read in one query
    (:func:`load_heads`) and the rows inserted in one executemany.  The
    caller holds every case's row lock.  Returns how many were appended.
    """
    todo = list(events)
    if not todo:
        return 0
    rec = recording(session)
    load_heads(session, (c.id for c, _ in todo if c.id is not None))
    heads: dict[int, Head] = session.info[_HEADS]
    rows = []
    for case, payload in todo:
        assert case.id is not None
        row, heads[case.id] = _next_row(rec, heads[case.id], case.id, case.ref, kind, at, actor, role,
                                        None, None, None, None, payload)
        rows.append(row)
    try:
        session.connection().execute(_INSERT_EVENTS, rows)
    except BaseException:
        forget_heads(session)  # the heads above were not written
        raise
    return len(rows)


def _next_row(rec: Recording, last: Head, case_id: int, case_ref: str, kind: str, at: datetime, actor: str,
              role: str, from_state: str | None, to_state: str | None, trigger: str | None, note: str | Msg | None,
              payload: dict[str, Any] | None) -> tuple[dict[str, Any], Head]:
    """The row of the event that follows ``last`` in its chain, and the chain's new head."""
    # The transaction read the clock before it waited for this case's lock: a writer that
    # started later but took the lock first may have recorded a later time.  The event is
    # written after that one, so it is recorded no earlier (verify requires it, audit.md).
    recorded = rec.at if last.recorded_at is None or last.recorded_at <= rec.at else last.recorded_at
    body = payload or {}
    if isinstance(note, Msg):  # the engine's own words: a message key and its values, read in each reader's language
        note, body = stored(note, body)
    if rec.late is not None:
        body = {**body, LATE_ENTRY: rec.late}
    seq = last.seq + 1
    digest = hashlib.sha256(canonical(case_ref, seq, at, actor, role, kind, from_state, to_state, trigger, note,
                                      body, last.hash, recorded, rec.recorded_by, rec.origin)).hexdigest()
    row = {"case_id": case_id, "seq": seq, "at": at, "actor": actor, "role": role, "kind": kind,
           "from_state": from_state, "to_state": to_state, "trigger": trigger, "note": note, "payload": body,
           "prev_hash": last.hash, "hash": digest, "recorded_at": recorded, "recorded_by": rec.recorded_by,
           "origin": rec.origin}
    return row, Head(seq, digest, at, recorded)


def forget_heads(session: Session) -> None:
    """Drop the remembered chain heads (after a savepoint was rolled back)."""
    session.info.pop(_HEADS, None)


def last_effective(session: Session, case_id: int) -> datetime | None:
    """When the case's last event took effect (None for a case with no events)."""
    return head(session, case_id).at


def event_view(e: Event) -> dict[str, Any]:
    """One event as users read it (``--json``): the canonical fields, the hash, and the recording."""
    return {"seq": e.seq, "at": fmt_at(e.at), "actor": e.actor, "role": e.role, "kind": e.kind,
            "from": e.from_state, "to": e.to_state, "trigger": e.trigger, "note": e.note,
            "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash,
            "recorded_at": fmt_at(e.recorded_at) if e.recorded_at else None, "recorded_by": e.recorded_by,
            "origin": e.origin}


def export_record(ref: str, e: Event, payload_text: Any = None) -> dict[str, Any]:
    """One event as exported for outside verification: exactly the hashed fields, plus ``hash``.

    Given the payload's stored text, plus ``hashed`` — the text whose SHA-256 is the hash —
    when that is not the canonical text of the fields (a payload hashed as stored that is not
    spelt canonically: agreeflow writes none, but verify accepts it; docs/audit.md section 2).
    """
    doc = canonical_doc(ref, e.seq, fmt_at(e.at), e.actor, e.role, e.kind, e.from_state, e.to_state, e.trigger,
                        e.note, e.payload or {}, e.prev_hash, fmt_at(e.recorded_at) if e.recorded_at else None,
                        e.recorded_by, e.origin)
    out = doc | {"hash": e.hash}
    if payload_text is not None:
        text, _ = matching_text(ref, e.seq, doc["at"], e.actor, e.role, e.kind, e.from_state, e.to_state, e.trigger,
                                e.note, payload_text, e.prev_hash, doc.get("recorded_at"), e.recorded_by, e.origin,
                                e.hash)
        if text is not None and text != _encode(doc):
            out["hashed"] = text
    return out


@dataclass
class Break:
    """One finding of ``audit verify``: the first broken event of a chain, or a table that disagrees with it."""

    case: str
    seq: int | None
    problem: Msg | str
    """What is wrong: a message of the catalogue (plain text from a tool that has none)."""

    def to_json(self) -> dict[str, Any]:
        """``problem`` in English for programs; ``message`` the same in the catalogue's stored form, for a
        reader's language (a page renders it with ``service.render``)."""
        return {"case": self.case, "seq": self.seq, "problem": show(self.problem, "en"),
                "message": self.problem.to_json() if isinstance(self.problem, Msg) else self.problem}

    def line(self) -> Msg:
        """``  - CASE seq N: problem`` (no seq for a finding about the tables)."""
        if self.seq is None:
            return Msg("  - {case}: {problem}", case=self.case, problem=self.problem)
        return Msg("  - {case} seq {seq}: {problem}", case=self.case, seq=self.seq, problem=self.problem)


def listing(breaks: Iterable[Break]) -> Msg:
    """The findings as TamperingError lists them, one per line."""
    return join([b.line() for b in breaks], "\n")


BAD_LINK = Msg(N_("prev_hash does not match the previous event's hash"))
BAD_HASH = Msg(N_("hash does not match the event's content (event edited)"))


def bad_seq(ref: str, expected: int, found: int) -> Break:
    """The break of a chain whose next event does not carry the next seq."""
    return Break(ref, expected, Msg(N_("expected seq {expected}, found {found} (event missing or reordered)"),
                                    expected=expected, found=found))


def chain_rows(session: Session, case_id: int | None = None, batch: int = 5000) -> Iterable[tuple[str, Event, Any]]:
    """Stream (ref, event, the payload's stored text) ordered by case, seq — in batches, for large logs."""
    text = sa.cast(col(Event.payload), sa.Text).label("payload_text")
    stmt = select(Case.ref, Event, text).join(Case, col(Case.id) == col(Event.case_id))
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
