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
from agreeflow.engine.core.store import Case, Person

TRUE = {"true", "yes", "1", "có", "co", "đúng", "dung"}
FALSE = {"false", "no", "0", "không", "khong", "sai"}


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` → dict; a pair without ``=`` is a FieldValueError."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise FieldValueError(field=pair, problem_vi="không đúng dạng TÊN=GIÁ_TRỊ",
                                  problem_en="not of the form NAME=VALUE",
                                  remedy_vi="Ví dụ: --field partner=\"Tỉnh Xay Som Boun\"",
                                  remedy_en="Example: --field partner=\"Xay Som Boun province\"")
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
                field=name,
                problem_vi=f"quy trình {defn.id} không có trường này" + (f" (có phải '{guess}'?)" if guess else ""),
                problem_en=f"workflow {defn.id} has no such field" + (f" (did you mean '{guess}'?)" if guess else ""),
                remedy_vi="Các trường: " + ", ".join(defn.fields), remedy_en="Fields: " + ", ".join(defn.fields))
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


def _bad(fdef: FieldDef, text: str, vi: str, en: str) -> FieldValueError:
    return FieldValueError(field=fdef.name, problem_vi=f"giá trị '{text}' không hợp lệ",
                           problem_en=f"'{text}' is not valid",
                           remedy_vi=vi, remedy_en=en)


def _one(session: Session | None, fdef: FieldDef, text: str, on: date) -> Any:
    t = fdef.type
    if t == "text":
        return text
    if t == "date":
        try:
            return parse_date(text).isoformat()
        except ValueError:
            raise _bad(fdef, text, "Cần một ngày dạng YYYY-MM-DD hoặc dd/mm/yyyy, ví dụ 2024-07-31.",
                       "Give a date as YYYY-MM-DD or dd/mm/yyyy, e.g. 2024-07-31.") from None
    if t == "int":
        least = fdef.minimum if fdef.minimum is not None else -INT_BOUND
        most = fdef.maximum if fdef.maximum is not None else INT_BOUND
        try:
            number = int(text) if len(text) <= 30 else None
        except ValueError:
            number = None
        if number is None or not least <= number <= most:
            raise _bad(fdef, text, f"Cần một số nguyên từ {least} đến {most}, ví dụ 5.",
                       f"Give a whole number from {least} to {most}, e.g. 5.")
        return number
    if t == "bool":
        low = text.lower()
        if low in TRUE | FALSE:
            return low in TRUE
        raise _bad(fdef, text, "Cần true/false (có/không).", "Give true or false.")
    if t == "choice":
        if text in fdef.choices:
            return text
        choices = ", ".join(fdef.choices)
        raise _bad(fdef, text, f"Chọn một trong: {choices}", f"Choose one of: {choices}")
    if t == "unit":
        return active_unit(session, text, on).code if session is not None else text
    if t == "units":
        codes = [c.strip() for c in text.split(",") if c.strip()]
        if not codes:
            raise _bad(fdef, text, "Cần danh sách mã đơn vị, cách nhau bởi dấu phẩy, ví dụ SD,LG.",
                       "Give unit codes separated by commas, e.g. SD,LG.")
        return [active_unit(session, c, on).code for c in codes] if session is not None else codes
    if t == "person":
        email = text.strip().lower()
        if session is not None:
            found = session.get(Person, email)
            if found is None or not found.active:
                people = session.exec(select(Person.email).where(col(Person.active))).all()
                guess = did_you_mean(email, people)
                raise _bad(fdef, text, "Cần địa chỉ thư của một người trong danh bạ (agreeflow directory show)"
                           + (f"; có phải '{guess}'?" if guess else "."),
                           "Give the e-mail of a person in the directory (agreeflow directory show)"
                           + (f"; did you mean '{guess}'?" if guess else "."))
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
                field=name, problem_vi=f"thiếu {' hoặc '.join(fdef.must_include)} trong danh sách",
                problem_en=f"{' or '.join(fdef.must_include)} is missing from the list",
                remedy_vi=f"Thêm {fdef.must_include[0]}. Căn cứ: {fdef.rule_citation}",
                remedy_en=f"Add {fdef.must_include[0]}. Basis: {fdef.rule_citation}")
        if fdef.type != "date":
            continue
        day = date.fromisoformat(str(value))
        if fdef.not_future and day > on:
            raise _rule(fdef, day, f"muộn hơn ngày ghi nhận {on:%d/%m/%Y} (một việc đã xảy ra không thể ở tương lai)",
                        f"later than the day it is recorded, {on:%d/%m/%Y} (a fact that happened cannot be in the "
                        f"future)")
        for refs, strict in ((fdef.not_before, False), (fdef.after, True)):
            for ref in refs:
                other, what_vi, what_en = _reference(defn, ref, merged, day_of)
                if other is None or day > other or (day == other and not strict):
                    continue
                rel_vi, rel_en = ("không sau", "not after") if strict else ("sớm hơn", "earlier than")
                raise _rule(fdef, day, f"{rel_vi} {what_vi} ({other:%d/%m/%Y})",
                            f"{rel_en} {what_en} ({other:%d/%m/%Y})")


def _reference(defn: Definition, ref: str, merged: dict[str, Any], day_of: DayOf) -> tuple[date | None, str, str]:
    if ref.startswith("field:"):
        name = ref[6:]
        label = defn.fields[name].label if name in defn.fields else {}
        text = merged.get(name)
        return (date.fromisoformat(str(text)) if text else None,
                f"ngày {label.get('vi', name).lower()}", f"the {label.get('en', name).lower()} date")
    trigger = ref[11:]
    label = next((t.label for t in defn.transitions if t.trigger == trigger), {})
    return day_of(trigger), f"ngày \"{label.get('vi', trigger)}\"", f"the day of \"{label.get('en', trigger)}\""


def _rule(fdef: FieldDef, day: date, vi: str, en: str) -> FieldValueError:
    basis_vi = f" Căn cứ: {fdef.rule_citation}" if fdef.rule_citation else ""
    basis_en = f" Basis: {fdef.rule_citation}" if fdef.rule_citation else ""
    return FieldValueError(field=fdef.name, problem_vi=f"ngày {day:%d/%m/%Y} {vi}",
                           problem_en=f"{day:%d/%m/%Y} is {en}",
                           remedy_vi=f"Kiểm tra lại ngày.{basis_vi}", remedy_en=f"Check the date.{basis_en}")
