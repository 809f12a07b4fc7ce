"""Were the time limits kept?  Every statutory step and every assigned task, per unit and per step.

Two sources, one vocabulary of outcomes (``OUTCOMES``):

* statutory steps are the deadline rows the workflows' timers create
  (``deadlines``), closed ``met``/``missed`` when the case leaves the step —
  judged here by when that step **took effect** (engine.reports.common), so a
  reply the engine deemed agreed at its deadline is "deemed agreed", never
  late, and a step recorded late but effective in time is on time;
* a recurring period (a yearly report) closed at its end without its report
  is "not done"; a late report of it, "done late"; a consulted body's reply
  deadline closed with its timer's outcome (``no_reply``, ``deemed_agreed``)
  keeps it — a deemed agreement dated at its deadline — and one closed before
  timers had outcomes, by entering a state the map lists as
  ``consultations.unanswered``, is "no reply" too: never a completion date;
* assigned tasks (the report map's ``tasks``) are judged on the task itself:
  when it reached a done state against its due date.  Their own timer rows
  are not used as steps — starting a task closes the "assigned" timer as met
  without the task being done.

A row belongs to the period of its due date; rows with no due date (ongoing,
waiting for an event) to the period in which they were set.

Late entries that changed an outcome: a step recorded late ("ghi nhận muộn",
``--effective``) whose effect was in time but whose recording came after the
due date is on time here — and listed again in a section of its own
(``late_recorded``), with when it was recorded, by whom and why, so an
inspector sees every outcome that rests on a date given after the fact.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import clock, definitions
from agreeflow.engine.core.cases import SYSTEM_WORKFLOW
from agreeflow.engine.core.errors import UnknownUnitError
from agreeflow.engine.core.i18n import localized, pair, t
from agreeflow.engine.core.kinds import DeadlineStatus
from agreeflow.engine.core.store import Case, Deadline, Unit
from agreeflow.engine.core.vocabulary import duration
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.reports.common import (
    Closing,
    Move,
    ReportMap,
    Table,
    Window,
    cases_of,
    closing,
    done_move,
    local_day,
    moves,
)

TASK_OUTCOMES = ("on_time", "late", "overdue", "open", "no_due_date")
"""A task is done or not, on time or not: replies' outcomes do not apply to it."""
OUTCOMES = TASK_OUTCOMES + ("no_reply", "deemed_agreed", "not_done")
"""How one step or task stands.  ``no_reply``: a consulted body never answered (statutory silence is not
consent, and it is not "late" either); ``deemed_agreed``: no answer, and the request letter said so;
``not_done``: a recurring period (a yearly report) ended without its report."""


def _open_outcome(due: date | None, due_at: datetime | None, cal: Any, now: datetime) -> tuple[str, int | None]:
    if due is None or due_at is None:
        return "no_due_date", None
    today = clock.to_local(now).date()
    if now > due_at:
        return "overdue", cal.working_days_between(due, today)
    return "open", cal.working_days_between(today, due)


def _done_outcome(due: date | None, done: date, cal: Any) -> tuple[str, int | None]:
    if due is None:
        return "on_time", None
    if done <= due:
        return "on_time", cal.working_days_between(done, due)
    return "late", cal.working_days_between(due, done)


def step_rows(s: Session, m: ReportMap, w: Window, cal: Any, now: datetime, lang: str) -> list[dict[str, Any]]:
    """Deadline rows of every workflow except the task workflows (cancelled ones left out)."""
    skip = set(m.tasks.workflows) | {SYSTEM_WORKFLOW}
    stmt = (select(Deadline, Case).join(Case, col(Case.id) == col(Deadline.case_id))
            .where(Deadline.status != DeadlineStatus.CANCELLED, col(Case.workflow).not_in(skip))
            .order_by(col(Deadline.due_date), col(Deadline.id)))
    rows = [(d, case) for d, case in s.exec(stmt)
            if (w.holds_day(d.due_date) if d.due_date else w.holds(d.start_at))]
    history = moves(s, list({case.id: case for _, case in rows}.values()))
    out = []
    for d, case in rows:
        closed = closing(d, history[case.id or 0]) if d.status not in deadlines.OPEN else None
        # the timer's own outcome
        if closed is not None and d.status in (DeadlineStatus.NO_REPLY, DeadlineStatus.DEEMED_AGREED):
            outcome, wd = str(d.status), None
            done = local_day(closed.done) if d.status == DeadlineStatus.DEEMED_AGREED else None  # at its deadline
        elif closed is not None:
            outcome, wd, done = _closed_outcome(d, closed, cal)
            if closed.move is not None and closed.move.to_state in m.unanswered \
                    and case.workflow in m.replies.workflows:  # a row closed before timers had outcomes
                outcome, wd, done = "no_reply", None, None
        else:
            closed, done = None, None
            outcome, wd = _open_outcome(d.due_date, d.due_at, cal, now)
        row = _row("step", case, localized(pair(d.label_vi, d.label_en), lang), d.unit, d.due_date, done, outcome, wd,
                   d.citation, d.confirmed)
        if outcome == "deemed_agreed":
            row["letter_no"] = case.fields.get(m.letter_field) or None
        out.append(_with_recording(row, closed.move if closed else None, d.due_at))
    return out


def _closed_outcome(d: Deadline, closed: Closing, cal: Any) -> tuple[str, int | None, date | None]:
    """Outcome, working days and completion day of a closed deadline row, by effect date."""
    if closed.done is None:
        return "not_done", None, None
    done = local_day(closed.done)
    assert done is not None
    if closed.move is not None and closed.move.cause == "deemed":
        return "deemed_agreed", None, done
    outcome, wd = _done_outcome(d.due_date, done, cal)
    return outcome, wd, done


def _with_recording(row: dict[str, Any], move: Move | None, due_at: datetime | None) -> dict[str, Any]:
    """Add when the completing step was recorded, when it was a late entry that the due date fell between."""
    row["recorded_late"] = None
    if move is not None and move.late and move.recorded_at is not None and due_at is not None \
            and row["outcome"] == "on_time" and move.recorded_at > due_at:
        row["recorded_late"] = {"recorded_on": local_day(move.recorded_at), "recorded_at": move.recorded_at,
                                "by": move.actor, "reason": str(move.late.get("reason") or "")}
    return row


def task_rows(s: Session, m: ReportMap, w: Window, cal: Any, now: datetime, lang: str) -> list[dict[str, Any]]:
    """One row per assigned task (cancelled tasks left out), judged on when it was done."""
    cases = [c for c in cases_of(s, m.tasks.workflows) if m.tasks.matches(c) and c.state not in m.task_cancelled]
    history = moves(s, cases)
    due_rows: dict[int, Deadline] = {}
    if cases:
        for newer in s.exec(select(Deadline).where(col(Deadline.case_id).in_([c.id for c in cases]),
                                                   Deadline.status != DeadlineStatus.CANCELLED)
                            .order_by(col(Deadline.id))):
            due_rows[newer.case_id] = newer  # the newest row: after a move or a return it is the one in force
    out = []
    for case in cases:
        d = due_rows.get(case.id or 0)
        due, due_at = (d.due_date, d.due_at) if d else (None, None)
        if not (w.holds_day(due) if due else w.holds(case.opened_at)):
            continue
        arrived = done_move(history[case.id or 0], m.task_done)
        finished = local_day(arrived.at) if arrived else None
        outcome, wd = _done_outcome(due, finished, cal) if finished else _open_outcome(due, due_at, cal, now)
        label = localized(pair(d.label_vi, d.label_en), lang) if d else case.workflow
        citation = str(case.fields.get("source_document") or (d.citation if d else ""))
        row = _row("task", case, label, case.unit, due, finished, outcome, wd, citation, d.confirmed if d else True)
        row["phrase"] = case.fields.get("due_phrase") or (d.phrase if d else None)
        out.append(_with_recording(row, arrived, due_at))
    return out


def _row(kind: str, case: Case, step: str, unit: str | None, due: date | None, done: date | None,
         outcome: str, wd: int | None, citation: str, confirmed: bool) -> dict[str, Any]:
    return {"kind": kind, "case": case.ref, "workflow": case.workflow, "title": case.title, "step": step,
            "unit": unit, "due_date": due, "done_on": done, "outcome": outcome, "working_days": wd,
            "citation": citation, "confirmed": confirmed}


def summarise(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Counts of each outcome per value of ``keys`` (e.g. per unit, per workflow+step)."""
    groups: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    citations: dict[tuple[Any, ...], str] = {}
    for r in rows:
        k = tuple(r[key] or "" for key in keys)
        groups[k][r["outcome"]] += 1
        citations.setdefault(k, r["citation"])
    return [{**dict(zip(keys, k)), **{o: c[o] for o in OUTCOMES}, "total": sum(c.values()),
             "citation": citations[k]} for k, c in sorted(groups.items())]


def report(s: Session, m: ReportMap, w: Window, unit: str | None, lang: str, now: datetime) -> dict[str, Any]:
    """The compliance report for period ``w`` (optionally one unit's rows only)."""
    if unit and s.get(Unit, unit) is None:
        raise UnknownUnitError(unit, s.exec(select(Unit.code)).all())
    cal = deadlines.calendar_for(s)
    rows = step_rows(s, m, w, cal, now, lang) + task_rows(s, m, w, cal, now, lang)
    if unit:
        rows = [r for r in rows if r["unit"] == unit]
    return {"from": w.start, "to": w.end, "unit": unit, "as_of": now, "rows": rows,
            "by_unit": summarise(rows, "unit"), "by_step": summarise(rows, "workflow", "step"),
            "late_recorded": [r for r in rows if r["recorded_late"]]}


def outcome_text(row: dict[str, Any], lang: str) -> str:
    letter = str(row.get("letter_no") or "")
    if row["outcome"] == "deemed_agreed" and letter:  # "412/SNgV-HTQT" is a number; "Văn bản 412/…" names itself
        return t("Deemed agreed (per letter no. {letter})" if letter[0].isdigit() else "Deemed agreed (per {letter})",
                 lang, letter=letter)
    text = t(f"outcome.{row['outcome']}", lang)
    wd = row["working_days"]
    if wd is not None and row["outcome"] in ("late", "overdue", "open"):
        text = t("{text} ({count})", lang, text=text, count=duration(wd, "wd"))
    return text


def tables(rep: dict[str, Any], lang: str) -> list[Table]:
    """The report as titled tables (terminal and office renderers)."""
    counts = [t(f"outcome.{o}", lang) for o in OUTCOMES] + [t("total", lang)]
    by_unit = Table(t("compliance_by_unit", lang), [t("unit", lang)] + counts,
                    [[g["unit"]] + [g[o] for o in OUTCOMES] + [g["total"]] for g in rep["by_unit"]])
    by_step = Table(t("compliance_by_step", lang),
                    [t("workflow", lang), t("step", lang)] + counts + [t("citation", lang)],
                    [[definitions.title_of(g["workflow"], lang), g["step"]] + [g[o] for o in OUTCOMES]
                     + [g["total"], g["citation"]] for g in rep["by_step"]])
    detail = Table(t("compliance_detail", lang),
                   [t("case", lang), t("step", lang), t("unit", lang), t("due", lang), t("done_on", lang),
                    t("outcome", lang), t("citation", lang)],
                   [[r["case"], r["step"], r["unit"], r["due_date"], r["done_on"], outcome_text(r, lang),
                     r["citation"] + ("" if r["confirmed"] else " ⚠")] for r in rep["rows"]])
    late = Table(t("compliance_late_recorded", lang),
                 [t("case", lang), t("step", lang), t("unit", lang), t("due", lang), t("done_on", lang),
                  t("recorded_on", lang), t("actor", lang), t("reason", lang)],
                 [[r["case"], r["step"], r["unit"], r["due_date"], r["done_on"], r["recorded_late"]["recorded_on"],
                   r["recorded_late"]["by"], r["recorded_late"]["reason"]] for r in rep["late_recorded"]])
    return [by_unit, by_step, detail, late]
