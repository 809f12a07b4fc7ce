"""Every word users read, through one gettext catalogue (Vietnamese first, English available).

The catalogue is data an operator can correct: ``engine/locale/<lang>/
LC_MESSAGES/agreeflow.po`` (gettext ``.po`` files), or a folder of the
operator's own named by ``AGREEFLOW_LOCALE_DIR``.  Messages are written in
English in the code (the ``msgid``) and translated in ``vi.po``; ``en.po``
may override the English.  A message missing from a catalogue shows its
English text, so a forgotten translation is visible in review, never a crash.

No build step: a ``.po`` file is compiled (Babel) to the standard binary
``.mo`` form the first time it is read after a change, and the ``.mo`` is kept
in the cache folder (``$AGREEFLOW_HOME/cache`` or the user's cache folder)
under a name made of the ``.po`` file's path, size and modification time: an
edit takes effect at the next command, and every later command reads the
``.mo`` with the standard library's ``gettext`` (about 2 ms, where parsing the
``.po`` costs 100 ms — too much for ``agreeflow --help``).  A cache that cannot
be written only costs that time.

The same ``.mo`` also serves the words of libraries that translate through the
standard library's global ``gettext`` domain — click's "Usage:", "Options:",
"No such option" — while :func:`speaking` is active (the command line enters it
for each invocation).

This module is the only place that chooses words by language:

- ``t(message, lang, **values)`` translates now, then fills ``{placeholders}``;
  ``nt(singular, plural, n, lang, **values)`` picks the
  plural form for ``n`` from the compiled catalogue's Plural-Forms (English
  "1 working day" / "2 working days"; Vietnamese has one form).
- ``Msg(message, **values)`` is a message *not yet* in a language: errors,
  guard reasons and the notes the log stores carry one, and it is rendered
  where someone reads it (``msg.render(lang)``).  ``msg.to_json()`` gives
  ``{"msg": message, "args": {...}}`` — what the log keeps — and
  :func:`from_json` reads it back.
- ``N_(message)`` marks a message for the catalogue without translating it.
- ``localized(label, lang)`` picks a language from *data* an operator edits
  (a workflow's ``{vi, en}`` label, a unit's two names): such text is not in
  the catalogue.

A value given to a message may itself be a ``Msg``, a ``{vi, en}`` label, a
list (joined with ", "), a date (dd/mm/yyyy) or an aware datetime (dd/mm/yyyy
HH:MM in Vietnam): each is shown in the reader's language when the message is.

``KEYS`` names the phrases the command line's tables still ask for by a short
key (``t("init_ok", lang)``); each is an ordinary message of the catalogue.
Nothing below the command line uses it (tests/test_one_catalogue.py).
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import os
import string
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from agreeflow.engine.core.clock import fmt_day, fmt_local
from agreeflow.engine.core.paths import ENGINE_DIR, cache_dir

DOMAIN = "agreeflow"
LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
LOCALE_DIR = ENGINE_DIR / "locale"
"""The shipped catalogues (AGREEFLOW_LOCALE_DIR points at an operator's own copy)."""
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
"""Each language by its own name (a link to switch to it reads the same in every language)."""
LANGUAGE_TAGS = {"vi": "vi-VN", "en": "en-GB"}
"""The BCP 47 tag of each language (a document's language property)."""
COMPILED_FORMAT = 1
"""Part of every compiled file's name: bumped when the way a ``.po`` is compiled changes."""

KEYS: dict[str, str] = {
    "case": "Case",
    "workflow": "Workflow",
    "version": "Version",
    "state": "State",
    "title": "Title",
    "unit": "Unit",
    "fields": "Fields",
    "documents": "Documents",
    "next_steps": "What you can do next",
    "deadlines": "Deadlines",
    "due": "Due",
    "status": "Status",
    "citation": "Legal basis",
    "unconfirmed": "UNCONFIRMED (to be checked by an officer)",
    "opened": "Opened case {ref}",
    "fired": "Case {ref}: {from_} → {to}",
    "verify_ok": "Log intact: {events} events in {cases} case chains verified.",
    "init_ok": "Database {db} initialised (schema revision {rev}).",
    "password_prompt": "Password",
    "crash": "Unexpected error (a fault in agreeflow, not in what you typed). Nothing was changed. "
             "Send this report to the administrator: {path}",
    "password_new": "New password",
    "login_ok": "Signed in: {email}.",
    "logout_ok": "Signed out.",
    "password_set": "Password set for {email}.",
    "whoami": "Acting as: {email} ({name}, {unit}; roles: {roles}). Signed in: {signed_in_as}. Simulation database: {simulation}. Origin: {origin}",
    "directory_ok": "Directory loaded: {units} units, {people} people ({units_retired} units retired, {people_deactivated} people deactivated).",
    "lint_ok": "Valid: {ok}",
    "lint_unconfirmed": "Warning — unconfirmed items in {wf}:",
    "none": "(none)",
    "seq": "Seq",
    "at": "At",
    "actor": "Actor",
    "kind": "Kind",
    "note": "Note",
    "open_cases": "Open cases",
    "left": "{n} working days left",
    "overdue_by": "overdue by {n} working days",
    "suspended_since": "Legal clock suspended since {since}",
    "suspension_detail": "Legal clock suspended since {since} — reason: {reason}; {n} working days so far",
    "cal_holidays": "Weekdays off and weekend days worked in {year}",
    "cal_date": "Date",
    "cal_weekday": "Weekday",
    "cal_kind": "Kind",
    "cal_reason": "Reason",
    "cal_source": "Source",
    "cal_off": "off",
    "cal_working": "working",
    "cal_is_working": "{date} ({weekday}) is a working day — {reason}. Source: {source}",
    "cal_is_off": "{date} ({weekday}) is a day off — {reason}. Source: {source}",
    "cal_due": "Due: {date} ({weekday}), end of day — {at} UTC",
    "cal_no_due": "No fixed due date ({kind}){event}",
    "cal_phrase": "Time phrase (verbatim): «{phrase}» — kind: {kind}; read on {ref}",
    "cal_explanation": "How it was counted:",
    "cal_set": "Recorded {date} as {kind} — {reason} (source: {source}).",
    "cal_unchanged": "{date} is already recorded so; nothing changed.",
    "cal_moved": "Re-projected {n} deadline(s) (logged on each case):",
    "cal_not_reprojected": "Could not re-project (no stored source) — check by hand:",
    "audit_log": "Log ({n} events)",
    "recorded": "Recorded",
    "export_before_recorded_at": "{n} of them were recorded before this field existed: they have no recorded_at, recorded_by or origin, and their hashes never covered them (docs/audit.md).",
    "export_ok": "Exported {events} events of {cases} case chains ({format}) to {file}.",
    "export_simulation": "Database: a SIMULATION (made with init --simulation; its times are simulated and its cases are not real ones).",
    "export_real": "Database: a real one (not a simulation).",
    "checkpoint_ok": "Checkpoint written to {file}: Merkle root {root} ({cases} chains, {events} events). Send the file to the inspectorate and print the root in the annual report.",
    "checkpoint_holds": "Checkpoint {root} (taken {taken_at}): all {heads} chain heads still stand.",
    "checkpoint_newest": "Held against the newest checkpoint {file} (root {root}, taken {taken_at}): all {heads} chain heads still stand.",
    "checkpoint_none": "No checkpoint in {folder}: the removal of the last events of a chain, or of a whole case, cannot be ruled out (every sweep writes one: agreeflow tick, agreeflow serve).",
    "checkpoint_signed": "Signature valid: the checkpoint is signed by the key {key_id}.",
    "seclog_ok": "Security log intact: {n} entries.",
    "access_log_on": "Access log on: from now every read of a case, list, history, report or export names its reader in the security log (see: agreeflow audit security-log --kind read). Recorded as switched by {by}.",
    "access_log_off": "Access log off: reads are no longer logged. Recorded as switched by {by}.",
    "access_log_unchanged": "The access log is already {access_log}; nothing changed.",
    "security_log": "Security log ({n} entries)",
    "origin": "Origin",
    "keygen_ok": "Key {key_id}: private key {private_key} (keep it outside the database, readable by the worker only; AGREEFLOW_SIGNING_KEY={private_key}), public key {public_key} (give it to the inspectorate).",
    "ics_ok": "Wrote {todos} open deadlines to {file}.",
    "import_ok": "Opened {n} tasks from {file}",
    "import_dry": "Checked {file}: {n} tasks are valid (nothing written)",
    "outcome.on_time": "On time",
    "outcome.late": "Done late",
    "outcome.overdue": "Open, overdue",
    "outcome.open": "Open, not yet due",
    "outcome.no_due_date": "No due date (ongoing / awaiting an event)",
    "outcome.no_reply": "No reply",
    "outcome.deemed_agreed": "Deemed agreed (per the request letter)",
    "outcome.not_done": "Not done (the period ended)",
    "compliance_late_recorded": "Recorded late: on time by the effective date, recorded after the due date",
    "recorded_on": "Recorded on",
    "reason": "Reason",
    "compliance_by_unit": "Deadlines kept, by unit",
    "compliance_by_step": "Deadlines kept, by step",
    "compliance_detail": "Every deadline",
    "total": "Total",
    "step": "Step / task",
    "done_on": "Done on",
    "outcome": "Outcome",
    "wd": "Working days",
    "annual_title": "Foreign affairs report for {year}",
    "section.agreements": "International agreements",
    "section.delegations": "Delegations",
    "section.consultations": "Consultations",
    "section.tasks": "Assigned tasks",
    "indicator": "Indicator",
    "summary": "Summary",
    "case_list": "Cases behind the numbers",
    "level": "Signed in the name of",
    "count": "Count",
    "measure.signed": "Signed during the year",
    "measure.in_force": "In force on 31 December",
    "measure.amended": "Amended",
    "measure.expired": "Expired",
    "measure.terminated": "Terminated",
    "level.province": "In the name of the province",
    "level.local": "In the name of agencies and localities",
    "direction.outbound": "Outbound delegations approved",
    "direction.inbound": "Inbound delegations approved",
    "unapproved": "Delegations without the required permission",
    "direction": "Direction",
    "country": "Country",
    "purpose": "Purpose",
    "partner": "Partner",
    "date": "Date",
    "rounds_opened": "Consultation rounds opened",
    "rounds_closed": "Consultation rounds closed",
    "answer": "Answers: {state}",
    "positions": "Positions",
    "delegations": "Delegations of authority",
    "principal": "Principal",
    "delegate": "Delegate",
    "scope": "Scope",
    "valid": "Valid",
    "document": "Deciding document",
    "directory_check_ok": "{file}: valid — {units} units, {people} people, {delegations} delegation(s) of authority.",
    "transfer_ok": "Moved the open work of {old} to {new} from {since}: {cases} case(s), {deadlines} open deadline(s); each move is logged on its case.",
    "transfer_dry": "Dry run — nothing written. From {since}, {cases} case(s) and {deadlines} open deadline(s) of {old} would move to {new}.",
    "transfer_moves": "What moves",
    "letter_ok": "Wrote the {label} of case {case} to {file}.",
    "letter_attached": "Wrote the {label} of case {case} to {file} and attached it to the case (logged).",
}


def language_name(lang: str) -> str:
    """``lang`` by its own name ("Tiếng Việt", "English")."""
    return LANGUAGE_NAMES.get(lang, lang)


def other_language(lang: str) -> str:
    """The language a reader of ``lang`` may switch to (a page's language link)."""
    return next((x for x in LANGS if x != lang), DEFAULT_LANG)


def locale_dir() -> Path:
    """The folder of catalogues in force."""
    return Path(os.environ.get("AGREEFLOW_LOCALE_DIR") or LOCALE_DIR)


class Catalogue(stdlib_gettext.GNUTranslations):
    """One language's compiled catalogue (the standard library's reader of ``.mo`` files)."""

    @cached_property
    def messages(self) -> dict[str, str]:
        """msgid → translation of every singular message that has one."""
        catalog: dict[Any, str] = getattr(self, "_catalog", {})  # where GNUTranslations keeps them (untyped)
        return {k: v for k, v in catalog.items() if isinstance(k, str) and k and v}


class _Source(NamedTuple):
    """One state of one language's ``.po`` file: its path, modification time and size."""

    po: str
    lang: str
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, lang: str) -> _Source | None:
        lang = lang if lang in LANGS else DEFAULT_LANG
        po = locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        try:
            st = po.stat()
        except OSError:
            return None
        return cls(str(po), lang, st.st_mtime_ns, st.st_size)

    def mo_root(self) -> Path:
        """The cache folder holding ``<lang>/LC_MESSAGES/agreeflow.mo`` compiled from this state of the file."""
        path = zlib.crc32(self.po.encode())
        return cache_dir() / "locale" / f"{COMPILED_FORMAT}-{path:08x}-{self.mtime_ns}-{self.size}"

    def mo_file(self) -> Path:
        return self.mo_root() / self.lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _compile(source: _Source) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file (Babel: imported only here, it costs 50 ms)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(source.po, "rb") as fh:
        cat = read_po(fh, locale=source.lang, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, cat, use_fuzzy=True)  # a message marked fuzzy still shows: the operator sees it and corrects it
    return out.getvalue()


def _compiled(source: _Source) -> tuple[bytes, Catalogue]:
    """The compiled file read from the cache folder, else compiled now and written there."""
    path = source.mo_file()
    try:
        data = path.read_bytes()
        return data, Catalogue(io.BytesIO(data))
    except (OSError, ValueError, UnicodeDecodeError, IndexError):  # absent or damaged: compile again
        data = _compile(source)
    from agreeflow.engine.core.atomic import write_bytes  # (tempfile: not on the path of --help once compiled)
    try:
        write_bytes(path, data, sync=False)  # a cache: a crash loses at most a compilation
    except OSError:  # a read-only cache folder: the next process compiles again
        pass
    return data, Catalogue(io.BytesIO(data))


@lru_cache(maxsize=8)
def _catalogue(source: _Source) -> Catalogue:
    return _compiled(source)[1]


RECHECK_SECONDS = 1.0
"""How long a catalogue is used before its ``.po`` file is looked at again (an operator's edit shows within it)."""
_looked: dict[str, tuple[float, str, _Source | None]] = {}  # lang → (when, locale folder setting, what was found)


def catalogue(lang: str) -> Catalogue | None:
    """The compiled catalogue of ``lang`` as its file is now (None when there is no ``.po`` file).

    The file is looked at (a path and a stat) at most once a second per language, and again at once when
    AGREEFLOW_LOCALE_DIR changes: a mail or a page asks for thousands of words, and the stat of each word
    cost more than the template that wanted it.
    """
    now, folder = time.monotonic(), os.environ.get("AGREEFLOW_LOCALE_DIR") or ""
    lang = lang if lang in LANGS else DEFAULT_LANG  # as _Source.of does: the dictionary stays two entries
    seen = _looked.get(lang)
    if seen is not None and now - seen[0] < RECHECK_SECONDS and seen[1] == folder:
        source = seen[2]
    else:
        source = _Source.of(lang)
        _looked[lang] = (now, folder, source)
    return _catalogue(source) if source is not None else None


def translations(lang: str) -> dict[str, str]:
    """msgid → translation for ``lang`` (cached until the file changes; empty when there is no file)."""
    cat = catalogue(lang)
    return cat.messages if cat is not None else {}


def gettext(message: str, lang: str = DEFAULT_LANG) -> str:
    """``message`` (English, as written in the code) in ``lang``."""
    return translations(lang).get(message, message)


def ngettext(singular: str, plural: str, n: int, lang: str = DEFAULT_LANG) -> str:
    """The form of ``singular``/``plural`` (English, as in the code) for ``n`` in ``lang`` (the ``.mo``'s Plural-Forms)."""
    cat = catalogue(lang)
    return cat.ngettext(singular, plural, n) if cat is not None else (singular if n == 1 else plural)



def t(key: str, lang: str = DEFAULT_LANG, **values: Any) -> str:
    """A message (or a ``KEYS`` key) in ``lang``, with ``{placeholders}`` filled."""
    return _fill(gettext(KEYS.get(key, key), lang), key, lang, values)


def nt(singular: str, plural: str, n: int, lang: str = DEFAULT_LANG, **values: Any) -> str:
    """``ngettext`` then ``{placeholders}`` filled; ``{n}`` is ``n`` unless given."""
    return _fill(ngettext(singular, plural, n, lang), singular, lang, {"n": n, **values})


def N_(message: str) -> str:  # noqa: N802 — the gettext convention for "mark for extraction, translate later"
    """Mark ``message`` for the catalogue without translating it yet."""
    return message


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:  # a value the caller did not give shows as nothing
        return ""


def _fill(text: str, fallback: str, lang: str, values: Mapping[str, Any]) -> str:
    if not values and "{" not in text:
        return text
    shown = _Values({k: show(v, lang) for k, v in values.items()})
    try:
        return text.format_map(shown)
    except (ValueError, IndexError, AttributeError):  # an operator's translation that does not parse
        try:
            return fallback.format_map(shown)
        except (ValueError, IndexError, AttributeError):
            return fallback


def show(value: Any, lang: str) -> str:
    """Any value of a message in ``lang``: see the module docstring."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime):
        return fmt_local(value) if value.tzinfo is not None else fmt_day(value.date())
    if isinstance(value, date):
        return fmt_day(value)
    if isinstance(value, Mapping):
        if "msg" in value:
            found = from_json(value)
            if found is not None:
                return found.render(lang)
        if set(value) & set(LANGS):
            return localized(value, lang)
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v, lang) for v in value) if value else gettext("(none)", lang)
    return str(value)


def localized(label: Mapping[str, Any] | str | None, lang: str) -> str:
    """Data an operator edits — a ``{vi, en}`` label — in ``lang`` (Vietnamese when ``lang`` is missing)."""
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    return str(label.get(lang) or label.get(DEFAULT_LANG) or next((v for v in label.values() if v), ""))


def pair(vi: str | None, en: str | None) -> dict[str, str]:
    """Two columns of data (``name_vi``/``name_en``) as a ``{vi, en}`` label for :func:`localized`."""
    return {"vi": vi or "", "en": en or ""}


@dataclass(frozen=True, init=False)
class Msg:
    """A message of the catalogue with its values, rendered in the reader's language when read.

    ``Msg(N_("The case {case} is closed."), case=ref)``; ``Msg.plural(...)``
    for a message with a count.  Equal when message and values are equal.
    """

    msgid: str
    values: dict[str, Any] = field(default_factory=dict)
    plural_id: str | None = None
    n: int | None = None

    def __init__(self, msgid: str, /, **values: Any) -> None:
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "plural_id", None)
        object.__setattr__(self, "n", None)

    @classmethod
    def plural(cls, singular: str, plural: str, n: int, /, **values: Any) -> Msg:
        """A message whose words depend on the count ``n`` (``{n}`` in the text is ``n``)."""
        msg = cls(singular, **values)
        object.__setattr__(msg, "plural_id", plural)
        object.__setattr__(msg, "n", n)
        return msg

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The message in ``lang``."""
        if self.plural_id is not None and self.n is not None:
            return nt(self.msgid, self.plural_id, self.n, lang, **self.values)
        return _fill(gettext(self.msgid, lang), self.msgid, lang, self.values)

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> dict[str, Any]:
        """``{"msg": msgid, "args": {...}}`` (``"plural"``, ``"n"`` for a count): what the log stores.

        Values become JSON: a nested message its own form, a date dd/mm/yyyy, an
        aware time dd/mm/yyyy HH:MM in Vietnam — so the stored form is the same
        on every machine (its hash depends on it).
        """
        out: dict[str, Any] = {"msg": self.msgid, "args": {k: _jsonable(v) for k, v in self.values.items()}}
        if self.plural_id is not None:
            out["plural"], out["n"] = self.plural_id, self.n
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Msg):
        return value.to_json()
    if isinstance(value, (datetime, date)):
        return show(value, DEFAULT_LANG)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def from_json(obj: Any) -> Msg | None:
    """The message :meth:`Msg.to_json` wrote (None for anything else, e.g. an old plain-text note)."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("msg"), str):
        return None
    raw = obj.get("args")
    args: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    if isinstance(obj.get("plural"), str) and isinstance(obj.get("n"), int):
        return Msg.plural(obj["msg"], obj["plural"], obj["n"], **args)
    return Msg(obj["msg"], **args)


def join(parts: Iterable[Any], sep: str = "; ") -> Msg:
    """Several messages shown as one, separated by ``sep`` (e.g. the reasons of several guards)."""
    items = list(parts)
    return Msg("{" + "}{sep}{".join(f"p{i}" for i in range(len(items))) + "}" if items else "", sep=sep,
               **{f"p{i}": p for i, p in enumerate(items)})


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a message fills (what its translation must keep)."""
    try:
        return {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(text) if f}
    except ValueError:
        return {"<unparseable>"}


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """While inside, the standard library's global ``gettext`` answers in ``lang`` from this catalogue.

    Libraries that translate their own words through ``gettext.gettext`` and ``ngettext`` — click's
    "Usage:", "Options:", "Show this message and exit.", "No such option", "Missing argument" — then
    speak the user's language.  That interface is global: it reads the language from the ``LANGUAGE``
    environment variable and the ``.mo`` files from the folder bound to the current domain, so both are
    set here and put back on the way out (tests run many invocations in one process).  Without a
    compiled file (a cache folder that cannot be written) those words stay English.
    """
    saved_domain = stdlib_gettext.textdomain()
    saved_dir = stdlib_gettext.bindtextdomain(DOMAIN)
    saved_language = os.environ.get("LANGUAGE")
    try:
        root = _bound_folder(lang)
        if root is not None:
            stdlib_gettext.bindtextdomain(DOMAIN, str(root))
            stdlib_gettext.textdomain(DOMAIN)
            os.environ["LANGUAGE"] = lang
        yield
    finally:
        stdlib_gettext.textdomain(saved_domain)
        stdlib_gettext.bindtextdomain(DOMAIN, saved_dir)
        if saved_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_language


def _bound_folder(lang: str) -> Path | None:
    """The cache folder of ``lang``'s compiled file, for the standard library (the file written if missing)."""
    source = _Source.of(lang)
    if source is None:
        return None
    if not source.mo_file().is_file():
        _compiled(source)
    return source.mo_root() if source.mo_file().is_file() else None
