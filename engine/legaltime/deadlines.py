"""Deadlines: state timers become rows when a case enters a state, close when it leaves.

The ``deadlines`` table is the source of truth for everything time-bound
(statutory limits, due phrases, reply deadlines, expiry watches).  A deadline
is ``pending`` (waiting for an event, e.g. "after the MOU is signed"), ``open``,
then ``met`` / ``missed`` (with the margin in working days) or ``cancelled``.
``next_action_at`` is when the sweep must next look at it (reminder ladder).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from agreeflow.engine.core import clock, effects
from agreeflow.engine.core.audit import append_event
from agreeflow.engine.core.definitions import Definition, TimerDef
from agreeflow.engine.core.effects import Moved, Opened
from agreeflow.engine.core.errors import PhraseError
from agreeflow.engine.core.i18n import N_, Msg, localized, pair, show
from agreeflow.engine.core.kinds import OPEN_DEADLINE, DeadlineStatus, EventKind
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.store import CalendarDay, Case, Deadline
from agreeflow.engine.core.vocabulary import DEADLINE_STATUS, duration, word
from agreeflow.engine.legaltime import calendar as legal_calendar
from agreeflow.engine.legaltime.calendar.due import step

OPEN = OPEN_DEADLINE
PERIOD_END = "period_end"
"""``extra`` key of a recurring period closed as missed at its end: no report by its due date
(engine.procedures.recurrence; reports read it)."""
LATE_REPORT = "late_report"
"""``extra`` key of such a period's late report: ``{"at": <UTC text>, "margin_wd": -N}``."""


_CALENDAR = "agreeflow.calendar"


def calendar_for(session: Session, fresh: bool = False) -> Any:
    """The working-day calendar: shipped data + the operator's overrides in the DB.

    Read once per transaction (kept in ``session.info``); ``fresh=True`` reads
    the overrides again, after the caller changed them.
    """
    if not fresh and _CALENDAR in session.info:
        return session.info[_CALENDAR]
    session.flush()  # days the caller just added count (the rows are read past the ORM)
    rows = _OVERRIDES.run(session).all()
    cal = legal_calendar.load(overrides=[r._asdict() for r in rows])
    session.info[_CALENDAR] = cal
    return cal


_OVERRIDES = Prepared(sa.select(col(CalendarDay.day), col(CalendarDay.kind), col(CalendarDay.reason),
                                col(CalendarDay.source)))


def _responsible(case: Case, timer: TimerDef) -> str | None:
    if timer.responsible == "case":
        return case.unit
    if timer.responsible.startswith("field:"):
        value = case.fields.get(timer.responsible[6:])
        if isinstance(value, list):  # a ``units`` field: the first unit answers (coerce never stores [])
            return value[0] if value else None
        return value
    return timer.responsible


def _start_date(case: Case, timer: TimerDef, now: datetime) -> date | None:
    if timer.start.startswith("field:"):
        value = case.fields.get(timer.start[6:])
        return date.fromisoformat(value) if value else None
    return clock.to_local(now).date()


def timer_source(case: Case, timer: TimerDef, now: datetime) -> dict[str, Any] | None:
    """What one timer's due date is computed from, as plain JSON (None: start not known yet).

    ``{"phrase": ..., "ref": "YYYY-MM-DD"}`` for a due phrase, ``{"start":
    "YYYY-MM-DD", "n": 7, "unit": "wd"}`` for a limit.  Kept on the row
    (``extra["source"]``) so a calendar change can recompute the due date
    exactly as it was first computed (see :func:`reprojected`).
    """
    if timer.phrase_field:
        phrase = case.fields.get(timer.phrase_field)
        if not phrase:
            return None
        ref_text = case.fields.get(timer.ref_field) if timer.ref_field else None
        ref = date.fromisoformat(ref_text) if ref_text else clock.to_local(now).date()
        return {"phrase": str(phrase), "ref": ref.isoformat()}
    start = _start_date(case, timer, now)
    if start is None or timer.limit is None:
        return None
    return {"start": start.isoformat(), "n": timer.limit, "unit": timer.unit}


def due_from_source(source: dict[str, Any] | None, cal: Any) -> Any:
    """The Due that ``source`` (see :func:`timer_source`) gives on ``cal``; None for no source."""
    if not source:
        return None
    if "phrase" in source:
        return legal_calendar.parse_phrase(source["phrase"], date.fromisoformat(source["ref"]), cal)
    return cal.add(date.fromisoformat(source["start"]), int(source["n"]), source["unit"])


def project(case: Case, timer: TimerDef, cal: Any, now: datetime) -> Any:
    """The Due of one timer for this case (None when its start date is not known yet)."""
    return due_from_source(timer_source(case, timer, now), cal)


@dataclass
class NewDeadline:
    """A deadline row about to be inserted: the columns of ``store.Deadline`` without an ORM object.

    :func:`open_timers` fills one (:func:`apply_due` works on both) and
    inserts it with one Core statement: a row the unit of work would only
    have flushed at once, at the cost of building and tracking an object.
    """

    case_id: int
    key: str
    kind: str
    label_vi: str
    label_en: str
    unit: str | None
    start_at: datetime | None
    citation: str
    confirmed: bool
    policy: str
    status: str = DeadlineStatus.OPEN
    due_date: date | None = None
    due_at: datetime | None = None
    phrase: str | None = None
    explanation: list[dict[str, Any]] = field(default_factory=list)
    next_action_at: datetime | None = None
    rung: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


_INSERT_DEADLINE = Prepared(sa.insert(Deadline))


def open_timers(session: Session, case: Case, defn: Definition, state: str, cal: Any,
                actor: str, now: datetime) -> list[NewDeadline]:
    """Create the deadline rows of ``state``'s timers and log ``deadline_set`` for each."""
    made = []
    for timer in defn.states[state].timers:
        source = timer_source(case, timer, now)
        due = due_from_source(source, cal)
        assert case.id is not None
        d = NewDeadline(case_id=case.id, key=f"timer:{state}:{timer.id}",
                        kind=getattr(due, "kind", "") or timer.unit,
                        label_vi=timer.label.get("vi", timer.id), label_en=timer.label.get("en", timer.id),
                        unit=_responsible(case, timer), start_at=now, citation=timer.citation,
                        confirmed=timer.confirmed, policy=timer.policy or defn.reminder_policy)
        apply_due(d, due, now, source)
        _INSERT_DEADLINE.run(session, vars(d))  # shallow: asdict would copy every list
        append_event(session, case, EventKind.DEADLINE_SET, actor=actor, payload=deadline_payload(d), at=now)
        made.append(d)
    return made


def apply_due(d: Deadline | NewDeadline, due: Any, now: datetime, source: dict[str, Any] | None = None) -> None:
    """Copy a calendar Due onto a deadline row and schedule its first reminder.

    ``source`` is what the Due was computed from (:func:`timer_source`); rows
    that have one are re-projected when the calendar data changes, rows
    without one keep their date (and the calendar change says so).
    """
    if source is not None:
        d.extra = {**(d.extra or {}), "source": source}
    if due is None or due.due_date is None:
        d.status = DeadlineStatus.PENDING
        d.due_date = d.due_at = d.next_action_at = None
        if due is not None:
            d.phrase, d.explanation = due.phrase, list(due.steps)
            d.extra = {**(d.extra or {}), **_due_extra(due)}
        return
    d.status = DeadlineStatus.OPEN
    d.due_date, d.due_at = due.due_date, due.due_at
    d.phrase = due.phrase or d.phrase
    d.explanation = list(due.steps)
    d.extra = {**(d.extra or {}), **_due_extra(due)}
    d.rung = 0
    from agreeflow.engine.legaltime import reminders  # only when a deadline moves: a read imports none
    d.next_action_at = reminders.next_action(d, now)


def _due_extra(due: Any) -> dict[str, Any]:
    out = {}
    for key in ("recurring", "pending_event", "offset_n", "offset_unit"):
        if getattr(due, key, None) is not None:
            out[key] = getattr(due, key)
    return out


def suspension_step(k: int, since: date, until: date, before: date, after: date) -> dict[str, Any]:
    """The explanation step of a suspension of ``k`` working days that moved a due date."""
    return step(Msg(N_("Suspended for {count} ({since} – {until}): due moved from {before} to {after}"),
                    count=duration(k, "wd"), since=since, until=until, before=before, after=after))


def reprojected(d: Deadline, cal: Any) -> Any:
    """``d``'s Due recomputed on ``cal``: from its source, then moved by each past suspension.

    Each suspension (``extra["suspensions"]``, kept by ``actions.resume``) is
    counted again on ``cal``, so a day off added inside a suspension shortens
    it.  Returns None when the row cannot be recomputed: it is not open, has
    no stored source (made before sources were kept, or by code that passed
    none to :func:`apply_due`), is recurring (the sweep moves those from one
    occurrence to the next), or its phrase no longer reads.
    """
    extra = d.extra or {}
    if d.status != DeadlineStatus.OPEN or d.due_date is None or extra.get("recurring"):
        return None
    try:
        due = due_from_source(extra.get("source"), cal)
    except PhraseError:
        return None
    if due is None or due.due_date is None:
        return None
    end, steps = due.due_date, list(due.steps)
    for period in extra.get("suspensions") or []:
        since, until = date.fromisoformat(period["since"]), date.fromisoformat(period["until"])
        k = max(cal.working_days_between(since, until), 0)
        if k:
            before, end = end, cal.add_date(end, k, "wd")
            steps.append(suspension_step(k, since, until, before, end))
    return replace(due, due_date=end, steps=steps)


def deadline_payload(d: Deadline | NewDeadline) -> dict[str, Any]:
    return {"deadline": d.key, "label": d.label_vi, "label_en": d.label_en, "unit": d.unit, "status": d.status,
            "due_date": d.due_date.isoformat() if d.due_date else None,
            "phrase": d.phrase, "citation": d.citation, "confirmed": d.confirmed}


def close(session: Session, case: Case, d: Deadline | Any, cal: Any, actor: str, now: datetime,
          cancel: bool = False, outcome: str | None = None) -> None:
    """Close one deadline: met / missed (with the margin in working days), cancelled, or an ``outcome``.

    ``d`` is an ORM object or a row of the table (:func:`open_rows`).

    ``outcome`` (a timer's ``outcomes:``) ends it without judging time: a
    body that never answered ("no_reply"), silence the letter made agreement
    ("deemed_agreed"), or a request overtaken by events ("cancelled").
    """
    today = clock.to_local(now).date()
    margin = d.margin_wd
    if outcome in (DeadlineStatus.NO_REPLY, DeadlineStatus.DEEMED_AGREED):
        status = DeadlineStatus(outcome)
        kind = EventKind.DEADLINE_CLOSED
    elif cancel or outcome == DeadlineStatus.CANCELLED or d.status == DeadlineStatus.PENDING or d.due_date is None \
            or d.due_at is None:  # both set together
        status = DeadlineStatus.CANCELLED
        kind = EventKind.DEADLINE_CANCELLED
    else:
        margin = cal.working_days_between(today, d.due_date) if today <= d.due_date \
            else -cal.working_days_between(d.due_date, today)
        status = DeadlineStatus.MET if now <= d.due_at else DeadlineStatus.MISSED
        kind = EventKind.DEADLINE_MET if status == DeadlineStatus.MET else EventKind.DEADLINE_MISSED
    update_row(session, d, status=status, margin_wd=margin, closed_at=now, next_action_at=None)
    payload = deadline_payload(d) | {"status": status, "margin_wd": margin}
    append_event(session, case, kind, actor=actor, payload=payload, at=now)


_UPDATE_DEADLINE = Prepared(sa.update(Deadline).where(col(Deadline.id) == sa.bindparam("_id")))


def update_row(session: Session, d: Deadline | Any, **values: Any) -> None:
    """Set columns of one deadline — an ORM object or a row of the table — in the caller's transaction.

    A stored deadline is written at once with one UPDATE, and the object the
    session holds for it, if any, takes the values as committed (nothing left
    for the unit of work to flush, nothing stale for a later read — like the
    case row in the case core); an object not yet flushed, or from another
    session, is changed and added as before.
    """
    state = sa.inspect(d, raiseerr=False)
    if state is not None and not (state.persistent and state.session is session):
        for name, value in values.items():
            setattr(d, name, value)
        session.add(d)
        return
    _UPDATE_DEADLINE.run(session, {"_id": d.id, **values})
    held = d if state is not None else session.identity_map.get(identity_key(Deadline, d.id))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def mail_moot() -> Any:
    """SQL condition on ``Deadline``: its queued mail is moot (the dispatcher cancels it).

    A closed deadline's — except a recurring period that ended without its
    report (``missed`` with no margin: not done, see
    engine.procedures.recurrence), whose "overdue" mail still asks for the
    late report; the report gives it a margin and makes the rest moot.
    """
    return sa.and_(col(Deadline.status) != DeadlineStatus.OPEN,
                   sa.not_(sa.and_(col(Deadline.status) == DeadlineStatus.MISSED, col(Deadline.margin_wd).is_(None))))


_OPEN_FOR_CASE = select(Deadline).where(col(Deadline.case_id) == sa.bindparam("case_id"),
                                        col(Deadline.status).in_(OPEN))


def open_for_case(session: Session, case_id: int, prefix: str = "") -> list[Deadline]:
    rows = session.exec(_OPEN_FOR_CASE, params={"case_id": case_id}).all()
    return [d for d in rows if d.key.startswith(prefix)]


_OPEN_ROWS = Prepared(select(Deadline).where(col(Deadline.case_id) == sa.bindparam("case_id"),
                                             sa.or_(col(Deadline.status) == DeadlineStatus.OPEN,
                                                    col(Deadline.status) == DeadlineStatus.PENDING)))


def open_rows(session: Session, case_id: int, prefix: str = "") -> list[Any]:
    """The case's open and pending deadlines as rows of the table, not ORM objects: to close them.

    What every move runs (:func:`on_transition`): reading rows costs a fraction
    of building objects, and :func:`close` writes a row back itself.
    """
    session.flush()  # deadlines the caller changed through the ORM are read as changed
    return [d for d in _OPEN_ROWS.run(session, {"case_id": case_id}).all() if d.key.startswith(prefix)]


def on_transition(session: Session, case: Case, defn: Definition, old: str, new: str, cal: Any,
                  actor: str, now: datetime) -> None:
    """Close the timers this move meets: a timer closes when the case leaves its state, or —
    when it declares ``closes_on`` — when the case enters one of those states."""
    timers = {f"timer:{name}:{t.id}": t for name, st in defn.states.items() for t in st.timers}
    for d in open_rows(session, case.id or 0, "timer:"):
        timer = timers.get(d.key)
        if timer is None:
            continue
        if timer.closes_on:
            if new in timer.closes_on:
                close(session, case, d, cal, actor, now, outcome=timer.outcomes.get(new))
        elif d.key.startswith(f"timer:{old}:") and new != old:
            close(session, case, d, cal, actor, now, outcome=timer.outcomes.get(new))


def cancel_all(session: Session, case: Case, cal: Any, actor: str, now: datetime) -> None:
    """A case that ends cancels every deadline still open (and so its reminder ladders)."""
    for d in open_rows(session, case.id or 0):
        close(session, case, d, cal, actor, now, cancel=True)


def view(d: Deadline | sa.Row[Any], cal: Any, now: datetime, lang: str) -> dict[str, Any]:
    """A deadline as users read it (case show, --json): an ORM object or a row of the table."""
    today = clock.to_local(now).date()
    left = None
    if d.status == DeadlineStatus.OPEN and d.due_date:
        left = cal.working_days_between(today, d.due_date) if today <= d.due_date \
            else -cal.working_days_between(d.due_date, today)
    return {"key": d.key, "label": localized(pair(d.label_vi, d.label_en), lang), "unit": d.unit,
            "status": d.status, "status_label": show(word(DEADLINE_STATUS, d.status), lang),
            "running": d.status in (DeadlineStatus.OPEN, DeadlineStatus.PENDING),  # its clock runs or will
            "due_date": d.due_date.isoformat() if d.due_date else None,
            "due_at": d.due_at.strftime("%Y-%m-%dT%H:%M:%SZ") if d.due_at else None,
            "phrase": d.phrase, "kind": d.kind, "working_days_left": left, "margin_wd": d.margin_wd,
            "citation": d.citation, "confirmed": d.confirmed,
            "explanation": [show(s, lang) for s in d.explanation or []],
            "pending_event": (d.extra or {}).get("pending_event")}


# ------------------------------------------------------------------ effects (engine.core.effects)
def _close_met(m: Moved) -> None:
    on_transition(m.session, m.case, m.definition, m.old_state, m.new_state, calendar_for(m.session), m.actor, m.now)


def _open_or_cancel(m: Moved) -> None:
    cal = calendar_for(m.session)
    if m.definition.states[m.new_state].terminal:
        cancel_all(m.session, m.case, cal, m.actor, m.now)
    elif m.new_state != m.old_state:
        open_timers(m.session, m.case, m.definition, m.new_state, cal, m.actor, m.now)


def _open_initial(o: Opened) -> None:
    open_timers(o.session, o.case, o.definition, o.definition.initial, calendar_for(o.session), o.actor, o.now)


effects.on_move("deadlines.close", 10, _close_met)
effects.on_move("deadlines.open", 30, _open_or_cancel)
effects.on_open("deadlines.open", 10, _open_initial)
