"""Durable ``fire`` against bare sqlite3 doing the same row writes.

agreeflow: ``engine.service.fire`` on SQLite — role check, guard, state,
hash-chained events and deadlines in one transaction, then the case view it
returns.  Baseline: the plain ``sqlite3`` module on a copy of the same schema,
with the same pragmas (WAL, synchronous=NORMAL), writing the same rows per
step: read the case, the chain head and the open deadline; insert the
transition event, close the deadline (+ its event), insert the next deadline
(+ its event), each event with a SHA-256 over canonical JSON; update the case
with its lock_version check; commit.  Both walk the same cases through the six
steps of bench/workflows/approval.yaml.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import common

GENESIS = "0" * 64
WHY_MISSED = (
    "the time is spent in SQLAlchemy/SQLModel, not in SQLite: per fire about 14 ORM statements (case by ref, "
    "person, definition snapshot, chain head before each of the 3 events, open deadlines, calendar overrides, "
    "refresh of the case), 5 unit-of-work flushes, pydantic-validated model objects, and a second transaction "
    "for the case view fire returns (its share is in the details). SQLite's own work is the bare line. Reaching "
    "0.5× means writing the fire path as a handful of raw SQL statements on one connection — a rewrite of "
    "service/audit/deadlines, not a targeted edit, so it is not done here.")


@dataclass(frozen=True)
class BareStep:
    trigger: str
    source: str
    dest: str
    terminal: bool
    next_key: str | None


def bare_steps() -> list[BareStep]:
    """The approval workflow as a table the bare baseline can follow (read once, not timed)."""
    from agreeflow.engine.core import definitions

    defn = definitions.get("approval")
    steps = []
    for trigger in common.STEPS:
        t = next(t for t in defn.transitions if t.trigger == trigger)
        dest = defn.states[t.dest]
        key = f"timer:{t.dest}:{dest.timers[0].id}" if dest.timers else None
        steps.append(BareStep(trigger, t.sources[0], t.dest, dest.terminal, key))
    return steps


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


class BareFire:
    """The same durable writes with nothing but sqlite3, hashlib and json."""

    def __init__(self, path: str, actor: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.actor = actor

    def _event(self, case_id: int, ref: str, head: list[Any], at: datetime, kind: str, role: str,
               from_state: str | None, to_state: str | None, trigger: str | None,
               payload: dict[str, Any]) -> None:
        seq, prev = head[0] + 1, head[1]
        doc = {"case": ref, "seq": seq, "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor": self.actor,
               "role": role, "kind": kind, "from": from_state, "to": to_state, "trigger": trigger,
               "note": None, "payload": payload, "prev_hash": prev}
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                           ensure_ascii=False).encode()).hexdigest()
        self.conn.execute(
            "INSERT INTO events (case_id, seq, at, actor, role, kind, from_state, to_state, \"trigger\", note,"
            " payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            (case_id, seq, _ts(at), self.actor, role, kind, from_state, to_state, trigger,
             json.dumps(payload), prev, digest))
        head[0], head[1] = seq, digest

    def fire(self, ref: str, step: BareStep) -> None:
        c = self.conn
        now = datetime.now(UTC)
        c.execute("BEGIN IMMEDIATE")
        case_id, state, version, unit = c.execute(
            "SELECT id, state, lock_version, unit FROM cases WHERE ref = ?", (ref,)).fetchone()
        if state != step.source:
            raise RuntimeError(f"{ref} is in {state}, not {step.source}")
        head = list(c.execute("SELECT seq, hash FROM events WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
                              (case_id,)).fetchone() or (0, GENESIS))
        self._event(case_id, ref, head, now, "transition", "coordinator", state, step.dest, step.trigger,
                    {"citation": "benchmark", "confirmed": True})
        done = c.execute("UPDATE cases SET state = ?, lock_version = ?, updated_at = ?, closed_at = ? "
                         "WHERE id = ? AND lock_version = ?",
                         (step.dest, version + 1, _ts(now), _ts(now) if step.terminal else None,
                          case_id, version)).rowcount
        if done != 1:
            raise RuntimeError("stale case")
        for dl_id, key, due_date in c.execute("SELECT id, key, due_date FROM deadlines "
                                              "WHERE case_id = ? AND status IN ('open', 'pending')",
                                              (case_id,)).fetchall():
            c.execute("UPDATE deadlines SET status = 'met', closed_at = ?, next_action_at = NULL, margin_wd = 1 "
                      "WHERE id = ?", (_ts(now), dl_id))
            self._event(case_id, ref, head, now, "deadline_met", "", None, None, None,
                        {"deadline": key, "status": "met", "due_date": due_date, "margin_wd": 1})
        if step.next_key:
            due = now + timedelta(days=7)
            c.execute("INSERT INTO deadlines (case_id, key, kind, label_vi, label_en, unit, start_at, due_date,"
                      " due_at, phrase, explanation, citation, confirmed, status, policy, next_action_at, rung,"
                      " extra) VALUES (?, ?, 'working_days', ?, ?, ?, ?, ?, ?, '5 ngày làm việc', '[]',"
                      " 'benchmark', 1, 'open', 'default', ?, 0, '{}')",
                      (case_id, step.next_key, "Hạn", "Due", unit, _ts(now), due.date().isoformat(), _ts(due),
                       _ts(due - timedelta(days=2))))
            self._event(case_id, ref, head, now, "deadline_set", "", None, None, None,
                        {"deadline": step.next_key, "status": "open", "due_date": due.date().isoformat()})
        c.execute("COMMIT")


def open_cases(settings: Any, n: int) -> list[str]:
    from agreeflow.engine import service

    return [service.open_case(settings, "approval", f"Thỏa thuận hợp tác số {i}", {"lead_unit": "SNGV"})["id"]
            for i in range(n)]


def run(quick: bool) -> list[common.Figure]:
    n_cases = 15 if quick else 100
    common.use_bench_workflows()
    from agreeflow.engine import service
    from agreeflow.engine.core import db

    home_a, home_b = common.fresh_dir("fire/agreeflow"), common.fresh_dir("fire/bare")
    common.say(f"opening {n_cases} cases in each of two fresh databases")
    settings = common.init_database(home_a)
    refs = open_cases(settings, n_cases)
    settings_b = common.init_database(home_b)
    refs_b = open_cases(settings_b, n_cases)
    steps = bare_steps()
    db.dispose_all()

    fires = n_cases * len(steps)
    common.say(f"agreeflow: {fires} fires through engine.service.fire")
    start = time.perf_counter()
    for step in steps:
        for ref in refs:
            service.fire(settings, ref, step.trigger)
    agreeflow_s = time.perf_counter() - start
    start = time.perf_counter()
    for ref in refs:
        service.show_case(settings, ref)
    view_s = (time.perf_counter() - start) / n_cases
    service.verify(settings)  # the chains it wrote are sound

    common.say(f"bare sqlite3: {fires} fires")
    bare = BareFire(str(common.sqlite_path(settings_b)), common.COORDINATOR)
    start = time.perf_counter()
    for step in steps:
        for ref in refs_b:
            bare.fire(ref, step)
    bare_s = time.perf_counter() - start
    bare.conn.close()

    ours, base = common.rate(fires, agreeflow_s), common.rate(fires, bare_s)
    ratio = ours / base
    return [common.Figure(
        name="durable fire (SQLite)", value=ours, unit="fires/s",
        baseline="bare sqlite3, same row writes", baseline_value=base, ratio=ratio,
        ratio_meaning="× bare speed", goal="≥ 0.5× bare", met=ratio >= 0.5, why_missed=WHY_MISSED,
        details=[("fires", str(fires)),
                 ("agreeflow per fire", f"{agreeflow_s / fires * 1000:.2f} ms"),
                 ("of which the returned case view (show_case)", f"{view_s * 1000:.2f} ms"),
                 ("bare per fire", f"{bare_s / fires * 1000:.3f} ms")])]


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
