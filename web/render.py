"""Templates: one Jinja2 environment (autoescaped), and the words and formats a page uses in its language.

Autoescaping is on for every template: a case title holding ``<script>`` is
shown as text.  Dates are dd/mm/yyyy, times dd/mm/yyyy HH:MM in
Asia/Ho_Chi_Minh (the service formats both), and every word goes through
the catalogue: ``_("English msgid")`` in a template, :class:`Words` for the
values that come from data (roles, statuses, choices, document kinds).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from babel.numbers import format_decimal

from agreeflow.engine import service
from agreeflow.web import words
from agreeflow.web.diagram import parse as parse_diagram

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment() -> jinja2.Environment:
    """The pages' Jinja2 environment: autoescape everywhere; a missing key (an optional field, an error
    that is not there) renders as nothing."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(dmy=service.fmt_day, at=service.fmt_at_local, combine=lambda a, b: {**a, **b},
                       cellday=_cell)
    env.globals["engine_actors"] = service.words.ENGINE_ACTORS  # the engine's own steps, not a person's
    return env


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _cell(value: Any) -> Any:
    """A report table's cell: an ISO day as dd/mm/yyyy, None as nothing, anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, str) and _ISO_DAY.match(value):
        return service.fmt_day(value)
    return value


class Words:
    """Words and formats of one page, in its language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.known = service.catalogue(lang)  # once per page: the catalogue checks its file on every lookup

    def __call__(self, message: str, **values: Any) -> str:
        text = self.known.get(message, message)
        return text.format(**values) if values else text

    def word(self, table: dict[str, str], key: str | None) -> str:
        """The word for ``key`` in one of the tables of agreeflow.web.words (an unknown key as it is)."""
        if not key:
            return ""
        return self(table[key]) if key in table else key

    def data(self, label: Any) -> str:
        """Data an operator edits — a ``{vi, en}`` label such as a unit's two names — or a message of the
        catalogue in its stored form (``{msg, args}``, e.g. a finding of the integrity check), in the page's
        language."""
        return service.render(label, self.lang)

    def unit_name(self, unit: Any) -> str:
        """A unit's name (a row with ``name_vi``/``name_en``) in the page's language (Vietnamese when no English)."""
        return self.data(service.pair(unit.get("name_vi"), unit.get("name_en")))

    def role(self, key: str) -> str:
        return self.word(words.ROLES, key)

    def roles(self, keys: list[str]) -> str:
        return ", ".join(self.role(k) for k in keys)

    def status(self, key: str) -> str:
        return self.word(words.DEADLINE_STATUS, key)

    def round_status(self, key: str, label: str = "") -> str:
        return self.word(words.ROUND_STATUS, key) if key in words.ROUND_STATUS else (label or key)

    def event(self, key: str) -> str:
        return self.word(words.EVENTS, key)

    def position(self, key: str) -> str:
        return self.word(words.POSITIONS, key)

    def num(self, n: int | None) -> str:
        """A whole number with thousands grouped as the language writes them (1.000.000 / 1,000,000)."""
        if n is None:
            return ""
        return format_decimal(int(n), format="#,##0", locale=self.lang)  # Babel's locale data: 1.000.000 in vi

    def mail_status(self, key: str) -> str:
        return self.word(words.OUTBOX_STATUS, key)

    def outcome(self, key: str) -> str:
        """A compliance outcome (on time, late, overdue, no reply, deemed agreed…)."""
        return service.text(f"outcome.{key}", self.lang)

    def choice(self, key: str) -> str:
        return self.word(words.CHOICES, key)

    def doc(self, key: str) -> str:
        return self.word(words.DOCUMENTS, key)

    def answer(self, key: str) -> str:
        return self.word(words.ANSWERS, key)

    def day(self, key: str) -> str:
        return self.word(words.DAYS, key)

    def weekday(self, n: int) -> str:
        """The day of the week ``n`` (0 = Monday): "thứ Hai" … "Chủ nhật", as everywhere else."""
        return words.weekday(n, self.lang)

    def month(self, n: int) -> str:
        return self(words.MONTHS[n - 1])

    def wd(self, n: int | None) -> str:
        return words.working_days(n, self.lang)

    def margin(self, n: int) -> str:
        """How early (positive) or late (negative) a closed deadline was met, in working days."""
        if n > 0:
            return self("{n} working days early", n=n)
        if n == 0:
            return self("on the due day")
        return self("{n} working days late", n=-n)

    def actor(self, email: str, name: str) -> str:
        """Who did something, as a reader recognises them."""
        if email in service.words.ENGINE_ACTORS:
            return service.words.actor_word(email, self.lang)
        if email.startswith("unit:"):
            return self("{unit} (through its reply link)", unit=name)
        return name or email

    def value(self, field: dict[str, Any] | None, value: Any, units: dict[str, str]) -> str:
        """A stored field value as words (unit names, dd/mm/yyyy, yes/no, choice labels): the service's one way,
        which ``case show`` uses too; "—" for no value."""
        return service.words.field_value(field, value, self.lang, units) or "—"

    def size(self, n: int) -> str:
        if n >= 2**20:
            return f"{format_decimal(n / 2**20, format='0.0', locale=self.lang)} MB"
        if n >= 1024:
            return f"{n // 1024} KB"
        return f"{n} B"


def diagram(text: str, visited: set[str]) -> Any:
    """The state diagram of a case page (see agreeflow.web.diagram)."""
    return parse_diagram(text, visited)
