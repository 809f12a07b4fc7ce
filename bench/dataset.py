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


def chained_events(cases: list[tuple[int, str]], per_case: int, start: datetime,
                   keep_canonical: list[bytes] | None = None) -> Iterator[tuple[object, ...]]:
    """Rows of a valid hash chain of ``per_case`` events for each case (the shapes the service writes).

    ``keep_canonical`` collects the canonical bytes of every event (for a hash-only baseline).
    """
    from agreeflow.engine.core.audit import GENESIS, canonical

    actor = "dieuphoi@bacgiang.example"
    for case_id, ref in cases:
        prev = GENESIS
        at = start
        for seq in range(1, per_case + 1):
            at = at + timedelta(seconds=37, microseconds=seq * 1013)
            if seq == 1:
                kind, role, frm, to, trig = "opened", "coordinator", None, "draft", None
                payload = {"workflow": "approval", "version": 1, "title": f"Thỏa thuận {ref}",
                           "fields": {"lead_unit": "SNGV"}, "parent": None}
            elif seq % 3 == 2:
                kind, role, frm, to, trig = "transition", "coordinator", "draft", "submitted", "submit"
                payload = {"citation": "Điều 21 Nghị định 64/2021/NĐ-CP", "confirmed": True}
            else:
                kind, role, frm, to, trig = "deadline_set", "", None, None, None
                payload = {"deadline": "timer:submitted:ask", "label": "Hạn xin ý kiến", "unit": "SNGV",
                           "status": "open", "due_date": "2024-07-31", "phrase": "3 ngày làm việc",
                           "citation": "Điều 21", "confirmed": True}
            blob = canonical(ref, seq, at, actor, role, kind, frm, to, trig, None, payload, prev)
            if keep_canonical is not None:
                keep_canonical.append(blob)
            digest = hashlib.sha256(blob).hexdigest()
            yield (case_id, seq, ts(at), actor, role, kind, frm, to, trig, None, json.dumps(payload), prev, digest)
            prev = digest


def add_events(conn: sqlite3.Connection, rows: Iterator[tuple[object, ...]]) -> int:
    return _batched(conn, "INSERT INTO events (case_id, seq, at, actor, role, kind, from_state, to_state, \"trigger\","
                          " note, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
