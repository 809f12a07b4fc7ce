"""The same six-step approval run to completion, state persisted after every step.

* agreeflow — ``service.open_case`` then six ``service.fire(view=False)`` calls
  on SQLite (bench/workflows/approval.yaml: role, guard, hash-chained events,
  deadlines), each step as the web takes it: the state written, no case view
  read back (bench/fire_bench.py measures the view too).
* SpiffWorkflow — bench/workflows/approval.bpmn (six user tasks), parsed once;
  after starting and after every completed task the workflow is serialised with
  ``BpmnWorkflowSerializer.serialize_json`` and written to SQLite (one commit).
  Two variants: the workflow object stays in memory between steps (the baseline
  of the figure, the most favourable to Spiff), and each step first reloads it
  from SQLite with ``deserialize_json`` — what a stateless CLI/web request does,
  and what agreeflow does.
* python-statemachine + sqlite3 — a StateMachine class of the same states;
  each step reads the state row, restores the machine on it, sends the event
  and writes the state and a history row in one commit.

All three use the same SQLite pragmas as agreeflow (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
from fire_bench import BareFire, bare_steps, open_cases

STATES = ("draft", "submitted", "opinions", "synthesis", "decided", "signed", "closed")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


# ------------------------------------------------------------------ agreeflow
def agreeflow_flows(n: int) -> float:
    """Seconds for ``n`` complete flows through the service API."""
    from agreeflow.engine import service

    settings = common.init_database(common.fresh_dir("flow/agreeflow"))
    start = time.perf_counter()
    for i in range(n):
        ref = service.open_case(settings, "approval", f"Thỏa thuận hợp tác số {i}", {"lead_unit": "SNGV"})["id"]
        for trigger in common.STEPS:
            service.fire(settings, ref, trigger, view=False)
    seconds = time.perf_counter() - start
    assert service.show_case(settings, ref)["state"] == "closed"
    return seconds


# ------------------------------------------------------------------ SpiffWorkflow
class SpiffRunner:
    """SpiffWorkflow's BPMN engine with its JSON serialiser over one SQLite table."""

    def __init__(self, path: Path) -> None:
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_file(str(common.WORKFLOWS / "approval.bpmn"))
        self.spec = parser.get_spec("approval")
        self.serializer = BpmnWorkflowSerializer()
        self.conn = connect(path)
        self.conn.execute("CREATE TABLE workflows (id INTEGER PRIMARY KEY, state TEXT NOT NULL, "
                          "completed INTEGER NOT NULL DEFAULT 0)")

    def _save(self, wf_id: int | None, wf: Any) -> int:
        data = self.serializer.serialize_json(wf)
        self.conn.execute("BEGIN IMMEDIATE")
        if wf_id is None:
            wf_id = self.conn.execute("INSERT INTO workflows (state) VALUES (?)", (data,)).lastrowid
        else:
            self.conn.execute("UPDATE workflows SET state = ?, completed = ? WHERE id = ?",
                              (data, int(wf.completed), wf_id))
        self.conn.execute("COMMIT")
        assert wf_id is not None
        return wf_id

    def _load(self, wf_id: int) -> Any:
        data = self.conn.execute("SELECT state FROM workflows WHERE id = ?", (wf_id,)).fetchone()[0]
        return self.serializer.deserialize_json(data)

    @staticmethod
    def _complete(wf: Any, task_name: str) -> None:
        from SpiffWorkflow.util.task import TaskState

        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if len(ready) != 1 or ready[0].task_spec.name != task_name:
            raise RuntimeError(f"expected {task_name} to be the one ready task, found {ready}")
        ready[0].run()
        wf.do_engine_steps()

    def flow(self, reload: bool) -> None:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

        wf = BpmnWorkflow(self.spec)
        wf.do_engine_steps()
        wf_id = self._save(None, wf)
        for task_name in common.STEPS:
            if reload:
                wf = self._load(wf_id)
            self._complete(wf, task_name)
            self._save(wf_id, wf)
        if not self._load(wf_id).completed:
            raise RuntimeError("the Spiff workflow did not complete")


# ------------------------------------------------------------------ python-statemachine
def approval_machine() -> type:
    from statemachine import State, StateMachine

    class Approval(StateMachine):  # type: ignore[misc]
        draft = State(initial=True)
        submitted = State()
        opinions = State()
        synthesis = State()
        decided = State()
        signed = State()
        closed = State(final=True)

        submit = draft.to(submitted)
        ask = submitted.to(opinions)
        synthesise = opinions.to(synthesis)
        decide = synthesis.to(decided)
        sign = decided.to(signed)
        close = signed.to(closed)

    return Approval


class StatemachineRunner:
    """python-statemachine for the rules, sqlite3 for the state and a history row per step."""

    def __init__(self, path: Path) -> None:
        self.machine = approval_machine()
        self.conn = connect(path)
        self.conn.executescript(
            "CREATE TABLE cases (id INTEGER PRIMARY KEY, state TEXT NOT NULL, updated_at REAL NOT NULL);"
            "CREATE TABLE history (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, event TEXT NOT NULL,"
            " from_state TEXT, to_state TEXT NOT NULL, at REAL NOT NULL);")

    def flow(self) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        case_id = c.execute("INSERT INTO cases (state, updated_at) VALUES ('draft', ?)", (time.time(),)).lastrowid
        c.execute("COMMIT")
        for trigger in common.STEPS:
            c.execute("BEGIN IMMEDIATE")
            state = c.execute("SELECT state FROM cases WHERE id = ?", (case_id,)).fetchone()[0]
            sm = self.machine(start_value=state)
            sm.send(trigger)
            new_state = sm.current_state_value
            c.execute("UPDATE cases SET state = ?, updated_at = ? WHERE id = ?", (new_state, time.time(), case_id))
            c.execute("INSERT INTO history (case_id, event, from_state, to_state, at) VALUES (?, ?, ?, ?, ?)",
                      (case_id, trigger, state, new_state, time.time()))
            c.execute("COMMIT")
        if c.execute("SELECT state FROM cases WHERE id = ?", (case_id,)).fetchone()[0] != "closed":
            raise RuntimeError("the statemachine flow did not reach closed")


def bare_floor(n: int) -> float:
    """Seconds for bare sqlite3 to write agreeflow's rows for the six steps of ``n`` cases.

    The floor any engine with agreeflow's durability (chained events, deadline
    rows, one commit per step) must stand on; opening the cases is not timed.
    """
    from agreeflow.engine.core import db

    settings = common.init_database(common.fresh_dir("flow/bare"))
    refs = open_cases(settings, n)
    db.dispose_all()
    bare = BareFire(str(common.sqlite_path(settings)), common.COORDINATOR)
    start = time.perf_counter()
    for ref in refs:
        for step in bare_steps():
            bare.fire(ref, step)
    seconds = time.perf_counter() - start
    bare.conn.close()
    return seconds


def _flows(n: int, fn: Callable[[], None]) -> float:
    fn()  # warm-up: first-call costs are not what a running service pays
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


WHY_MISSED = (
    "the floor line shows the goal is not out of reach by construction: bare sqlite3 writing agreeflow's rows "
    "for the six steps is faster than Spiff. The gap is agreeflow's Python per step — each step is one "
    "service.fire, whose statements and parts are listed under the fire figure (deadlines computed on the legal "
    "calendar, three hash-chained events, the ORM loads and the session's commit) — plus opening the case, "
    "which returns its case view.")


def run(quick: bool) -> list[common.Figure]:
    n = 10 if quick else 60
    common.use_bench_workflows()
    common.say(f"agreeflow: {n} flows of open + 6 fires")
    ours_s = agreeflow_flows(n)

    work = common.fresh_dir("flow/others")
    spiff = SpiffRunner(work / "spiff.db")
    common.say(f"SpiffWorkflow: {n} flows kept in memory, serialised after each step")
    spiff_s = _flows(n, lambda: spiff.flow(reload=False))
    common.say(f"SpiffWorkflow: {n} flows reloaded from SQLite before each step")
    spiff_reload_s = _flows(n, lambda: spiff.flow(reload=True))
    psm = StatemachineRunner(work / "statemachine.db")
    common.say(f"python-statemachine + sqlite3: {n} flows")
    psm_s = _flows(n, psm.flow)
    common.say(f"bare sqlite3 writing agreeflow's rows: {n} × 6 steps")
    floor_s = bare_floor(n)

    ours = common.rate(n, ours_s)
    spiff_rate = common.rate(n, spiff_s)
    ratio = ours / spiff_rate
    from importlib.metadata import version
    return [
        common.Figure(
            name="six-step flow vs SpiffWorkflow", value=ours, unit="flows/s",
            baseline=f"SpiffWorkflow {version('SpiffWorkflow')}, JSON to SQLite per step",
            baseline_value=spiff_rate, ratio=ratio, ratio_meaning="× Spiff speed",
            goal="≥ 1.0× Spiff", met=ratio >= 1.0,
            details=[("flows", str(n)),
                     ("agreeflow per flow (open + 6 fires)", f"{ours_s / n * 1000:.1f} ms"),
                     ("Spiff per flow, kept in memory", f"{spiff_s / n * 1000:.1f} ms"),
                     ("Spiff per flow, reloaded each step", f"{spiff_reload_s / n * 1000:.1f} ms"),
                     ("agreeflow vs Spiff reloaded each step", f"{ours / common.rate(n, spiff_reload_s):.2f}×"),
                     ("bare sqlite3 writing agreeflow's rows for the 6 steps (the floor)",
                      f"{floor_s / n * 1000:.2f} ms per flow = {spiff_s / floor_s:.2f}× Spiff")],
            why_missed=WHY_MISSED),
        common.Figure(
            name="six-step flow vs python-statemachine + sqlite3", value=ours, unit="flows/s",
            baseline=f"python-statemachine {version('python-statemachine')} + sqlite3",
            baseline_value=common.rate(n, psm_s), ratio=ours / common.rate(n, psm_s),
            ratio_meaning="× statemachine speed", goal="(none)", met=None,
            details=[("statemachine per flow", f"{psm_s / n * 1000:.2f} ms")]),
    ]


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
