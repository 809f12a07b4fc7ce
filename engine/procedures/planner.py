"""Feasibility planner: the fastest legal path through a workflow, with dates.

"Can we sign by next Tuesday?" (the Pohang case, seed 000).  The planner walks
the workflow's graph from its initial state to a goal state and dates each
step on the working-day calendar.

Cost model (the data is each state's ``plan`` key, see engine/definitions.py):

* A state whose ``plan`` names a waiting period — ``wait: <timer>`` (the
  timer's limit, citation and confirmed flag) or ``max`` + ``unit`` — may keep
  the case there that long: other bodies have the right to take the full
  period (e.g. MOFA's 7 working days, Law 70/2020 art. 19(2)), so the date the
  province can **promise** (``latest``) counts the full period.  ``min``
  (default 0 working days) is the optimistic stay: the ``earliest`` date, if
  every reply arrives at once.
* A state without ``plan`` waits only for the province's own action, which the
  law does not time: it costs nothing.
* Transitions are taken when their guards pass on the planned fields
  (``--field``); documents and ``requires`` fields are assumed supplied; a
  guard that cannot judge without a real case lets the path through.

Dijkstra over states with the (latest, earliest) arrival dates as the
distance — arrival dates only grow along a path, so the first time the goal
is settled its path is the fastest guaranteed one.  Feasibility against a
target date (``--by``) is judged on ``latest``: a commitment must not rely on
others answering early.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agreeflow.engine.core import clock
from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.definitions import Definition, StateDef, TransitionDef
from agreeflow.engine.core.errors import FieldValueError, UserInputError, did_you_mean
from agreeflow.engine.core.fields import coerce, parse_date
from agreeflow.engine.core.guards import GuardContext, registered_guards
from agreeflow.engine.core.i18n import N_, Msg, show
from agreeflow.engine.core.i18n import t as translate
from agreeflow.engine.legaltime import calendar_admin


class NoPathError(UserInputError):
    msgid = N_("No legal path from '{start}' to '{goal}' in workflow {workflow} with the given fields{why}.")


class UnknownGoalError(UserInputError):
    msgid = N_("Workflow {workflow} has no state '{goal}'.{hint} States: {states}")


@dataclass
class Wait:
    """How long a case may legally stay in one state."""

    min: int = 0
    max: int = 0
    unit: str = "wd"
    citation: str = ""
    confirmed: bool = True
    source: str = ""
    note: str = ""


@dataclass(order=True)
class _Node:
    latest: date
    earliest: date
    hops: int
    state: str = field(compare=False)
    path: list[tuple[TransitionDef | None, str, date, date]] = field(compare=False, default_factory=list)


def wait_of(st: StateDef) -> Wait:
    """The legal waiting period of a state from its ``plan`` key (zero when it has none)."""
    plan = st.plan
    if not plan:
        return Wait()
    if "wait" in plan:
        timer = next(t for t in st.timers if t.id == plan["wait"])
        return Wait(int(plan.get("min", 0)), int(timer.limit or 0), timer.unit, timer.citation, timer.confirmed,
                    f"timer:{st.name}:{timer.id}", timer.note or str(plan.get("note", "")))
    return Wait(int(plan.get("min", 0)), int(plan.get("max", 0)), str(plan.get("unit", "wd")), "",
                bool(plan.get("confirmed", False)), f"plan:{st.name}", str(plan.get("note", "")))


PLAN_ONLY = ("proposer_kind",)
"""Fields a plan may give that no case has: the kind of the proposing unit (for proposer_kind_allowed)."""


def planned_fields(defn: Definition, raw: dict[str, str], on: date) -> dict[str, Any]:
    """``--field`` text → typed values (engine.core.fields.coerce, without a database)."""
    extra = {k: v for k, v in raw.items() if k in PLAN_ONLY and k not in defn.fields}
    return coerce(None, defn, {k: v for k, v in raw.items() if k not in extra}, on) | extra


@dataclass(frozen=True)
class PlannedCase:
    """The case a plan is about, before it exists: what a guard may read of it while planning.

    Guards see ``ctx.session is None`` and judge only what the plan states
    (engine.core.guards); this object has no id, no events, no deadlines.
    """

    state: str
    fields: dict[str, Any]
    unit: str | None
    workflow: str
    version: int
    ref: str = "—"  # a plan is no case yet: it has no number
    id: None = None


def _passes(defn: Definition, t: TransitionDef, state: str, fields: dict[str, Any], when: date) -> bool:
    """True when no guard of ``t`` refuses the planned case on day ``when``."""
    guards = registered_guards()
    case = PlannedCase(state, fields, fields.get(defn.unit_field or ""), defn.id, defn.version)
    ctx = GuardContext(case=case, definition=defn, trigger=t.trigger, fields=fields, actor=None,
                       now=clock.end_of_local_day(when), session=None)
    return all(guards[g](ctx) is None for g in t.guards)


def goal_of(defn: Definition, goal: str | None) -> str:
    """The state to reach: ``goal``, else the state marked ``plan: {goal: true}``, else the first terminal one."""
    if goal:
        if goal not in defn.states:
            guess = did_you_mean(goal, defn.states)
            raise UnknownGoalError(workflow=defn.id, goal=goal, states=list(defn.states),
                                   hint=f" ({guess}?)" if guess else "")
        return goal
    marked = [s.name for s in defn.states.values() if s.plan.get("goal")]
    return marked[0] if marked else next(s.name for s in defn.states.values() if s.terminal)


def plan(defn: Definition, start: date, cal: Any, raw_fields: dict[str, str] | None = None,
         goal: str | None = None, by: date | None = None, lang: str = "vi") -> dict[str, Any]:
    """The fastest legal path from the initial state to ``goal``, dated; feasibility against ``by``."""
    fields = planned_fields(defn, raw_fields or {}, start)
    fields.setdefault("_documents", {"(planned)": []})
    target = goal_of(defn, goal)
    heap = [_Node(start, start, 0, defn.initial, [(None, defn.initial, start, start)])]
    settled: set[str] = set()
    best: _Node | None = None
    while heap:
        node = heapq.heappop(heap)
        if node.state in settled:
            continue
        settled.add(node.state)
        if node.state == target:
            best = node
            break
        w = wait_of(defn.states[node.state])
        leave_late = cal.add_date(node.latest, w.max, w.unit) if w.max else node.latest
        leave_early = cal.add_date(node.earliest, w.min, "wd") if w.min else node.earliest
        for t in defn.from_state(node.state):
            if t.dest in settled or t.dest == node.state or not _passes(defn, t, node.state, fields, leave_late):
                continue
            heapq.heappush(heap, _Node(leave_late, leave_early, node.hops + 1, t.dest,
                                       node.path + [(t, t.dest, leave_late, leave_early)]))
    if best is None:
        raise NoPathError(workflow=defn.id, start=defn.initial, goal=target,
                          why=f" ({', '.join(f'{k}={v}' for k, v in raw_fields.items())})" if raw_fields else "")
    return _report(defn, best, start, cal, by, target, lang)


def _report(defn: Definition, node: _Node, start: date, cal: Any, by: date | None, target: str,
            lang: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    path = node.path
    for i, (t, state, enter_late, enter_early) in enumerate(path):
        w = wait_of(defn.states[state])
        waits = i < len(path) - 1 and w.max > 0
        leave_late, leave_early = (path[i + 1][2], path[i + 1][3]) if i < len(path) - 1 else (enter_late, enter_early)
        due = cal.add(enter_late, w.max, w.unit) if waits else None
        steps.append({
            "state": state, "label": defn.label(state, lang),
            "via": t.trigger if t else None, "via_label": (t.label.get(lang) or t.trigger) if t else None,
            "via_citation": t.citation if t else None, "via_confirmed": t.confirmed if t else True,
            "enter_earliest": enter_early.isoformat(), "enter_latest": enter_late.isoformat(),
            "leave_earliest": leave_early.isoformat(), "leave_latest": leave_late.isoformat(),
            "wait": ({"min": w.min, "max": w.max, "unit": w.unit, "source": w.source, "citation": w.citation,
                      "confirmed": w.confirmed, "note": w.note} if waits else None),
            "working_days": cal.working_days_between(enter_late, leave_late),
            "explanation": [show(s, lang) for s in due.steps] if due else [],
        })
    latest, earliest = node.latest, node.earliest
    binding = [s for s in steps if s["wait"]]
    unconfirmed = [f"{s['label']}: {s['wait']['citation'] or s['wait']['note']}" for s in binding
                   if not s["wait"]["confirmed"]]
    unconfirmed += [f"{s['via_label']}: {s['via_citation']}" for s in steps if s["via"] and not s["via_confirmed"]]
    out: dict[str, Any] = {
        "workflow": defn.id, "version": defn.version, "title": defn.title.get(lang, defn.id),
        "start": start.isoformat(), "goal": target, "goal_label": defn.label(target, lang),
        "earliest": earliest.isoformat(), "latest": latest.isoformat(),
        "working_days": cal.working_days_between(start, latest), "steps": steps,
        "binding": [{"state": s["state"], "label": s["label"], "days": s["wait"]["max"], "unit": s["wait"]["unit"],
                     "citation": s["wait"]["citation"], "confirmed": s["wait"]["confirmed"]} for s in binding],
        "unconfirmed": unconfirmed, "warnings": [], "by": by.isoformat() if by else None,
        "feasible": None, "missed_by_wd": None,
    }
    if defn.effective_from and start < defn.effective_from:
        out["warnings"].append(translate("The workflow applies from {since}; the start {start} is earlier — check the "
                                         "rules then in force", lang, since=fmt_day(defn.effective_from),
                                         start=fmt_day(start)))
    if by is not None:
        out["feasible"] = latest <= by
        out["missed_by_wd"] = 0 if latest <= by else cal.working_days_between(by, latest)
        out["feasible_if_all_reply_at_once"] = earliest <= by
    return out


def parse_day(text: str, option: str) -> date:
    """A date option (YYYY-MM-DD or dd/mm/yyyy) in the calendar's years; FieldValueError / DateValueError
    name the option."""
    try:
        day = parse_date(text)
        calendar_admin.check_year(day.year, f"{option} {text}")
        return day
    except ValueError:
        raise FieldValueError(field=option, problem=Msg(N_("'{text}' is not a date"), text=text),
                              remedy=Msg(N_("E.g. 2017-05-02 or 02/05/2017"))) from None
