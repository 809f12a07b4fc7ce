"""Typed case fields: ``--field k=v`` text → checked values, one clear error each.

Dates are stored as ISO text, units as codes (checked against the active
directory), ``units`` as a list of codes, case references as case refs.

A unit is checked on the day the case's facts are dated: the date field its
timers count from (``ref_field``: a task's ``assigned_on``, a letter's
``sent_on``) when it is given, else the day of the command.  A task assigned
on 21/06/2024 to a district names a unit that existed then, even when it is
entered in 2026; a unit that had ceased on that day is named as retired, with
its date (``directory.active_unit``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core.definitions import INT_BOUND, Definition, FieldDef
from agreeflow.engine.core.directory import active_unit
from agreeflow.engine.core.errors import FieldValueError, UnknownCaseError, did_you_mean
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.store import Case, Person
from agreeflow.engine.core.vocabulary import choice_typed

TRUE = {"true", "yes", "1", "có", "co", "đúng", "dung"}
FALSE = {"false", "no", "0", "không", "khong", "sai"}


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` → dict; a pair without ``=`` is a FieldValueError."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise FieldValueError(field=pair, problem=Msg(N_("not of the form NAME=VALUE")),
                                  remedy=Msg(N_("Example: --field partner=\"Xay Som Boun province\"")))
        out[name.strip()] = value.strip()
    return out


def to_text(value: Any) -> str:
    """A stored field value as the ``--field`` text that gives it back (lists comma-joined): coerce's inverse."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_date(text: str) -> date:
    """YYYY-MM-DD or dd/mm/yyyy."""
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    return datetime.strptime(text, "%Y-%m-%d").date()


def coerce(session: Session | None, defn: Definition, raw: dict[str, str], on: date) -> dict[str, Any]:
    """``--field`` text → typed values, checked against the definition; the first problem is raised.

    The one converter of field values: cases, imports and the planner use it.
    Units must be active on day ``on`` in the directory; without a session
    (the planner, which has no case and may have no database) unit codes and
    case references are taken as written.
    """
    out: dict[str, Any] = {}
    units_on = reference_day(defn, raw, on)
    for name, text in raw.items():
        fdef = defn.fields.get(name)
        if fdef is None:
            guess = did_you_mean(name, defn.fields)
            raise FieldValueError(
                field=name, problem=Msg(N_("workflow {workflow} has no such field{hint}"), workflow=defn.id,
                                        hint=Msg(N_(" (did you mean '{guess}'?)"), guess=guess) if guess else ""),
                remedy=Msg(N_("Fields: {fields}"), fields=list(defn.fields)))
        out[name] = _one(session, fdef, text, units_on if fdef.type in ("unit", "units") else on)
    return out


def reference_day(defn: Definition, raw: dict[str, str], on: date) -> date:
    """The day unit values are checked on: the first ``ref_field`` date given in ``raw``, else ``on``.

    A malformed date is left to its own field's check (which reports it) and ``on`` is used.
    """
    for state in defn.states.values():
        for timer in state.timers:
            name = timer.ref_field
            if name and raw.get(name) and defn.fields.get(name, None) is not None \
                    and defn.fields[name].type == "date":
                try:
                    return parse_date(raw[name])
                except ValueError:
                    continue
    return on


def _bad(fdef: FieldDef, text: str, remedy: Msg) -> FieldValueError:
    return FieldValueError(field=fdef.name, problem=Msg(N_("'{text}' is not valid"), text=text), remedy=remedy)


def _one(session: Session | None, fdef: FieldDef, text: str, on: date) -> Any:
    t = fdef.type
    if t == "text":
        return text
    if t == "date":
        try:
            return parse_date(text).isoformat()
        except ValueError:
            raise _bad(fdef, text, Msg(N_("Give a date as YYYY-MM-DD or dd/mm/yyyy, e.g. 2024-07-31."))) from None
    if t == "int":
        least = fdef.minimum if fdef.minimum is not None else -INT_BOUND
        most = fdef.maximum if fdef.maximum is not None else INT_BOUND
        try:
            number = int(text) if len(text) <= 30 else None
        except ValueError:
            number = None
        if number is None or not least <= number <= most:
            raise _bad(fdef, text, Msg(N_("Give a whole number from {least} to {most}, e.g. 5."), least=least,
                                       most=most))
        return number
    if t == "bool":
        low = text.lower()
        if low in TRUE | FALSE:
            return low in TRUE
        raise _bad(fdef, text, Msg(N_("Give true or false.")))
    if t == "choice":
        if text in fdef.choices:
            return text
        raise _bad(fdef, text, Msg(N_("Choose one of: {choices}"), choices=[choice_typed(c) for c in fdef.choices]))
    if t == "unit":
        return active_unit(session, text, on).code if session is not None else text
    if t == "units":
        codes = [c.strip() for c in text.split(",") if c.strip()]
        if not codes:
            raise _bad(fdef, text, Msg(N_("Give unit codes separated by commas, e.g. SD,LG.")))
        return [active_unit(session, c, on).code for c in codes] if session is not None else codes
    if t == "person":
        email = text.strip().lower()
        if session is not None:
            found = session.get(Person, email)
            if found is None or not found.active:
                people = session.exec(select(Person.email).where(col(Person.active))).all()
                guess = did_you_mean(email, people)
                raise _bad(fdef, text, Msg(N_("Give the e-mail of a person in the directory (agreeflow directory "
                                              "show){hint}"),
                                           hint=Msg(N_("; did you mean '{guess}'?"), guess=guess) if guess else "."))
        return email
    if t == "case-ref":
        if session is not None and session.exec(select(Case.id).where(Case.ref == text)).first() is None:
            raise UnknownCaseError(text, session.exec(select(Case.ref)).all())
        return text
    raise AssertionError(f"unhandled field type {t}")


DayOf = Callable[[str], date | None]
"""``transition:<trigger>`` → the day that step was taken on this case (None: not yet)."""


def check_rules(defn: Definition, names: Iterable[str], merged: dict[str, Any], on: date, day_of: DayOf) -> None:
    """The workflow's rules on the values of ``names`` (given or required now), read with ``merged``.

    ``must_include`` (units), ``not_future``, ``not_before``, ``after`` (dates):
    each failure is a FieldValueError (exit 2) naming the rule, the other date
    and its basis — checked before anything is written.
    """
    for name in names:
        fdef = defn.fields.get(name)
        value = merged.get(name)
        if fdef is None or value in (None, "", []):
            continue
        if fdef.must_include and not set(fdef.must_include) & set(value):
            raise FieldValueError(
                field=name, problem=Msg(N_("{units} is missing from the list"),
                                        units=Msg(N_("{first} or {second}"), first=", ".join(fdef.must_include[:-1]),
                                                  second=fdef.must_include[-1])
                                        if len(fdef.must_include) > 1 else fdef.must_include[0]),
                remedy=Msg(N_("Add {unit}. Basis: {citation}"), unit=fdef.must_include[0],
                           citation=fdef.rule_citation))
        if fdef.type != "date":
            continue
        day = date.fromisoformat(str(value))
        if fdef.not_future and day > on:
            raise _rule(fdef, day, Msg(N_("later than the day it is recorded, {day} (a fact that happened cannot be "
                                          "in the future)"), day=on))
        for refs, strict in ((fdef.not_before, False), (fdef.after, True)):
            for ref in refs:
                other, what = _reference(defn, ref, merged, day_of)
                if other is None or day > other or (day == other and not strict):
                    continue
                relation = N_("not after {what} ({day})") if strict else N_("earlier than {what} ({day})")
                raise _rule(fdef, day, Msg(relation, what=what, day=other))


def _reference(defn: Definition, ref: str, merged: dict[str, Any], day_of: DayOf) -> tuple[date | None, Msg]:
    if ref.startswith("field:"):
        name = ref[6:]
        label = defn.fields[name].label if name in defn.fields else {}
        text = merged.get(name)
        lower = {lang: str(v).lower() for lang, v in label.items()} or {"vi": name, "en": name}
        return (date.fromisoformat(str(text)) if text else None, Msg(N_("the {label} date"), label=lower))
    trigger = ref[11:]
    label = next((t.label for t in defn.transitions if t.trigger == trigger), {}) or {"vi": trigger, "en": trigger}
    return day_of(trigger), Msg(N_("the day of \"{label}\""), label=dict(label))


def _rule(fdef: FieldDef, day: date, relation: Msg) -> FieldValueError:
    remedy = Msg(N_("Check the date. Basis: {citation}"), citation=fdef.rule_citation) if fdef.rule_citation \
        else Msg(N_("Check the date."))
    return FieldValueError(field=fdef.name, problem=Msg(N_("{day} is {relation}"), day=day, relation=relation),
                           remedy=remedy)
