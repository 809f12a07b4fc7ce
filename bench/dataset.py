"""Bulk data for the 1 M benchmarks, written with ``executemany`` into a database made by ``agreeflow init``.

Going through the service would take hours for a million rows; the rows here
have the shapes the service writes (same columns, datetime text format, JSON
payloads, Vietnamese labels), and the events carry real chains: every hash is
``engine.audit.canonical`` hashed with SHA-256, so ``audit verify`` checks them
for real.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BATCH = 50_000
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy stores a DateTime on SQLite (and so how agreeflow's rows look)."""
UNITS = ("SNGV", "STP", "CA", "STC", "SVHTTDL", "BCHQS", "UBND")


def connect(path: Path) -> sqlite3.Connection:
    """A bulk-loading connection: one big transaction per batch, no per-row fsync."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    return conn


def ts(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).strftime(TS_FORMAT)


def add_cases(conn: sqlite3.Connection, n: int, prefix: str = "PD", workflow: str = "approval",
              state: str = "opinions") -> list[tuple[int, str]]:
    """Insert ``n`` cases of ``workflow`` in ``state``; returns (id, ref) of each."""
    now = ts(datetime.now(UTC))
    rows = [(f"{prefix}-2024-{i + 1:07d}", workflow, 1, state, f"Thỏa thuận hợp tác số {i}", UNITS[i % len(UNITS)],
             json.dumps({"lead_unit": UNITS[i % len(UNITS)], "due_phrase": "trong Quý III năm 2030"}), 3, now, now,
             "dieuphoi@bacgiang.example") for i in range(n)]
    _batched(conn, "INSERT INTO cases (ref, workflow, version, state, title, unit, fields, lock_version, opened_at,"
                   " updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", iter(rows))
    found = dict(conn.execute("SELECT ref, id FROM cases WHERE ref LIKE ?", (f"{prefix}-2024-%",)).fetchall())
    return [(found[row[0]], row[0]) for row in rows]


def _batched(conn: sqlite3.Connection, sql: str, rows: Iterator[tuple[object, ...]]) -> int:
    count = 0
    while True:
        batch = [row for _, row in zip(range(BATCH), rows)]
        if not batch:
            return count
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
        count += len(batch)


def add_open_deadlines(conn: sqlite3.Connection, case_ids: list[int], n: int, now: datetime,
                       seed: int = 9, key: str = "timer:opinions:opinions",
                       window: tuple[timedelta, timedelta] = (timedelta(days=-30), timedelta(days=365))) -> int:
    """Insert ``n`` open deadlines whose next action falls in ``now + window`` (uniformly).

    The default window, 30 days back to a year ahead, makes about 7 % due at
    ``now``: the share a daily sweep meets on a steady load.
    """
    rng = random.Random(seed)
    lo, hi = (int(w.total_seconds()) for w in window)
    explanation = json.dumps([{"vi": "Ngày bắt đầu (ngày 0, không tính)", "en": "Start (day 0, not counted)"}])

    def rows() -> Iterator[tuple[object, ...]]:
        for i in range(n):
            action = now + timedelta(seconds=rng.randint(lo, hi))
            due = action + timedelta(days=7)
            yield (case_ids[i % len(case_ids)], key, "working_days", "Hạn góp ý", "Opinions due",
                   UNITS[i % len(UNITS)], ts(now - timedelta(days=3)), due.date().isoformat(), ts(due),
                   "7 ngày làm việc", explanation, "Điều 21 Nghị định 64/2021/NĐ-CP", 1, "open", "default",
                   ts(action), 0, "{}")

    return _batched(conn, "INSERT INTO deadlines (case_id, key, kind, label_vi, label_en, unit, start_at, due_date,"
                          " due_at, phrase, explanation, citation, confirmed, status, policy, next_action_at, rung,"
                          " extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())


PER_CASE = 20
"""Events per case of :func:`add_verifiable_log`."""


def add_verifiable_log(conn: sqlite3.Connection, n_cases: int, start: datetime,
                       keep_canonical: list[bytes] | None = None, old_payloads: bool = False) -> int:
    """Cases whose log, rows and deadlines agree, as the service leaves them; returns the events written.

    Each case runs draft → submitted → opinions in 20 events of the kinds and
    payload shapes the service writes, in about the mix of the demo's log (half
    of it reminders queued and sent): opened, three deadlines set (one met, one
    missed after the sweep said it was late, one open), reminders, an
    escalation, a field changed, a document attached, two transitions.  Every
    event has its two times and origin; every hash is ``audit.canonical`` hashed
    with SHA-256, and every payload stored as its canonical text, as
    ``events.payload`` is written (store.CanonicalJSON) — or, with
    ``old_payloads``, as ``json.dumps`` wrote it before (spaces, ``\\u``
    escapes).  The ``cases`` row holds the state and fields the log gives, and
    the ``deadlines`` rows the status and due dates — so ``audit verify``
    replays them and finds nothing, as on a sound database.
    ``keep_canonical`` collects the canonical bytes of every event (for the
    hash-only baseline).
    """
    from agreeflow.engine.core.audit import GENESIS, canonical
    from agreeflow.engine.core.store import canonical_json

    spell = json.dumps if old_payloads else canonical_json

    refs = [f"VB-2024-{i + 1:07d}" for i in range(n_cases)]
    now = ts(datetime.now(UTC))
    first_deadline = (conn.execute("SELECT coalesce(max(id), 0) FROM deadlines").fetchone()[0] or 0) + 1
    plans = [_case_plan(i, ref, start + timedelta(minutes=7 * i), first_deadline + 3 * i) for i, ref in enumerate(refs)]
    _batched(conn, "INSERT INTO cases (ref, workflow, version, state, title, unit, fields, lock_version, opened_at,"
                   " updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             ((p["ref"], "approval", 1, "opinions", p["title"], p["unit"], json.dumps(p["fields"]), 4, now, now,
               COORDINATOR) for p in plans))
    ids = dict(conn.execute("SELECT ref, id FROM cases WHERE ref LIKE 'VB-2024-%'").fetchall())
    _batched(conn, "INSERT INTO deadlines (id, case_id, key, kind, label_vi, label_en, unit, start_at, due_date,"
                   " due_at, phrase, explanation, citation, confirmed, status, policy, next_action_at, rung, extra)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             ((d["id"], ids[p["ref"]], d["key"], "working_days", d["label"], d["label"], p["unit"], now,
               d["due_date"], ts(datetime.fromisoformat(d["due_date"] + "T10:00:00+00:00")), "5 ngày làm việc", "[]",
               CITATION, 1, d["status"], "default", None, 0, "{}") for p in plans for d in p["deadlines"]))

    def rows() -> Iterator[tuple[object, ...]]:
        for p in plans:
            prev = GENESIS
            for seq, ev in enumerate(p["events"], 1):
                at = ev["at"]
                blob = canonical(p["ref"], seq, at, ev["actor"], ev["role"], ev["kind"], ev["from"], ev["to"],
                                 ev["trigger"], None, ev["payload"], prev, at, "", ORIGIN)
                if keep_canonical is not None:
                    keep_canonical.append(blob)
                digest = hashlib.sha256(blob).hexdigest()
                yield (ids[p["ref"]], seq, ts(at), ev["actor"], ev["role"], ev["kind"], ev["from"], ev["to"],
                       ev["trigger"], None, spell(ev["payload"]), prev, digest, ts(at), "", ORIGIN)
                prev = digest

    return _batched(conn, "INSERT INTO events (case_id, seq, at, actor, role, kind, from_state, to_state,"
                          " \"trigger\", note, payload, prev_hash, hash, recorded_at, recorded_by, origin)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())


def add_chained_events(conn: sqlite3.Connection, cases: list[tuple[int, str]], per_case: int, start: datetime) -> int:
    """A valid hash chain of ``per_case`` events for each existing case (opened, then deadlines set and
    notes), for pages that show a case's history; returns the events written.  Unlike add_verifiable_log,
    the cases' rows are not made to agree with it (``audit verify`` would report them)."""
    from agreeflow.engine.core.audit import GENESIS, canonical
    from agreeflow.engine.core.store import canonical_json

    def rows() -> Iterator[tuple[object, ...]]:
        for case_id, ref in cases:
            prev, at = GENESIS, start
            for seq in range(1, per_case + 1):
                at = at + timedelta(seconds=37, microseconds=seq * 1013)
                if seq == 1:
                    kind, role = "opened", "coordinator"
                    payload: dict[str, Any] = {"workflow": "approval", "version": 1, "title": f"Thỏa thuận {ref}",
                                               "fields": {"lead_unit": "SNGV"}, "parent": None}
                else:
                    kind, role = "deadline_set", ""
                    payload = {"deadline": f"timer:bench:{seq}", "label": "Hạn xin ý kiến", "unit": "SNGV",
                               "status": "open", "due_date": "2024-07-31", "phrase": "3 ngày làm việc",
                               "citation": CITATION, "confirmed": True}
                blob = canonical(ref, seq, at, COORDINATOR, role, kind, None, None, None, None, payload, prev, at,
                                 "", ORIGIN)
                digest = hashlib.sha256(blob).hexdigest()
                yield (case_id, seq, ts(at), COORDINATOR, role, kind, None, None, None, None, canonical_json(payload),
                       prev, digest, ts(at), "", ORIGIN)
                prev = digest

    return _batched(conn, "INSERT INTO events (case_id, seq, at, actor, role, kind, from_state, to_state,"
                          " \"trigger\", note, payload, prev_hash, hash, recorded_at, recorded_by, origin)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())


COORDINATOR = "dieuphoi@bacgiang.example"
ORIGIN = "worker:bench"
CITATION = "Điều 21 Nghị định 64/2021/NĐ-CP"


def _case_plan(i: int, ref: str, start: datetime, first_id: int) -> dict[str, Any]:
    """The 20 events, the fields and the three deadline rows of one case (see add_verifiable_log)."""
    unit = UNITS[i % len(UNITS)]
    unit_mail, officer = f"{unit.lower()}@bacgiang.example", f"chuyenvien.{unit.lower()}@bacgiang.example"
    title = f"Thỏa thuận hợp tác số {i} với đối tác Hàn Quốc"
    day = start.date()
    dues = [(day + timedelta(days=d)).isoformat() for d in (7, 21, 40 + i % 30)]
    keys = ["timer:draft:prepare", "timer:submitted:ask", "timer:opinions:opinions"]
    labels = ["Hạn chuẩn bị hồ sơ", "Hạn xin ý kiến các cơ quan", "Hạn trả lời ý kiến (07 ngày làm việc)"]
    doc = {"kind": "to_trinh", "name": f"to-trinh-{i}.pdf", "size": 20_000 + i,
           "sha256": hashlib.sha256(ref.encode()).hexdigest()}
    fields = {"lead_unit": unit, "due_phrase": "trong Quý III năm 2030", "partner": "Thành phố Pohang"}
    t = [start + timedelta(hours=h, microseconds=i) for h in range(20)]

    def deadline(k: int, status: str) -> dict[str, Any]:
        return {"deadline": keys[k], "label": labels[k], "unit": unit, "status": status, "due_date": dues[k],
                "phrase": "5 ngày làm việc", "citation": CITATION, "confirmed": True}

    def queued(k: int, rung: str, at: datetime) -> dict[str, Any]:
        return {"deadline": keys[k], "deadline_id": first_id + k, "rung": rung, "kind": "reminder",
                "due_date": dues[k], "scheduled_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "late_by_s": None,
                "recipients": [unit_mail, officer]}

    def sent(k: int, rung: str, to: str) -> dict[str, Any]:
        key = f"d{first_id + k}:{rung}:{to}"
        return {"idem_key": key, "rung": rung, "recipient": to,
                "message_id": f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@agreeflow.bacgiang.example>",
                "attempt": 1, "node": "vm:4242", "late_by_s": None}

    def ev(n: int, kind: str, payload: dict[str, Any], actor: str = "agreeflow", role: str = "system",
           frm: str | None = None, to: str | None = None, trigger: str | None = None) -> dict[str, Any]:
        return {"at": t[n], "kind": kind, "payload": payload, "actor": actor, "role": role, "from": frm, "to": to,
                "trigger": trigger}

    transition = {"citation": CITATION, "confirmed": True}
    events = [
        ev(0, "opened", {"workflow": "approval", "version": 1, "title": title, "fields": fields, "parent": None},
           COORDINATOR, "coordinator", to="draft"),
        ev(0, "deadline_set", deadline(0, "open"), COORDINATOR, ""),
        ev(1, "reminder_queued", queued(0, "before_3wd", t[1])),
        ev(2, "reminder_sent", sent(0, "before_3wd", unit_mail)),
        ev(2, "reminder_sent", sent(0, "before_3wd", officer)),
        ev(3, "field_changed", {"field": "partner", "before": "Thành phố Pohang",
                                "after": "Thành phố Pohang (Hàn Quốc)"}, COORDINATOR, "coordinator", trigger="submit"),
        ev(3, "attached", doc, COORDINATOR, "coordinator", trigger="submit"),
        ev(3, "transition", transition, COORDINATOR, "coordinator", "draft", "submitted", "submit"),
        ev(3, "deadline_met", deadline(0, "met") | {"margin_wd": 2}, COORDINATOR, ""),
        ev(3, "deadline_set", deadline(1, "open"), COORDINATOR, ""),
        ev(4, "reminder_queued", queued(1, "before_3wd", t[4])),
        ev(5, "reminder_sent", sent(1, "before_3wd", unit_mail)),
        ev(5, "reminder_sent", sent(1, "before_3wd", officer)),
        ev(6, "deadline_missed", deadline(1, "open") | {"final": False, "rung": "overdue_1wd",
                                                        "due_at": t[6].strftime("%Y-%m-%dT%H:%M:%S.%fZ")}),
        ev(6, "escalated", queued(1, "overdue_1wd", t[6]) | {"kind": "escalation", "reminders_sent": 2}),
        ev(7, "reminder_sent", sent(1, "overdue_1wd", "vpubnd@bacgiang.example")),
        ev(8, "transition", transition, COORDINATOR, "coordinator", "submitted", "opinions", "ask"),
        ev(8, "deadline_missed", deadline(1, "missed") | {"margin_wd": -3}, COORDINATOR, ""),
        ev(8, "deadline_set", deadline(2, "open"), COORDINATOR, ""),
        ev(9, "reminder_queued", queued(2, "before_3wd", t[9])),
    ]
    assert len(events) == PER_CASE
    fields_now = {**fields, "partner": "Thành phố Pohang (Hàn Quốc)",
                  "_documents": {"to_trinh": [{k: doc[k] for k in ("name", "size", "sha256")}]}}
    rows = [{"id": first_id + k, "key": keys[k], "label": labels[k], "due_date": dues[k], "status": status}
            for k, status in enumerate(("met", "missed", "open"))]
    return {"ref": ref, "title": title, "unit": unit, "fields": fields_now, "events": events, "deadlines": rows}
