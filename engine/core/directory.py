"""The directory of units and people, loaded from an operator's YAML file.

Loading is idempotent and keeps history: a unit missing from the new file is
retired (``active_to`` set), not deleted, so old cases still name it; a person
missing from the file is deactivated.  The whole file is checked first and
every problem is reported at once — a bad file writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.errors import (
    DirectoryFileError,
    InactiveUnitError,
    UnknownUnitError,
    dash_hint,
    did_you_mean,
)
from agreeflow.engine.core.i18n import N_, Msg, localized, pair
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.store import Delegation, Person, Unit
from agreeflow.engine.core.yamlio import LineDict, load_checked

if TYPE_CHECKING:  # the schema (pydantic models) is imported by read_file, when a file is read
    from agreeflow.engine.core.directory_schema import DelegationEntry, PersonEntry, UnitEntry

SAMPLE = DATA_DIR / "directory-bac-giang-2024.yaml"
MERGED_SAMPLE = DATA_DIR / "directory-bac-ninh-2025.yaml"
UNIT_KEYS = {"code", "name_vi", "name_en", "email", "parent", "kind", "active_from", "active_to"}
PERSON_FIELDS = ("name", "unit", "roles", "lang", "title", "phone", "positions")


@dataclass
class DirectoryData:
    """A directory file, checked: its units, people and delegations, each as the schema built it."""

    province: str = ""
    units: list[UnitEntry] = field(default_factory=list)
    people: list[PersonEntry] = field(default_factory=list)
    delegations: list[DelegationEntry] = field(default_factory=list)


def read_file(path: Path) -> DirectoryData:
    """Parse and check a directory file; DirectoryFileError lists every problem, each at its ``file:line``.

    Each entry is validated against the schema on its own (all of them, so
    every bad entry is named), then what entries say about each other: codes
    and addresses used once, parents, units of people and of positions, and
    the principal and delegate of a delegation are in the file.
    """
    from agreeflow.engine.core import directory_schema as schema

    raw = load_checked(path, DirectoryFileError)
    if not isinstance(raw, LineDict):
        raise DirectoryFileError([_at(path, 1, Msg(N_("a directory file is a mapping with 'units:' (and 'people:', "
                                                      "'delegations:')")))])
    problems: list[tuple[int, Msg | str]] = []

    def add(node: Any, loc: tuple[Any, ...], text: Msg | str, default: int) -> None:
        problems.append((schema.line_of(node, loc, default), text))

    head, errors = schema.validate(schema.FileHead, raw)
    for loc, err in errors:
        add(raw, loc, schema.describe(err, schema.allowed_keys(schema.FileHead)), raw.line)
    built_entries: dict[str, list[Any]] = {}
    for section, model in schema.SECTIONS.items():
        value = raw.get(section)
        items: list[Any] = value if isinstance(value, list) else []
        built_entries[section] = []
        for i, item in enumerate(items):
            built, errors = schema.validate(model, item)
            where = _entry_label(section, i, item)
            for loc, err in errors:
                add(raw, (section, i, *loc), Msg("{where}: {problem}", where=where,
                                                 problem=schema.describe(err, schema.allowed_keys(model))),
                    raw.line_of(section))
            if built is not None:
                built_entries[section].append(built)
    problems += _cross_check(raw)
    if problems:
        raise DirectoryFileError([_at(path, line, text) for line, text in sorted(problems, key=lambda p: p[0])])
    return DirectoryData(province=head.province if head else "", units=built_entries["units"],
                         people=built_entries["people"], delegations=built_entries["delegations"])


def _at(path: Path, line: int, problem: Msg | str) -> Msg:
    """``file:line: problem``."""
    return Msg("{path}:{line}: {problem}", path=str(path), line=line, problem=problem)


_LABELS = {"units": ("code", N_("unit '{value}'")), "people": ("email", N_("person '{value}'")),
           "delegations": ("delegate", N_("delegation to '{value}'"))}
"""How a problem names an entry of each section: by its code, address or delegate."""


def _entry_label(section: str, index: int, item: Any) -> Msg | str:
    key, label = _LABELS[section]
    value = item.get(key) if isinstance(item, dict) else None
    if isinstance(value, str) and 0 < len(value) <= 64:
        return Msg(label, value=value)
    return f"{section}[{index + 1}]"


def _text(node: Any, key: str) -> str | None:
    """``node[key]`` when it is text (a value of the wrong type is the schema's to report)."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, str) and value else None


def _line(node: Any, key: str, default: int) -> int:
    return node.line_of(key) if isinstance(node, LineDict) else default


def _cross_check(raw: LineDict) -> list[tuple[int, Msg | str]]:
    """What entries say about each other, read from every entry — also those the schema refused.

    So one run lists a bad kind and, in the same entry, an unknown parent.
    """
    def items(section: str) -> list[Any]:
        value = raw.get(section)
        return value if isinstance(value, list) else []
    problems: list[tuple[int, Msg | str]] = []
    codes: dict[str, int] = {}
    for u in items("units"):
        code, line = _text(u, "code"), _line(u, "code", raw.line)
        if code is None:
            continue
        if code in codes:
            problems.append((line, Msg(N_("unit '{code}': the code is already used at line {line}"), code=code,
                                       line=codes[code])))
        codes.setdefault(code, line)
    for u in items("units"):
        code, parent = _text(u, "code"), _text(u, "parent")
        if parent is not None and parent not in codes:
            problems.append((_line(u, "parent", raw.line), Msg(N_("unit '{code}': parent {unknown}"), code=code,
                                                               unknown=_unknown(parent, codes))))
        elif parent is not None and parent == code:
            problems.append((_line(u, "parent", raw.line), Msg(N_("unit '{code}' cannot be its own parent"),
                                                               code=code)))
    emails: dict[str, int] = {}
    for p in items("people"):
        email, line = _text(p, "email"), _line(p, "email", raw.line)
        if email is None:
            continue
        if email in emails:
            problems.append((line, Msg(N_("person '{email}' appears twice (first at line {line})"), email=email,
                                       line=emails[email])))
        emails.setdefault(email, line)
        unit = _text(p, "unit")
        if unit is not None and unit not in codes:
            problems.append((_line(p, "unit", line), Msg(N_("person '{email}': unit {unknown}"), email=email,
                                                         unknown=_unknown(unit, codes))))
        positions = p.get("positions")
        for pos in positions if isinstance(positions, list) else []:
            unit = _text(pos, "unit")
            if unit is not None and unit not in codes:
                what = _text(pos, "position") or "?"
                problems.append((_line(pos, "unit", line), Msg(N_("person '{email}': position {position} in unit "
                                                                  "{unknown}"), email=email, position=what,
                                                               unknown=_unknown(unit, codes))))
    for d in items("delegations"):
        for key in ("principal", "delegate"):
            who = _text(d, key)
            if who is not None and who not in emails:
                problems.append((_line(d, key, raw.line), Msg(N_("delegation to '{delegate}': {key} '{who}' is not a "
                                                                 "person of this file{hint}"),
                                                              delegate=_text(d, "delegate"), key=key, who=who,
                                                              hint=dash_hint(_close_address(who, emails)))))
    return problems


def _close_address(who: str, emails: Any) -> str:
    """The address a letter or two off ``who`` ('' when none; compared by the part before the @:
    addresses of one province share their domain, which would make every address look close)."""
    local, _, domain = who.partition("@")
    same = {e.partition("@")[0]: e for e in emails if e.partition("@")[2] == domain}
    from difflib import get_close_matches

    close = get_close_matches(local, list(same), n=1, cutoff=0.8) if len(local) > 3 else []
    found = same[close[0]] if close else next((e for e in emails if e.partition("@")[0] == local), "")
    return found


def _unknown(name: str, known: Any) -> Msg:
    guess = did_you_mean(name, known)
    return Msg(N_("'{name}' is unknown{hint}"), name=name, hint=dash_hint(guess if guess != name else ""))


def apply(session: Session, data: DirectoryData, today: date) -> dict[str, Any]:
    """Upsert units and people, replace the delegations; retire (from ``today``) what the file no longer lists.

    Returns the counts and the difference made, field by field: what an
    auditor needs to see who changed whom from what to what — units, people
    (roles, positions, title, phone included) and delegations.
    """
    seen_units = set()
    counts = {"units": 0, "people": 0, "units_retired": 0, "people_deactivated": 0, "delegations": 0}
    diff: dict[str, dict[str, Any]] = {"units": {"added": [], "changed": {}, "retired": []},
                                       "people": {"added": [], "new": {}, "changed": {}, "deactivated": []},
                                       "delegations": {"added": [], "removed": []}}
    for u in data.units:
        row = session.get(Unit, u.code)
        added = row is None
        if row is None:
            row = Unit(code=u.code, name_vi=u.name_vi)
            diff["units"]["added"].append(u.code)
        changed = {}
        for key in sorted(UNIT_KEYS - {"code"}):
            value = getattr(u, key)
            before = getattr(row, key, None)
            if before != value and not added:
                changed[key] = [_plain(before), _plain(value)]
            setattr(row, key, value)
        if changed:
            diff["units"]["changed"][u.code] = changed
        session.add(row)
        seen_units.add(u.code)
        counts["units"] += 1
    for row in session.exec(select(Unit)).all():
        if row.code not in seen_units and (row.active_to is None or row.active_to >= today):
            row.active_to = today - timedelta(days=1)
            session.add(row)
            counts["units_retired"] += 1
            diff["units"]["retired"].append(row.code)
    seen_people = set()
    for p in data.people:
        person = session.get(Person, p.email)
        new: dict[str, Any] = {"name": p.name, "unit": p.unit, "roles": [str(r) for r in p.roles], "lang": p.lang,
                               "title": p.title, "phone": p.phone, "active": True,
                               "positions": [{"unit": x.unit, "position": str(x.position)} for x in p.positions]}
        if person is None:
            person = Person(email=p.email, name=p.name, unit=p.unit)
            diff["people"]["added"].append(p.email)
            # What the newcomer may do, so that a person added as admin shows as such in the log.
            diff["people"]["new"][p.email] = {k: new[k] for k in ("unit", "roles", "positions")}
        else:
            changed = {k: [_plain(getattr(person, k)), _plain(v)] for k, v in new.items() if getattr(person, k) != v}
            if changed:
                diff["people"]["changed"][p.email] = changed
        for key, value in new.items():
            setattr(person, key, value)
        session.add(person)
        seen_people.add(p.email)
        counts["people"] += 1
    for person in session.exec(select(Person)).all():
        if person.email not in seen_people and person.active:
            person.active = False
            session.add(person)
            counts["people_deactivated"] += 1
            diff["people"]["deactivated"].append(person.email)
    counts["delegations"] = _replace_delegations(session, data.delegations, diff["delegations"])
    session.flush()
    return {**counts, "diff": diff}


def _delegation_key(d: Delegation) -> tuple[Any, ...]:
    return (d.principal, d.delegate, tuple(d.scope), d.valid_from, d.valid_to, d.document)


def delegation_view(d: Delegation) -> dict[str, Any]:
    """A delegation as the file writes it (dates as ISO text)."""
    return {"principal": d.principal, "delegate": d.delegate, "scope": list(d.scope),
            "from": _plain(d.valid_from), "to": _plain(d.valid_to), "document": d.document}


def _replace_delegations(session: Session, entries: list[DelegationEntry], diff: dict[str, Any]) -> int:
    """Make the table hold exactly the file's delegations; unchanged rows keep their ids."""
    wanted = [Delegation(principal=d.principal, delegate=d.delegate, scope=list(d.scope), valid_from=d.valid_from,
                         valid_to=d.valid_to, document=d.document) for d in entries]
    existing = {_delegation_key(row): row for row in session.exec(select(Delegation).order_by(col(Delegation.id)))}
    keep = set()
    for row in wanted:
        key = _delegation_key(row)
        if key in existing:
            keep.add(key)
        else:
            session.add(row)
            diff["added"].append(delegation_view(row))
    for key, row in existing.items():
        if key not in keep:
            diff["removed"].append(delegation_view(row))
            session.delete(row)
    return len(wanted)


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def unit_names(session: Session, lang: str, codes: Iterable[str] | None = None) -> dict[str, str]:
    """Code → name in ``lang`` of every unit, or of the units ``codes`` names: what a reader sees for a code."""
    query = select(Unit)
    if codes is not None:
        query = query.where(col(Unit.code).in_(set(codes)))
    return {u.code: localized(pair(u.name_vi, u.name_en), lang) for u in session.exec(query.order_by(col(Unit.code)))}


def is_active(unit: Unit, on: date) -> bool:
    return (unit.active_from is None or unit.active_from <= on) and (unit.active_to is None or unit.active_to >= on)


def inactive(unit: Unit, on: date) -> InactiveUnitError | None:
    """Why ``unit`` is not active on ``on`` (retired since …, or active only from …); None when it is active."""
    if is_active(unit, on):
        return None
    retired = unit.active_to is not None and unit.active_to < on
    since = unit.active_to + timedelta(days=1) if retired and unit.active_to else unit.active_from
    return InactiveUnitError(unit.code, unit.name_vi, unit.name_en or unit.name_vi, fmt_day(since), fmt_day(on),
                             retired)


def active_unit(session: Session, code: str, on: date) -> Unit:
    """A unit addressable on day ``on``.

    Raises:
        InactiveUnitError: the code is known but the unit is retired (or not yet active) that day — said
            with its date, never "did you mean" another unit.
        UnknownUnitError: no such code; the suggestion is among units active that day.
    """
    unit = session.get(Unit, code)
    if unit is not None:
        why = inactive(unit, on)
        if why is not None:
            raise why
        return unit
    raise UnknownUnitError(code, [u.code for u in session.exec(select(Unit)).all() if is_active(u, on)])


def supervisor(session: Session, code: str | None) -> Unit | None:
    """The supervising unit of ``code`` (directory ``parent``), for escalation."""
    unit = session.get(Unit, code) if code else None
    return session.get(Unit, unit.parent) if unit and unit.parent else None
