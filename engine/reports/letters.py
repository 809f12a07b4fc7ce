"""Letters and reports of the procedure, written from templates an operator edits, in Decree 30/2020 form.

A letter kind is a template file ``<lang>/<kind>.txt`` in
``engine/templates/letters`` — or in the operator's folder
(``AGREEFLOW_LETTER_TEMPLATES``), where a file of the same name replaces the
shipped one.  A template has two parts:

* a YAML header between ``---`` lines: what the letter is and who issues and
  signs it (``label``, ``workflows``, ``where``, ``requires``, ``issuer``,
  ``symbol``, ``type``, ``signer``, ``citation``; see :data:`HEADER_KEYS`);
* Jinja2 text in four sections, ``[summary]`` (trích yếu), ``[to]`` (Kính
  gửi, one addressee a line), ``[body]`` (paragraphs separated by a blank
  line; ``# `` starts a bold heading, ``> `` an italic note, ``@tables`` marks
  where a report's tables go) and ``[copies]`` (Nơi nhận, one a line).

The text is rendered from the case's fields and facts taken from the log and
the directory (:func:`case_context` lists them); the heading, the number
line, the signature and the layout come from the directory and
:mod:`engine.reports.decree30`.  Rendering is pure: the same case, day and
templates give the same document.  Nothing here writes: the service layer
decides who may, and attaches the file.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from sqlmodel import Session, col, select

from agreeflow.engine.core import authority, cases
from agreeflow.engine.core.clock import fmt_day, fmt_local, parse_instant, to_local
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.errors import LetterError, UnknownLetterKindError, dash_hint, did_you_mean
from agreeflow.engine.core.i18n import N_, Msg, join, localized, pair, t
from agreeflow.engine.core.kinds import EventKind, Position
from agreeflow.engine.core.paths import LETTER_TEMPLATES_DIR
from agreeflow.engine.core.store import Case, Deadline, Event, Person, Unit
from agreeflow.engine.core.vocabulary import choice_typed
from agreeflow.engine.core.yamlio import YamlSyntaxError, load_text
from agreeflow.engine.reports import decree30
from agreeflow.engine.reports.annual import Section
from agreeflow.engine.reports.common import province_name

SECTIONS = ("summary", "to", "body", "copies")
HEADER_KEYS = {
    "label": N_("what the letter is: text, or {{vi: …, en: …}} (named in messages and listed by `agreeflow letter`)"),
    "workflows": N_("the procedures whose cases have this letter, e.g. [agreement-province]"),
    "where": N_("{{field: [values]}}: only when the case's field holds one of the values"),
    "requires": N_("[fields] the case must have (set by the procedure's steps) before the letter can be written"),
    "issuer": N_("the unit code of the issuing body (directory), e.g. SNGV or UBND"),
    "symbol": N_("the symbol after the number, e.g. TTr-SNgV (Số: …/TTr-SNgV)"),
    "type": N_("the type name in capitals, e.g. TỜ TRÌNH; empty for a công văn (its summary goes under the number)"),
    "signer": N_("{{position: director | chairman | head, unit: CODE (default the issuer), collective: ỦY BAN NHÂN "
                 "DÂN}}"),
    "citation": N_("the legal basis of the letter"),
}
"""What each header key says (messages of the catalogue: a broken template's problem quotes them)."""
DEPUTY = {Position.CHAIRMAN: Position.VICE_CHAIRMAN, Position.DIRECTOR: Position.DEPUTY_DIRECTOR,
          Position.HEAD: Position.DEPUTY_HEAD}
"""Who signs "KT." (ký thay) for the head of a body (Decree 30/2020, art. 13)."""
_COLLECTIVE_NAMES = ("ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN", "HỘI ĐỒNG NHÂN DÂN")
_ABBREVIATED = {"ỦY BAN NHÂN DÂN": "UBND", "UỶ BAN NHÂN DÂN": "UBND", "HỘI ĐỒNG NHÂN DÂN": "HĐND"}
"""Common phrases the governing body's line may abbreviate (Decree 30/2020, Appendix I, II.2)."""
_SECTION_LINE = re.compile(r"^\[([a-z_]+)\]\s*$")
TABLES_MARK = "@tables"


@dataclass(frozen=True)
class LetterKind:
    """A template's header, checked."""

    name: str
    lang: str
    template: str
    """The template's name for the loader: ``vi/submission.txt``."""
    file: str
    """Where it was read from (for messages)."""
    label: str
    symbol: str
    signer_position: str
    workflows: tuple[str, ...] = ()
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    issuer: str = ""
    doc_type: str = ""
    signer_unit: str = ""
    collective: str = ""
    citation: str = ""


# ------------------------------------------------------------------ templates
def _folders(own: Path | None) -> list[Path]:
    return [p for p in (own, LETTER_TEMPLATES_DIR) if p is not None]


def _split(text: str) -> tuple[str, str]:
    """(YAML header, Jinja text) of a template; the header's lines stay as blank lines so line numbers hold."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return "", text
    end = next((n for n in range(1, len(lines)) if lines[n].strip() == "---"), None)
    if end is None:
        return "", text
    return "".join(lines[1:end]), "\n" * (end + 1) + "".join(lines[end + 1:])


class _Loader(jinja2.BaseLoader):
    """The operator's folder first, then the shipped one; a template is given without its header."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = _find(self.folders, template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        mtime = path.stat().st_mtime_ns
        return _split(path.read_text(encoding="utf-8"))[1], str(path), \
            lambda: path.is_file() and path.stat().st_mtime_ns == mtime


def _find(folders: list[Path], name: str) -> Path | None:
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


def kinds(own: Path | None, lang: str) -> dict[str, str]:
    """The letter kinds written for cases (name → label), in ``lang`` where a template exists, else Vietnamese."""
    folders = _folders(own)
    names = sorted({p.stem for folder in folders for sub in {lang, "vi"} for p in (folder / sub).glob("*.txt")
                    if not p.name.startswith("_")})
    out = {}
    for name in names:
        spec = kind(own, name, lang)
        if spec.workflows:
            out[name] = spec.label
    return out


def kind(own: Path | None, name: str, lang: str) -> LetterKind:
    """The letter kind ``name`` in ``lang`` (else Vietnamese), its header checked.

    Raises:
        UnknownLetterKindError: no template of that name.
        LetterError: its header is not YAML or has problems (every one listed).
    """
    folders = _folders(own)
    for language in dict.fromkeys((lang, "vi")):
        path = _find(folders, f"{language}/{name}.txt") if re.fullmatch(r"[a-z0-9_]+", name) else None
        if path is not None:
            return _read_kind(path, name, language, lang)
    raise UnknownLetterKindError(name, kinds(own, lang))


def _read_kind(path: Path, name: str, lang: str, reader: str) -> LetterKind:
    """The header of the template at ``path`` (written in ``lang``); its label in the ``reader``'s language."""
    header, _ = _split(path.read_text(encoding="utf-8"))
    try:
        raw = load_text(header, str(path)) if header.strip() else {}
    except YamlSyntaxError as exc:
        raise _template_error(str(path), [exc.located]) from None
    problems: list[Msg] = []
    if not isinstance(raw, dict):
        raise _template_error(str(path), [Msg(N_("the header between the --- lines is not a mapping of keys"))])
    for key in sorted(set(raw) - set(HEADER_KEYS)):
        problems.append(Msg(N_("unknown key '{key}'{hint} — the keys are: {keys}"), key=key,
                            hint=dash_hint(did_you_mean(str(key), HEADER_KEYS)), keys=list(HEADER_KEYS)))
    signer = raw.get("signer") or {}
    position = str(signer.get("position") or "") if isinstance(signer, dict) else ""
    if position not in DEPUTY:
        problems.append(Msg(N_("signer: position must be one of {positions} (the head of the issuing body)"),
                            positions=[str(d) for d in DEPUTY]))
    label = raw.get("label")
    if isinstance(label, dict):
        label = label.get(reader) or label.get(lang) or label.get("vi")
    for key, value in (("label", label), ("symbol", raw.get("symbol"))):
        if not str(value or "").strip():
            problems.append(_missing(key))
    where = raw.get("where") or {}
    if not isinstance(where, dict):
        problems.append(Msg("{key}: {meaning}", key="where", meaning=Msg(HEADER_KEYS["where"])))
        where = {}
    if problems:
        raise _template_error(str(path), problems)

    def strings(value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in (value if isinstance(value, list) else [value] if value else []))
    return LetterKind(name=name, lang=lang, template=f"{lang}/{name}.txt", file=str(path),
                      label=str(label), symbol=str(raw["symbol"]), signer_position=position,
                      workflows=strings(raw.get("workflows")), requires=strings(raw.get("requires")),
                      where={str(k): strings(v) for k, v in where.items()}, issuer=str(raw.get("issuer") or ""),
                      doc_type=str(raw.get("type") or ""), signer_unit=str(signer.get("unit") or ""),
                      collective=str(signer.get("collective") or ""), citation=str(raw.get("citation") or ""))


def _missing(key: str) -> Msg:
    """"'key' is missing: what it says" (a header key a template needs)."""
    return Msg(N_("'{key}' is missing: {meaning}"), key=key, meaning=Msg(HEADER_KEYS[key]))


def _template_error(file: str, problems: Sequence[Msg | str]) -> LetterError:
    return LetterError(N_("The letter template {file} cannot be used:\n{listing}"), file=file,
                       listing=join([Msg("  - {problem}", problem=p) for p in problems], "\n"))


def _environment(own: Path | None, lang: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=_Loader(_folders(own)), undefined=jinja2.StrictUndefined, autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(dmy=fmt_day, long_date=lambda d: decree30.place_and_date("", d, lang),
                       local_time=lambda at: fmt_local(parse_instant(at)) if isinstance(at, str) else fmt_local(at))
    return env


def _render(own: Path | None, spec: LetterKind, context: dict[str, Any]) -> dict[str, list[str]]:
    """The template's sections, as lines, rendered from ``context``; a template fault is a LetterError."""
    try:
        text = _environment(own, spec.lang).get_template(spec.template).render(context)
    except jinja2.TemplateError as exc:
        raise _template_error(spec.file, [_where(exc, spec.file, str(exc))]) from None
    parts: dict[str, list[str]] = {}
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        marker = _SECTION_LINE.match(line.strip())
        if marker:
            if marker.group(1) not in SECTIONS:
                raise _template_error(spec.file, [Msg(N_("unknown section [{section}] — the sections are: {sections}"),
                                                      section=marker.group(1),
                                                      sections=[f"[{s}]" for s in SECTIONS])])
            current = marker.group(1)
            parts[current] = []
        elif current is not None:
            parts[current].append(line.rstrip())
        elif line.strip():
            raise _template_error(spec.file, [Msg(N_("text before the first section, rendered line {n}: '{text}'"),
                                                  n=n, text=line.strip())])
    return parts


def _where(exc: jinja2.TemplateError, file: str, problem: str) -> Msg | str:
    """"line N: problem", N the template line a rendering error came from (Jinja keeps it in the traceback);
    ``problem`` is Jinja's own words."""
    lineno = getattr(exc, "lineno", None)
    tb = sys.exc_info()[2]
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == file:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return Msg(N_("line {n}: {problem}"), n=lineno, problem=problem) if lineno else problem


def _paragraphs(lines: list[str]) -> list[decree30.Paragraph]:
    out, chunk = [], []
    for line in [*lines, ""]:
        if line.strip():
            chunk.append(line.strip())
            continue
        if chunk:
            text = " ".join(chunk)
            if text.startswith("# "):
                out.append(decree30.Paragraph(text[2:].strip(), "heading"))
            elif text.startswith("> "):
                out.append(decree30.Paragraph(text[2:].strip(), "note"))
            else:
                out.append(decree30.Paragraph(text))
            chunk = []
    return out


# ------------------------------------------------------------------ what the templates read
def _unit_view(unit: Unit | None, code: str = "") -> dict[str, Any]:
    if unit is None:
        return {"code": code, "name": code, "name_en": code, "email": "", "kind": "", "parent": ""}
    return {"code": unit.code, "name": unit.name_vi, "name_en": unit.name_en or unit.name_vi, "email": unit.email,
            "kind": unit.kind, "parent": unit.parent or ""}


def _person_view(s: Session, p: Person, lang: str) -> dict[str, Any]:
    unit = s.get(Unit, p.unit)
    positions = [{"position": x.get("position"), "unit": x.get("unit"),
                  "label": t(authority.POSITION_LABELS.get(Position(str(x.get("position"))), ""), lang)}
                 for x in p.positions or [] if x.get("position") in set(Position)]
    return {"email": p.email, "name": p.name, "title": p.title, "phone": p.phone,
            "addressed": f"{p.title} {p.name}".strip(), "unit": _unit_view(unit, p.unit), "positions": positions}


def _field_values(s: Session, defn: Definition, case: Case, lang: str) -> dict[str, Any]:
    """Every field of the case's procedure (None when unset): dates as dates, units and people as views."""
    out: dict[str, Any] = {}
    for name, fdef in defn.fields.items():
        value = case.fields.get(name)
        if value is None or value == "":
            out[name] = None
        elif fdef.type == "date":
            out[name] = date.fromisoformat(str(value))
        elif fdef.type == "unit":
            out[name] = _unit_view(s.get(Unit, value), str(value))
        elif fdef.type == "units":
            out[name] = [_unit_view(s.get(Unit, v), str(v)) for v in value]
        elif fdef.type == "person":
            person = s.get(Person, value)
            out[name] = _person_view(s, person, lang) if person else {"email": value, "name": value, "title": "",
                                                                        "addressed": value}
        else:
            out[name] = value
    return out


def _steps(s: Session, case: Case) -> dict[str, date]:
    """trigger → the day (Vietnam) the case last took that step."""
    rows = s.exec(select(Event.trigger, Event.at).where(Event.case_id == case.id, Event.kind == EventKind.TRANSITION)
                  .order_by(col(Event.seq))).all()
    return {str(trigger): to_local(at).date() for trigger, at in rows if trigger}


def _replies(s: Session, case: Case, lang: str) -> list[dict[str, Any]]:
    """The latest round of opinions: each consulted unit, the state of its reply, its comment, the day it moved."""
    refs = case.fields.get("_round") or []
    children = s.exec(select(Case).where(Case.parent_id == case.id).order_by(col(Case.id))).all()
    chosen = [c for c in children if c.ref in refs] if refs else list(children)
    out = []
    for child in chosen:
        defn = cases.definition_of(s, child.workflow, child.version)
        unit_code = child.unit or ""
        out.append({"ref": child.ref, "unit": _unit_view(s.get(Unit, unit_code), unit_code), "state": child.state,
                    "state_label": defn.label(child.state, lang),
                    "answered": defn.states[child.state].terminal,
                    "on": to_local(child.closed_at).date() if child.closed_at else None,
                    "comment": child.fields.get("comment"), "reply_no": child.fields.get("reply_no")})
    return out


def _deadlines(s: Session, case: Case) -> dict[str, date]:
    """Deadline → the due date of its latest row, by key (``timer:opinions:opinions``) and by timer id
    (``opinions``, the last part of the key): the reply date a letter names."""
    rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id))).all()
    out: dict[str, date] = {}
    for d in rows:
        if d.due_date is not None:
            out[d.key] = out[d.key.rsplit(":", 1)[-1]] = d.due_date
    return out


def _units(s: Session) -> dict[str, dict[str, Any]]:
    return {u.code: _unit_view(u) for u in s.exec(select(Unit)).all()}


def case_context(s: Session, case: Case, author: Person, today: date, lang: str) -> dict[str, Any]:
    """What a case letter's template reads.

    ``case`` (ref, title, workflow, workflow_title, state, state_label,
    opened_on), ``f`` (every field of its procedure, None when unset; dates
    as dates, units as {code, name, name_en, email, kind, parent}, people as
    {name, title, addressed, phone, email, unit, positions}), ``steps``
    (trigger → the day the step was last taken), ``replies`` (the latest round
    of opinions: unit, state, state_label, answered, on, comment, reply_no),
    ``deadlines`` (key → due date), ``units`` (code → unit), ``author`` (the
    person writing: the contact named in the letter), ``province``, ``today``.
    Filters: ``dmy`` (05/08/2024), ``long_date`` (ngày 05 tháng 8 năm 2024) and ``local_time`` (a stored
    UTC instant as 10/01/2025 09:00, Vietnam time).
    """
    defn = cases.definition_of(s, case.workflow, case.version)
    return {"case": {"ref": case.ref, "title": case.title, "workflow": case.workflow,
                     "workflow_title": defn.title.get(lang) or defn.title.get("vi") or defn.id,
                     "state": case.state, "state_label": defn.label(case.state, lang),
                     "opened_on": to_local(case.opened_at).date()},
            "f": _field_values(s, defn, case, lang), "steps": _steps(s, case), "replies": _replies(s, case, lang),
            "deadlines": _deadlines(s, case), "units": _units(s), "author": _person_view(s, author, lang),
            "province": province_name(s), "today": today, "lang": lang}


# ------------------------------------------------------------------ heading and signature
def _capitals(name: str) -> str:
    return unicodedata.normalize("NFC", name).upper()


def _issuer_lines(s: Session, code: str, lang: str) -> tuple[str, list[str]]:
    """(governing body line, issuing body lines) in capitals, as the heading shows them."""
    unit = s.get(Unit, code)
    if unit is None:
        raise LetterError(N_("The letter's issuing body '{unit}' is not in the directory (see: agreeflow directory "
                             "show); correct 'issuer:' in its template."), unit=code)
    name = _capitals(localized(pair(unit.name_vi, unit.name_en), lang))
    lines = [name]
    for body in _COLLECTIVE_NAMES:
        if name.startswith(body + " ") and unit.kind != "division":
            lines = [body, name[len(body) + 1:]]
    parent = s.get(Unit, unit.parent) if unit.parent else None
    parent_line = ""
    if parent is not None and unit.kind != "ministry":
        parent_line = _capitals(localized(pair(parent.name_vi, parent.name_en), lang))
        for phrase, short in _ABBREVIATED.items():
            parent_line = parent_line.replace(phrase, short)
    return parent_line, lines


def _holders(s: Session, position: str, unit: str) -> list[Person]:
    people = s.exec(select(Person).where(col(Person.active)).order_by(col(Person.email))).all()
    return [p for p in people if authority.holds(p, position, unit)]


def signature(s: Session, spec: LetterKind, issuer: str, signer: str | None, lang: str) -> decree30.Signature:
    """The signature block: the head of the signing body, or the deputy named, who signs "KT." for the head.

    Raises:
        UnknownPersonError: ``signer`` is not an active person of the directory.
        LetterError: nobody holds the head's position, or ``signer`` holds neither the head's nor the
            deputy's position in the signing body (the message names who may sign).
    """
    unit = spec.signer_unit or issuer
    head, deputy = Position(spec.signer_position), DEPUTY[Position(spec.signer_position)]
    title = t(authority.POSITION_LABELS[head], lang).upper()
    unit_row = s.get(Unit, unit)
    unit_name = unit_row.name_vi if unit_row else unit
    if signer:
        who = authority.person(s, signer.strip().lower())
    else:
        heads = _holders(s, head, unit)
        if not heads:
            raise LetterError(N_("Nobody in the directory holds the position '{position}' in {unit}, who signs "
                                 "this letter: record it in the directory, or name the signer with --signer EMAIL."),
                              position=t(authority.POSITION_LABELS[head], lang), unit=unit_name)
        who = heads[0]
    if authority.holds(who, head, unit):
        lines = [title]
    elif authority.holds(who, deputy, unit):
        lines = [t("Signing for the {title}", lang, title=title), t(authority.POSITION_LABELS[deputy], lang).upper()]
    else:
        may = [f"{p.name} <{p.email}>" for p in _holders(s, head, unit) + _holders(s, deputy, unit)]
        raise LetterError(N_("{signer} holds neither the position '{head}' nor '{deputy}' in {unit}, and so cannot "
                             "sign this letter. Who may sign: {may}."), signer=who.email,
                          head=t(authority.POSITION_LABELS[head], lang), deputy=t(authority.POSITION_LABELS[deputy],
                                                                                  lang), unit=unit_name, may=may)
    if spec.collective:
        lines.insert(0, t("On behalf of the {body}", lang, body=spec.collective))
    return decree30.Signature(lines=lines, name=who.name)


# ------------------------------------------------------------------ documents
def _check_case(s: Session, case: Case, spec: LetterKind, lang: str) -> None:
    """The letter belongs to this case's procedure, and the case has what the letter states."""
    label = spec.label
    if case.workflow not in spec.workflows:
        raise LetterError(N_("A '{kind}' ({label}) is written for a case of {workflows}; {case} is a case of "
                             "{workflow}."), kind=spec.name, label=label, workflows=list(spec.workflows),
                          case=case.ref, workflow=case.workflow)
    for name, allowed in spec.where.items():
        value = case.fields.get(name)
        if str(value) not in allowed:
            raise LetterError(N_("A '{kind}' ({label}) is written when the field {field} is one of {allowed}; "
                                 "case {case} has {value}."), kind=spec.name, label=label, field=name,
                              allowed=[choice_typed(c) for c in allowed], case=case.ref,
                              value="—" if value in (None, "") else choice_typed(str(value)))
    defn = cases.definition_of(s, case.workflow, case.version)
    missing = [name for name in spec.requires if case.fields.get(name) in (None, "", [])]
    if missing:
        named = [f"{n} ({defn.fields[n].label.get(lang) or n})" if n in defn.fields else n for n in missing]
        raise LetterError(N_("The '{kind}' ({label}) of case {case} states {missing}, which the case does not "
                             "have yet: they are recorded by the steps of the procedure (see: agreeflow case show "
                             "{case})."), kind=spec.name, label=label, case=case.ref, missing=named)


def _document(s: Session, spec: LetterKind, parts: dict[str, list[str]], issuer: str, day: date,
              number: int | None, signer: str | None, title: str, tables: list[decree30.Paragraph | decree30.Grid]
              ) -> decree30.Document:
    parent, lines = _issuer_lines(s, issuer, spec.lang)
    body: list[decree30.Paragraph | decree30.Grid] = []
    for p in _paragraphs(parts.get("body", [])):
        if p.text == TABLES_MARK:
            body += tables
            tables = []
        else:
            body.append(p)
    body += tables
    return decree30.Document(
        lang=spec.lang, issuer=lines, parent=parent, symbol=spec.symbol, number=number, place=province_name(s),
        day=day, doc_type=spec.doc_type, summary=" ".join(x.strip() for x in parts.get("summary", []) if x.strip()),
        to=[x for x in parts.get("to", []) if x.strip()], body=body,
        recipients=[x for x in parts.get("copies", []) if x.strip()],
        signature=signature(s, spec, issuer, signer, spec.lang), title=title)


def case_letter(s: Session, case: Case, spec: LetterKind, author: Person, now: datetime, own: Path | None,
                number: int | None = None, signer: str | None = None) -> decree30.Document:
    """The letter ``spec`` of ``case``, dated the day of ``now`` (Vietnam), as a Decree 30 document.

    Raises:
        LetterError: the letter is not one of this case's procedure, the case lacks a fact it states,
            the signer may not sign it, or its template is broken.
    """
    _check_case(s, case, spec, spec.lang)
    if not spec.issuer:
        raise _template_error(spec.file, [_missing("issuer")])
    day = to_local(now).date()
    parts = _render(own, spec, case_context(s, case, author, day, spec.lang))
    return _document(s, spec, parts, spec.issuer, day, number, signer, f"{case.ref} — {spec.label}", [])


ANNUAL = "annual_report"
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def annual_document(s: Session, rep: dict[str, Any], sections: list[Section], issuer: str, now: datetime,
                    own: Path | None, lang: str, number: int | None = None, signer: str | None = None
                    ) -> decree30.Document:
    """The annual report (``report``: :func:`engine.reports.annual.report`) as a Decree 30 report.

    Its words are the template ``annual_report`` (``report``, ``sections``,
    ``checkpoint``, ``issuer``, ``units``, ``province``, ``today`` are what it
    reads); its tables, each under its section's heading, go where the body
    says ``@tables``.  ``issuer`` is the report map's (the template may name
    another).
    """
    spec = kind(own, ANNUAL, lang)
    code = spec.issuer or issuer
    day = to_local(now).date()
    unit = s.get(Unit, code)
    context = {"report": rep, "checkpoint": rep.get("log_checkpoint"), "units": _units(s),
               "issuer": _unit_view(unit, code), "province": province_name(s), "today": day, "lang": spec.lang,
               "sections": [{"key": sec.key, "title": sec.title} for sec in sections]}
    parts = _render(own, spec, context)
    tables: list[decree30.Paragraph | decree30.Grid] = []
    for n, sec in enumerate(sections):
        tables.append(decree30.Paragraph(f"{_ROMAN[n] if n < len(_ROMAN) else n + 1}. {sec.title.upper()}",
                                         "heading"))
        tables += [decree30.Grid(tbl.title, tbl.columns, tbl.rows) for tbl in sec.tables]
    summary = " ".join(x.strip() for x in parts.get("summary", []) if x.strip())
    return _document(s, spec, parts, code, day, number, signer, summary, tables)
