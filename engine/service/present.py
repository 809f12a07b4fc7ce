"""What the user interfaces need besides the commands: settings, the clock option, words and dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agreeflow.engine.core import clock
from agreeflow.engine.core.clock import fmt_day, fmt_local, parse_instant
from agreeflow.engine.core.errors import DefinitionError
from agreeflow.engine.core.files import atomic_write as write_file
from agreeflow.engine.core.i18n import t as _translate
from agreeflow.engine.core.settings import Settings

__all__ = ["DefinitionError", "Settings", "write_file", "fmt_day", "fmt_local", "fmt_at_local", "parse_instant",
           "set_clock", "text"]


def set_clock(value: str | datetime | None) -> None:
    """Run as if at ``value`` (``--now``); None frees the clock.  ValueError for text that is not ISO-8601."""
    clock.set_now(value)


def text(key: str, lang: str, **values: Any) -> str:
    """A user-facing phrase in ``lang``."""
    return _translate(key, lang, **values)


def fmt_at_local(at: str | None) -> str:
    """A stored UTC instant (canonical text) as dd/mm/yyyy HH:MM in Vietnam."""
    return fmt_local(parse_instant(at)) if at else ""
