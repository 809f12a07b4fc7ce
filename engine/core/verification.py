"""One pass over the stored log: the chains, their recorded times, and the tables they must agree with.

For every case, in seq order (:func:`scan`, over a range of case ids so that
several processes can share a large log):

1. the chain — seq 1, 2, 3… without a gap, each ``prev_hash`` the hash of
   the event before (64 zeros for the first), each hash recomputed from the
   event's content (the canonical form of :mod:`engine.core.audit`);
2. recorded times — ``recorded_at`` never decreases along seq (events from
   before the two times, NULL, are exempt);
3. the replay (:mod:`engine.core.replay`) — each transition leaves from the
   state the log left the case in, and the case's row and deadline rows are
   what the log says;
4. a checkpoint, when one is given — the event it pinned for the case is
   still there with the same hash, and no event up to it is missing.

Only the first break of a chain is reported (everything after it is
suspect); the replay and the checkpoint are checked on sound chains only.

Speed.  The hashed bytes of an event are the canonical text of its columns
with the payload's stored text in place (engine.core.audit): agreeflow stores
every payload as its canonical text, so verify hashes that text as it is —
parsed once, with the C scanner, because the replay reads it and because it
must be one JSON object, but not re-encoded.  The rest of the text is
assembled by :class:`audit.CanonicalText` from parts that repeat from event to
event.  An event written before payloads were stored canonical (json.dumps's
spacing gives it away) has its payload re-encoded, as the documented form
says; anything the fast path cannot spell, or that does not match, goes to the
reference (:func:`audit.matching_text`), so the result is the reference's.  A
large log is split between processes by the service (engine.service.audit).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from agreeflow.engine.core import audit, replay
from agreeflow.engine.core.audit import GENESIS, Break
from agreeflow.engine.core.i18n import N_, Msg

# The columns that repeat from event to event come last, in audit.CanonicalText.form's order: row[_HEAD:].
EVENTS_SQL = ('SELECT e.case_id, e.seq, e.prev_hash, e.hash, e.at, e.recorded_at, CAST(e.payload AS TEXT),'
              ' e.actor, e.role, e.kind, e.from_state, e.to_state, e."trigger", e.note, e.recorded_by, e.origin'
              ' FROM events e WHERE e.case_id BETWEEN :lo AND :hi ORDER BY e.case_id, e.seq')
"""The log as verify reads it (bench/verify_bench.py times the same query)."""
_HEAD = 7
_CASES_SQL = ('SELECT id, ref, workflow, state, CAST(fields AS TEXT), suspended_at FROM cases'
              ' WHERE id BETWEEN :lo AND :hi')
_DEADLINES_SQL = ('SELECT case_id, id, "key", status, due_date FROM deadlines WHERE case_id BETWEEN :lo AND :hi'
                  ' ORDER BY case_id, id')
_CACHE_LIMIT = 4096
_cursor_ids = itertools.count()
_FORM_LIMIT = 10_000


def _no_default(o: Any) -> Any:
    raise TypeError(f"not JSON: {type(o).__name__}")


scan_payload = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""``(object, end)`` of the JSON value at the start of a text: json.loads without its per-call wrapping."""
# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) without building an encoder per call.
encode_payload = c_make_encoder(None, _no_default, encode_basestring, None, ":", ",", True, False, True)
"""``encode_payload(obj, 0)`` → chunks of json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)."""


@dataclass
class Pinned:
    """The heads a checkpoint pinned: ref → (seq, hash), and when it was taken (for messages)."""

    heads: dict[str, tuple[int, str]]
    taken: str


@dataclass
class Scan:
    """What one pass found."""

    events: int = 0
    cases: int = 0
    breaks: list[Break] = field(default_factory=list)
    refs: set[str] = field(default_factory=set)
    """Every case ref seen (in ``cases`` or in the log), to tell which pinned cases are gone."""

    def add(self, other: Scan) -> None:
        self.events += other.events
        self.cases += other.cases
        self.breaks += other.breaks
        self.refs |= other.refs


def id_range(s: Session) -> tuple[int, int]:
    """The lowest and highest case id (0, -1 when there is none)."""
    lo, hi = s.connection().execute(sa.text("SELECT min(id), max(id) FROM cases")).one()
    return (int(lo), int(hi)) if lo is not None else (0, -1)


def scan(s: Session, lo: int, hi: int, pinned: Pinned | None = None) -> Scan:
    """Check every case whose id is in [lo, hi] (see the module docstring); one consistent read."""
    conn = s.connection()
    params = {"lo": lo, "hi": hi}
    with _raw_rows(conn, _CASES_SQL, params) as rows:
        case_rows = {r[0]: r for r in rows}
    deadline_rows: dict[int, list[tuple[int, str, str, str | None]]] = {}
    with _raw_rows(conn, _DEADLINES_SQL, params) as rows:
        for cid, did, key, status, due in rows:
            deadline_rows.setdefault(cid, []).append((did, key, status, due if type(due) is str else _day(due)))
    out = Scan(refs={r[1] for r in case_rows.values()})
    with _raw_rows(conn, EVENTS_SQL, params) as rows:
        walked = _walk(rows, case_rows, deadline_rows, pinned, out)
    for cid, row in case_rows.items():
        if cid not in walked:
            out.breaks.append(Break(row[1], None, Msg(N_("has no event in the log: its events were removed"))))
            if pinned is not None and row[1] in pinned.heads:
                out.breaks.append(_missing(row[1], 0, pinned.heads[row[1]][0], pinned.taken))
    return out


@contextmanager
def _raw_rows(conn: sa.Connection, sql: str, params: dict[str, int]) -> Iterator[Any]:
    """The rows of ``sql`` as the driver's own tuples, streamed, in the session's transaction.

    The log is the one table read row by row: a driver cursor costs a fraction of a result row
    object.  PostgreSQL gets a server-side cursor, so a large log never sits in memory.
    """
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cur = dbapi.cursor(name=f"agreeflow_verify_{next(_cursor_ids)}")
        cur.itersize = 5000
        cur.execute(sql.replace(":lo", "%(lo)s").replace(":hi", "%(hi)s"), params)
    else:
        cur = dbapi.cursor()
        cur.execute(sql, params)
    try:
        yield cur  # iterated by the caller itself: a generator in between costs a frame per row
    finally:
        cur.close()


def _walk(rows: Any, case_rows: dict[int, Any], deadline_rows: dict[int, list[tuple[int, str, str, str | None]]],
          pinned: Pinned | None, out: Scan) -> set[int]:
    """The inner loop: one row per event, ordered by case id then seq; returns the case ids met.

    The state of the case being walked is kept in locals (this loop runs once per event of the log)
    and handed to its ``_CaseWalk`` when the case ends.
    """
    sha256, at_text_of, quote = hashlib.sha256, audit.stored_at_text, encode_basestring
    form_of = audit.CanonicalText().form
    forms: tuple[dict[Any, str | None], dict[Any, str | None]] = ({}, {})  # events without / with recorded_at
    scan_once, encode = scan_payload, encode_payload
    replayed, repeating = replay.REPLAYED, replay.STATE_KINDS - replay.PAYLOAD_KINDS  # the latter: payload unread
    cache: dict[str, str] = {}
    seen: set[int] = set()
    pins = pinned.heads if pinned is not None else {}
    n_events = 0
    current = None
    case, case_json, ref = _CaseWalk("", None), "", ""
    expected, prev, broken, last_rec, rec_seq, pin_seq = 1, GENESIS, False, "", 0, 0
    feed = case.replay.feed
    for row in rows:
        cid = row[0]
        n_events += 1
        if cid != current:
            if current is not None:
                case.expected, case.broken = expected, broken
                _finish(case, case_rows.get(current), deadline_rows.get(current, []), pinned, out)
            current = cid
            seen.add(cid)
            out.cases += 1
            crow = case_rows.get(cid)
            ref = crow[1] if crow is not None else f"(case id {cid})"
            case = _CaseWalk(ref, pins.get(ref))
            case_json, feed, pin_seq = quote(ref), case.replay.feed, case.pin_seq
            expected, prev, broken, last_rec, rec_seq = 1, GENESIS, False, "", 0
            if crow is None:
                out.refs.add(ref)
                out.breaks.append(Break(ref, None, Msg(N_("events of a case that the cases table does not hold"))))
        if broken:
            continue
        seq = row[1]
        if seq != expected:
            out.breaks.append(audit.bad_seq(ref, expected, seq))
            broken = True
            continue
        stored = row[3]
        if row[2] != prev:
            out.breaks.append(Break(ref, seq, audit.BAD_LINK))
            broken = True
            continue
        at, rec = row[4], row[5]
        at_text = f"{at[:10]}T{at[11:]}Z" if type(at) is str and len(at) == 26 and at[10] == " " \
            and at[19] == "." and at[0] != "0" else at_text_of(at)
        rec_text = None if rec is None else at_text if rec == at else f"{rec[:10]}T{rec[11:]}Z" \
            if type(rec) is str and len(rec) == 26 and rec[10] == " " and rec[19] == "." and rec[0] != "0" \
            else at_text_of(rec)
        kind, text = row[9], row[6]
        obj = None
        repeats = kind in repeating
        pj = cache.get(text) if repeats else None  # a transition's citation: the same text again and again
        if pj is None:
            # The stored text is hashed as it is when it is one JSON object (parsed once: the replay reads it);
            # json.dumps's spacing marks an event written before payloads were stored canonical: re-encoded.
            try:
                obj, end = scan_once(text, 0)
                if end != len(text) or type(obj) is not dict:
                    raise ValueError("not one JSON object")
                pj = text if '": ' not in text else "".join(encode(obj, 0))
            except (StopIteration, ValueError, TypeError, RecursionError):
                pj = obj = None
            else:
                if repeats:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[text] = pj
        digest = ""
        if pj is not None and type(seq) is int:  # a bool or a float would be spelt otherwise
            head = row[_HEAD:]
            known = forms[rec_text is not None]
            form = known.get(head, "")
            if form == "":
                if len(known) >= _FORM_LIMIT:
                    known.clear()
                actor, role, kind_, frm, to, trigger, note, recorded_by, origin = head
                form = known[head] = form_of(actor, role, kind_, frm, to, trigger, note, recorded_by, origin,
                                             rec_text is not None)
            if form is not None:
                at_json = quote(at_text)
                canon = form % (at_json, case_json, pj, prev, at_json if rec_text is at_text else quote(rec_text),
                                seq) if rec_text is not None else form % (at_json, case_json, pj, prev, seq)
                digest = sha256(canon.encode()).hexdigest()
        if digest != stored:  # odd values, an event hashed the other way, or an edit: the reference decides
            digest, obj = _reference(ref, row, at_text, rec_text)
            if digest != stored:
                out.breaks.append(Break(ref, seq, audit.BAD_HASH))
                broken = True
                continue
        if rec_text is not None:
            if rec_text < last_rec and not case.problems:
                case.problems.append(Break(
                    ref, seq, Msg(N_("recorded_at {at} is earlier than {last} of seq {seq}: recorded times go "
                                     "backwards (an event was backdated or the log reordered)"),
                                  at=rec_text, last=last_rec, seq=rec_seq)))
            last_rec, rec_seq = rec_text, seq
        if kind in replayed:
            feed(seq, kind, row[10], row[11], at_text, obj)
        if seq == pin_seq:
            case.pin_found = stored
        prev, expected = stored, seq + 1
    if current is not None:
        case.expected, case.broken = expected, broken
        _finish(case, case_rows.get(current), deadline_rows.get(current, []), pinned, out)
    out.events += n_events
    return seen


class _CaseWalk:
    """What the end of a case's walk needs (the loop keeps the rest in locals)."""

    __slots__ = ("ref", "expected", "broken", "replay", "problems", "pin_seq", "pin_hash", "pin_found")

    def __init__(self, ref: str, pin: tuple[int, str] | None) -> None:
        self.ref, self.expected, self.broken = ref, 1, False
        self.replay = replay.CaseReplay()
        self.problems: list[Break] = []
        self.pin_seq, self.pin_hash = pin if pin is not None else (0, "")
        self.pin_found: str | None = None


def _reference(ref: str, row: Any, at_text: str, rec_text: str | None) -> tuple[str, Any]:
    """(the stored hash if the reference accepts the row, else ""; the payload parsed): the fast path declined."""
    actor, role, kind, frm, to, trigger, note, recorded_by, origin = row[_HEAD:]
    text, payload = audit.matching_text(ref, row[1], at_text, actor, role, kind, frm, to, trigger, note, row[6],
                                        row[2], rec_text, recorded_by, origin, row[3])
    return (row[3] if text is not None else ""), payload


def _finish(case: _CaseWalk, crow: Any, deadlines: list[tuple[int, str, str, str | None]], pinned: Pinned | None,
            out: Scan) -> None:
    """The checks that need the whole chain: recorded times, the replay against the rows, the checkpoint."""
    out.refs.add(case.ref)
    if case.broken:
        return
    out.breaks += case.problems
    if crow is not None:
        _, _, workflow, state, fields_text, suspended = crow
        fields = json.loads(fields_text) if isinstance(fields_text, (str, bytes)) else fields_text or {}
        suspended_text = audit.stored_at_text(suspended) if suspended is not None else None
        for f in case.replay.compare(workflow, state, fields if isinstance(fields, dict) else {}, suspended_text,
                                     deadlines):
            out.breaks.append(Break(case.ref, f.seq, f.problem))
    if pinned is not None and case.pin_seq:
        last = case.expected - 1
        if last < case.pin_seq:
            out.breaks.append(_missing(case.ref, last, case.pin_seq, pinned.taken))
        elif case.pin_found != case.pin_hash:
            out.breaks.append(Break(case.ref, case.pin_seq,
                                    Msg(N_("differs from the checkpoint {taken}: an event up to here was changed, "
                                           "removed or reordered (hashes recomputed)"), taken=pinned.taken)))


def _missing(ref: str, last: int, pinned_seq: int, taken: str) -> Break:
    if last + 1 == pinned_seq:
        return Break(ref, last + 1, Msg(N_("event {span} recorded before checkpoint {taken} is missing"),
                                        span=last + 1, taken=taken))
    return Break(ref, last + 1, Msg(N_("events {span} recorded before checkpoint {taken} are missing"),
                                    span=f"{last + 1}–{pinned_seq}", taken=taken))


def missing_cases(pinned: Pinned, refs: set[str], only: str | None = None) -> list[Break]:
    """Cases the checkpoint pinned that are neither in the cases table nor in the log."""
    return [Break(ref, None, Msg(N_("is in the checkpoint {taken} (seq {seq}) but not in the database: the whole "
                                    "case was removed"), taken=pinned.taken, seq=seq))
            for ref, (seq, _) in sorted(pinned.heads.items()) if ref not in refs and only in (None, ref)]


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)
