"""What inspectors see besides the log: compliance with the time limits, the annual report, the mail, and the
directory and calendar as they were.

Each function is one read (the outbox retry aside, which is
``worker.outbox_retry``) and answers only a reader who sees every case
(:func:`engine.service.inspection.may_inspect`; an officer is refused and
the refusal logged).  The numbers are the reports' own (engine.reports):
this module only groups them for pictures — per unit, per legal step, per
month — and gives the lists behind them.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from agreeflow.engine.core import cases, clock
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.directory import unit_names
from agreeflow.engine.core.errors import FieldValueError
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import EventKind, OutboxStatus
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import CalendarDay, Case, Delegation, Event, OutboxMessage, Person, Unit
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.legaltime.calendar_admin import check_year, day_json
from agreeflow.engine.reports import compliance
from agreeflow.engine.reports.common import Table
from agreeflow.engine.service import words
from agreeflow.engine.service.base import now, reading
from agreeflow.engine.service.inspection import may_inspect
from agreeflow.engine.service.reports import annual_sections, annual_title, report_annual, report_compliance

OUTCOMES = compliance.OUTCOMES
LATE_KINDS = ("late", "overdue")
"""Outcomes whose working days count as days late."""
OUTBOX_PAGE = 100


def _day(field: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise FieldValueError(field=field, problem=Msg(N_("'{text}' is not a date"), text=text),
                              remedy=Msg(N_("Write the date as dd/mm/yyyy."))) from None


def _period(start: str, end: str) -> tuple[date, date]:
    """The period asked for; by default this calendar year (deadlines due later this year included)."""
    today = clock.to_local(now()).date()
    first = _day("start", start) or date(today.year, 1, 1)
    last = _day("end", end) or date(first.year, 12, 31)
    if last < first:
        raise FieldValueError(field="end", problem=Msg(N_("the last day is before the first")),
                              remedy=Msg(N_("Choose a last day after the first.")))
    return first, last


# ------------------------------------------------------------------ compliance
def compliance_page(settings: Settings, start: str = "", end: str = "", unit: str = "", outcome: str = "",
                    step: str = "") -> dict[str, Any]:
    """Compliance with the time limits in a period: per unit and per legal step, each outcome counted
    (on time; late, with the working days; open and overdue; no reply; deemed agreed by letter), per month
    of the due date, and the rows behind any count (``unit``, ``outcome``, ``step`` narrow the list).

    Raises:
        FieldValueError (exit 2): a date that is not one, or a period that ends before it starts.
        RoleRefusedError (exit 3): the reader does not see every case (logged).
    """
    viewer = may_inspect(settings, "report compliance")
    first, last = _period(start, end)
    rep = report_compliance(settings, first.isoformat(), last.isoformat())
    with reading(settings) as s:
        names = unit_names(s, settings.lang)
    rows = rep["rows"]
    by_unit = []
    for g in rep["by_unit"]:
        late = [r["working_days"] or 0 for r in rows if (r["unit"] or "") == g["unit"] and r["outcome"] == "late"]
        overdue = [r["working_days"] or 0 for r in rows
                   if (r["unit"] or "") == g["unit"] and r["outcome"] == "overdue"]
        by_unit.append(g | {"name": names.get(g["unit"], g["unit"] or "—"), "late_days": sum(late),
                            "late_max": max(late, default=0), "overdue_days": sum(overdue)})
    by_step = [g | {"key": f"{g['workflow']}|{g['step']}"} for g in rep["by_step"]]
    months: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        day = r["due_date"]
        if day is not None:
            months[f"{day.year:04d}-{day.month:02d}"][r["outcome"]] += 1
    listed = [r for r in rows if (not unit or (r["unit"] or "") == unit) and (not outcome or r["outcome"] == outcome)
              and (not step or f"{r['workflow']}|{r['step']}" == step)]
    detail = [r | {"unit_name": names.get(r["unit"] or "", r["unit"] or ""),
                   "outcome_text": compliance.outcome_text(r, settings.lang)} for r in listed]
    return {"viewer": viewer, "start": first.isoformat(), "end": last.isoformat(), "as_of": rep["as_of"],
            "outcomes": list(OUTCOMES), "by_unit": by_unit, "by_step": by_step,
            "months": [{"month": m, **{o: c[o] for o in OUTCOMES}, "total": sum(c.values())}
                       for m, c in sorted(months.items())],
            "rows": detail, "total": len(rows), "late_recorded": len(rep["late_recorded"]),
            "selected": {"unit": unit, "outcome": outcome, "step": step,
                         "unit_name": names.get(unit, unit) if unit else ""}}


def compliance_xlsx(settings: Settings, start: str = "", end: str = "") -> bytes:
    """The compliance tables of the period (by unit, by step, every row, late entries) as an XLSX workbook."""
    may_inspect(settings, "report compliance")
    first, last = _period(start, end)
    rep = report_compliance(settings, first.isoformat(), last.isoformat())
    return _workbook(compliance.tables(rep, settings.lang))


def _workbook(tables: list[Table]) -> bytes:
    """One sheet per table: bold headers, dates as dates (dd/mm/yyyy), widths fitted."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for n, tbl in enumerate(tables, 1):
        ws = wb.create_sheet(f"{n}. {tbl.title}"[:31].translate(str.maketrans("[]:*?/\\", "-------")))
        ws.append(tbl.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in tbl.rows:
            ws.append(list(row))
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, date) and not isinstance(cell.value, datetime):
                    cell.number_format = "DD/MM/YYYY"
        for j, name in enumerate(tbl.columns, 1):
            width = max([len(str(name))] + [len(str(r[j - 1] or "")) for r in tbl.rows[:500]])
            ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8) + 2, 60)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ the annual report
def annual_preview(settings: Settings, year: int | None = None) -> dict[str, Any]:
    """The annual report's sections as the files hold them (a summary table first in each); this year's
    by default."""
    viewer = may_inspect(settings, "report annual")
    this_year = clock.to_local(now()).year
    year = year or this_year
    rep = report_annual(settings, year)
    return {"viewer": viewer, "year": year, "this_year": this_year, "title": annual_title(rep, settings.lang),
            "province": rep.get("province"), "issuer": rep.get("issuer"), "generated_at": rep.get("generated_at"),
            "warnings": rep.get("warnings") or [],
            "sections": [{"key": sec.key, "title": sec.title, "tables": [tbl.to_json() for tbl in sec.tables]}
                         for sec in annual_sections(rep, settings.lang)]}


def annual_file(settings: Settings, year: int, fmt: str) -> bytes:
    """The annual report as ``xlsx`` or ``docx`` (Decree 30/2020 form), as ``agreeflow report annual`` writes it."""
    may_inspect(settings, "report annual")
    if fmt not in ("xlsx", "docx"):
        raise FieldValueError(field="format", problem=Msg(N_("there is no format '{format}'"), format=fmt),
                              remedy=Msg(N_("Choose xlsx or docx.")))
    with tempfile.TemporaryDirectory(prefix="agreeflow-annual-") as folder:
        path = Path(folder) / f"annual.{fmt}"
        report_annual(settings, year, **{fmt: path})
        return path.read_bytes()


# ------------------------------------------------------------------ mail
def outbox_page(settings: Settings, unit: str = "", status: str = "", before: str = "") -> dict[str, Any]:
    """The outbox, newest first, per unit and status: sent, failed with the reason, skipped (cancelled: the
    deadline closed before the message left) with the reason, waiting.  ``before`` is a message id (paging).
    Whether the reader may retry is said (coordinators and admins; ``worker.outbox_retry`` decides)."""
    viewer = may_inspect(settings, "outbox list")
    with reading(settings) as s:
        stmt = select(OutboxMessage, Case.ref).join(Case, col(Case.id) == col(OutboxMessage.case_id), isouter=True)
        if unit:
            stmt = stmt.where(col(OutboxMessage.unit) == unit)
        if status:
            stmt = stmt.where(col(OutboxMessage.status) == status)
        if before.isdigit():
            stmt = stmt.where(col(OutboxMessage.id) < int(before))
        got = s.exec(stmt.order_by(col(OutboxMessage.id).desc()).limit(OUTBOX_PAGE + 1)).all()
        counts = dict(s.exec(select(OutboxMessage.status, sa.func.count()).group_by(col(OutboxMessage.status))).all())
        units = unit_names(s, settings.lang)
        used = sorted({u for u in s.exec(select(OutboxMessage.unit).distinct()).all() if u})
    rows = [{"id": m.id, "status": m.status, "case": ref, "recipient": m.recipient, "unit": m.unit,
             "unit_name": units.get(m.unit or "", m.unit or ""), "subject": m.subject, "tries": m.tries,
             "created_at": clock.fmt_local(m.created_at), "sent_at": clock.fmt_local(m.sent_at) or None,
             "next_try_at": clock.fmt_local(m.next_try_at) or None,
             "reason": words.word(words.OUTBOX_NOTES, m.last_error, settings.lang),
             "late_by_s": m.late_by_s, "retryable": m.status in (OutboxStatus.FAILED, OutboxStatus.CANCELLED)}
            for m, ref in got[:OUTBOX_PAGE]]
    roles = set(viewer["roles"])
    return {"viewer": viewer, "rows": rows, "counts": counts, "statuses": [str(x) for x in OutboxStatus],
            "units": [{"code": u, "name": units.get(u, u)} for u in used], "filter": {"unit": unit, "status": status},
            "older": str(rows[-1]["id"]) if len(got) > OUTBOX_PAGE and rows else None,
            "may_retry": bool(roles & {"coordinator", "admin"}) and not viewer["read_only"]}


# ------------------------------------------------------------------ the directory and the calendar as they were
def directory_page(settings: Settings, on: str = "") -> dict[str, Any]:
    """Units, people (roles, positions) and delegations of authority as they were at the end of day ``on``
    (default: today), and every change of the directory with its difference, newest first.

    The tables hold today's directory; each load logged its difference on the system chain
    (``directory_loaded``), so an earlier day is today's directory with the later differences undone.
    """
    viewer = may_inspect(settings, "directory show")
    today = clock.to_local(now()).date()
    day = _day("on", on) or today
    with reading(settings) as s:
        units = {u.code: {"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "email": u.email,
                          "parent": u.parent, "kind": u.kind, "active_from": _iso(u.active_from),
                          "active_to": _iso(u.active_to)} for u in s.exec(select(Unit)).all()}
        people = {p.email: {"email": p.email, "name": p.name, "unit": p.unit, "roles": list(p.roles or []),
                            "active": p.active, "title": p.title, "phone": p.phone,
                            "positions": list(p.positions or []), "lang": p.lang}
                  for p in s.exec(select(Person)).all()}
        delegations = [directory_mod.delegation_view(d) for d in s.exec(select(Delegation)).all()]
        syscase = s.exec(select(Case).where(Case.ref == cases.SYSTEM_REF)).first()
        changes = list(s.exec(select(Event).where(Event.case_id == (syscase.id if syscase else -1),
                                                  col(Event.kind).in_([EventKind.DIRECTORY_LOADED,
                                                                       EventKind.UNIT_TRANSFERRED]))
                              .order_by(col(Event.seq).desc())).all())
        names = {e: p["name"] for e, p in people.items()}
    end = clock.end_of_local_day(day)
    for e in changes:
        if e.at < end:
            break
        if e.kind == EventKind.DIRECTORY_LOADED:
            _undo(e.payload.get("diff") or {}, units, people, delegations)
    shown_units = [u | {"active": _active(u, day)} for u in sorted(units.values(), key=lambda u: str(u["code"]))]
    shown_people = sorted(people.values(), key=lambda p: (p["unit"], p["email"]))
    iso = day.isoformat()
    shown_delegations = [d | {"in_force": str(d["from"]) <= iso and (not d["to"] or str(d["to"]) >= iso),
                              "principal_name": names.get(d["principal"], d["principal"]),
                              "delegate_name": names.get(d["delegate"], d["delegate"])}
                         for d in sorted(delegations, key=lambda d: (str(d["from"]), str(d["principal"]),
                                                                     str(d["delegate"])))]
    history = [{"seq": e.seq, "at": clock.fmt_local(e.at), "kind": e.kind, "actor": e.actor,
                "actor_name": names.get(e.actor, e.actor), "note": e.note,
                "recorded_by": e.recorded_by, "counts": {k: v for k, v in e.payload.items()
                                                         if isinstance(v, int) and not isinstance(v, bool)},
                "diff": e.payload.get("diff") or {}, "payload": e.payload} for e in changes]
    return {"viewer": viewer, "on": day.isoformat(), "today": today.isoformat(), "units": shown_units,
            "people": shown_people, "delegations": shown_delegations, "history": history,
            "system_ref": cases.SYSTEM_REF}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _active(u: dict[str, Any], day: date) -> bool:
    iso = day.isoformat()
    return (not u["active_from"] or u["active_from"] <= iso) and (not u["active_to"] or u["active_to"] >= iso)


def _undo(diff: dict[str, Any], units: dict[str, dict[str, Any]], people: dict[str, dict[str, Any]],
          delegations: list[dict[str, Any]]) -> None:
    """Take one load's difference back out of the directory (in place)."""
    u, p, d = diff.get("units") or {}, diff.get("people") or {}, diff.get("delegations") or {}
    for code in u.get("added") or []:
        units.pop(code, None)
    for code, changed in (u.get("changed") or {}).items():
        for key, (before, _after) in changed.items():
            if code in units:
                units[code][key] = before
    for code in u.get("retired") or []:
        if code in units:
            units[code]["active_to"] = None
    for email in p.get("added") or []:
        people.pop(email, None)
    for email, changed in (p.get("changed") or {}).items():
        for key, (before, _after) in changed.items():
            if email in people:
                people[email][key] = before
    for email in p.get("deactivated") or []:
        if email in people:
            people[email]["active"] = True
    for added in d.get("added") or []:
        if added in delegations:
            delegations.remove(added)
    delegations.extend(d.get("removed") or [])


def calendar_decisions(settings: Settings, year: int | None = None) -> dict[str, Any]:
    """The working-day decisions of a year — every weekday off and weekend day worked, with its source and
    whether it is confirmed — and the operator's changes (who, when, why, what they moved), newest first."""
    viewer = may_inspect(settings, "calendar holidays")
    year = year or clock.to_local(now()).year
    check_year(year)
    with reading(settings) as s:
        cal = deadlines.calendar_for(s)
        days = [day_json(i, settings.lang) for i in cal.holidays(year)]
        rows = s.exec(select(CalendarDay).order_by(col(CalendarDay.day))).all()
        overrides = [{"date": r.day.isoformat(), "kind": r.kind, "reason": r.reason, "source": r.source,
                      "by": r.created_by, "at": clock.fmt_local(r.created_at)} for r in rows if r.day.year == year]
        syscase = s.exec(select(Case).where(Case.ref == cases.SYSTEM_REF)).first()
        changes = [{"seq": e.seq, "at": clock.fmt_local(e.at), "actor": e.actor, "note": e.note,
                    "date": e.payload.get("date"), "kind": e.payload.get("kind"), "source": e.payload.get("source"),
                    "before": e.payload.get("before"), "moved": len(e.payload.get("moved") or [])}
                   for e in s.exec(select(Event).where(Event.case_id == (syscase.id if syscase else -1),
                                                       Event.kind == EventKind.CALENDAR_CHANGED)
                                   .order_by(col(Event.seq).desc())).all()]
        names = dict(s.exec(select(Person.email, Person.name)).all())
    for c in changes:
        c["actor_name"] = names.get(str(c["actor"]), str(c["actor"]))
    return {"viewer": viewer, "year": year, "days": days, "overrides": overrides, "changes": changes,
            "system_ref": cases.SYSTEM_REF}
