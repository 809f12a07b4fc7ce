"""Recurring deadlines ("Hàng năm", "chậm nhất ngày 15/12 hằng năm"): one period at a time, each closed once.

A recurring timer gives one **period** (occurrence) at a time, each with its
own due date.  A period ends in one of two ways, and either way the next one
opens — a missed period stays missed and never blocks the next:

* **reported** — the transition that carries ``actions: [open_next_occurrence]``
  (an agreement's ``report_progress``, a task's ``accept``);
* **missed** — the sweep reaches the period's missed marker, 24:00 of its due
  day (:func:`period_missed`).

Where the periods live depends on the workflow (:func:`mode`):

* ``row`` — the case goes on (an agreement in force reports every year): each
  period is a deadline row of the case, same key, one due date each.  A report
  closes exactly the period it reports — met or missed against that period's
  own due date — and opens the next one when no period is open.  The missed
  marker closes the period as missed for good (``deadline_missed`` with
  ``final: true``; the row keeps ``extra["period_end"]``) and opens the next
  (``deadline_set`` with ``occurrence``).  The missed period's own ladder goes
  on after its marker (the "overdue" mail and escalation ask for the late
  report, see :func:`ladder_goes_on`).
* ``case`` — the workflow's action ends the case (a task accepted): each
  period is a **new case** of the same workflow (newest version) with the
  fields the case was opened with, the timer's reference date moved to the day
  after this period's due date and ``previous_occurrence`` naming this case.
  It opens when the case is accepted, or at the missed marker if that comes
  first (the late task stays open, overdue, with its own history) — never twice.

Which period a report reports.  Periods already over are first brought up to
date (as the sweep would have: missed, next opened), so the open period is the
current one.  A report is that period's report — unless the period before it
was missed without a report and the report's day is nearer to that period's
due date than to the current one's: then it is the missed period's late
report (it stays missed, with the day it came and how many working days late)
and the current period stays open.  A report on 20/12/2024 is the late 2024
report, not the 2025 one.

Catching up.  A period whose due date has passed by the time it opens (the
sweep did not run for years) is closed as missed at once and the following
one opened, so after years of silence there is one missed row (or one overdue
case) per period and one open period for now.  A missed row opened this way is
marked ``caught_up``: its rungs after its end still go out (engine.legaltime.
reminders ``_floor``), so the unit's overdue mail names every missed period.
Overdue cases opened this way get no mail (their rungs fell before they existed).

A case without a recurring deadline is left alone, so the action is safe on
any transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, definitions, effects
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.fields import to_text
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import SYSTEM_ACTOR, DeadlineStatus, EventKind
from agreeflow.engine.core.store import Case, Deadline, Event
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.legaltime.calendar import Due, DueKind, next_occurrence

ACTION = "open_next_occurrence"
PERIOD_END, LATE_REPORT = deadlines.PERIOD_END, deadlines.LATE_REPORT

Mode = Literal["row", "case"]


def is_recurring(d: Deadline) -> bool:
    return bool((d.extra or {}).get("recurring"))


def mode(defn: Definition) -> Mode:
    """``case`` when the workflow's report ends the case (the next period is a new case), else ``row``."""
    ends = any(ACTION in t.actions and defn.states[t.dest].terminal for t in defn.transitions)
    return "case" if ends else "row"


def latest_recurring(s: Session, case: Case) -> Deadline | None:
    """The case's most recent deadline row whose phrase recurs."""
    rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id).desc())).all()
    return next((d for d in rows if is_recurring(d) and d.status != DeadlineStatus.CANCELLED), None)


def periods(s: Session, case: Case, key: str) -> list[Deadline]:
    """The periods of one recurring timer of ``case``, oldest first (cancelled ones left out)."""
    rows = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.key == key)
                  .order_by(col(Deadline.due_date), col(Deadline.id))).all()
    return [d for d in rows if is_recurring(d) and d.status != DeadlineStatus.CANCELLED]


def ladder_goes_on(d: Deadline) -> bool:
    """True for a period closed as missed at its end whose overdue rungs are still to be sent."""
    return _unreported_miss(d) and d.next_action_at is not None


# ------------------------------------------------------------------ the action
def open_next_occurrence(m: effects.Moved) -> None:
    """Action: the transition reports the current period (see module docstring)."""
    s, case, defn, actor, now = m.session, m.case, m.definition, m.actor, m.now
    if defn.states[case.state].terminal:
        row = latest_recurring(s, case)
        if row is not None and row.due_date is not None and not _next_case_opened(s, case):
            _open_next_cases(s, case, row, actor, now)
        return
    cal = deadlines.calendar_for(s)
    keys = {d.key for d in deadlines.open_for_case(s, case.id or 0) if is_recurring(d)}
    keys |= {d.key for d in s.exec(select(Deadline).where(Deadline.case_id == case.id,
                                                            Deadline.status == DeadlineStatus.MISSED)).all()
             if is_recurring(d) and _unreported_miss(d)}
    for key in sorted(keys):
        _report(s, case, key, cal, actor, now)


def _report(s: Session, case: Case, key: str, cal: Any, actor: str, now: datetime) -> None:
    for row in periods(s, case, key):  # bring the periods up to now: the sweep may not have run
        if row.status == DeadlineStatus.OPEN and row.due_at is not None and row.due_at < now:
            period_missed(s, case, row, cal, SYSTEM_ACTOR, now)
    rows = periods(s, case, key)
    current = next((d for d in rows if d.status == DeadlineStatus.OPEN and d.due_date is not None), None)
    upto = current.due_date if current is not None else None
    before = [d for d in rows if d.due_date is not None and (upto is None or d.due_date < upto)]
    previous = before[-1] if before else None
    today = clock.to_local(now).date()
    if previous is not None and previous.due_date is not None and _unreported_miss(previous) \
            and (upto is None or (today - previous.due_date) <= (upto - today)):
        _late_report(s, case, previous, cal, actor, now)
        return
    if current is None:
        return
    deadlines.close(s, case, current, cal, actor, now)
    if key.startswith(f"timer:{case.state}:") and not any(d.status in deadlines.OPEN for d in periods(s, case, key)):
        _open_following(s, case, current, cal, actor, now)


def _unreported_miss(row: Deadline) -> bool:
    """A period closed as missed at its end, whose late report has not come."""
    extra = row.extra or {}
    return row.status == DeadlineStatus.MISSED and bool(extra.get(PERIOD_END)) and LATE_REPORT not in extra


def _late_report(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> None:
    """The report of a period already closed as missed: it stays missed; when and how late is recorded."""
    assert row.due_date is not None
    today = clock.to_local(now).date()
    late = max(cal.working_days_between(row.due_date, today), 0)
    row.margin_wd = -late
    row.extra = {**(row.extra or {}), LATE_REPORT: {"at": audit.fmt_at(now), "margin_wd": -late}}
    row.next_action_at = None  # reported: no more "overdue" mail about it
    s.add(row)
    audit.append_event(s, case, EventKind.DEADLINE_MISSED, actor=actor, at=now,
                       payload=deadlines.deadline_payload(row) | {"final": True, "margin_wd": -late,
                                                                  "occurrence": row.due_date.isoformat(),
                                                                  LATE_REPORT: True})


# ------------------------------------------------------------------ the missed marker
def period_missed(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> None:
    """The missed marker of a recurring deadline (the sweep, or a report that finds the period over).

    ``row`` mode: the period is closed as missed (final) and the next one opened.
    ``case`` mode: the missed marker is logged (the task stays open, overdue) and
    the next period's case opened unless it already was.
    """
    defn = cases.definition_of(s, case.workflow, case.version)
    if mode(defn) == "case":
        _marker(s, case, row, cal, actor, now, final=False)
        if not _next_case_opened(s, case):
            _open_next_cases(s, case, row, actor, now)
        return
    _end_missed(s, case, row, cal, actor, now)
    _open_following(s, case, row, cal, actor, now)


def _marker(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime, final: bool) -> None:
    assert row.due_at is not None and row.due_date is not None
    from agreeflow.engine.legaltime import reminders  # only when a deadline moves: a read imports none
    rung = next((r.id for r in reminders.ladder(row, cal) if r.rung.event), "missed")
    audit.append_event(s, case, EventKind.DEADLINE_MISSED, actor=actor, role=SYSTEM_ACTOR, at=now,
                       payload=deadlines.deadline_payload(row) | {
                           "final": final, "rung": rung, "due_at": audit.fmt_at(row.due_at),
                           "occurrence": row.due_date.isoformat(), "margin_wd": None})


def _end_missed(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> None:
    """Close one period as missed at its end: no report came by its due date (final)."""
    row.status, row.margin_wd, row.closed_at = DeadlineStatus.MISSED, None, now
    row.extra = {**(row.extra or {}), PERIOD_END: True}
    from agreeflow.engine.legaltime import reminders  # only when a deadline moves: a read imports none
    for rung in reminders.ladder(row, cal):
        if rung.rung.event:
            reminders.mark_done(row, rung)
    row.next_action_at = reminders.next_action(row, now, cal)
    s.add(row)
    _marker(s, case, row, cal, actor, now, final=True)


def _open_following(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> Deadline | None:
    """Open the period after ``row``; periods already over are closed as missed at once (catching up)."""
    while True:
        new = _next_row(s, case, row, cal, actor, now)
        if new is None or new.due_at is None or new.due_at >= now:
            return new
        from agreeflow.engine.legaltime import reminders  # only when a deadline moves: a read imports none
        new.extra = {**(new.extra or {}), reminders.CAUGHT_UP: True}  # over before it opened: its overdue mail goes
        _end_missed(s, case, new, cal, actor, now)
        row = new


def _next_row(s: Session, case: Case, row: Deadline, cal: Any, actor: str, now: datetime) -> Deadline | None:
    extra = row.extra or {}
    current = Due(kind=DueKind.RECURRING, phrase=row.phrase or "", due_date=row.due_date,
                  recurring=extra.get("recurring"))
    following = next_occurrence(current, cal)
    if following is None or following.due_date is None:
        return None
    new = Deadline(case_id=row.case_id, key=row.key, kind=row.kind, label_vi=row.label_vi, label_en=row.label_en,
                   unit=row.unit, start_at=now, citation=row.citation, confirmed=row.confirmed,
                   policy=row.policy, extra={k: v for k, v in extra.items() if k == "recurring"})
    deadlines.apply_due(new, following, now)
    s.add(new)
    s.flush()
    audit.append_event(s, case, EventKind.DEADLINE_SET, actor=actor, at=now,
                       payload=deadlines.deadline_payload(new) | {
                           "occurrence": following.due_date.isoformat(),
                           "occurrence_after": row.due_date.isoformat() if row.due_date else None})
    return new


# ------------------------------------------------------------------ the next period as a new case
def _next_case_opened(s: Session, case: Case) -> bool:
    return s.exec(select(Event.id).where(Event.case_id == case.id,
                                         Event.kind == EventKind.OCCURRENCE_OPENED)).first() is not None


def _open_next_cases(s: Session, case: Case, row: Deadline, actor: str, now: datetime) -> None:
    """Open the next period's case; one whose period is already over is marked missed and followed at once."""
    while True:
        nxt = _next_case(s, case, row, actor, now)
        nrow = latest_recurring(s, nxt)
        if nrow is None or nrow.due_at is None or nrow.due_date is None or nrow.due_at >= now:
            return
        _marker(s, nxt, nrow, deadlines.calendar_for(s), actor, now, final=False)
        case, row = nxt, nrow


def _opened_fields(s: Session, case: Case) -> dict[str, Any]:
    opened = s.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.OPENED)).first()
    return dict((opened.payload or {}).get("fields") or {}) if opened else {}


def _next_case(s: Session, case: Case, row: Deadline, actor: str, now: datetime) -> Case:
    newest = definitions.get(case.workflow)
    fields = _opened_fields(s, case)
    timer_id = row.key.rsplit(":", 1)[-1]
    ref_field = next((t.ref_field for st in newest.states.values() for t in st.timers
                      if t.id == timer_id and t.ref_field), None)
    assert row.due_date is not None
    if ref_field:
        fields[ref_field] = (row.due_date + timedelta(days=1)).isoformat()
    if "previous_occurrence" in newest.fields:
        fields["previous_occurrence"] = case.ref
    raw = {k: to_text(v) for k, v in fields.items() if k in newest.fields and v not in (None, "", [])}
    nxt = cases.open_case(s, newest, case.title, raw, authority.person_or_system(s, actor), now,
                          role=SYSTEM_ACTOR, note=Msg(N_("Next occurrence of {ref}"), ref=case.ref))
    audit.append_event(s, case, EventKind.OCCURRENCE_OPENED, actor=actor, at=now,
                       payload={"next": nxt.ref, "after": row.due_date.isoformat(),
                                "recurring": (row.extra or {}).get("recurring")})
    return nxt


effects.register_action(ACTION, open_next_occurrence)
