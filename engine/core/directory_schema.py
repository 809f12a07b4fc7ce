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

from agreeflow.engine.core.errors import did_you_mean
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
            raise ValueError(f"'{value}' is not a real date") from None
    raise ValueError("must be a date YYYY-MM-DD")


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
            raise ValueError(f"active_to {self.active_to} is before active_from {self.active_from}")
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
            raise ValueError(f"'to' ({self.valid_to}) is before 'from' ({self.valid_from})")
        if "*" in self.scope and len(self.scope) > 1:
            raise ValueError("scope is either \"*\" (every step) or a list of triggers, not both")
        if self.principal == self.delegate:
            raise ValueError("a person cannot delegate to themself")
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
_MUST: dict[str, str] = {
    "code": "a unit code: letters, digits, '-', '_' or '.', at most 64 characters (e.g. SNGV)",
    "parent": "the code of another unit of this file",
    "unit": "the code of a unit of this file",
    "email": "an e-mail address (name@domain.example)",
    "principal": "the e-mail address of a person of this file",
    "delegate": "the e-mail address of a person of this file",
    "name": "the person's full name (text)",
    "name_vi": "the unit's name in Vietnamese (text)",
    "name_en": "the unit's name in English (text, at most 300 characters)",
    "kind": "a unit kind in lower case, at most 32 characters (e.g. department, district)",
    "roles": f"a list of roles, e.g. [officer] (roles: {', '.join(Role)})",
    "positions": "a list of {unit, position}, e.g. [{unit: SNGV, position: director}]",
    "position": f"one of: {', '.join(Position)}",
    "lang": "vi or en",
    "title": f"how the person is addressed: {' or '.join(TITLES)}",
    "phone": "a phone number (digits, spaces, '.', '-', '(', ')', an optional leading +)",
    "scope": "\"*\" (every step) or a list of triggers, e.g. [approve]",
    "from": "a date YYYY-MM-DD",
    "to": "a date YYYY-MM-DD",
    "active_from": "a date YYYY-MM-DD",
    "active_to": "a date YYYY-MM-DD",
    "as_of": "a date YYYY-MM-DD",
    "document": "the deciding document (số, ngày), as text",
    "province": "the province's name (text)",
    "units": "a list of units",
    "people": "a list of people",
    "delegations": "a list of delegations",
}


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text)} characters)"


def _field(loc: tuple[Any, ...]) -> str:
    """The nearest named key of an error's location (``roles`` for ``('roles', 0)``)."""
    names = [str(p) for p in loc if isinstance(p, str)]
    return names[-1] if names else ""


def describe(err: dict[str, Any], allowed: list[str]) -> str:
    """One pydantic error in the operator's terms."""
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    name = _field(loc)
    if kind == "missing":
        return f"'{name}' is missing" + (f" ({_MUST[name]})" if name in _MUST else "")
    if kind == "extra_forbidden":
        guess = did_you_mean(name, allowed)
        return (f"unknown key '{name}'" + (f" — did you mean '{guess}'?" if guess and guess != name else "")
                + f" (allowed: {', '.join(allowed)})")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{'an entry' if not name else repr(name)} must be a mapping of key: value (got {_shown(value)})"
    if kind == "too_short":
        return f"'{name}' needs at least {err['ctx']['min_length']} entry"
    if kind == "too_long":
        return f"'{name}' has {err['ctx']['actual_length']} entries, at most {err['ctx']['max_length']} allowed"
    if kind == "value_error" and not name:
        return str(err.get("ctx", {}).get("error", err["msg"]))
    if kind == "enum" and isinstance(value, str):
        options = [str(p.value) for p in (Position if name == "position" else Role)]
        guess = did_you_mean(value, options)
        return (f"'{value}' is not a {name.rstrip('s')}" + (f" — did you mean '{guess}'?" if guess else "")
                + f" ({'positions' if name == 'position' else 'roles'}: {', '.join(options)})")
    if kind == "string_too_long":
        return f"'{name}' is {len(str(value))} characters long, at most {err['ctx']['max_length']} allowed"
    if kind == "value_error":
        reason = str(err.get("ctx", {}).get("error", ""))
        if name in ("active_from", "active_to", "from", "to", "as_of") and "real date" in reason:
            return f"'{name}': {reason}"
    must = _MUST.get(name)
    return f"'{name}' must be {must} (got {_shown(value)})" if must else f"'{name}': {err['msg']} (got {_shown(value)})"


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
