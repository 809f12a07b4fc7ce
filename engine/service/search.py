"""The case list: filters, text search, paging, sorting by the next deadline, and its XLSX export.

One read transaction per call.  Filters combine: procedure, state, unit
(the case's unit or a unit a field names), partner, country, the period the
case was opened in, and words searched in the title, the partner and every
field.  The reader sees only the cases in their scope
(:func:`agreeflow.engine.core.authority.may_see`): for an officer the
database narrows the cases to those that name their unit, and each is then
checked exactly before it is counted or shown.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, definitions
from agreeflow.engine.core.directory import unit_names
from agreeflow.engine.core.errors import FieldValueError
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg, t
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Person
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.service.base import now, reading
from agreeflow.engine.service.pages import (
    next_due_subquery,
    person_view,
    reader,
    spawned_only,
    unit_condition,
)

PER_PAGE = 25
EXPORT_LIMIT = 20_000
"""Most rows one XLSX export holds."""
SORTS = ("deadline", "newest", "oldest", "ref")
COUNTRY_FIELDS = ("partner_country", "country")


@dataclass(frozen=True)
class CaseFilter:
    """The list's filters as the page sends them (text; empty means "any")."""

    workflow: str = ""
    state: str = ""
    unit: str = ""
    partner: str = ""
    country: str = ""
    opened_from: str = ""
    opened_to: str = ""
    q: str = ""
    sort: str = "deadline"
    page: int = 1

    @classmethod
    def of(cls, values: dict[str, str]) -> CaseFilter:
        """A filter from a page's query string; unknown keys are ignored, a bad page number is page 1."""
        page = values.get("page", "1")
        return cls(**{k: values.get(k, "").strip() for k in ("workflow", "state", "unit", "partner", "country",
                                                             "opened_from", "opened_to", "q")},
                   sort=values.get("sort", "deadline") if values.get("sort") in SORTS else "deadline",
                   page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1)


def _day(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise FieldValueError(field=name, problem=Msg(N_("'{text}' is not a date"), text=text),
                              remedy=Msg(N_("Write the date as dd/mm/yyyy."))) from None


def _like(text: str) -> str:
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _json_text(text: str) -> str:
    """``text`` as it appears inside the JSON the database keeps (non-ASCII as \\u escapes)."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def _where(f: CaseFilter) -> list[Any]:
    """The SQL conditions of a filter (the reader's scope is added by the caller)."""
    conds: list[Any] = [col(Case.workflow) != cases.SYSTEM_WORKFLOW]
    if f.workflow:
        conds.append(col(Case.workflow) == f.workflow)
    if f.state:
        conds.append(col(Case.state) == f.state)
    if f.unit:
        conds.append(unit_condition(f.unit))
    fields = col(Case.fields)
    if f.partner:
        conds.append(sa.func.lower(fields["partner"].as_string()).like(_like(f.partner.lower()), escape="!"))
    if f.country:
        conds.append(sa.or_(*[sa.func.lower(fields[k].as_string()).like(_like(f.country.lower()), escape="!")
                              for k in COUNTRY_FIELDS]))
    start, end = _day("opened_from", f.opened_from), _day("opened_to", f.opened_to)
    if start:
        conds.append(col(Case.opened_at) >= clock.local_at(start, 0))
    if end:
        conds.append(col(Case.opened_at) < clock.local_at(end + timedelta(days=1), 0))
    if f.q:
        words = f.q.lower()
        conds.append(sa.or_(sa.func.lower(col(Case.title)).like(_like(words), escape="!"),
                            col(Case.title).like(_like(f.q), escape="!"),
                            sa.func.lower(sa.cast(fields, sa.Text)).like(_like(_json_text(words)), escape="!")))
    return conds


def _rows(s: Session, settings: Settings, who: Person, f: CaseFilter, limit: int | None
          ) -> tuple[int, list[tuple[Case, date | None]]]:
    """(total, page of (case, next due)) for the reader; officers' rows are checked one by one."""
    nd = next_due_subquery()
    conds = _where(f)
    sees_all = bool(authority.SEE_ALL & set(who.roles or []))
    if not sees_all:
        conds.append(unit_condition(who.unit))
    order = {"deadline": (nd.c.next_due.is_(None), nd.c.next_due, col(Case.id)),
             "newest": (col(Case.opened_at).desc(), col(Case.id).desc()),
             "oldest": (col(Case.opened_at), col(Case.id)),
             "ref": (col(Case.ref),)}[f.sort]
    stmt = select(Case, nd.c.next_due).outerjoin(nd, nd.c.case_id == col(Case.id)).where(*conds).order_by(*order)
    total = s.exec(select(sa.func.count()).select_from(Case).where(*conds)).one()
    if limit is not None:
        stmt = stmt.offset((f.page - 1) * limit).limit(limit)
    rows = list(s.exec(stmt).all())
    if sees_all:
        return total, rows
    # An officer: the database narrows to the cases whose JSON names their unit (what it counts); every
    # case shown is checked on its own fields, so nothing outside their scope is ever listed.
    return total, [(c, d) for c, d in rows if authority.may_see(who, c, cases.definition_of(s, c.workflow, c.version))]


def _view(s: Session, c: Case, due: date | None, cal: Any, today: date, units: dict[str, str],
          lang: str) -> dict[str, Any]:
    defn = cases.definition_of(s, c.workflow, c.version)
    left = None
    if due is not None:
        left = cal.working_days_between(today, due) if today <= due else -cal.working_days_between(due, today)
    return {"id": c.ref, "title": c.title, "workflow": c.workflow, "workflow_title": defn.title.get(lang, defn.id),
            "state": c.state, "state_label": defn.label(c.state, lang), "terminal": defn.states[c.state].terminal,
            "unit": c.unit, "unit_name": units.get(c.unit or "", c.unit or ""),
            "partner": c.fields.get("partner") or "",
            "country": next((c.fields[k] for k in COUNTRY_FIELDS if c.fields.get(k)), ""),
            "opened_at": audit.fmt_at(c.opened_at), "next_due": due.isoformat() if due else None,
            "working_days_left": left}


def search_cases(settings: Settings, f: CaseFilter, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of the cases matching ``f`` that the reader may see, with the total and the choices
    the filters offer (procedures, their states, units).

    Raises:
        FieldValueError (exit 2): a period bound that is not a date (``field`` names which).
    """
    lang = settings.lang
    with reading(settings) as s:
        who = reader(s, settings)
        units = unit_names(s, lang)
        cal, today = deadlines.calendar_for(s), clock.to_local(now()).date()
        total, rows = _rows(s, settings, who, f, per_page)
        out = [_view(s, c, d, cal, today, units, lang) for c, d in rows]
        viewer = person_view(who, s)
    children = spawned_only()
    flows = [d for d in definitions.newest()]
    states: list[dict[str, str]] = []
    if f.workflow:
        defn = next((d for d in flows if d.id == f.workflow), None)
        states = [{"id": n, "label": defn.label(n, lang)} for n in defn.states] if defn else []
    return {"viewer": viewer, "filter": f.__dict__, "total": total, "rows": out, "page": f.page,
            "pages": max(1, -(-total // per_page)), "per_page": per_page,
            "workflows": [{"id": d.id, "title": d.title.get(lang, d.id), "child": d.id in children} for d in flows],
            "states": states, "units": [{"code": k, "name": v} for k, v in sorted(units.items(), key=lambda x: x[1])]}


COLUMNS = (N_("Case"), N_("Procedure"), N_("Title"), N_("Present step"), N_("Unit"), N_("Partner"), N_("Country"),
           N_("Opened on"), N_("Next deadline"))


def export_cases(settings: Settings, f: CaseFilter) -> bytes:
    """The cases matching ``f`` that the reader may see, as an XLSX workbook (one sheet, dates as dates)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    lang = settings.lang
    with reading(settings) as s:
        who = reader(s, settings)
        units = unit_names(s, lang)
        cal, today = deadlines.calendar_for(s), clock.to_local(now()).date()
        _, rows = _rows(s, settings, who, f, None)
        views = [_view(s, c, d, cal, today, units, lang) for c, d in rows[:EXPORT_LIMIT]]
        opened = {c.ref: clock.to_local(c.opened_at).date() for c, _ in rows[:EXPORT_LIMIT]}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(t(N_("Cases"), lang))
    sheet.append([t(c, lang) for c in COLUMNS])
    def day(value: date | None) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY"
        return cell
    for v in views:
        sheet.append([v["id"], v["workflow_title"], v["title"], v["state_label"], v["unit_name"], v["partner"],
                      v["country"], day(opened[v["id"]]),
                      day(date.fromisoformat(v["next_due"]) if v["next_due"] else None)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
