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
    letter             str   the request letter that started the deadline
                             ("Văn bản 412/SNgV-HTQT ngày 08/07/2024"), or ""
    silence            str   what no reply by the date means, when the letter
                             says silence is agreement; else ""
    waiting_for        list  names of the consulted bodies that have not replied
                             (a deadline that follows a round), else []
    late               str   who has not done it (the unit, or the silent bodies)

and, saying who writes to whom (no mail names a command or a trigger):

    relation           str   superior | peer | subordinate | internal (the
                             register, templates/register.yaml)
    you                str   how the body names the reader: "Bà" / "Ông" for a
                             person, "" for a unit (the register's word)
    sender_name        str   the writing unit, "Sở Ngoại vụ"
    contact            dict  the case's named contact at the writing unit
                             {name, phone, email}, or {} (an internal reader)
    internal           bool  the reader is the writing unit's own staff

``escalation`` (to the supervising unit and the coordinator) takes the same
keys plus:

    reminders_sent     int   how many reminders the late bodies received (engine.procedures.sweep.reminders_to_the_late)

The deadline kinds and ``escalation`` also take, optionally (default ""):

    reply_link         str   the consulted body's personal reply link (no account
                             needed)
    case_link          str   the case's page on the web

``bundle`` (every rung due for one recipient at one sweep, in one mail):
the address keys above (recipient_name … internal) and ``items``, one dict
per rung with the deadline keys (case_ref … late) and its ``kind``
(reminder | due_today | overdue | escalation); ``reply_link``, ``case_link``
and ``reminders_sent`` may be given.

``digest`` (weekly: what is open for one unit):

    the address keys, and
    unit_name          str   the unit whose items are listed
    as_of              date  the day the digest was made
    items              list  one dict per open deadline with the keys
                             case_ref, case_title, deadline_label, due_date,
                             working_days_left, link ("" without a web)

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
deadline kinds include ``<lang>/_details.*`` and ``<lang>/_action.*``.  Only
``.html`` is autoescaped.  Templates are compiled once per process (an edit
takes effect at the next start); the renderer adds ``reg`` (the register's
phrases for the relation) and, for the deadline kinds, ``lead`` (the opening
sentence in that register).

Filters available to templates: ``vn_date(lang)`` ("thứ Hai, 30/09/2024"),
``dmy`` ("30/09/2024"), ``working_days(lang)`` (the phrase for a signed
working-day count) and ``localized(lang)`` (picks ``lang`` from a dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from agreeflow.engine.core import clock
from agreeflow.engine.core.errors import InputFileError, listed
from agreeflow.engine.core.i18n import N_, Msg, join, nt, t
from agreeflow.engine.legaltime.calendar import weekday_name

KINDS = ("reminder", "due_today", "overdue", "escalation", "bundle", "digest", "sign_in_link")
DEADLINE_KINDS = ("reminder", "due_today", "overdue", "escalation")
"""The kinds about one deadline; ``bundle`` lists several of them for one recipient."""
LANGS = ("vi", "en")
RELATIONS = ("superior", "peer", "subordinate", "internal")
"""Who writes to whom (see templates/register.yaml and notifications/compose.relation)."""
PHRASES = ("you", "reminder", "due_today", "overdue", "escalation", "many", "closing", "digest_close")
SUBJECT_LIMIT = 120
"""Longest subject we produce; longer titles are shortened with "…"."""

TEMPLATE_DIR = Path(__file__).parent / "templates"
REGISTER_FILE = TEMPLATE_DIR / "register.yaml"

_ADDRESS_KEYS = frozenset({"recipient_name", "relation", "you", "sender_name", "contact", "internal"})
_ITEM_KEYS = frozenset({
    "case_ref", "case_title", "workflow_title", "deadline_label", "unit_name", "due_date", "working_days_left",
    "phrase", "citation", "confirmed", "explanation", "letter", "silence", "waiting_for", "late",
})
_DEADLINE_KEYS = _ADDRESS_KEYS | _ITEM_KEYS
CONTEXT_KEYS: dict[str, frozenset[str]] = {
    "reminder": _DEADLINE_KEYS,
    "due_today": _DEADLINE_KEYS,
    "overdue": _DEADLINE_KEYS,
    "escalation": _DEADLINE_KEYS | {"reminders_sent"},
    "bundle": _ADDRESS_KEYS | {"items"},
    "digest": _ADDRESS_KEYS | {"unit_name", "as_of", "items"},
    "checkpoint": frozenset({"recipient_name", "taken_at", "database", "cases", "events", "root", "signed", "key_id",
                             "file_name", "checkpoint_text"}),
    "sign_in_link": frozenset({"recipient_name", "link", "valid_minutes"}),
}
"""The exact context keys each kind needs (see the module docstring)."""
_LINKS = {"reply_link": "", "case_link": ""}
OPTIONAL_KEYS: dict[str, dict[str, Any]] = {k: _LINKS for k in DEADLINE_KINDS}
"""Keys a kind may be given, with the value it gets when it is not."""

BUNDLE_ITEM_KEYS = _ITEM_KEYS | {"kind"}
"""Each item of a ``bundle``: one deadline's keys and its ``kind``; ``reply_link``, ``case_link`` and
``reminders_sent`` may be given too."""
_BUNDLE_ITEM_OPTIONAL = frozenset({"reply_link", "case_link", "reminders_sent"})
DIGEST_ITEM_KEYS = frozenset({
    "case_ref", "case_title", "deadline_label", "due_date", "working_days_left", "link",
})
_URGENCY = {"reminder": 0, "due_today": 1, "overdue": 2, "escalation": 3}


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
    """The date with its weekday: "thứ Hai, 30/09/2024" or "Monday, 30/09/2024" (calendar.weekday_name)."""
    d = _as_date(value)
    return f"{weekday_name(d, _lang(lang))}, {dmy(d)}"


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
        auto_reload=False,  # compiled once per process; an operator's edit takes effect at the next start
        cache_size=-1,
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
    if "relation" in expected and context["relation"] not in RELATIONS:
        raise RenderContextError(kind, [], [f"relation={context['relation']!r} (use {', '.join(RELATIONS)})"])
    if kind in ("digest", "bundle"):
        keys, extra = (DIGEST_ITEM_KEYS, frozenset()) if kind == "digest" else (BUNDLE_ITEM_KEYS,
                                                                                _BUNDLE_ITEM_OPTIONAL)
        for i, item in enumerate(context["items"]):
            item_missing = sorted(keys - item.keys())
            item_unknown = sorted(set(item.keys()) - keys - extra)
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
    if "relation" in values:
        reg = register(lang, values["relation"], values["sender_name"], values["you"])
        values["reg"] = reg
        if kind in DEADLINE_KINDS:
            values["lead"] = _lead(kind, values, reg, lang)
        elif kind == "bundle":
            values["items"] = [dict(OPTIONAL_KEYS["reminder"], **item, lead=_lead(item["kind"], item, reg, lang))
                               for item in values["items"]]
            values["top_kind"] = max((i["kind"] for i in values["items"]), key=lambda k: _URGENCY.get(k, 0),
                                     default="reminder")
            values["linked"] = all(i["reply_link"] or i["case_link"] for i in values["items"])
    subject = _render_subject(kind, lang, values)
    values["subject"] = subject
    text = _template(f"{lang}/{kind}.txt").render(values)
    html = _template(f"{lang}/{kind}.html").render(values)
    return RenderedMessage(subject=subject, text=text, html=html)


_COMPILED: dict[str, jinja2.Template] = {}


def _template(name: str) -> jinja2.Template:
    """A compiled template, looked up once per process (no file-system check per message)."""
    found = _COMPILED.get(name)
    if found is None:
        found = _COMPILED[name] = _ENV.get_template(name)
    return found


def _lead(kind: str, item: Mapping[str, Any], reg: Mapping[str, str], lang: str) -> str:
    """The sentence that opens a deadline mail (or a bundle's item), in the register of the relation."""
    return reg[kind + "_raw"].format(
        sender=item.get("sender_name") or reg["sender"], you=reg["you"], task=item["deadline_label"],
        ref=item["case_ref"], due=vn_date(item["due_date"], lang),
        left=working_days(int(item["working_days_left"]), lang), late=item["late"])


class RegisterFileError(InputFileError):
    """templates/register.yaml is not what the mail needs (exit 2); the message lists every problem, each a message
    of the catalogue, so the operator who edited the wording reads them in their language."""


def register(lang: str, relation: str, sender: str, you: str) -> dict[str, str]:
    """The phrases of ``relation`` in ``lang`` with ``{sender}`` and ``{you}`` filled (the per-item
    sentences are kept raw as ``<kind>_raw`` for ``_lead``)."""
    phrases = register_file()["phrases"][lang][relation]
    out = {"sender": sender, "you": you or phrases["you"]}
    for key, text in phrases.items():
        if key in DEADLINE_KINDS:
            out[key + "_raw"] = text
        elif key != "you":
            out[key] = text.format(sender=sender, you=out["you"])
    return out


def superior_kinds() -> frozenset[str]:
    """Unit kinds written to as superiors (templates/register.yaml ``superior_kinds``)."""
    return frozenset(register_file()["superior_kinds"])


def register_file(path: Path | None = None) -> dict[str, Any]:
    """The register file, checked (cached until the file changes)."""
    p = Path(path or REGISTER_FILE)
    return _register(p, p.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _register(path: Path, mtime: int) -> dict[str, Any]:
    from agreeflow.engine.core.yamlio import YamlSyntaxError, load_file

    try:
        raw = load_file(path)
    except YamlSyntaxError as exc:
        raise RegisterFileError(path=str(path), problem=Msg(N_("line {line}: {detail}"), line=exc.line,
                                                            detail=exc.detail)) from None
    problems: list[Msg] = []
    kinds = raw.get("superior_kinds") if isinstance(raw, dict) else None
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        problems.append(Msg(N_("superior_kinds: a list of unit kinds")))
    phrases: dict[str, Any] = {}
    for lang in LANGS:
        by_relation = raw.get(lang) if isinstance(raw, dict) else None
        for relation in RELATIONS:
            block = by_relation.get(relation) if isinstance(by_relation, dict) else None
            if not isinstance(block, dict):
                problems.append(Msg(N_("{where}: missing (needs {keys})"), where=f"{lang}.{relation}",
                                    keys=list(PHRASES)))
                continue
            missing = [k for k in PHRASES if not isinstance(block.get(k), str)]
            unknown = [k for k in block if k not in PHRASES]
            if missing or unknown:
                problems.append(Msg("{where}: {problems}", where=f"{lang}.{relation}", problems=join(
                    ([Msg(N_("missing {keys}"), keys=missing)] if missing else []) +
                    ([Msg(N_("unknown {keys}"), keys=[str(k) for k in unknown])] if unknown else []))))
                continue
            for key, text in block.items():
                try:
                    text.format(sender="", you="", task="", ref="", due="", left="", late="")
                except (KeyError, IndexError, ValueError) as exc:
                    problems.append(Msg(N_("{where}: {{placeholder}} not known: {problem}"),
                                        where=f"{lang}.{relation}.{key}", problem=str(exc)))
            phrases.setdefault(lang, {})[relation] = {k: str(v) for k, v in block.items()}
    if problems:
        raise RegisterFileError(path=str(path), problem=listed(problems))
    return {"superior_kinds": list(kinds or []), "phrases": phrases}


def _render_subject(kind: str, lang: str, values: dict[str, Any]) -> str:
    template = _template(f"{lang}/{kind}.subject.txt")

    def one_line(v: dict[str, Any]) -> str:
        # A header must be one line: a title with a newline would break it.
        return " ".join(template.render(v).split())

    subject = one_line(values)
    title = values.get("case_title")
    if len(subject) > SUBJECT_LIMIT and isinstance(title, str):
        room = len(" ".join(title.split())) - (len(subject) - SUBJECT_LIMIT)
        subject = one_line(dict(values, case_title=shorten(title, max(room, 10))))
    return subject
