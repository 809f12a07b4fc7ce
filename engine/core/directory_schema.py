"""The directory file's schema (pydantic v2), and its errors told with ``file:line``.

The schema says what one entry may hold: ``UnitEntry``, ``PersonEntry`` (with
its ``positions``), ``DelegationEntry``.  Every entry is validated on its own,
so a file with ten bad entries gets ten messages at once; what an entry says
about others (a parent, a unit, a principal that must exist) is checked in
:mod:`agreeflow.engine.core.directory` once the entries are read.

Bounds are the database's: a code fits ``units.code`` (64), a kind
``units.kind`` (32), an address ``people.email`` (255) — a value past them
would fail on PostgreSQL only, after half the file was written.  Values are
taken as the YAML gives them (strict): ``roles: 5`` or ``name_vi: [1, 2]`` is
an error, never a string made of a number.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from agreeflow.engine.core.errors import dash_hint, did_you_mean
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import Position, Role
from agreeflow.engine.core.yamlio import LineDict

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TITLES = ("Ông", "Bà")


def _day(value: Any) -> Any:
    """A YAML date as it is; a quoted ``"2024-01-31"`` read strictly; anything else refused."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(Msg(NOT_A_REAL_DATE, value=value)) from None
    raise ValueError(Msg(N_("must be a date YYYY-MM-DD")))


def _scope(value: Any) -> Any:
    """``scope: "*"`` is stored as ``["*"]``."""
    return ["*"] if value == "*" else value


Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
Email = Annotated[str, StringConstraints(pattern=EMAIL.pattern, max_length=255)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(max_length=300)]
Kind = Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_-]*)?$", max_length=32)]
Phone = Annotated[str, StringConstraints(pattern=r"^(\+?[0-9][0-9 .()-]{5,24})?$")]
Trigger = Annotated[str, StringConstraints(pattern=r"^([*]|[a-z][a-z0-9_]*)$", max_length=64)]
Day = Annotated[date, BeforeValidator(_day)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class UnitEntry(_Entry):
    """One unit: a body that acts, is consulted, or is assigned tasks."""

    code: Code
    name_vi: Name
    name_en: Text = ""
    email: Annotated[str, StringConstraints(pattern=f"({EMAIL.pattern})|^$", max_length=255)] = ""
    parent: Code | None = None
    kind: Kind = ""
    active_from: Day | None = None
    active_to: Day | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> UnitEntry:
        if self.active_from and self.active_to and self.active_to < self.active_from:
            raise ValueError(Msg(N_("active_to {to} is before active_from {from_}"), to=self.active_to.isoformat(),
                                 from_=self.active_from.isoformat()))
        return self


class PositionEntry(_Entry):
    """A position held in a unit: ``{unit: UBND, position: chairman}``."""

    unit: Code
    position: Annotated[Position, Field(strict=False)]


class PersonEntry(_Entry):
    """One person who acts in agreeflow (signs in, receives mail, holds roles and positions)."""

    email: Email
    name: Name
    unit: Code
    roles: list[Annotated[Role, Field(strict=False)]] = Field(default_factory=list, max_length=len(Role))
    lang: Literal["vi", "en"] = "vi"
    title: Literal["Ông", "Bà", ""] = ""
    phone: Phone = ""
    positions: list[PositionEntry] = Field(default_factory=list, max_length=20)


class DelegationEntry(_Entry):
    """A delegation of authority (ủy quyền): ``delegate`` acts for ``principal`` in ``scope``, from … to …."""

    principal: Email
    delegate: Email
    scope: Annotated[list[Trigger], BeforeValidator(_scope), Field(min_length=1, max_length=100)]
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(default=None, alias="to")
    document: Name

    @model_validator(mode="after")
    def _dates_in_order(self) -> DelegationEntry:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(Msg(N_("'to' ({to}) is before 'from' ({from_})"), to=self.valid_to.isoformat(),
                                 from_=self.valid_from.isoformat()))
        if "*" in self.scope and len(self.scope) > 1:
            raise ValueError(Msg(N_("scope is either \"*\" (every step) or a list of triggers, not both")))
        if self.principal == self.delegate:
            raise ValueError(Msg(N_("a person cannot delegate to themself")))
        return self


class FileHead(_Entry):
    """The top of the file; the lists' entries are validated one by one."""

    province: Text = ""
    as_of: Day | None = None
    units: list[Any] = Field(min_length=1)
    people: list[Any] = Field(default_factory=list)
    delegations: list[Any] = Field(default_factory=list)


SECTIONS: dict[str, type[_Entry]] = {"units": UnitEntry, "people": PersonEntry, "delegations": DelegationEntry}

# What a value must be, said to the operator (pydantic's own words name Python types).
_A_DATE = N_("a date YYYY-MM-DD")
_PERSON = N_("the e-mail address of a person of this file")
_MUST: dict[str, str] = {
    "code": N_("a unit code: letters, digits, '-', '_' or '.', at most 64 characters (e.g. SNGV)"),
    "parent": N_("the code of another unit of this file"),
    "unit": N_("the code of a unit of this file"),
    "email": N_("an e-mail address (name@domain.example)"),
    "principal": _PERSON,
    "delegate": _PERSON,
    "name": N_("the person's full name (text)"),
    "name_vi": N_("the unit's name in Vietnamese (text)"),
    "name_en": N_("the unit's name in English (text, at most 300 characters)"),
    "kind": N_("a unit kind in lower case, at most 32 characters (e.g. department, district)"),
    "roles": N_("a list of roles, e.g. [officer] (roles: {roles})"),
    "positions": N_("a list of {{unit, position}}, e.g. [{{unit: SNGV, position: director}}]"),
    "position": N_("one of: {positions}"),
    "lang": N_("vi or en"),
    "title": N_("how the person is addressed: {titles}"),
    "phone": N_("a phone number (digits, spaces, '.', '-', '(', ')', an optional leading +)"),
    "scope": N_("\"*\" (every step) or a list of triggers, e.g. [approve]"),
    "from": _A_DATE,
    "to": _A_DATE,
    "active_from": _A_DATE,
    "active_to": _A_DATE,
    "as_of": _A_DATE,
    "document": N_("the deciding document (số, ngày), as text"),
    "province": N_("the province's name (text)"),
    "units": N_("a list of units"),
    "people": N_("a list of people"),
    "delegations": N_("a list of delegations"),
}
NOT_A_REAL_DATE = N_("'{value}' is not a real date")


def _must(name: str) -> Msg:
    """What the value of ``name`` must be (``_MUST``), its lists of roles, positions and titles filled in."""
    titles = Msg(N_("{first} or {last}"), first=", ".join(TITLES[:-1]), last=TITLES[-1])
    return Msg(_MUST[name], roles=", ".join(Role), positions=", ".join(Position), titles=titles)


def _shown(value: Any) -> Msg | str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else Msg(N_("{start}… ({n} characters)"), start=text[:30], n=len(text))


def _field(loc: tuple[Any, ...]) -> str:
    """The nearest named key of an error's location (``roles`` for ``('roles', 0)``)."""
    names = [str(p) for p in loc if isinstance(p, str)]
    return names[-1] if names else ""


def _reason(err: dict[str, Any]) -> Msg | str:
    """The message a validator of this module raised (``ValueError(Msg)``), or pydantic's own words."""
    error = err.get("ctx", {}).get("error")
    if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Msg):
        return error.args[0]
    return str(error if error is not None else err["msg"])


def describe(err: dict[str, Any], allowed: list[str]) -> Msg | str:
    """One pydantic error in the operator's terms (a message of the catalogue)."""
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    name = _field(loc)
    if kind == "missing":
        if name in _MUST:
            return Msg(N_("'{name}' is missing ({must})"), name=name, must=_must(name))
        return Msg(N_("'{name}' is missing"), name=name)
    if kind == "extra_forbidden":
        guess = did_you_mean(name, allowed)
        return Msg(N_("unknown key '{name}'{hint} (allowed: {allowed})"), name=name,
                   hint=dash_hint(guess) if guess != name else "", allowed=allowed)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if not name:
            return Msg(N_("an entry must be a mapping of key: value (got {value})"), value=_shown(value))
        return Msg(N_("'{name}' must be a mapping of key: value (got {value})"), name=name, value=_shown(value))
    if kind == "too_short":
        return Msg(N_("'{name}' needs at least {n} entry"), name=name, n=err["ctx"]["min_length"])
    if kind == "too_long":
        return Msg(N_("'{name}' has {n} entries, at most {most} allowed"), name=name, n=err["ctx"]["actual_length"],
                   most=err["ctx"]["max_length"])
    if kind == "value_error" and not name:
        return _reason(err)
    if kind == "enum" and isinstance(value, str):
        options = [str(p.value) for p in (Position if name == "position" else Role)]
        hint = dash_hint(did_you_mean(value, options))
        if name == "position":
            return Msg(N_("'{value}' is not a position{hint} (positions: {options})"), value=value, hint=hint,
                       options=options)
        return Msg(N_("'{value}' is not a role{hint} (roles: {options})"), value=value, hint=hint, options=options)
    if kind == "string_too_long":
        return Msg(N_("'{name}' is {n} characters long, at most {most} allowed"), name=name, n=len(str(value)),
                   most=err["ctx"]["max_length"])
    if kind == "value_error":
        reason = _reason(err)
        if name in ("active_from", "active_to", "from", "to", "as_of") and isinstance(reason, Msg) \
                and reason.msgid == NOT_A_REAL_DATE:
            return Msg("'{name}': {reason}", name=name, reason=reason)
    if name in _MUST:
        return Msg(N_("'{name}' must be {must} (got {value})"), name=name, must=_must(name), value=_shown(value))
    return Msg(N_("'{name}': {reason} (got {value})"), name=name, reason=err["msg"], value=_shown(value))


def line_of(node: Any, loc: tuple[Any, ...], default: int) -> int:
    """The line an error's location points at: the deepest key or entry the YAML reader kept a line for."""
    line = default
    for part in loc:
        if isinstance(node, LineDict):
            line = node.line_of(str(part)) if part in node else node.line
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, LineDict):
                line = node.line
        else:
            break
    if isinstance(node, LineDict) and loc and isinstance(loc[-1], int):
        line = node.line
    return line


def validate(model: type[_Entry], raw: Any) -> tuple[Any, list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    """``model`` built from ``raw``, or None and the errors (location, pydantic error)."""
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [(tuple(e["loc"]), dict(e)) for e in exc.errors(include_url=False)]


def allowed_keys(model: type[_Entry]) -> list[str]:
    """The keys an entry may have, as written in the file (aliases: ``from``, ``to``)."""
    return sorted(f.alias or name for name, f in model.model_fields.items())
