"""Plans → task cases: a table of assignments (CSV, XLSX or YAML) read, checked, then opened at once.

Official plans list tasks as rows: task, lead unit, co-operating units, time
phrase ("Năm 2021", "Tháng 3,4/2017", "Quý III năm 2024").  Every row is
checked before anything is written and EVERY bad row is reported
(``PlanFileError``, exit 2) — a plan half-imported is worse than none.

Units may be given by code (``SNGV``), by their name in the directory
("Sở Ngoại vụ"), or as a group ``kind:<kind>`` — every unit of that kind active
on the day the task is assigned ("Các sở, ngành" = ``kind:department``, "UBND
các huyện, thành phố" = ``kind:district``).  That day is the row's (or the
file's) ``assigned_on``, else the day of import: a 2024 plan naming a district
imports in 2026, and a unit that had ceased by the day of assignment is named
as retired, with its date.  A row with several lead units becomes one
task per lead unit (each district issues its own plan).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import directory, files
from agreeflow.engine.core.errors import InputFileError, PhraseError, PlanFileError, dash_hint, did_you_mean
from agreeflow.engine.core.fields import parse_date
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.store import Case, Unit
from agreeflow.engine.core.yamlio import LineDict, YamlSyntaxError, load_file
from agreeflow.engine.legaltime import calendar as legal_calendar
from agreeflow.engine.legaltime.calendar.phrases import accepted_forms, fold

WORKFLOW = "task"
MAX_PLAN_BYTES = 5 * 1024 * 1024
"""Largest plan file read (CSV, XLSX): a province's yearly plan is a few hundred rows, tens of KiB."""
MAX_PLAN_ROWS = 10_000
"""Most rows read from a spreadsheet (its XML may unzip to far more than the file's size)."""
COLUMNS: dict[str, tuple[str, ...]] = {
    "no": ("no", "stt", "#"),
    "title": ("title", "task", "nhiem vu", "noi dung"),
    "lead_unit": ("lead_unit", "lead unit", "lead", "don vi chu tri", "chu tri", "phong/don vi chu tri"),
    "cooperating_units": ("cooperating_units", "co-operating units", "cooperating units", "don vi phoi hop",
                          "phoi hop", "phong/don vi phoi hop", "co quan phoi hop"),
    "due_phrase": ("due_phrase", "time phrase", "due", "thoi gian thuc hien", "thoi han", "thoi gian"),
    "related_case": ("related_case", "related case", "ho so lien quan"),
    "assigned_on": ("assigned_on", "assigned on", "ngay giao"),
    "source_document": ("source_document", "source document", "van ban giao", "van ban"),
}
ALIASES = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
FILE_KEYS = {"source_document", "assigned_on", "tasks"}


@dataclass
class PlanRow:
    """One row as read, with where it came from (for messages)."""

    where: str
    values: dict[str, Any]
    kind: str = "line"
    """``line`` of a YAML file, ``row`` of a table (shown in words by the command line)."""
    number: int | None = None


@dataclass
class PlanItem:
    """One task to open: its title, its fields as ``--field`` text, and the due date the phrase means."""

    where: str
    title: str
    fields: dict[str, str]
    due_date: date | None
    due_kind: str
    lead_unit: str
    extra: dict[str, Any] = field(default_factory=dict)
    place: tuple[str, int | None, str] = ("line", None, "")
    """Where it is in the file, for people: ``line``/``row``, its number, the plan's own number (STT)."""

    def to_json(self) -> dict[str, Any]:
        return {"row": self.where, "row_kind": self.place[0], "row_number": self.place[1], "no": self.place[2],
                "title": self.title, "lead_unit": self.lead_unit,
                "cooperating_units": [u for u in self.fields.get("cooperating_units", "").split(",") if u],
                "due_phrase": self.fields["due_phrase"], "due_date": self.due_date, "due_kind": self.due_kind,
                "assigned_on": self.fields.get("assigned_on"), "source_document": self.fields.get("source_document")}


# ------------------------------------------------------------------ reading
def _column(header: str) -> str | None:
    return ALIASES.get(re.sub(r"\s+", " ", fold(str(header))).strip())


def _table(path: Path, header: list[Any], body: list[tuple[int, list[Any]]]) -> list[PlanRow]:
    names = [_column(h) if str(h or "").strip() else None for h in header]
    unknown = [str(h) for h, n in zip(header, names) if str(h or "").strip() and n is None]
    if unknown or "title" not in names:
        raise InputFileError(path=str(path), problem=Msg(N_(
            "unknown columns: {unknown}; needs at least title, lead_unit, due_phrase (allowed: {allowed})"),
            unknown=unknown or "-", allowed=list(COLUMNS)))
    rows = []
    for number, cells in body:
        values = {n: c for n, c in zip(names, cells) if n and c not in (None, "")}
        if values:
            rows.append(PlanRow(f"row {number}", values, "row", number))
    return rows


def _read_csv(path: Path) -> list[PlanRow]:
    text = files.read_input(path, MAX_PLAN_BYTES).decode("utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    lines = list(csv.reader(io.StringIO(text), dialect))
    if not lines:
        raise InputFileError(path=str(path), problem=Msg(N_("the file is empty")))
    return _table(path, lines[0], [(i, [c.strip() for c in r]) for i, r in enumerate(lines[1:], 2)])


def _read_xlsx(path: Path) -> list[PlanRow]:
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        lines = []
        for i, r in enumerate(ws.iter_rows(values_only=True), 1):
            if i > MAX_PLAN_ROWS:
                raise InputFileError(path=str(path), problem=Msg(N_("more than {n} rows: split the plan into several "
                                                                    "files"), n=MAX_PLAN_ROWS))
            if any(c not in (None, "") for c in r):
                lines.append((i, list(r)))
    finally:
        wb.close()
    if not lines:
        raise InputFileError(path=str(path), problem=Msg(N_("the first sheet is empty")))
    return _table(path, lines[0][1], lines[1:])


def _read_yaml(path: Path) -> list[PlanRow]:
    try:
        raw = load_file(path)
    except YamlSyntaxError as exc:
        raise InputFileError(path=str(path), problem=Msg(N_("line {line}: {detail}"), line=exc.line,
                                                         detail=exc.detail)) from None
    if isinstance(raw, list):
        raw = LineDict(tasks=raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), list):
        raise InputFileError(path=str(path), problem=Msg(N_("needs 'tasks:' (a list)")))
    extra = set(raw) - FILE_KEYS
    if extra:
        raise InputFileError(path=str(path), problem=Msg(N_("unknown keys {keys} (allowed: {allowed})"),
                                                         keys=sorted(map(str, extra)), allowed=sorted(FILE_KEYS)))
    defaults = {k: raw[k] for k in ("source_document", "assigned_on") if raw.get(k) is not None}
    rows = []
    for item in raw["tasks"]:
        where = f"line {getattr(item, 'line', '?')}"
        if not isinstance(item, dict):
            rows.append(PlanRow(where, {"_problem": Msg(N_("a task must be a mapping of column: value"))}, "line",
                                getattr(item, "line", None)))
            continue
        bad = [str(k) for k in item if k not in COLUMNS]
        values = {**defaults, **{k: v for k, v in item.items() if k in COLUMNS}}
        if bad:
            values["_problem"] = Msg(N_("unknown keys {keys} (allowed: {allowed})"), keys=bad, allowed=list(COLUMNS))
        rows.append(PlanRow(where, values, "line", getattr(item, "line", None)))
    return rows


def read_rows(path: Path) -> list[PlanRow]:
    """The rows of a plan file, by its extension (.csv, .xlsx, .yaml/.yml)."""
    if not path.is_file():
        raise InputFileError(path=str(path), problem=Msg(N_("file not found")))
    reader = {".csv": _read_csv, ".xlsx": _read_xlsx, ".yaml": _read_yaml, ".yml": _read_yaml}.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(path=str(path), problem=Msg(N_("only .csv, .xlsx or .yaml files")))
    if reader is _read_xlsx:
        files.read_input(path, MAX_PLAN_BYTES)  # a folder, a device or a huge file: refused before unzipping
    try:
        return reader(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, csv.Error) as exc:  # a damaged or mislabelled file
        raise InputFileError(path=str(path), problem=Msg(N_("cannot read: {problem}"), problem=str(exc))) from None


# ------------------------------------------------------------------ checking
class _Units:
    """Resolves unit codes, names and ``kind:`` groups against the units active on a row's day.

    A code or name of a unit that exists but is not active that day (a district
    after 30/06/2025) is named as such, with its date — never answered with a
    similar code of another unit; suggestions come from the units active that day.
    """

    def __init__(self, s: Session) -> None:
        self.all = list(s.exec(select(Unit).order_by(Unit.code)).all())
        self.codes = {u.code: u for u in self.all}
        self.names = {_norm(n): u for u in self.all for n in (u.name_vi, u.name_en) if n}

    def active(self, on: date) -> list[Unit]:
        return [u for u in self.all if directory.is_active(u, on)]

    def one(self, token: str, on: date) -> list[Unit] | Msg:
        """The units ``token`` names on day ``on``, or the problem (a message)."""
        active = self.active(on)
        if token.startswith("kind:"):
            found = [u for u in active if u.kind == token[5:].strip()]
            kinds = sorted({u.kind for u in active if u.kind})
            return found or Msg(N_("no active unit of kind '{kind}' on {on} (kinds: {kinds})"), kind=token[5:], on=on,
                                kinds=kinds)
        unit = self.codes.get(token) or self.codes.get(token.upper()) or self.names.get(_norm(token))
        if unit:
            why = directory.inactive(unit, on)
            if why is None:
                return [unit]
            return Msg("{unit} ({code}) {status} — {task_day}", unit=unit.name_vi, code=unit.code,
                       status=why.fields["status"], task_day=_task_day(on))
        guess = did_you_mean(token, [u.code for u in active] + [u.name_vi for u in active])
        return Msg(N_("unknown unit '{unit}'{hint} (no unit with this code or name is active on {on}; see: agreeflow "
                      "directory show)"), unit=token, hint=dash_hint(guess), on=on)

    def many(self, value: Any, on: date) -> tuple[list[str], list[Msg]]:
        """Codes for a cell or list (``;``/newline separated; ``,`` too when the whole text is no name)."""
        tokens: list[str] = []
        for part in value if isinstance(value, list) else re.split(r"[;\n]", str(value)):
            part = str(part).strip()
            if part and isinstance(self.one(part, on), Msg) and "," in part and _norm(part) not in self.names:
                tokens += [p.strip() for p in part.split(",") if p.strip()]
            elif part:
                tokens.append(part)
        codes: list[str] = []
        problems: list[Msg] = []
        for token in tokens:
            found = self.one(token, on)
            if isinstance(found, Msg):
                problems.append(found)
            else:
                codes += [u.code for u in found if u.code not in codes]
        return codes, problems


def _task_day(on: date) -> Msg:
    return Msg(N_("the task is assigned on {on} (assigned_on, else the day of import)"), on=on)


def _place(kind: str, number: int | None, no: Any, where: str) -> Msg | str:
    """Where a row is, in the reader's words: "row 3 (STT 2)", "dòng 49 (STT 2.7)" (``where``, as it is, when the
    row's number is not known)."""
    if number is None:
        return where
    place = Msg(N_("row {n}") if kind == "row" else N_("line {n}"), n=number)
    return Msg(N_("{where} (STT {no})"), where=place, no=no) if no not in (None, "") else place


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(str(value))


def prepare(s: Session, rows: list[PlanRow], cal: Any, today: date) -> list[PlanItem]:
    """Check every row; PlanFileError lists each bad one.  Returns the tasks to open, in file order."""
    units = _Units(s)
    problems: list[Msg] = []
    items: list[PlanItem] = []
    phrases = False
    for row in rows:
        v = row.values
        where = row.where + (f" (STT {v['no']})" if v.get("no") not in (None, "") else "")
        bad: list[Msg] = [v["_problem"]] if "_problem" in v else []
        title = str(v.get("title") or "").strip()
        if not title:
            bad.append(Msg(N_("no title (task)")))
        assigned = None
        if v.get("assigned_on") not in (None, ""):
            try:
                assigned = _day(v["assigned_on"])
            except ValueError:
                bad.append(Msg(N_("assigned_on '{value}' is not a date (YYYY-MM-DD or dd/mm/yyyy)"),
                               value=str(v["assigned_on"])))
        on = assigned or today  # units are checked on the day the task was assigned, not the day of import
        leads, lead_problems = units.many(v.get("lead_unit") or "", on)
        bad += lead_problems
        if not leads and not lead_problems:
            bad.append(Msg(N_("no lead unit")))
        coop, coop_problems = units.many(v.get("cooperating_units") or "", on)
        bad += coop_problems
        phrase = str(v.get("due_phrase") or "").strip()
        due = None
        if not phrase:
            bad.append(Msg(N_("no time phrase (due_phrase)")))
        else:
            try:
                due = legal_calendar.parse_phrase(phrase, assigned or today, cal)
            except PhraseError as exc:  # with what is wrong in it when the phrase says it ("Quý V", "năm 0")
                problem = exc.fields.get("problem")
                phrases = True
                bad.append(Msg(N_("the time phrase '{phrase}' cannot be read: {problem}"), phrase=phrase,
                               problem=problem) if problem else
                           Msg(N_("the time phrase '{phrase}' cannot be read"), phrase=phrase))
        related = str(v.get("related_case") or "").strip()
        if related and s.exec(select(Case.id).where(Case.ref == related)).first() is None:
            bad.append(Msg(N_("related case '{case}' does not exist"), case=related))
        if bad:
            at = _place(row.kind, row.number, v.get("no"), where)
            problems += [Msg("{where}: {problem}", where=at, problem=b) for b in bad]
            continue
        for lead in leads:
            fields = {"lead_unit": lead, "due_phrase": phrase}
            others = [c for c in coop if c != lead]
            if others:
                fields["cooperating_units"] = ",".join(others)
            if assigned:
                fields["assigned_on"] = assigned.isoformat()
            if v.get("source_document"):
                fields["source_document"] = str(v["source_document"]).strip()
            if related:
                fields["related_case"] = related
            name = units.codes[lead].name_vi
            items.append(PlanItem(where, title if len(leads) == 1 else f"{title} — {name}", fields,
                                  due.due_date if due else None, str(due.kind) if due else "", lead,
                                  place=(row.kind, row.number, str(v.get("no") or ""))))
    problems += _already_imported(s, items)
    if problems:
        raise PlanFileError(problems, Msg(N_("Accepted time phrases:\n{forms}"),
                                          forms="\n".join(f"  · {f}" for f in accepted_forms())) if phrases else "")
    return items


def _already_imported(s: Session, items: list[PlanItem]) -> list[Msg]:
    """Rows that match a task already open (same title, lead unit and source): importing twice would duplicate."""
    titles = {i.title for i in items}
    if not titles:
        return []
    existing = s.exec(select(Case).where(Case.workflow == WORKFLOW, col(Case.title).in_(titles),
                                         col(Case.closed_at).is_(None))).all()
    seen = {(c.title, c.unit, c.fields.get("source_document")): c.ref for c in existing}
    return [Msg("{where}: {problem}", where=_place(*i.place, i.where),
                problem=Msg(N_("already imported as {case} (same task, lead unit and source document)"), case=seen[k]))
            for i in items if (k := (i.title, i.lead_unit, i.fields.get("source_document"))) in seen]
