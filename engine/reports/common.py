"""What reports share: the period a report covers, the report map, and facts read from the log.

Reports never name a workflow or a state: ``engine/data/report-map.yaml`` says
which workflow ids and states mean "signed", "in force", "approved", "done"...
so the reports keep working when the workflow files change.  Facts such as
"signed in 2024" or "in force on 31/12" are read from the transition events
(the log), not from the cases' current state, so a report for a past year
gives the same numbers next year.

Every fact counts in the period in which it **took effect**, never by the day
a command or a sweep wrote it; the rules are here, in one place (see "when
facts took effect" below: :func:`moves`, :func:`closing`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock, definitions
from agreeflow.engine.core.errors import OptionValueError, ReportMapError
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg, t
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, EventKind
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.store import Case, Deadline, Event, Meta
from agreeflow.engine.core.yamlio import load_checked
from agreeflow.engine.legaltime import calendar_admin, deadlines

MAP_FILE = DATA_DIR / "report-map.yaml"


# ------------------------------------------------------------------ the period
@dataclass(frozen=True)
class Window:
    """A half-open period [start, end) as UTC instants; None = unbounded.

    A bare date for ``--to`` means the whole of that day (up to 24:00 local).
    """

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, at: datetime | None) -> bool:
        return at is not None and (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def holds_day(self, d: date | None) -> bool:
        """Whether the local day ``d`` lies in the period."""
        return d is not None and self.holds(clock.local_at(d, 0))

    @classmethod
    def year(cls, year: int) -> Window:
        return cls(clock.local_at(date(year, 1, 1), 0), clock.local_at(date(year + 1, 1, 1), 0))


def window(start: str | None, end: str | None) -> Window:
    """Parse ``--from``/``--to`` (dd/mm/yyyy, YYYY-MM-DD or ISO-8601); OptionValueError on bad text,
    DateValueError off the calendar's years (the working days of a report are counted on it)."""
    def one(option: str, text: str | None, is_end: bool) -> datetime | None:
        if not text:
            return None
        try:
            if re.fullmatch(r"\s*\d{1,2}/\d{1,2}/\d{4}\s*", text):  # dd/mm/yyyy, as documents write a day
                text = parse_date(text).isoformat()
            at = clock.parse_instant(text)
            calendar_admin.check_year(clock.to_local(at).year, f"{option} {text}")
        except OverflowError:  # year 1 in Vietnam is before year 1 in UTC: off the calendar in any case
            calendar_admin.check_year(1, f"{option} {text}")
        except ValueError:
            remedy = Msg(N_("Give a day dd/mm/yyyy (e.g. 31/07/2024), YYYY-MM-DD or an ISO-8601 instant."))
            raise OptionValueError(option=option, value=text, remedy=remedy) from None
        if is_end and len(text.strip()) <= 10:
            return clock.end_of_local_day(clock.to_local(at).date())
        return at
    w = Window(one("--from", start, False), one("--to", end, True))
    if w.start and w.end and w.end <= w.start:
        raise OptionValueError(option="--to", value=end,
                               remedy=Msg(N_("--to must come after --from.")))
    return w


def year_window(year: int) -> Window:
    """The local calendar year ``year``; DateValueError (exit 2) off the calendar's years."""
    calendar_admin.check_year(year, f"--year {year}")
    return Window.year(year)


# ------------------------------------------------------------------ the report map
@dataclass(frozen=True)
class Selector:
    """When a case counts: it enters one of ``states`` or fires one of ``triggers``.

    ``date_field`` names a date field of the case that says when entering took
    effect (signing: ``signed_on``), when it is earlier than the step.
    """

    states: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    date_field: str | None = None

    def hit(self, to_state: str | None, trigger: str | None) -> bool:
        return to_state in self.states or (trigger is not None and trigger in self.triggers)


@dataclass(frozen=True)
class Group:
    """Cases of ``workflows`` whose fields match every ``where`` item."""

    workflows: tuple[str, ...] = ()
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, case: Case) -> bool:
        if self.workflows and case.workflow not in self.workflows:
            return False
        for name, wanted in self.where.items():
            value = case.fields.get(name)
            values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            if not set(values) & set(wanted):
                return False
        return True


@dataclass(frozen=True)
class ReportMap:
    issuer: str
    agreements: Group
    levels: dict[str, Group]
    agreement: dict[str, Selector]      # signed, in_force, amended, expired, terminated
    partner_field: str
    outbound: Group
    inbound: Group
    approved: Selector
    country_field: str
    purpose_field: str
    unapproved_flag: str
    consultations: Group
    consultation_closed: Selector
    replies: Group                      # the per-addressee answer cases
    reply_states: Selector              # the answers, e.g. agreed / commented / deemed agreed
    letter_field: str                   # the request letter's number on a reply case (silence deemed under it)
    unanswered: tuple[str, ...]         # reply states that mean the body never answered (its round ended)
    tasks: Group
    task_done: tuple[str, ...]
    task_cancelled: tuple[str, ...]
    path: str


AGREEMENT_MEASURES = ("signed", "in_force", "amended", "expired", "terminated")


def load_map(path: Path | None = None) -> ReportMap:
    """Read and check the report map (``--map``, ``AGREEFLOW_REPORT_MAP`` or the shipped file)."""
    path = path or Path(os.environ.get("AGREEFLOW_REPORT_MAP") or MAP_FILE)
    raw = load_checked(path, ReportMapError)
    problems: list[Msg] = []
    where = str(path)

    def sect(name: str) -> dict[str, Any]:
        node = raw.get(name) if isinstance(raw, dict) else None
        if not isinstance(node, dict):
            problems.append(Msg(N_("{where}: needs a '{name}' section"), where=where, name=name))
            return {}
        return node

    def strs(node: Any, key: str) -> tuple[str, ...]:
        value = node.get(key) if isinstance(node, dict) else None
        if value is None:
            return ()
        return tuple(str(v) for v in (value if isinstance(value, list) else [value]))

    def group(node: Any, default: tuple[str, ...] = ()) -> Group:
        node = node if isinstance(node, dict) else {}
        w = node.get("where") or {}
        return Group(strs(node, "workflows") or default, {str(k): strs(w, k) for k in w})

    def selector(node: Any, name: str) -> Selector:
        if not isinstance(node, dict) or not (node.get("states") or node.get("triggers")):
            problems.append(Msg(N_("{where}: '{name}' needs states: [...] (or triggers: [...])"), where=where,
                                name=name))
            return Selector()
        return Selector(strs(node, "states"), strs(node, "triggers"), str(node.get("date_field") or "") or None)

    ag, de, co, ta = sect("agreements"), sect("delegations"), sect("consultations"), sect("tasks")
    ag_group = group(ag)
    levels = {str(k): group(v, ag_group.workflows) for k, v in (ag.get("levels") or {"all": {}}).items()}
    result = ReportMap(
        issuer=str(raw.get("issuer") or "") if isinstance(raw, dict) else "",
        agreements=ag_group, levels=levels,
        agreement={m: selector(ag.get(m), f"agreements.{m}") for m in AGREEMENT_MEASURES},
        partner_field=str(ag.get("partner_field") or "partner"),
        outbound=group(de.get("outbound")), inbound=group(de.get("inbound")),
        approved=selector(de.get("approved"), "delegations.approved"),
        country_field=str(de.get("country_field") or "country"),
        purpose_field=str(de.get("purpose_field") or "purpose"),
        unapproved_flag=str(de.get("unapproved_flag") or "unapproved"),
        consultations=group(co), consultation_closed=selector(co.get("closed"), "consultations.closed"),
        replies=group(co.get("replies")), reply_states=selector(co.get("replies"), "consultations.replies"),
        letter_field=str(co.get("letter_field") or "letter_no"), unanswered=strs(co, "unanswered"),
        tasks=group(ta), task_done=strs(ta, "done"), task_cancelled=strs(ta, "cancelled"), path=where)
    for name, g in (("agreements", result.agreements), ("delegations.outbound", result.outbound),
                    ("delegations.inbound", result.inbound), ("consultations", result.consultations),
                    ("tasks", result.tasks)):
        if not g.workflows:
            problems.append(Msg(N_("{where}: '{name}' needs workflows: [...]"), where=where, name=name))
    if not result.task_done:
        problems.append(Msg(N_("{where}: 'tasks' needs done: [...]"), where=where))
    if problems:
        raise ReportMapError(problems)
    return result


def map_warnings(m: ReportMap, lang: str) -> list[str]:
    """Workflow ids and states the map names that no workflow file defines (the map has drifted), in ``lang``."""
    known: dict[str, set[str]] = {}
    for (wid, _), d in definitions.registry().items():
        known.setdefault(wid, set()).update(d.states)
    out: list[str] = []

    def check(group: Group, states: Iterable[str], what: str) -> None:
        for wid in group.workflows:
            if wid not in known:
                out.append(t(N_("{what}: no workflow '{workflow}' (report-map {path})"), lang, what=what, workflow=wid,
                             path=m.path))
        # A group may join workflows whose states differ: a state must exist in one of them.
        have = set().union(*(known.get(wid, set()) for wid in group.workflows))
        for st in states:
            if have and st not in have:
                out.append(t(N_("{what}: no state '{state}' in {workflows}"), lang, what=what, state=st,
                             workflows=list(group.workflows)))
    check(m.agreements, {s for sel in m.agreement.values() for s in sel.states}, "agreements")
    check(m.outbound, m.approved.states, "delegations.outbound")
    check(m.inbound, m.approved.states, "delegations.inbound")
    check(m.consultations, m.consultation_closed.states, "consultations")
    check(m.replies, m.reply_states.states + m.unanswered, "consultations.replies")
    check(m.tasks, m.task_done + m.task_cancelled, "tasks")
    return sorted(set(out))


# ------------------------------------------------------------------ when facts took effect
# A report counts each fact in the period in which it took effect:
#
# * a step took effect at its event's ``at``: the instant of the command, or the
#   effective time given with ``--effective`` (the event then carries
#   ``payload.late_entry`` and its ``recorded_at`` says when it was written);
# * a reply the engine settled because its deadline ran out (``deemed_agreed``,
#   written by whichever sweep noticed) took effect at the end of that
#   deadline's day (``payload.deadline`` of the ``deemed_agreed`` event);
# * a parent's step the engine fired because every reply of its round had
#   come in (fan-in, ``on_children_done``) took effect with the last reply:
#   a round ends at the latest effect date of its replies;
# * entering a state the report map dates by a field (``date_field``: signing
#   by ``signed_on``, entry into force by ``effective_on``) took effect that
#   day, when it is earlier than the step that recorded it;
# * a deadline closed by a step closed when the step took effect
#   (:func:`closing`); a recurring period closed as missed at its end has no
#   completion, and its late report took effect when it was made.
# Effect times never go backwards within one case (each is at least the one before).
@dataclass(frozen=True)
class Move:
    """One state change of a case, as the log recorded it."""

    at: datetime
    """When it took effect: what reports count by."""
    from_state: str | None
    to_state: str | None
    trigger: str | None
    logged: datetime | None = None
    """The event's own ``at`` (the instant of the command or sweep that wrote it)."""
    recorded_at: datetime | None = None
    """When it was written (real clock); meaningful for a late entry."""
    actor: str = ""
    late: dict[str, Any] | None = None
    """``payload.late_entry`` (``{"effective", "reason"}``) of a step recorded late."""
    cause: str | None = None
    """Why ``at`` differs from ``logged``: ``deemed``, ``fan_in``, ``date_field``; None when it does not."""


def day_end(d: date) -> datetime:
    """The last instant of local day ``d``: a fact dated by a day alone took effect within it."""
    return clock.end_of_local_day(d) - timedelta(microseconds=1)


def _field_day(case: Case, name: str) -> date | None:
    value = case.fields.get(name)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def cases_of(s: Session, workflows: Iterable[str]) -> list[Case]:
    ids = tuple(workflows)
    if not ids:
        return []
    return list(s.exec(select(Case).where(col(Case.workflow).in_(ids)).order_by(col(Case.id))).all())


def moves(s: Session, cases: list[Case], dated: Iterable[Selector] = ()) -> dict[int, list[Move]]:
    """The opened/transition events of ``cases`` in order, per case id, each with its effect time.

    ``dated``: the report map's selectors whose ``date_field`` dates entering
    their states (see the rules above).
    """
    out: dict[int, list[Move]] = {c.id: [] for c in cases if c.id is not None}
    if not out:
        return out
    deemed: dict[int, dict[int, date]] = {}  # case → seq of the deemed step → its deadline's day
    last_seq: dict[int, int] = {}
    # sqlmodel types select() for at most four columns (fastapi/sqlmodel#271); it takes any number.
    stmt = (select(Event.case_id, Event.seq, Event.at, Event.from_state, Event.to_state,  # type: ignore[call-overload]
                   Event.trigger, Event.kind, Event.actor, Event.recorded_at, Event.payload)
            .where(col(Event.case_id).in_(list(out)),
                   col(Event.kind).in_((EventKind.OPENED, EventKind.TRANSITION, EventKind.DEEMED_AGREED)))
            .order_by(col(Event.case_id), col(Event.seq)))
    seqs: dict[int, list[int]] = {}
    for case_id, seq, at, frm, to, trig, kind, actor, recorded_at, payload in s.exec(stmt):
        payload = payload or {}
        if kind == EventKind.DEEMED_AGREED:
            day = payload.get("deadline")
            if day and case_id in last_seq:
                deemed.setdefault(case_id, {})[last_seq[case_id]] = date.fromisoformat(str(day))
            continue
        last_seq[case_id] = seq
        seqs.setdefault(case_id, []).append(seq)
        out[case_id].append(Move(at, frm, to, trig, logged=at, recorded_at=recorded_at, actor=actor or "",
                                 late=payload.get(audit.LATE_ENTRY)))
    by_id = {c.id: c for c in cases}
    dated = [sel for sel in dated if sel.date_field]
    for case_id, history in out.items():
        case, since = by_id[case_id], None
        fixed: list[Move] = []
        for seq, mv in zip(seqs.get(case_id, []), history):
            effect = _effect(s, case, mv, deemed.get(case_id, {}).get(seq), dated, since)
            if _is_fan_in(s, case, mv):
                since = mv.logged
            if fixed and effect.at < fixed[-1].at:
                effect = replace(effect, at=fixed[-1].at)
            fixed.append(effect)
        out[case_id] = fixed
    return out


def _is_fan_in(s: Session, case: Case, mv: Move) -> bool:
    """Whether the engine fired ``mv`` because every child of the round had ended (``on_children_done``)."""
    if mv.actor != SYSTEM_ACTOR or not mv.from_state or not mv.trigger:
        return False
    state = cases.definition_of(s, case.workflow, case.version).states.get(mv.from_state)
    return state is not None and state.on_children_done == mv.trigger


def _effect(s: Session, case: Case, mv: Move, deemed_day: date | None, dated: list[Selector],
            since: datetime | None) -> Move:
    if deemed_day is not None and day_end(deemed_day) < mv.at:
        return replace(mv, at=day_end(deemed_day), cause="deemed")
    for sel in dated:
        entering = mv.to_state in sel.states and mv.from_state not in sel.states
        day = _field_day(case, sel.date_field or "") if entering else None
        if day is not None and day_end(day) < mv.at:
            return replace(mv, at=day_end(day), cause="date_field")
    if _is_fan_in(s, case, mv):
        end = round_end(s, case, mv, since)
        if end is not None and end < mv.at:
            return replace(mv, at=end, cause="fan_in")
    return mv


def round_end(s: Session, parent: Case, fan_in: Move, since: datetime | None = None) -> datetime | None:
    """When the round that ``fan_in`` closed ended: the latest effect of its replies' final steps.

    The round's replies are the child cases that reached a terminal state no
    later than the fan-in and after ``since`` (the parent's previous fan-in).
    """
    assert fan_in.logged is not None
    children = list(s.exec(select(Case).where(Case.parent_id == parent.id).order_by(col(Case.id))).all())
    ends = []
    for child in children:
        states = cases.definition_of(s, child.workflow, child.version).states
        last = next((m for m in reversed(moves(s, [child])[child.id or 0])
                     if m.to_state in states and states[m.to_state].terminal
                     and m.logged is not None and m.logged <= fan_in.logged
                     and (since is None or m.logged > since)), None)
        if last is not None:
            ends.append(last.at)
    return max(ends) if ends else None


def first_hit(history: list[Move], sel: Selector, w: Window) -> datetime | None:
    """When the case first entered a selected state (or fired a selected trigger) in the period."""
    return next((m.at for m in history if w.holds(m.at) and sel.hit(m.to_state, m.trigger)), None)


def state_at(history: list[Move], at: datetime) -> str | None:
    """The state the case was in at instant ``at`` (None: not opened yet)."""
    state = None
    for m in history:
        if m.at >= at:
            break
        state = m.to_state
    return state


def done_move(history: list[Move], done: tuple[str, ...]) -> Move | None:
    """The step by which the case last arrived in a done state from a not-done one, if it is still done."""
    if not history or history[-1].to_state not in done:
        return None
    arrived = None
    for m in history:
        if m.to_state in done and m.from_state not in done:
            arrived = m
    return arrived


def done_at(history: list[Move], done: tuple[str, ...]) -> datetime | None:
    """When the case last arrived in a done state from a not-done one, if it is still done."""
    arrived = done_move(history, done)
    return arrived.at if arrived else None


@dataclass(frozen=True)
class Closing:
    """How a deadline row ended, by effect date: when it was done and by which step."""

    done: datetime | None
    """When the step that closed it took effect (None: never done — a period that ended missed)."""
    move: Move | None
    """That step (None when the row was not closed by a state change, e.g. a late periodic report)."""


def closing(d: Deadline, history: list[Move]) -> Closing:
    """When a closed deadline row (met / missed) was done, by effect date (see the rules above).

    A row closes in the command that moves its case, at that command's
    instant: the step logged at ``closed_at`` is the one that closed it, and
    its effect time is when the deadline was done.  A recurring period closed
    as missed at its end was not done, unless its late report came.
    """
    extra = d.extra or {}
    if extra.get(deadlines.PERIOD_END):
        report = extra.get(deadlines.LATE_REPORT)
        return Closing(clock.parse_instant(report["at"]) if report else None, None)
    move = next((m for m in reversed(history) if m.logged == d.closed_at), None)
    return Closing(move.at if move else d.closed_at, move)


def state_label(workflows: Iterable[str], state: str, lang: str) -> str:
    """A state's label from the newest definition that has it (the state id when none does)."""
    for d in definitions.newest():
        if d.id in workflows and state in d.states:
            return d.label(state, lang)
    return state


def flags(case: Case) -> list[str]:
    """``fields._flags`` as a list (workflows may store a list or comma-separated text)."""
    raw = case.fields.get("_flags") or []
    return [str(f).strip() for f in (raw.split(",") if isinstance(raw, str) else raw) if str(f).strip()]


def local_day(at: datetime | None) -> date | None:
    return clock.to_local(at).date() if at is not None else None


def province_name(s: Session) -> str:
    """The province named by the directory file last loaded (``province:``), or ''."""
    row = s.get(Meta, "province")
    return row.value if row else ""


# ------------------------------------------------------------------ what reports render
@dataclass
class Table:
    """One titled table of a report: cells are text, numbers or dates (renderers format them)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns,
                "rows": [[c.isoformat() if isinstance(c, date) else c for c in r] for r in self.rows]}


