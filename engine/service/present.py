"""What the user interfaces need besides the commands: settings, the clock option, words and dates."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from agreeflow.engine.core import clock, notes
from agreeflow.engine.core.atomic import atomic_write as write_file
from agreeflow.engine.core.clock import fmt_day, fmt_local, parse_instant
from agreeflow.engine.core.errors import (
    DateValueError,
    DefinitionError,
    FieldValueError,
    MissingFieldsError,
    NotSignedInError,
    OutputPathError,
    ReadOnlyError,
    SignInRefusedError,
    StaleCaseError,
    UnknownCaseError,
    UnknownUnitError,
)
from agreeflow.engine.core.i18n import N_, Msg, pair, show, t, translations
from agreeflow.engine.core.i18n import language_name as i18n_language_name
from agreeflow.engine.core.i18n import nt as text_n
from agreeflow.engine.core.i18n import other_language as i18n_other_language
from agreeflow.engine.core.i18n import t as _translate
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR

T = TypeVar("T")

__all__ = [
    "DefinitionError", "FieldValueError", "MissingFieldsError", "NotSignedInError", "ReadOnlyError",
    "SignInRefusedError", "StaleCaseError", "UnknownCaseError", "UnknownUnitError", "Settings", "write_file",
    "fmt_day", "fmt_local", "fmt_at_local", "parse_instant", "set_clock", "text", "text_n", "catalogue",
    "crash_report", "output_file", "check_output", "recorded_text", "event_note", "render", "other_language",
    "language_name", "pair",
]


def set_clock(value: str | datetime | None, option: str = "--now") -> None:
    """Run as if at ``value`` (``--now``); None frees the clock.

    Raises:
        DateValueError (exit 2): empty text, not ISO-8601, or outside the calendar's years.  Whether a
            simulated time is allowed at all is decided per database (engine.service.base).
    """
    if value is None:
        clock.set_now(None)
        return
    shown = value if isinstance(value, str) else value.isoformat()
    if isinstance(value, str):
        text = value
        try:
            value = clock.parse_instant(text) if text.strip() else None
        except OverflowError:  # year 1 in Vietnam is before year 1 in UTC: off the calendar in any case
            clock.set_now(None)
            raise DateValueError(value=f"{option} {text}", first=FIRST_YEAR, last=LAST_YEAR,
                                 problem=Msg(N_("outside the calendar's years"))) from None
        except ValueError:
            value = None
        if value is None:
            clock.set_now(None)
            raise DateValueError(value=f"{option} {text}".strip(), first=FIRST_YEAR, last=LAST_YEAR,
                                 problem=Msg(N_("not an ISO-8601 time (e.g. 2024-07-01T08:00)")))
    local_year = clock.to_local(value).year if value.tzinfo else value.year
    if not FIRST_YEAR <= local_year <= LAST_YEAR:
        clock.set_now(None)
        raise DateValueError(value=f"{option} {shown}", first=FIRST_YEAR, last=LAST_YEAR,
                             problem=Msg(N_("outside the calendar's years")))
    clock.set_now(value)


def text(key: str, lang: str, **values: Any) -> str:
    """A user-facing phrase in ``lang``."""
    return _translate(key, lang, **values)


def event_note(e: dict[str, Any], lang: str) -> str:
    """What one event of a history or an audit log says, in ``lang`` (``e["text"]`` when the service gave it)."""
    return str(e["text"]) if e.get("text") is not None else notes.describe(e, lang)


def other_language(lang: str) -> str:
    """The language a reader of ``lang`` may switch to."""
    return i18n_other_language(lang)


def language_name(lang: str) -> str:
    """A language by its own name, for a link that switches to it."""
    return i18n_language_name(lang)


def render(value: Any, lang: str) -> str:
    """A message, a stored message, a ``{vi, en}`` label or plain text, in ``lang``."""
    return show(value, lang)


def catalogue(lang: str) -> dict[str, str]:
    """Every translation of ``lang`` (msgid → text) as the catalogue reads now: a page looks up many words,
    and asks for the catalogue once."""
    return translations(lang)


def fmt_at_local(at: str | None) -> str:
    """A stored UTC instant (canonical text) as dd/mm/yyyy HH:MM in Vietnam."""
    return fmt_local(parse_instant(at)) if at else ""


def recorded_text(event: dict[str, Any], lang: str) -> str:
    """When an event was recorded, as a reader sees it beside when it took effect.

    The real time of recording (dd/mm/yyyy HH:MM in Vietnam), marked "recorded late" when the step was entered
    after it took effect (``--effective``); for an event written before migration 0002 gave events a recording
    time, "recorded before this field existed" — its hash never covered one, and audit verify accepts it.
    """
    at = event.get("recorded_at")
    if not at:
        return _translate("recorded before this field existed", lang)
    late = (event.get("payload") or {}).get("late_entry")
    return fmt_at_local(at) + (" — " + _translate("recorded late", lang) if late else "")


def crash_report(exc: BaseException, argv: list[str]) -> str:
    """Write the traceback of an unexpected error to a report file; its path (for the administrator)."""
    import os
    import tempfile
    import traceback

    body = "".join(traceback.format_exception(exc))
    stamp = clock.real_now().strftime("%Y%m%dT%H%M%SZ")
    header = f"agreeflow crash report {stamp}\ncommand: {' '.join(argv)}\n\n"
    for folder in (Settings.from_env().data_dir / "crash-reports", Path(tempfile.gettempdir())):
        try:
            path = folder / f"agreeflow-crash-{stamp}-{os.getpid()}.txt"
            write_file(path, lambda out: out.write(header + body))
            return str(path)
        except OSError:
            continue
    return t("(no report could be written)", Settings.from_env().lang)


def output_file(path: Path, write: Callable[[Any], T], *, binary: bool = False) -> T:
    """Write a file the user asked for (``-o``, ``--xlsx`` …); a path that cannot be written is exit 2."""
    check_output(path)
    try:
        return write_file(path, write, binary=binary)  # type: ignore[call-overload, no-any-return]
    except OSError as exc:
        raise OutputPathError(path=str(path), problem=exc.strerror or str(exc)) from None


def check_output(path: Path) -> None:
    """Refuse, before any work, an output path that is a folder or lies in a folder that cannot be written."""
    try:
        _check_output(path)
    except OSError as exc:  # a name too long for the file system, a component that is a file, …
        raise OutputPathError(path=str(path), problem=exc.strerror or str(exc)) from None


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise OutputPathError(path=str(path), problem=Msg(N_("it is a folder")))
    if path.exists() and not path.is_file():  # a device such as /dev/null, a socket, a pipe: never replaced
        raise OutputPathError(path=str(path), problem=Msg(N_("it is not a regular file (a device, a socket…)")))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(path=str(path), problem=Msg(N_("there is no folder {folder}"), folder=str(folder)))
    if not os.access(folder, os.W_OK):
        raise OutputPathError(path=str(path), problem=Msg(N_("no permission to write in {folder}"),
                                                          folder=str(folder)))
