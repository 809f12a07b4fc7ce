"""What inspectors read on the web: the log page by page, and the proof (checkpoints, exports).

Who may: the roles that see every case (``authority.SEE_ALL``: auditors,
coordinators, approvers, admins) read the whole log; an officer, who sees only
their unit's cases, is refused (RoleRefusedError, logged in the security log).
Nothing here writes to the database.

The log page uses keyset ("seek") paging: a page is asked for as "the events
before (at, id)" — or, within one case, "before seq" — and read from an index
in that order, so the thousandth page costs what the first does (an offset
would make the database walk every event before it).  Newest first:

* one case — the case's chain by ``seq`` (the unique index ``(case_id, seq)``);
* otherwise by effective time then id: ``ix_events_at_id``; with an event
  kind ``ix_events_kind_at_id``; with a person, who acted
  (``ix_events_actor_at_id``) or who recorded on their behalf
  (``ix_events_recorded_by_at_id``), the two read apart and merged.
* a unit keeps the time order and tests each event's case against the cases
  that concern the unit (the case's unit or a unit field): a page costs in
  proportion to how rare the unit's events are, never to the page's depth.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, authority, cases, clock, notes
from agreeflow.engine.core.atomic import atomic_write
from agreeflow.engine.core.directory import unit_names
from agreeflow.engine.core.errors import FieldValueError, RoleRefusedError, UnknownCaseError
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.seclog import SecurityKind
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Event, Person, Unit
from agreeflow.engine.reports import auditlog, checkpoint
from agreeflow.engine.reports import common as reports
from agreeflow.engine.service import base, words
from agreeflow.engine.service.base import reading
from agreeflow.engine.service.pages import person_view, reader, unit_condition

PER_PAGE = 50
INSPECTORS = tuple(sorted(authority.SEE_ALL))
"""Roles that read the inspection pages: those that see every case."""
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)~(\d+)$")


# ------------------------------------------------------------------ who may
def inspector(s: Session, settings: Settings, action: str) -> Any:
    """The signed-in reader if they may read the whole log; RoleRefusedError (logged) otherwise."""
    who = reader(s, settings)
    if not authority.SEE_ALL & set(who.roles or []):
        raise RoleRefusedError(actor=who.email, trigger=action, case=cases.SYSTEM_REF, needed=list(INSPECTORS),
                               roles=who.roles)
    return who


def _checked(settings: Settings, action: str) -> dict[str, Any]:
    """:func:`inspector` in a read of its own; a refusal goes to the security log, then is raised."""
    try:
        with reading(settings) as s:
            return person_view(inspector(s, settings, action), s)
    except RoleRefusedError as err:
        base.security(settings, SecurityKind.REFUSED, str(err.fields.get("actor") or ""),
                      {"action": action, "error": type(err).__name__, "message": err.render("en")})
        raise


def may_inspect(settings: Settings, action: str = "audit") -> dict[str, Any]:
    """The reader (as :func:`pages.person_view`) when they may read the inspection pages; refused otherwise."""
    return _checked(settings, action)


# ------------------------------------------------------------------ the log
@dataclass(frozen=True)
class LogFilter:
    """The log page's filters and position, as the page sends them (text; empty means "any")."""

    case: str = ""
    person: str = ""
    unit: str = ""
    kind: str = ""
    start: str = ""
    end: str = ""
    before: str = ""
    """Older than this cursor (``<at>~<id>``, or the seq within one case)."""
    after: str = ""
    """Newer than this cursor (the page before)."""
    seq: str = ""
    """Within one case: start the page at this seq (a link to one event)."""

    @classmethod
    def of(cls, values: dict[str, str]) -> LogFilter:
        keys = ("case", "person", "unit", "kind", "start", "end", "before", "after", "seq")
        return cls(**{k: str(values.get(k) or "").strip() for k in keys})

    def query(self, **changes: str) -> dict[str, str]:
        """The filters (and ``changes``) as query parameters, empty ones left out."""
        out = {k: v for k, v in {**self.__dict__, **changes}.items() if v}
        return out


def _bad(field: str, problem: Msg, remedy: Msg | None = None) -> FieldValueError:
    return FieldValueError(field=field, problem=problem, remedy=remedy or "")


def _window(f: LogFilter) -> reports.Window:
    w = reports.Window()
    for name, text in (("start", f.start), ("end", f.end)):
        if not text:
            continue
        try:
            day = parse_date(text)
        except ValueError:
            raise _bad(name, Msg(N_("'{text}' is not a date"), text=text),
                       Msg(N_("Write the date as dd/mm/yyyy."))) from None
        if name == "start":
            w = replace(w, start=clock.local_at(day, 0))
        else:
            w = replace(w, end=clock.end_of_local_day(day))
    if w.start and w.end and w.end <= w.start:
        raise _bad("end", Msg(N_("the last day is before the first")), Msg(N_("Choose a last day after the first.")))
    return w


def _cursor(text: str) -> tuple[datetime, int] | None:
    m = _CURSOR.match(text)
    if not m:
        return None
    return clock.parse_instant(m.group(1)), int(m.group(2))


def _cursor_of(e: Event) -> str:
    return f"{audit.fmt_at(e.at)}~{e.id}"


def _conditions(s: Session, f: LogFilter, w: reports.Window) -> list[Any]:
    """Where-clauses of every filter but the person and the position."""
    where: list[Any] = []
    if f.kind:
        known = set(auditlog.KINDS) | auditlog.recorded_kinds(s)
        if f.kind not in known:
            raise _bad("kind", Msg(N_("there is no event kind '{kind}'"), kind=f.kind))
        where.append(col(Event.kind) == f.kind)
    if f.unit:
        if s.get(Unit, f.unit) is None:
            raise _bad("unit", Msg(N_("there is no unit '{unit}'"), unit=f.unit))
        of_unit = select(col(Case.id)).where(unit_condition(f.unit))
        if _dense(s, f.unit):
            # ``case_id + 0`` hides the case index from the planner: it then walks the log's (at, id) index in
            # page order and keeps the unit's events, a page found within a few thousand entries.  Given the
            # bare column, SQLite read every event of the unit's cases and sorted them (0.5 s at 1 M events).
            where.append((col(Event.case_id) + 0).in_(of_unit))
        else:  # a unit with few cases: its events by the case index, then sorted — few to sort
            where.append(col(Event.case_id).in_(of_unit))
    if w.start:
        where.append(col(Event.at) >= w.start)
    if w.end:
        where.append(col(Event.at) < w.end)
    return where


DENSE = 0.01
"""A unit whose own cases are at least this share of all cases has its log pages read in page order."""


def _dense(s: Session, unit: str) -> bool:
    """Whether the unit's own cases (an index count; cases that only name it in their fields come on top) are
    at least :data:`DENSE` of all cases (their highest id, near enough)."""
    own = s.exec(select(sa.func.count()).select_from(Case).where(col(Case.unit) == unit)).one()
    every = s.exec(select(sa.func.max(col(Case.id)))).one() or 0
    return bool(every) and own >= DENSE * every


def _seek(s: Session, where: list[Any], before: tuple[datetime, int] | None, after: tuple[datetime, int] | None,
          limit: int) -> list[Event]:
    """Up to ``limit`` events by (at, id): newest first, older than ``before`` — or, with ``after``, the
    ``limit`` just newer than it (returned newest first too)."""
    stmt = select(Event).where(*where)
    if after is not None:
        at, i = after
        stmt = stmt.where(col(Event.at) >= at, sa.or_(col(Event.at) > at, col(Event.id) > i))
        rows = list(s.exec(stmt.order_by(col(Event.at), col(Event.id)).limit(limit)).all())
        return rows[::-1]
    if before is not None:
        at, i = before
        stmt = stmt.where(col(Event.at) <= at, sa.or_(col(Event.at) < at, col(Event.id) < i))
    return list(s.exec(stmt.order_by(col(Event.at).desc(), col(Event.id).desc()).limit(limit)).all())


def _by_person(s: Session, where: list[Any], person: str, before: Any, after: Any, limit: int) -> list[Event]:
    """Events the person acted in, or recorded on someone's behalf: two index reads, merged."""
    acted = _seek(s, [*where, col(Event.actor) == person], before, after, limit)
    recorded = _seek(s, [*where, col(Event.recorded_by) == person, col(Event.actor) != person], before, after,
                     limit)
    merged = sorted({e.id: e for e in acted + recorded}.values(), key=lambda e: (e.at, e.id or 0), reverse=True)
    if after is not None:
        return merged[-limit:]
    return merged[:limit]


def _in_case(s: Session, case: Case, where: list[Any], f: LogFilter, limit: int) -> tuple[list[Event], bool, bool]:
    """One case's events by seq, newest first: (page, more older, more newer)."""
    stmt = select(Event).where(col(Event.case_id) == case.id, *where)
    if f.after.isdigit():
        rows = list(s.exec(stmt.where(col(Event.seq) > int(f.after)).order_by(col(Event.seq)).limit(limit + 1)))
        newer = len(rows) > limit
        rows = rows[:limit][::-1]
        older = bool(rows) and s.exec(stmt.where(col(Event.seq) < rows[-1].seq).limit(1)).first() is not None
        return rows, older, newer
    top = int(f.seq) if f.seq.isdigit() else int(f.before) - 1 if f.before.isdigit() else None
    q = stmt.where(col(Event.seq) <= top) if top is not None else stmt
    rows = list(s.exec(q.order_by(col(Event.seq).desc()).limit(limit + 1)))
    older = len(rows) > limit
    rows = rows[:limit]
    newer = top is not None and bool(rows) and s.exec(stmt.where(col(Event.seq) > rows[0].seq).limit(1)).first() \
        is not None
    return rows, older, newer


def log_page(settings: Settings, f: LogFilter, limit: int = PER_PAGE) -> dict[str, Any]:
    """One page of the log (newest first) under the filters ``f``, with the cursors of the pages around it.

    Raises:
        FieldValueError (exit 2): a filter that names no case, unit, kind or date (the field is named).
        RoleRefusedError (exit 3): the reader does not see every case (logged in the security log).
    """
    viewer = _checked(settings, "audit log")
    lang = settings.lang
    w = _window(f)
    with reading(settings) as s:
        where = _conditions(s, f, w)
        case = None
        if f.case:
            try:
                case = cases.find(s, f.case)
            except UnknownCaseError:
                raise _bad("case", Msg(N_("there is no case '{case}'"), case=f.case),
                           Msg(N_("Check the case number."))) from None
        person = f.person.lower()
        if case is not None:
            if f.person:
                where = [*where, sa.or_(col(Event.actor) == person, col(Event.recorded_by) == person)]
            rows, older, newer = _in_case(s, case, where, f, limit)
            prev = {"after": str(rows[0].seq)} if newer and rows else None
            nxt = {"before": str(rows[-1].seq)} if older and rows else None
        else:
            before, after = _cursor(f.before), _cursor(f.after)
            got = _by_person(s, where, person, before, after, limit + 1) if f.person else \
                _seek(s, where, before, after, limit + 1)
            if after is not None:
                newer, rows = len(got) > limit, got[-limit:] if len(got) > limit else got
                older = bool(rows)
            else:
                older, rows = len(got) > limit, got[:limit]
                newer = before is not None and bool(rows)
            prev = {"after": _cursor_of(rows[0])} if newer and rows else None
            nxt = {"before": _cursor_of(rows[-1])} if older and rows else None
        shown = _views(s, rows, lang)
        units = unit_names(s, lang)
        kinds = sorted(set(auditlog.KINDS) | auditlog.recorded_kinds(s))
        chosen = {"id": case.ref, "title": case.title} if case is not None else None
    return {"viewer": viewer, "events": shown, "filter": f.__dict__, "case": chosen,
            "older": f.query(before=nxt["before"], after="", seq="") if nxt else None,
            "newer": f.query(after=prev["after"], before="", seq="") if prev else None,
            "first": f.query(before="", after="", seq="") if (prev or f.before or f.after or f.seq) else None,
            "units": [{"code": c, "name": n} for c, n in units.items()], "kinds": kinds}


def _views(s: Session, rows: list[Event], lang: str) -> list[dict[str, Any]]:
    """The events as the log page shows them: labels of states, names of people, the case."""
    if not rows:
        return []
    ids = {e.case_id for e in rows}
    found = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_(ids))).all()}
    emails = {e.actor for e in rows} | {e.recorded_by for e in rows if e.recorded_by}
    names = dict(s.exec(select(Person.email, Person.name).where(col(Person.email).in_(emails))).all())
    units = unit_names(s, lang)
    out: list[dict[str, Any]] = []
    words_of: dict[int, tuple[dict[str, str], dict[str, dict[str, str]]]] = {}
    for e in rows:
        c = found.get(e.case_id)
        if e.case_id not in words_of:
            words_of[e.case_id] = _labels(s, c, lang)
        labels, fields = words_of[e.case_id]
        p = e.payload or {}
        actor_name = names.get(e.actor) or (units.get(e.actor[5:], e.actor) if e.actor.startswith("unit:")
                                            else e.actor)
        view = audit.event_view(e)
        out.append(view | {
            "text": notes.describe(view, lang, fields.get, lambda rung: words.rung_word(rung, lang)),
            "id": e.id, "case": c.ref if c else f"(case id {e.case_id})", "case_title": c.title if c else "",
            "actor_name": actor_name, "recorded_by_name": names.get(e.recorded_by, e.recorded_by),
            "from_label": labels.get(e.from_state or "", e.from_state or ""),
            "to_label": labels.get(e.to_state or "", e.to_state or ""),
            "attachment": ({"name": p.get("name"), "kind": p.get("kind"), "sha256": p.get("sha256"),
                            "size": p.get("size")} if e.kind == EventKind.ATTACHED and p.get("sha256") else None),
            "late_reason": (p.get("late_entry") or {}).get("reason") if isinstance(p.get("late_entry"), dict)
            else None})
    return out


def _labels(s: Session, c: Case | None, lang: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The states of the case's workflow in words, and its fields' labels ({vi, en})."""
    if c is None or c.workflow == cases.SYSTEM_WORKFLOW:
        return {}, {}
    try:
        defn = cases.definition_of(s, c.workflow, c.version)
    except Exception:  # a definition that no longer loads: show the state ids as they are
        return {}, {}
    return {n: defn.label(n, lang) for n in defn.states}, {n: dict(f.label) for n, f in defn.fields.items()}


# ------------------------------------------------------------------ the proof
def checkpoints(settings: Settings) -> dict[str, Any]:
    """The checkpoint files of the folder, newest first: name, size, when taken, root, signed or not."""
    viewer = _checked(settings, "audit checkpoints")
    folder = settings.checkpoints_dir
    out = []
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            cp = checkpoint.read(path)
        except Exception:  # a file that is not a checkpoint is listed as such, not hidden
            cp = None
        out.append({"name": path.name, "size": path.stat().st_size,
                    "taken_at": cp.get("taken_at") if cp else None, "root": cp.get("root") if cp else None,
                    "events": cp.get("events") if cp else None, "signed": bool(cp and "signature" in cp),
                    "valid": cp is not None})
    return {"viewer": viewer, "folder": str(folder), "files": out}


def checkpoint_file(settings: Settings, name: str) -> bytes | None:
    """The bytes of one checkpoint file of the folder (None: no such file; a path is never followed)."""
    _checked(settings, "audit checkpoint download")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+\.json", name) or name.startswith("."):
        return None
    path = settings.checkpoints_dir / name
    if not path.is_file() or path.resolve().parent != settings.checkpoints_dir.resolve():
        return None
    return path.read_bytes()


def export_file(settings: Settings, fmt: str, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The whole log exported (``jsonl`` or ``csv``, as ``agreeflow audit export``) into a new file in
    ``folder``; the caller sends it and removes it."""
    _checked(settings, "audit export")
    from agreeflow.engine.service.audit import audit_export

    path = folder / f"agreeflow-log-{os.getpid()}-{id(folder)}.{fmt}"
    counts = atomic_write(path, lambda fh: audit_export(settings, fmt, fh), sync=False)  # a download, then removed
    return path, counts
