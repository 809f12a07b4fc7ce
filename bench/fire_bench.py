"""Durable ``fire`` against a bare driver doing the same row writes, on SQLite and on PostgreSQL.

agreeflow: ``engine.service.fire(view=False)`` — role check, guard, state,
hash-chained events and deadlines in one transaction: the step as the web
takes it (it redirects to the case page) and as ``agreeflow case fire``
takes it without ``--json``.  The same walk with the case view returned —
the API's default, ``--json`` — is measured too and shown under the details.
Baseline: the plain driver (``sqlite3``; ``psycopg`` on PostgreSQL) on a
database made the same way, writing the same rows per step: read (and lock)
the case, the chain head and the open deadline; insert the transition event,
close the deadline (+ its event), insert the next deadline (+ its event), each
event with a SHA-256 over canonical JSON; update the case with its
lock_version check; commit.  Both walk the same cases through the six steps
of bench/workflows/approval.yaml.

Same durability on both sides: on SQLite the same pragmas (WAL,
synchronous=NORMAL: no flush at each commit); on PostgreSQL (the pgserver
wheel the tests use, a server of its own) the same database settings for
both.  The figure is taken with ``synchronous_commit = off`` — PostgreSQL's
equivalent of WAL+NORMAL, no flush per commit, so the ratio shows our own
work; the server's fully durable default (a flush at every commit, both
sides) is measured too and shown under the details.

The SQL statements each side runs per fire are counted at the driver
(``common.Statements``; BEGIN/COMMIT aside).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import common

GENESIS = "0" * 64
WARM_UP = 5
"""Cases walked through the six steps on each side before the timed walks (not counted)."""
WHY_MISSED = (
    "the driver's own work is the bare line; the rest is Python around it, spread over many parts none of "
    "which is the goal's gap alone — the details list each statement of one fire (agreeflow's extra ones: "
    "the acting person, the calendar's overrides and the deadlines waiting on this case) and the CPU share of "
    "each part of a fire. The largest are the deadlines (close the met one, compute the next on the legal "
    "calendar, their two chained events), the SQLAlchemy session's transaction and commit, loading the locked "
    "case and the person through the ORM, and the three hash-chained events (chain head, canonical JSON, "
    "SHA-256, INSERT). 0.5× would need a fire written as a handful of raw statements outside the ORM "
    "and the registries of guards and effects — a second engine, not a targeted change.")


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
    """The same durable writes with nothing but the driver (sqlite3 or psycopg), hashlib and json."""

    def __init__(self, target: str, actor: str) -> None:
        self.actor = actor
        self.sqlite = not target.startswith("postgresql")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(target, isolation_level=None)
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.conn = psycopg.connect(target)  # a transaction begins with the first statement
        self.p = "?" if self.sqlite else "%s"

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def time(self, at: datetime) -> Any:
        """A UTC instant as the column holds it (naive UTC; text on SQLite)."""
        naive = at.astimezone(UTC).replace(tzinfo=None)
        return _ts(naive) if self.sqlite else naive

    def day(self, d: date) -> Any:
        return d.isoformat() if self.sqlite else d

    def _event(self, case_id: int, ref: str, head: list[Any], at: datetime, recorded: datetime, kind: str,
               role: str, from_state: str | None, to_state: str | None, trigger: str | None,
               payload: dict[str, Any]) -> None:
        seq, prev = head[0] + 1, head[1]
        doc = {"case": ref, "seq": seq, "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor": self.actor,
               "role": role, "kind": kind, "from": from_state, "to": to_state, "trigger": trigger,
               "note": None, "payload": payload, "prev_hash": prev,
               "recorded_at": recorded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "recorded_by": "", "origin": "bench"}
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                           ensure_ascii=False).encode()).hexdigest()
        self.conn.execute(self.sql(
            "INSERT INTO events (case_id, seq, at, actor, role, kind, from_state, to_state, \"trigger\", note,"
            " payload, prev_hash, hash, recorded_at, recorded_by, origin)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, '', 'bench')"),
            (case_id, seq, self.time(at), self.actor, role, kind, from_state, to_state, trigger,
             json.dumps(payload), prev, digest, self.time(recorded)))
        head[0], head[1] = seq, digest

    def fire(self, ref: str, step: BareStep) -> None:
        c = self.conn
        now = datetime.now(UTC)
        if self.sqlite:
            c.execute("BEGIN IMMEDIATE")
        case_id, state, version, unit = c.execute(self.sql(
            "SELECT id, state, lock_version, unit FROM cases WHERE ref = ?" + ("" if self.sqlite else " FOR UPDATE")),
            (ref,)).fetchone()
        if state != step.source:
            raise RuntimeError(f"{ref} is in {state}, not {step.source}")
        head = list(c.execute(self.sql("SELECT seq, hash FROM events WHERE case_id = ? ORDER BY seq DESC LIMIT 1"),
                              (case_id,)).fetchone() or (0, GENESIS))
        self._event(case_id, ref, head, now, now, "transition", "coordinator", state, step.dest, step.trigger,
                    {"citation": "benchmark", "confirmed": True})
        done = c.execute(self.sql("UPDATE cases SET state = ?, lock_version = ?, updated_at = ?, closed_at = ? "
                                  "WHERE id = ? AND lock_version = ?"),
                         (step.dest, version + 1, self.time(now), self.time(now) if step.terminal else None,
                          case_id, version)).rowcount
        if done != 1:
            raise RuntimeError("stale case")
        for dl_id, key, due_date in c.execute(self.sql("SELECT id, key, due_date FROM deadlines "
                                                       "WHERE case_id = ? AND status IN ('open', 'pending')"),
                                              (case_id,)).fetchall():
            c.execute(self.sql("UPDATE deadlines SET status = 'met', closed_at = ?, next_action_at = NULL, "
                               "margin_wd = 1 WHERE id = ?"), (self.time(now), dl_id))
            self._event(case_id, ref, head, now, now, "deadline_met", "", None, None, None,
                        {"deadline": key, "status": "met", "due_date": str(due_date), "margin_wd": 1})
        if step.next_key:
            due = now + timedelta(days=7)
            c.execute(self.sql(
                "INSERT INTO deadlines (case_id, key, kind, label_vi, label_en, unit, start_at, due_date,"
                " due_at, phrase, explanation, citation, confirmed, status, policy, next_action_at, rung,"
                " extra) VALUES (?, ?, 'working_days', ?, ?, ?, ?, ?, ?, '5 ngày làm việc', '[]',"
                " 'benchmark', ?, 'open', 'default', ?, 0, '{}')"),
                (case_id, step.next_key, "Hạn", "Due", unit, self.time(now), self.day(due.date()), self.time(due),
                 True, self.time(due - timedelta(days=2))))
            self._event(case_id, ref, head, now, now, "deadline_set", "", None, None, None,
                        {"deadline": step.next_key, "status": "open", "due_date": due.date().isoformat()})
        c.execute("COMMIT") if self.sqlite else c.commit()

    def close(self) -> None:
        self.conn.close()


def open_cases(settings: Any, n: int) -> list[str]:
    from agreeflow.engine import service

    return [service.open_case(settings, "approval", f"Thỏa thuận hợp tác số {i}", {"lead_unit": "SNGV"})["id"]
            for i in range(n)]


@dataclass
class Side:
    seconds: float
    statements: float
    cpu: float
    """Seconds of this process's CPU (user + system): what the machine's load moves least."""


Fire = Callable[[str, BareStep], None]


def _walk(fire: Fire, refs: list[str], steps: list[BareStep], counter: common.Statements) -> Side:
    return _walks([(fire, refs)], steps, counter)[0]


def _walks(turns: list[tuple[Fire, list[str]]], steps: list[BareStep], counter: common.Statements) -> list[Side]:
    """Walks taken in turns, step by step (every case of the first walk through a step, then every case of the
    next): on a shared machine each sees the same moments, so their ratio holds where walks taken one after the
    other would differ by the machine's drift.  One Side per walk, its statements counted at the driver."""
    seconds, cpu, statements = [0.0] * len(turns), [0.0] * len(turns), [0] * len(turns)
    for step in steps:
        for i, (fire, refs) in enumerate(turns):
            counter.count, counter.on = 0, True
            start, started = time.perf_counter(), time.process_time()
            for ref in refs:
                fire(ref, step)
            seconds[i] += time.perf_counter() - start
            cpu[i] += time.process_time() - started
            counter.on = False
            statements[i] += counter.count
    return [Side(seconds[i], statements[i] / (len(refs) * len(steps)) if refs and steps else 0.0, cpu[i])
            for i, (_, refs) in enumerate(turns)]


def parts(settings: Any, ref: str, repeat: int = 200) -> list[tuple[str, str]]:
    """CPU of the fixed parts of a fire, each measured alone (median of batches): what no SQL trimming removes."""
    from agreeflow.engine.core import cases
    from agreeflow.engine.service import base
    from agreeflow.engine.service.cases import case_view

    def cpu_of(fn: Callable[[], Any]) -> float:
        batches = []
        for _ in range(5):
            start = time.process_time()
            for _ in range(repeat // 5):
                fn()
            batches.append((time.process_time() - start) / (repeat // 5))
        return sorted(batches)[2] * 1000

    def empty() -> None:
        with base.writing(settings):
            pass

    def loads() -> None:
        with base.writing(settings) as s:
            cases.find(s, ref, lock=True)
            base.actor(s, settings)

    def view() -> None:
        with base.writing(settings) as s:
            case_view(s, settings, cases.find(s, ref, lock=True), base.actor(s, settings))

    txn, load, whole = cpu_of(empty), cpu_of(loads), cpu_of(view)
    return [("CPU of an empty write transaction (SQLAlchemy session, BEGIN IMMEDIATE, COMMIT)", f"{txn:.3f} ms"),
            ("CPU of loading the locked case and the acting person through the ORM", f"{load - txn:.3f} ms"),
            ("CPU of the case view a fire returns with --json (not in the figure)", f"{whole - load:.3f} ms")]


def _label(sql: str) -> str:
    """``SELECT cases``, ``INSERT events``…: a statement's verb and first table."""
    words = re.sub(r"\s+", " ", sql).strip()
    if words == ";":
        return "the pool's liveness ping (;, pool_pre_ping on PostgreSQL)"
    verb = words.split(" ", 1)[0].upper()
    found = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?([A-Za-z_]+)", words, re.IGNORECASE)
    return f"{verb} {found.group(1) if found else '?'}"


def statements_of_one_fire(settings: Any, counter: common.Statements) -> str:
    """The statements one fire runs, as ``SELECT cases ×1, …`` in the order they first run."""
    from agreeflow.engine import service

    ref = open_cases(settings, 1)[0]
    counter.log, counter.on = [], True
    try:
        service.fire(settings, ref, common.STEPS[0], view=False)
    finally:
        log, counter.log, counter.on = counter.log or [], None, False
    counts: dict[str, int] = {}
    for sql in log:
        counts[_label(sql)] = counts.get(_label(sql), 0) + 1
    return ", ".join(f"{k} ×{n}" for k, n in counts.items())


SHARES = (  # (label, module path ending, function name): nested parts overlap, as said in the label
    ("the deadlines: close the met one, compute and open the next on the legal calendar, with their 2 events",
     "engine/core/effects.py", "run_moved"),
    ("all 3 hash-chained events: chain head, canonical JSON, SHA-256, INSERT (2 of them inside the deadlines')",
     "engine/core/audit.py", "append_event"),
    ("loading the locked case (ORM)", "engine/core/cases.py", "find"),
    ("the acting person (ORM)", "engine/service/base.py", "actor"),
    ("the state machine: guards, transitions' trigger", "engine/core/machine.py", "advance"),
    ("COMMIT (SQLAlchemy's session and the driver's)", "sqlalchemy/orm/session.py", "commit"),
)


def profile_shares(settings: Any, n_cases: int) -> list[tuple[str, str]]:
    """Each part's share of a fire's time under cProfile (which slows small calls most: a guide, not a timing)."""
    import cProfile
    import pstats

    from agreeflow.engine import service

    refs = open_cases(settings, n_cases)
    profiler = cProfile.Profile()
    profiler.enable()
    for step in common.STEPS:
        for ref in refs:
            service.fire(settings, ref, step, view=False)
    profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cumulative = {}
    for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        key = (path.replace("\\", "/"), name)
        cumulative[key] = cumulative.get(key, 0.0) + ct
    total = sum(ct for (path, name), ct in cumulative.items()
                if path.endswith("engine/service/cases.py") and name == "fire")
    out = []
    for label, ending, fn in SHARES:
        part = sum(ct for (path, name), ct in cumulative.items() if path.endswith(ending) and name == fn)
        out.append((f"share of a fire under cProfile: {label}", f"{part / total:.0%}" if total else "?"))
    return out


@dataclass
class Walked:
    """What :func:`compare` measured on one pair of databases."""

    ours: Side
    viewed: Side
    """The same walk with the case view returned, taken in turns with ``ours``."""
    bare: Side
    view_ms: float
    """A case view alone (show_case, its own transaction), ms."""
    fixed: list[tuple[str, str]]
    """The parts of a fire, its statements and their shares (details)."""


def compare(settings_a: Any, settings_b: Any, bare_target: str, n_cases: int, counter: common.Statements
            ) -> Walked:
    """Agreeflow's walk (with and without the view) and the bare driver's, ``n_cases`` × 6 fires each."""
    from agreeflow.engine import service
    from agreeflow.engine.core import db

    refs, refs_b = open_cases(settings_a, n_cases), open_cases(settings_b, n_cases)
    refs_view = open_cases(settings_a, n_cases)
    warm, warm_b = open_cases(settings_a, WARM_UP), open_cases(settings_b, WARM_UP)
    steps = bare_steps()
    db.dispose_all()
    # Untimed: a few cases walked first on each side, so that neither pays for a cold server, cold caches or the
    # first compilation of a statement inside its figure (the first of several runs was otherwise the slowest).
    _walk(lambda ref, step: service.fire(settings_a, ref, step.trigger, view=False), warm, steps, counter)
    common.say(f"agreeflow: {n_cases * len(steps)} fires through engine.service.fire, in turns with as many "
               "returning the case view")
    ours, viewed = _walks([(lambda ref, step: service.fire(settings_a, ref, step.trigger, view=False), refs),
                           (lambda ref, step: service.fire(settings_a, ref, step.trigger), refs_view)],
                          steps, counter)
    start = time.perf_counter()
    for ref in refs:
        service.show_case(settings_a, ref)
    view_ms = (time.perf_counter() - start) / n_cases * 1000
    service.verify(settings_a)  # the chains it wrote are sound
    probe = open_cases(settings_a, 1)[0]
    service.fire(settings_a, probe, common.STEPS[0])  # a case with steps to offer, like most of the walk's
    fixed = parts(settings_a, probe)
    fixed.append(("statements of one fire (BEGIN/COMMIT aside)", statements_of_one_fire(settings_a, counter)))
    fixed += profile_shares(settings_a, max(n_cases // 5, 5))
    db.dispose_all()
    common.say(f"bare driver: {n_cases * len(steps)} fires")
    bare = BareFire(bare_target, common.COORDINATOR)
    if bare.sqlite:
        counter.watch_sqlite(bare.conn)
    _walk(bare.fire, warm_b, steps, counter)
    base = _walk(bare.fire, refs_b, steps, counter)
    bare.close()
    return Walked(ours, viewed, base, view_ms, fixed)


def _details(w: Walked, fires: int) -> list[tuple[str, str]]:
    ours, bare, viewed = w.ours, w.bare, w.viewed
    return [("fires", str(fires)),
            ("agreeflow per fire", f"{ours.seconds / fires * 1000:.3f} ms"),
            ("the same walk with the case view returned (the API's default; case fire --json), taken in turns "
             "with it, step by step",
             f"{viewed.seconds / fires * 1000:.3f} ms per fire = {bare.seconds / viewed.seconds:.3g}× bare speed; "
             f"CPU {viewed.cpu / fires * 1000:.3f} ms per fire, against {ours.cpu / fires * 1000:.3f} without "
             "the view"),
            ("bare per fire", f"{bare.seconds / fires * 1000:.3f} ms"),
            ("SQL statements per fire (BEGIN/COMMIT aside)",
             f"agreeflow {ours.statements:.1f}, bare {bare.statements:.1f}"),
            ("CPU per fire (this process; the load moves it least)",
             f"agreeflow {ours.cpu / fires * 1000:.3f} ms, bare {bare.cpu / fires * 1000:.3f} ms: "
             f"{bare.cpu / ours.cpu:.3g}× bare"),
            *w.fixed,
            ("a case view alone (show_case, its own transaction)", f"{w.view_ms:.3f} ms")]


def _figure(name: str, ours: Side, bare: Side, fires: int, baseline: str, details: list[tuple[str, str]]
            ) -> common.Figure:
    mine, base = common.rate(fires, ours.seconds), common.rate(fires, bare.seconds)
    ratio = mine / base
    return common.Figure(name=name, value=mine, unit="fires/s", baseline=baseline, baseline_value=base,
                         ratio=ratio, ratio_meaning="× bare speed", goal="≥ 0.5× bare", met=ratio >= 0.5,
                         why_missed=WHY_MISSED, details=details)


def run_sqlite(n_cases: int, counter: common.Statements) -> common.Figure:
    counter.watch_engines()
    common.say(f"SQLite: opening {n_cases} cases in each of two fresh databases")
    settings_a = common.init_database(common.fresh_dir("fire/agreeflow"))
    settings_b = common.init_database(common.fresh_dir("fire/bare"))
    path_b = str(common.sqlite_path(settings_b))
    walked = compare(settings_a, settings_b, path_b, n_cases, counter)
    fires = n_cases * len(common.STEPS)
    return _figure("durable fire (SQLite)", walked.ours, walked.bare, fires, "bare sqlite3, same row writes",
                   _details(walked, fires))


def run_postgres(n_cases: int, counter: common.Statements) -> common.Figure:
    from agreeflow.engine.core.settings import Settings

    counter.watch_psycopg()
    common.say("PostgreSQL: starting a server of its own (pgserver)")
    pg = common.Postgres("fire/pg")
    try:
        results = {}
        for durability, settings in (("no flush per commit", {"synchronous_commit": "off"}),
                                     ("server default, a flush per commit", {})):
            sides = []
            for who in ("agreeflow", "bare"):
                url, uri = pg.create(f"{who}_{len(results)}", **settings)
                home = common.fresh_dir(f"fire/pg-{who}-{len(results)}")
                sides.append((Settings(data_dir=home, db_url=url, user=common.COORDINATOR), uri))
                common.init_database(home, settings=sides[-1][0])
            common.say(f"PostgreSQL ({durability}): {n_cases} cases each side")
            results[durability] = compare(sides[0][0], sides[1][0], sides[1][1], n_cases, counter)
        version = pg.execute("SHOW server_version")[0][0]
    finally:
        from agreeflow.engine.core import db

        db.dispose_all()
        pg.stop()
    fires = n_cases * len(common.STEPS)
    walked = results["no flush per commit"]
    durable = results["server default, a flush per commit"]
    details = _details(walked, fires) + [
        ("PostgreSQL", f"{version} (pgserver), same server and database settings for both sides"),
        ("with the server's default durability (a flush at every commit, both sides)",
         f"agreeflow {durable.ours.seconds / fires * 1000:.3f} ms per fire, bare "
         f"{durable.bare.seconds / fires * 1000:.3f} ms: "
         f"{durable.bare.seconds / durable.ours.seconds:.3g}× bare speed")]
    return _figure("durable fire (PostgreSQL)", walked.ours, walked.bare, fires,
                   "bare psycopg, same row writes (synchronous_commit=off both)", details)


def run(quick: bool) -> list[common.Figure]:
    n_cases = 15 if quick else 100
    common.use_bench_workflows()
    counter = common.Statements()
    figures = [run_sqlite(n_cases, counter), run_postgres(n_cases // 2 if not quick else n_cases, counter)]
    for f in figures:
        common.say(f"{f.name}: {f.ratio:.3g}× bare; " + "; ".join(f"{k}: {v}" for k, v in f.details[1:8]))
    return figures


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
