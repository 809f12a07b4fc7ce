"""Render reminder e-mails (subject, plain text, HTML) in Vietnamese or English.

The sweep decides *what* is due; this module only turns plain Python values
into the words an official reads.  It knows nothing of the database, so the
same context can be rendered again after a crash and give the same bytes.

``render_message(kind, lang, context)`` takes one of ``KINDS`` and one of
``LANGS``.  The context must hold exactly the keys below (``lang`` and
``subject`` are added by the renderer); a missing or an unknown key raises
``RenderContextError`` before any template runs, and the templates use
``StrictUndefined`` as a second net.

Keys of ``reminder`` (before the due date), ``due_today`` and ``overdue``:

    recipient_name     str   who the letter is addressed to ("Kính gửi: …"),
                             a unit name or a person's name
    case_ref           str   the case's human id, "TTQT-2024-0003"
    case_title         str   the case title (shortened with "…" in the subject)
    workflow_title     str   the procedure, "Thỏa thuận quốc tế cấp địa phương"
    deadline_label     str   what is due, in ``lang``
    unit_name          str   the responsible unit, in ``lang``
    due_date           date  the due date (a datetime is shown in Vietnam time)
    working_days_left  int   signed working days from today to the due date:
                             3 → "còn 3 ngày làm việc", 0 → due today,
                             -2 → "quá hạn 2 ngày làm việc"
                             (``calendar.working_days_between(today, due)``)
    phrase             str   the wording the deadline came from, verbatim;
                             "" when the limit is a fixed number of days
    citation           str   the legal basis; "" when there is none
    confirmed          bool  False when the time limit is not legally confirmed
    explanation        list  the steps of the computation, each a str already
                             in ``lang`` or a dict {"vi": …, "en": …}
    action_command     str   the command that settles it, e.g.
                             "agreeflow case fire NV-2024-0001 report --attach FILE"

``escalation`` (to the supervising unit and the coordinator) takes the same
keys plus:

    reminders_sent     int   how many reminders the responsible unit received

The deadline kinds and ``escalation`` also take, optionally (default ""):

    reply_link         str   the consulted body's personal reply link (no account
                             needed); shown instead of the command
    case_link          str   the case's page on the web; shown instead of the
                             command when there is no reply link

``digest`` (weekly overdue digest for one unit):

    recipient_name     str   as above
    unit_name          str   the unit whose items are listed
    as_of              date  the day the digest was made
    items              list  one dict per overdue deadline with the keys
                             case_ref, case_title, deadline_label, due_date,
                             working_days_left, action_command (as above)

``checkpoint`` (a log checkpoint for the inspectorate, from every sweep that
pinned something new; not one of ``KINDS``, the deadline mails):

    recipient_name     str   the inspectorate, "Thanh tra tỉnh"
    taken_at           str   when it was taken, Vietnam time "31/12/2024 17:00"
    database           str   which database (its URL without a password)
    cases, events      int   chains and events pinned
    root               str   the Merkle root (hex)
    signed             bool  signed with the Ed25519 key ``key_id`` ("" when not)
    key_id             str
    file_name          str   the checkpoint file's name
    checkpoint_text    str   the file itself, inlined (an inspector keeps the mail)

``sign_in_link`` (a one-time sign-in link asked for on the web):

    recipient_name     str   the person's name
    link               str   the link (good once)
    valid_minutes      int   how long it stays good

Templates live in ``templates/<lang>/``: ``<kind>.subject.txt``, ``<kind>.txt``
and ``<kind>.html``; each kind extends ``<lang>/base.txt`` or ``<lang>/base.html``
(greeting and signature), the HTML bases extend ``shared/layout.html``, and the
deadline kinds include ``<lang>/_details.*``.  Only ``.html`` is autoescaped.

Filters available to templates: ``vn_date(lang)`` ("thứ Hai, 30/09/2024"),
``dmy`` ("30/09/2024"), ``working_days(lang)`` (the phrase for a signed
working-day count) and ``localized(lang)`` (picks ``lang`` from a dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from agreeflow.engine.core import clock
from agreeflow.engine.core.i18n import nt, t

KINDS = ("reminder", "due_today", "overdue", "escalation", "digest", "sign_in_link")
LANGS = ("vi", "en")
SUBJECT_LIMIT = 120
"""Longest subject we produce; longer titles are shortened with "…"."""

TEMPLATE_DIR = Path(__file__).parent / "templates"

_DEADLINE_KEYS = frozenset({
    "recipient_name", "case_ref", "case_title", "workflow_title", "deadline_label",
    "unit_name", "due_date", "working_days_left", "phrase", "citation", "confirmed",
    "explanation", "action_command",
})
CONTEXT_KEYS: dict[str, frozenset[str]] = {
    "reminder": _DEADLINE_KEYS,
    "due_today": _DEADLINE_KEYS,
    "overdue": _DEADLINE_KEYS,
    "escalation": _DEADLINE_KEYS | {"reminders_sent"},
    "digest": frozenset({"recipient_name", "unit_name", "as_of", "items"}),
    "checkpoint": frozenset({"recipient_name", "taken_at", "database", "cases", "events", "root", "signed", "key_id",
                             "file_name", "checkpoint_text"}),
    "sign_in_link": frozenset({"recipient_name", "link", "valid_minutes"}),
}
"""The exact context keys each kind needs (see the module docstring)."""
_LINKS = {"reply_link": "", "case_link": ""}
OPTIONAL_KEYS: dict[str, dict[str, str]] = {k: _LINKS for k in ("reminder", "due_today", "overdue", "escalation")}
"""Keys a kind may be given, with the value it gets when it is not."""

DIGEST_ITEM_KEYS = frozenset({
    "case_ref", "case_title", "deadline_label", "due_date", "working_days_left",
    "action_command",
})

_WEEKDAYS = {
    "vi": ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


@dataclass(frozen=True)
class RenderedMessage:
    """One rendered e-mail: a one-line subject and the two bodies."""

    subject: str
    text: str
    html: str


class RenderContextError(ValueError):
    """The context does not match the keys the kind needs.

    A programming error in the caller (the sweep), not a user error: the
    message names the kind and every missing or unknown key so the fix is
    one edit.
    """

    def __init__(self, kind: str, missing: list[str], unknown: list[str]) -> None:
        self.kind = kind
        self.missing = missing
        self.unknown = unknown
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        super().__init__(f"mail context for {kind!r}: {'; '.join(parts)} "
                         f"(see notifications/render.py for the keys)")


def _as_date(value: date | datetime) -> date:
    """A date as officials count it: a datetime is read in Vietnam time."""
    if isinstance(value, datetime):
        return clock.to_local(value).date()
    return value


def dmy(value: date | datetime) -> str:
    """The date as dd/mm/yyyy, the form used in Vietnamese documents."""
    return clock.fmt_day(value)


def vn_date(value: date | datetime, lang: str = "vi") -> str:
    """The date with its weekday: "thứ Hai, 30/09/2024" or "Monday, 30/09/2024"."""
    d = _as_date(value)
    return f"{_WEEKDAYS[_lang(lang)][d.weekday()]}, {dmy(d)}"


def working_days(n: int, lang: str = "vi") -> str:
    """Say how far a due date is, from a signed working-day count.

    Positive is time left, zero is the due day, negative is how late.
    """
    if n > 0:
        return nt("{n} working day left", "{n} working days left", n, _lang(lang))
    if n == 0:
        return t("due today", _lang(lang))
    return nt("{n} working day overdue", "{n} working days overdue", -n, _lang(lang))


def localized(value: str | Mapping[str, str], lang: str = "vi") -> str:
    """Pick ``lang`` from a {"vi": …, "en": …} dict; a plain string passes through."""
    if isinstance(value, Mapping):
        return str(value.get(_lang(lang)) or value.get("vi") or "")
    return value


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word if one is near, ending in "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space >= limit // 2:  # do not throw away half the title for a word boundary
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(vn_date=vn_date, dmy=dmy, working_days=working_days,
                       localized=localized)
    return env


_ENV = _environment()


def check_context(kind: str, context: Mapping[str, Any]) -> None:
    """Raise ``RenderContextError`` unless ``context`` has exactly the keys of ``kind``."""
    if kind not in CONTEXT_KEYS:
        raise ValueError(f"unknown mail kind {kind!r}; use one of {', '.join(KINDS)}")
    expected = CONTEXT_KEYS[kind]
    optional = OPTIONAL_KEYS.get(kind, {}).keys()
    missing = sorted(expected - context.keys())
    unknown = sorted(set(context.keys()) - expected - optional)
    if missing or unknown:
        raise RenderContextError(kind, missing, unknown)
    if kind == "digest":
        for i, item in enumerate(context["items"]):
            item_missing = sorted(DIGEST_ITEM_KEYS - item.keys())
            item_unknown = sorted(set(item.keys()) - DIGEST_ITEM_KEYS)
            if item_missing or item_unknown:
                raise RenderContextError(
                    kind, [f"items[{i}].{k}" for k in item_missing],
                    [f"items[{i}].{k}" for k in item_unknown])


def render_message(kind: str, lang: str, context: Mapping[str, Any]) -> RenderedMessage:
    """Render the subject, text and HTML of one mail of ``kind`` in ``lang``.

    The subject is one line of at most ``SUBJECT_LIMIT`` characters: a long
    case title is shortened with "…" (the full title stays in the body).
    Rendering is pure: the same arguments always give the same message.

    Raises:
        RenderContextError: a key is missing or unknown.
        ValueError: unknown ``kind`` or ``lang``.
        jinja2.UndefinedError: a template uses a name the context lacks.
    """
    _lang(lang)
    check_context(kind, context)
    values = dict(OPTIONAL_KEYS.get(kind, {}), **context, lang=lang)
    subject = _render_subject(kind, lang, values)
    values["subject"] = subject
    text = _ENV.get_template(f"{lang}/{kind}.txt").render(values)
    html = _ENV.get_template(f"{lang}/{kind}.html").render(values)
    return RenderedMessage(subject=subject, text=text, html=html)


def _render_subject(kind: str, lang: str, values: dict[str, Any]) -> str:
    template = _ENV.get_template(f"{lang}/{kind}.subject.txt")

    def one_line(v: dict[str, Any]) -> str:
        # A header must be one line: a title with a newline would break it.
        return " ".join(template.render(v).split())

    subject = one_line(values)
    title = values.get("case_title")
    if len(subject) > SUBJECT_LIMIT and isinstance(title, str):
        room = len(" ".join(title.split())) - (len(subject) - SUBJECT_LIMIT)
        subject = one_line(dict(values, case_title=shorten(title, max(room, 10))))
    return subject
