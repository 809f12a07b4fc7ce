"""What the web's pages read: my work, a case page, a new-case form, a month of the calendar, a document.

Each function is one read transaction and answers for the person reading
(``base.viewer``: the signed-in person).  Who sees what is decided here,
once, by :func:`agreeflow.engine.core.authority.may_see`: coordinators,
approvers, auditors and admins see every case; an officer sees the cases of
their unit and those addressed to it.  A case outside the reader's scope is
answered exactly like a case that does not exist (UnknownCaseError), so a
page cannot tell which refs exist.
"""

from __future__ import annotations

import calendar as monthcal
import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, definitions, files, machine, notes
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.directory import is_active, unit_names
from agreeflow.engine.core.errors import NotSignedInError, UnknownCaseError
from agreeflow.engine.core.i18n import localized, pair
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind, Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Deadline, Event, Person, Unit
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.legaltime.calendar_admin import check_year
from agreeflow.engine.procedures import consultation, fanout
from agreeflow.engine.service import base, words
from agreeflow.engine.service.base import now, reading
from agreeflow.engine.service.cases import case_view, workflow_words

SOON_WD = 3
"""A deadline this many working days away or nearer is "due soon" on my work."""
PER_DAY = 5
"""Deadlines a day of the calendar shows (the rest are counted)."""
OPENERS = (Role.COORDINATOR, Role.OFFICER, Role.ADMIN)
"""Roles that may open a case (engine.core.cases.open_case checks the same)."""


# ------------------------------------------------------------------ the reader
def reader(s: Session, settings: Settings) -> Person:
    """The signed-in person reading; NotSignedInError when there is none."""
    who = base.viewer(s, settings)
    if who is None:
        raise NotSignedInError()
    return who


def person_view(who: Person, s: Session) -> dict[str, Any]:
    """Who is reading, as a page shows them."""
    unit = s.get(Unit, who.unit) if who.unit else None
    return {"email": who.email, "name": who.name, "unit": who.unit,
            "unit_name": unit.name_vi if unit else who.unit, "unit_name_en": unit.name_en if unit else who.unit,
            "unit_label": pair(unit.name_vi, unit.name_en) if unit else who.unit,
            "roles": list(who.roles or []), "read_only": authority.is_read_only(who),
            "sees_all": bool(authority.SEE_ALL & set(who.roles or [])),
            "may_open": bool(set(OPENERS) & set(who.roles or [])) and not authority.is_read_only(who)}


def visible(s: Session, who: Person, ref: str) -> tuple[Case, Definition]:
    """The case ``ref`` if ``who`` may read it; UnknownCaseError (the same as no such case) otherwise."""
    case = cases.find(s, ref)
    defn = cases.definition_of(s, case.workflow, case.version)
    if not authority.may_see(who, case, defn):
        raise UnknownCaseError(ref)
    return case, defn


def _names(s: Session, emails: set[str], units: dict[str, str]) -> dict[str, str]:
    """Display names of the actors of a log: people by name, units acting through a reply link by unit."""
    people = s.exec(select(Person.email, Person.name).where(col(Person.email).in_(emails))).all() if emails else []
    names = dict(people)
    for e in emails:
        if e.startswith(authority.UNIT_ACTOR):
            code = e[len(authority.UNIT_ACTOR):]
            names[e] = units.get(code, code)
    return names


# ------------------------------------------------------------------ my work
def next_due_subquery() -> Any:
    """Per case, its earliest open due date (a subquery to join and sort on)."""
    return (select(col(Deadline.case_id).label("case_id"), sa.func.min(Deadline.due_date).label("next_due"))
            .where(Deadline.status == DeadlineStatus.OPEN).group_by(col(Deadline.case_id)).subquery())


def _pairs(who: Person) -> tuple[list[Any], list[Any]]:
    """(workflow, version, state) where ``who`` may act: by a role that sees no unit, or only as an officer."""
    free: list[Any] = []
    scoped: list[Any] = []
    roles = set(who.roles or [])
    for (wf, version), defn in definitions.registry().items():
        free_states, scoped_states = set(), set()
        for name, st in defn.states.items():
            if st.terminal:
                continue
            held = {r for t in defn.from_state(name) for r in t.roles} & roles
            if held - {Role.OFFICER}:
                free_states.add(name)
            elif held:
                scoped_states.add(name)
        for states, into in ((free_states, free), (scoped_states, scoped)):
            if states:
                into.append(sa.and_(col(Case.workflow) == wf, col(Case.version) == version,
                                    col(Case.state).in_(sorted(states))))
    return free, scoped


def unit_condition(unit: str) -> Any:
    """Cases whose unit is ``unit`` or whose fields name it (the SQL side of ``authority.case_units``;
    unit codes are ASCII, so the JSON text holds them as written)."""
    needle = '%"' + unit.replace("!", "!!").replace("%", "!%").replace("_", "!_") + '"%'
    return sa.or_(col(Case.unit) == unit, sa.cast(col(Case.fields), sa.Text).like(needle, escape="!"))


def scope_units(s: Session, who: Person) -> list[str]:
    """``who``'s unit and every unit it is a part of (:func:`authority.unit_in_scope`), nearest first."""
    out: list[str] = []
    seen: set[str] = set()
    code: str | None = who.unit
    while code and code not in seen:
        seen.add(code)
        if authority.unit_in_scope(s, who, code):
            out.append(code)
        row = s.get(Unit, code)
        code = row.parent if row is not None else None
    return out


def _case_row(s: Session, c: Case, defn: Definition, who: Person, next_due: date | None, cal: Any, today: date,
              units: dict[str, str], lang: str, at: datetime) -> dict[str, Any]:
    left = None
    if next_due is not None:
        left = cal.working_days_between(today, next_due) if today <= next_due \
            else -cal.working_days_between(next_due, today)
    return {"id": c.ref, "title": c.title, "workflow": c.workflow, "workflow_title": defn.title.get(lang, defn.id),
            "state": c.state, "state_label": defn.label(c.state, lang), "unit": c.unit,
            "unit_name": units.get(c.unit or "", c.unit or ""), "next_due": next_due.isoformat() if next_due else None,
            "working_days_left": left,
            "actions": [t.label.get(lang, t.trigger) for t in cases.available(s, defn, c, who, at)]}


def my_work(settings: Settings, limit: int = 20) -> dict[str, Any]:
    """The cases where the reader can act now (soonest deadline first) and their unit's open deadlines
    by urgency — overdue, due within :data:`SOON_WD` working days, later — each with its legal basis."""
    lang = settings.lang
    with reading(settings) as s:
        who = reader(s, settings)
        at, cal, units = now(), deadlines.calendar_for(s), unit_names(s, lang)
        today = clock.to_local(at).date()
        total, chosen = _actionable(s, settings, who, limit)
        loaded = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_([i for i, _ in chosen])))}
        shown = [_case_row(s, loaded[i], cases.definition_of(s, loaded[i].workflow, loaded[i].version), who, due,
                           cal, today, units, lang, at) for i, due in chosen if i in loaded]
        return {"viewer": person_view(who, s), "total": total, "cases": [r for r in shown if r["actions"]],
                "deadlines": _unit_deadlines(s, who.unit, at, cal, today, limit, lang), "today": today.isoformat()}


_ACTIONABLE: OrderedDict[tuple[Any, ...], tuple[int, int, list[tuple[int, date | None]]]] = OrderedDict()
"""(database, roles, unit, limit) → (head of the log, total, [(case id, next due)]): see :func:`_actionable`."""
_ACTIONABLE_LOCK = threading.Lock()


def _actionable(s: Session, settings: Settings, who: Person, limit: int) -> tuple[int, list[tuple[int, date | None]]]:
    """How many cases ``who`` may act on, and the first ``limit`` by next deadline (case id, due date).

    Every change a case or a deadline can undergo appends to the log in the same transaction.  On SQLite
    a writer holds the database from its first write to its commit, so event ids grow in commit order and
    the highest one names the committed state of everything this depends on: the answer is kept per
    process and used again until the log grows (a reader who only reads costs one index lookup, not a
    scan).  PostgreSQL's sequences promise no such order, so there it is computed every time.
    """
    cacheable = s.get_bind().dialect.name == "sqlite"
    head = (s.exec(select(sa.func.max(col(Event.id)))).one() or 0) if cacheable else -1
    key = (settings.url, tuple(sorted(who.roles or [])), who.unit, limit)
    with _ACTIONABLE_LOCK:
        kept = _ACTIONABLE.get(key)
        if cacheable and kept is not None and kept[0] == head:
            _ACTIONABLE.move_to_end(key)
            return kept[1], kept[2]
    at = now()
    open_cases = sa.and_(col(Case.closed_at).is_(None), col(Case.workflow) != cases.SYSTEM_WORKFLOW)
    free, scoped = _pairs(who) if not authority.is_read_only(who) else ([], [])
    picked: list[tuple[Case, date | None]] = []
    total = 0
    if free:
        where = sa.and_(open_cases, sa.or_(*free))
        total += s.exec(select(sa.func.count()).select_from(Case).where(where)).one()
        picked += _soonest(s, where, limit)
    if scoped:
        # States where only the officer role acts: an officer acts on the cases of their own unit or of a unit
        # they are a part of (authority.unit_in_scope).  The database narrows to those units (what it counts);
        # the rows shown are each checked as a step would be.
        where = sa.and_(open_cases, sa.or_(*scoped), col(Case.unit).in_(scope_units(s, who)))
        if free:
            where = sa.and_(where, sa.not_(sa.or_(*free)))
        total += s.exec(select(sa.func.count()).select_from(Case).where(where)).one()
        picked += [(c, due) for c, due in _soonest(s, where, 2 * limit)
                   if cases.available(s, cases.definition_of(s, c.workflow, c.version), c, who, at)][:limit]
    picked.sort(key=lambda pair: (pair[1] is None, pair[1] or date.max, pair[0].id or 0))
    chosen = [(c.id or 0, due) for c, due in picked[:limit]]
    if cacheable:
        with _ACTIONABLE_LOCK:
            _ACTIONABLE[key] = (head, total, chosen)
            while len(_ACTIONABLE) > 256:
                _ACTIONABLE.popitem(last=False)
    return total, chosen


def _soonest(s: Session, where: Any, limit: int) -> list[tuple[Case, date | None]]:
    """The first ``limit`` cases matching ``where`` by their earliest open deadline (then those with none).

    Driven from the open deadlines (each joined to its case by key), so the cases without a running
    deadline — mostly closed ones — are never sorted.
    """
    first_due = sa.func.min(Deadline.due_date)
    dues = s.exec(select(Deadline.case_id, first_due).join(Case, col(Case.id) == col(Deadline.case_id))
                  .where(col(Deadline.status) == DeadlineStatus.OPEN, where).group_by(col(Deadline.case_id))
                  .order_by(first_due, col(Deadline.case_id)).limit(limit)).all()
    found = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_([i for i, _ in dues])))}
    out: list[tuple[Case, date | None]] = [(found[i], due) for i, due in dues]
    if len(out) < limit:
        has_open = select(Deadline.id).where(col(Deadline.case_id) == col(Case.id),
                                             col(Deadline.status) == DeadlineStatus.OPEN)
        out += [(c, None) for c in s.exec(select(Case).where(where, ~has_open.exists()).order_by(col(Case.id))
                                          .limit(limit - len(out)))]
    return out


def _unit_deadlines(s: Session, unit: str, at: datetime, cal: Any, today: date, limit: int,
                    lang: str) -> dict[str, Any]:
    """The unit's open deadlines in three groups, each counted, the first ``limit`` of each shown.

    An open deadline belongs to an open case (a case that ends closes its deadlines), so the unit's open
    rows are read once, light, and grouped here; only the rows shown are read whole.
    """
    soon_until = cal.add_date(today, SOON_WD, "wd")
    rows = s.exec(select(col(Deadline.id), col(Deadline.due_at), col(Deadline.due_date))
                  .where(col(Deadline.unit) == unit, col(Deadline.status) == DeadlineStatus.OPEN)
                  .order_by(col(Deadline.due_date), col(Deadline.id))).all()
    groups: dict[str, list[int]] = {"overdue": [], "soon": [], "later": []}
    for i, due_at, due_date in rows:
        if i is None or due_at is None or due_date is None:
            continue
        groups["overdue" if due_at <= at else "soon" if due_date <= soon_until else "later"].append(i)
    shown = {i for ids in groups.values() for i in ids[:limit]}
    whole = {d.id: (d, ref, title) for d, ref, title in s.exec(
        select(Deadline, Case.ref, Case.title).join(Case, col(Case.id) == col(Deadline.case_id))
        .where(col(Deadline.id).in_(shown)))} if shown else {}
    out: dict[str, Any] = {"unit": unit, "soon_until": soon_until.isoformat()}
    for name, ids in groups.items():
        out[name] = {"count": len(ids),
                     "items": [deadlines.view(whole[i][0], cal, at, lang) | {"case": whole[i][1],
                                                                           "case_title": whole[i][2]}
                               for i in ids[:limit]]}
    return out


# ------------------------------------------------------------------ the case page
def case_page(settings: Settings, ref: str) -> dict[str, Any]:
    """Everything the case page shows, read in one transaction: the case (as ``case show``), its log,
    the words of its workflow, its state diagram, its consultation round, and who changed it last."""
    lang = settings.lang
    with reading(settings) as s:
        who = reader(s, settings)
        case, defn = visible(s, who, ref)
        units = unit_names(s, lang)
        view = case_view(s, settings, case, who)
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.seq))).all()
        names = _names(s, {e.actor for e in events}, units)
        parent = s.get(Case, case.parent_id) if case.parent_id else None
        has_round = s.exec(select(Case.id).where(Case.parent_id == case.id)).first() is not None
        last = next((e for e in reversed(events) if e.kind != EventKind.REFUSED), None)  # a refusal changes nothing
        return {
            "case": view, "viewer": person_view(who, s), "workflow": workflow_words(defn, lang),
            "events": [_timeline(audit.event_view(e), defn, lang) | {"actor_name": names.get(e.actor, e.actor)}
                       for e in events],
            "diagram": machine.mermaid(defn, lang, case.state),
            "round": consultation.summary(s, ref, now(), lang) if has_round else None,
            "parent": {"id": parent.ref, "title": parent.title} if parent else None,
            "units": units, "active_units": _active_units(s, clock.to_local(now()).date(), lang),
            "last_change": ({"by": last.actor, "by_name": names.get(last.actor, last.actor),
                             "at": audit.fmt_at(last.at)} if last else None),
        }


def _timeline(view: dict[str, Any], defn: Definition, lang: str) -> dict[str, Any]:
    """An event of the case page with ``text``: what it says, as the CLI's history and the log page say it."""
    return view | {"text": notes.describe(view, lang, defn.field_label, lambda rung: words.rung_word(rung, lang))}


def _active_units(s: Session, on: date, lang: str) -> list[dict[str, str]]:
    return [{"code": u.code, "name": localized(pair(u.name_vi, u.name_en), lang)}
            for u in s.exec(select(Unit).order_by(col(Unit.name_vi))).all() if is_active(u, on)]


def case_version(settings: Settings, ref: str) -> dict[str, Any]:
    """The case's lock version and who changed it last, when (a page asks whether its form went stale)."""
    with reading(settings) as s:
        who = reader(s, settings)
        case, _ = visible(s, who, ref)
        last = s.exec(select(Event).where(Event.case_id == case.id, Event.kind != EventKind.REFUSED)
                      .order_by(col(Event.seq).desc())).first()  # a refusal changes nothing
        names = _names(s, {last.actor} if last else set(), unit_names(s, settings.lang))
        return {"id": case.ref, "lock_version": case.lock_version,
                "by": last.actor if last else None, "by_name": names.get(last.actor, last.actor) if last else None,
                "at": audit.fmt_at(last.at) if last else None}


def attachment(settings: Settings, ref: str, sha256: str) -> dict[str, Any] | None:
    """A document of a case the reader may see: its name, kind and content (None: the case has no such one)."""
    with reading(settings) as s:
        who = reader(s, settings)
        case, _ = visible(s, who, ref)
        for kind, docs in (case.fields.get(cases.DOCUMENTS) or {}).items():
            for d in docs:
                if d.get("sha256") == sha256:
                    path = files.blob_path(settings.files_dir, sha256)
                    if not path.is_file():
                        return None
                    return {"name": d["name"], "kind": kind, "size": d["size"], "data": path.read_bytes()}
    return None


# ------------------------------------------------------------------ new case
def spawned_only() -> set[str]:
    """Workflows that only the engine opens (a child per addressee): no form offers them."""
    return {t.spawn.workflow for d in definitions.newest() for t in d.transitions if t.spawn is not None}


def case_forms(settings: Settings) -> dict[str, Any]:
    """The procedures the reader may open a case of (newest version of each)."""
    with reading(settings) as s:
        who = reader(s, settings)
        viewer = person_view(who, s)
    children = spawned_only()
    return {"viewer": viewer,
            "workflows": [{"id": d.id, "title": d.title.get(settings.lang, d.id), "legal_basis": list(d.legal_basis)}
                          for d in definitions.newest() if d.id not in children] if viewer["may_open"] else []}


def opening_fields(defn: Definition) -> tuple[list[str], list[str]]:
    """The fields a new case's form asks for: (first, optional).

    First: the required fields and those the first steps forward need.  Optional: the others, except those
    a later step (or giving up) asks for — a decision number, a signing date: its own form asks for them then.
    """
    first_steps = {f for t in defn.from_state(defn.initial) if not defn.states[t.dest].terminal for f in t.requires}
    later = {f for t in defn.transitions for f in t.requires} - first_steps
    first = [n for n, f in defn.fields.items() if f.required or n in first_steps]
    return first, [n for n in defn.fields if n not in first and n not in later]


def case_form(settings: Settings, workflow: str) -> dict[str, Any]:
    """One procedure's form: its fields in order (type, label, required, choices, default), which of them
    it asks for first and which as optional (:func:`opening_fields`), and the units to choose from."""
    defn = definitions.get(workflow)
    first, optional = opening_fields(defn)
    with reading(settings) as s:
        who = reader(s, settings)
        return {"viewer": person_view(who, s), "workflow": workflow_words(defn, settings.lang),
                "first": first, "optional": optional,
                "units": _active_units(s, clock.to_local(now()).date(), settings.lang),
                "default_unit": who.unit}


# ------------------------------------------------------------------ calendar
def calendar_month(settings: Settings, year: int | None = None, month: int | None = None) -> dict[str, Any]:
    """One month (default: this one): every day with its status (working, weekly rest, holiday, make-up
    day) and the deadlines falling due on it that the reader may see.

    Raises:
        DateValueError (exit 2): a year the calendar does not cover.
    """
    here = clock.to_local(now()).date()
    year, month = year or here.year, max(1, min(12, month or here.month))
    check_year(year)
    lang = settings.lang
    first, last = date(year, month, 1), date(year, month, monthcal.monthrange(year, month)[1])
    with reading(settings) as s:
        who = reader(s, settings)
        cal = deadlines.calendar_for(s)
        in_month = sa.and_(col(Deadline.due_date) >= first, col(Deadline.due_date) <= last,
                           col(Deadline.status) != DeadlineStatus.CANCELLED)
        if not authority.SEE_ALL & set(who.roles or []):
            # An officer: their unit's deadlines and those of the cases that name their unit (checked one by one).
            in_month = sa.and_(in_month, sa.or_(col(Deadline.unit) == who.unit, unit_condition(who.unit)))
        counts = dict(s.exec(select(col(Deadline.due_date), sa.func.count())
                             .join(Case, col(Case.id) == col(Deadline.case_id))
                             .where(in_month).group_by(col(Deadline.due_date))).all())
        # The first few of each day, the reader's unit and running deadlines first (a window per day:
        # a month may hold thousands of deadlines of the whole province).
        not_running = col(Deadline.status) != DeadlineStatus.OPEN
        rank = sa.func.row_number().over(partition_by=col(Deadline.due_date), order_by=(
            col(Deadline.unit) != who.unit, not_running, col(Deadline.id))).label("rank")
        ranked = (select(col(Deadline.id).label("id"), rank).join(Case, col(Case.id) == col(Deadline.case_id))
                  .where(in_month).subquery())
        chosen = s.exec(select(Deadline, Case).join(Case, col(Case.id) == col(Deadline.case_id))
                        .join(ranked, ranked.c.id == col(Deadline.id)).where(ranked.c.rank <= PER_DAY)
                        .order_by(col(Deadline.due_date), ranked.c.rank)).all()
        due: dict[date, list[dict[str, Any]]] = {}
        for d, c in chosen:
            if d.unit != who.unit and not authority.may_see(who, c, cases.definition_of(s, c.workflow, c.version)):
                continue
            assert d.due_date is not None
            due.setdefault(d.due_date, []).append(
                {"case": c.ref, "case_title": c.title, "label": localized(pair(d.label_vi, d.label_en), lang),
                 "status": d.status, "unit": d.unit, "citation": d.citation, "confirmed": d.confirmed})
        days = []
        for n in range(1, last.day + 1):
            info = cal.day_info(date(year, month, n))
            days.append({"date": info.day.isoformat(), "day": n, "weekday": info.day.weekday(),
                         "working": info.working, "category": str(info.category),
                         "reason": info.describe(lang) if info.category != "workday" else "",
                         "source": info.cited(lang), "deadlines": due.get(info.day, []),
                         "more": max(int(counts.get(info.day, 0)) - len(due.get(info.day, [])), 0)})
        today = clock.to_local(now()).date()
        viewer = person_view(who, s)
    prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"year": year, "month": month, "days": days, "first_weekday": first.weekday(),
            "prev": prev_month, "next": next_month, "today": today.isoformat(), "viewer": viewer}


def round_page(settings: Settings, ref: str) -> dict[str, Any]:
    """A consultation round as its page shows it: each body, its status, reply and date, or the rule
    that settled its silence; UnknownCaseError when the case has no round the reader may see."""
    with reading(settings) as s:
        who = reader(s, settings)
        case, defn = visible(s, who, ref)
        if not fanout.round_of(s, case):
            raise UnknownCaseError(ref)
        return {"case": {"id": case.ref, "title": case.title, "state_label": defn.label(case.state, settings.lang)},
                "round": consultation.summary(s, ref, now(), settings.lang), "viewer": person_view(who, s),
                "units": unit_names(s, settings.lang)}
