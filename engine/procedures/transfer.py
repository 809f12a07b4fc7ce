"""The open work of a retired unit passes to its successor (``agreeflow directory transfer``).

When a unit ceases — the districts on 30/06/2025, whose agreements the
provincial People's Committee inherits (Decree 177/2025/NĐ-CP; legal-basis.md
§2, §5) — its open cases and open deadlines still name it, and nobody would
receive their reminders or may act on them under its name.  A transfer moves
them, from a date, to the unit that took the work over:

- an open case whose own unit is OLD, or whose ``unit`` / ``units`` fields name
  OLD (the units :func:`authority.case_units` counts), has them changed to NEW
  (a list keeps its order and names NEW once);
- an open or pending deadline whose responsible unit is OLD is charged to NEW
  (a deadline already missed or met stays with OLD: that is what happened);
- each case moved gets one ``unit_transferred`` event on its own chain, saying
  what changed from what to what; the system chain gets the summary.

Closed cases keep their fields: they record who did the work.  The caller
(the service) checks who may, and opens the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, directory
from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.errors import OptionValueError, UnknownUnitError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import OPEN_DEADLINE, EventKind
from agreeflow.engine.core.store import Case, Deadline, Unit


@dataclass
class CaseMove:
    """What a transfer changes on one case."""

    case: Case
    unit: tuple[str, str] | None = None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    deadlines: list[Deadline] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.case.ref, "title": self.case.title, "workflow": self.case.workflow,
                "state": self.case.state, "unit": list(self.unit) if self.unit else None,
                "fields": {k: {"before": b, "after": a} for k, (b, a) in self.fields.items()},
                "deadlines": [{"key": d.key, "label": d.label_vi, "label_en": d.label_en,
                               "due_date": d.due_date.isoformat() if d.due_date else None, "status": d.status}
                              for d in self.deadlines]}


def check(s: Session, old: str, new: str, since: date, today: date) -> None:
    """Refuse a transfer that cannot be (exit 2, nothing written).

    OLD must be a known unit that has ceased by ``since`` (its ``active_to`` is
    before it); NEW must be active on ``since`` and today; ``since`` must have
    come.  A unit still active is not transferred: its work is its own.
    """
    known = s.exec(select(Unit.code)).all()
    unit = s.get(Unit, old)
    if unit is None:
        raise UnknownUnitError(old, known)
    if new == old:
        raise OptionValueError(option="NEW", value=new,
                               remedy=Msg(N_("The unit taking over must differ from the one that ceased.")))
    if since > today:
        raise OptionValueError(option="--from", value=fmt_day(since),
                               remedy=Msg(N_("A transfer takes effect on a day that has come (today is {today})."),
                                          today=fmt_day(today)))
    if unit.active_to is None or unit.active_to >= since:
        until = Msg(N_("until {day}"), day=fmt_day(unit.active_to)) if unit.active_to \
            else Msg(N_("(no end date in the directory)"))
        raise OptionValueError(
            option="--from", value=fmt_day(since),
            remedy=Msg(N_("The unit {unit} is active {until}: only the work of a unit that has ceased is "
                          "transferred. Set the unit's active_to in the directory (agreeflow directory load), then "
                          "transfer from the day after."), unit=old, until=until))
    for day in sorted({since, today}):
        directory.active_unit(s, new, day)


def plan(s: Session, old: str, new: str) -> list[CaseMove]:
    """The moves a transfer of OLD's work to NEW makes, case by case, in case order (nothing locked)."""
    open_ids = set(s.exec(select(Case.id).where(col(Case.closed_at).is_(None),
                                                Case.workflow != cases.SYSTEM_WORKFLOW)).all())
    due_ids = set(s.exec(select(Deadline.case_id).where(Deadline.unit == old,
                                                        col(Deadline.status).in_(OPEN_DEADLINE))).all())
    moves = []
    for case_id in sorted(i for i in open_ids | due_ids if i is not None):
        case = s.get(Case, case_id)
        move = _move(s, case, old, new) if case is not None else None
        if move is not None:
            moves.append(move)
    return moves


def _move(s: Session, case: Case, old: str, new: str) -> CaseMove | None:
    """What moving OLD's work to NEW changes on ``case`` (None: nothing)."""
    move = CaseMove(case)
    if case.closed_at is None and case.workflow != cases.SYSTEM_WORKFLOW:
        defn = cases.definition_of(s, case.workflow, case.version)
        if old in authority.case_units(case, defn):
            if case.unit == old:
                move.unit = (old, new)
            for name, fdef in defn.fields.items():
                value = case.fields.get(name)
                if fdef.type == "unit" and value == old:
                    move.fields[name] = (value, new)
                elif fdef.type == "units" and isinstance(value, list) and old in value:
                    after: list[str] = []
                    for code in value:
                        code = new if code == old else code
                        if code not in after:
                            after.append(code)
                    move.fields[name] = (list(value), after)
    move.deadlines = list(s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.unit == old,
                                                        col(Deadline.status).in_(OPEN_DEADLINE))
                                 .order_by(col(Deadline.id))).all())
    return move if move.unit or move.fields or move.deadlines else None


def transfer(s: Session, old: str, new: str, since: date, actor: str, now: datetime, *, note: str | None = None,
             ordered: bool = False) -> list[CaseMove]:
    """Move OLD's open work to NEW in the caller's transaction; every case moved is logged on its chain.

    ``ordered``: refuse (through :func:`cases.check_time_order`) a move dated
    before a case's last event — the service asks for it on a simulated clock.
    """
    moves = []
    # Read unlocked to find the cases, then lock only those (in id order, as every writer does) and look again.
    for candidate in plan(s, old, new):
        move = _move(s, cases.lock(s, candidate.case.id), old, new)
        if move is None:
            continue
        moves.append(move)
        case = move.case
        if ordered:
            cases.check_time_order(s, case, now, actor)
        if move.fields:
            case.fields = {**case.fields, **{name: after for name, (_, after) in move.fields.items()}}
        if move.unit:
            case.unit = new
        for d in move.deadlines:
            d.unit = new
            s.add(d)
        cases.touch(s, case, now)
        audit.append_event(s, case, EventKind.UNIT_TRANSFERRED, actor=actor, role="admin", note=note, at=now,
                           payload={"from_unit": old, "to_unit": new, "effective_from": since.isoformat(),
                                    **{k: v for k, v in move.to_json().items()
                                       if k in ("unit", "fields", "deadlines")}})
    syscase = cases.lock(s, cases.system_case(s, now).id)
    audit.append_event(s, syscase, EventKind.UNIT_TRANSFERRED, actor=actor, role="admin", note=note, at=now,
                       payload={"from_unit": old, "to_unit": new, "effective_from": since.isoformat(),
                                "cases": [m.case.ref for m in moves],
                                "deadlines": sum(len(m.deadlines) for m in moves)})
    s.flush()
    return moves
