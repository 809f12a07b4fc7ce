"""The words for the engine's codes, as an official reads them: roles, deadline and outbox statuses, event
kinds, choice values, document kinds, the sweep's counts — one table each, shared by the command line and the
web pages.

Every string is an English ``msgid`` of the one catalogue (engine/locale/<lang>/LC_MESSAGES/agreeflow.po),
translated where it is shown (``word(table, key, lang)``).  A code a table does not know is shown as it is,
so a new code without a word is visible, not hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from agreeflow.engine.core import clock
from agreeflow.engine.core.authority import POSITION_LABELS
from agreeflow.engine.core.i18n import N_, nt, t
from agreeflow.engine.core.kinds import SYSTEM_ACTOR
from agreeflow.engine.core.vocabulary import CHOICES as CHOICES
from agreeflow.engine.core.vocabulary import DEADLINE_STATUS as DEADLINE_STATUS
from agreeflow.engine.core.vocabulary import EVENT_KINDS, duration
from agreeflow.engine.core.vocabulary import OUTBOX_NOTES as OUTBOX_NOTES
from agreeflow.engine.core.vocabulary import OUTBOX_STATUS as OUTBOX_STATUS
from agreeflow.engine.core.vocabulary import ROLES as ROLES
from agreeflow.engine.core.vocabulary import UNIT_KINDS as UNIT_KINDS

# Roles, deadline and outbox statuses, event kinds, choice values and unit kinds have one table each,
# engine.core.vocabulary (the engine's own notes and guards name them too); they are named here as well, beside the
# words only the command line and pages use.
EVENTS = EVENT_KINDS

ROUND_STATUS = {"waiting": N_("Within the time"), "overdue": N_("No reply — overdue (silence is not consent)")}
DOCUMENTS = {
    "proposal": N_("Proposal (submission letter)"), "draft_agreement": N_("Draft agreement"),
    "reply": N_("Written reply"), "report": N_("Report"), "result": N_("Result"),
    "signed_amendment": N_("Signed amendment"), "signed_copy": N_("Signed text"), "document": N_("Document"),
}
ANSWERS = {"agree": N_("We agree"), "comment": N_("We agree with comments"), "disagree": N_("We disagree")}
DAYS = {"workday": N_("Working day"), "weekend": N_("Weekly rest"), "holiday": N_("Public holiday"),
        "observed": N_("Compensatory day off"), "swap": N_("Swapped day off"), "makeup": N_("Make-up working day"),
        "override": N_("Operator's change")}
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))
COUNTS = {
    "node": N_("node"), "reclaimed": N_("taken back from a stopped node"), "due": N_("deadlines looked at"),
    "queued": N_("mails queued"), "reminders": N_("reminders"), "escalations": N_("escalations"),
    "missed": N_("deadlines missed"), "skipped": N_("past rungs skipped"), "messages": N_("mails made"),
    "digests": N_("weekly digests"), "late": N_("queued late"), "errors": N_("errors"),
    "checkpoints": N_("checkpoints"), "sent": N_("sent"), "retried": N_("to retry"), "failed": N_("failed"),
    "cancelled": N_("cancelled"), "deemed_agreed": N_("deemed agreed"), "agreed": N_("agreed"),
    "commented": N_("with comments"), "disagreed": N_("disagreed"), "waiting": N_("waiting"),
    "overdue": N_("no reply, overdue"), "no_reply": N_("no reply"), "open": N_("running"), "met": N_("met"),
    "pending": N_("awaiting an event"),
}
"""The numbers ``tick``, ``serve`` and a consultation's summary print, by the key they are counted under."""
SECURITY_KINDS = {
    "sign_in": N_("Signed in"), "sign_in_failed": N_("Sign-in failed"), "sign_in_link_sent": N_("Sign-in link sent"),
    "sign_out": N_("Signed out"), "password_set": N_("Password set"), "refused": N_("Refused"), "read": N_("Read"),
    "token_used": N_("Reply link used"), "setting_changed": N_("Setting changed"),
}
"""The kinds of entry of the security log (engine.core.seclog.SecurityKind)."""
SETTINGS = {"access_log": N_("Access log")}
"""The database settings an admin switches (their changes are in the security log)."""
SWITCH = {"on": N_("switched on"), "off": N_("switched off")}
SECURITY_KEYS = {
    "kind": N_("how"), "by": N_("set by"), "failures": N_("failed attempts"), "locked_until": N_("locked until"),
    "sent": N_("sent"), "token": N_("code"), "unit": N_("unit"), "answer": N_("answer"), "header": N_("header"),
    "start": N_("from"), "end": N_("to"), "actor": N_("actor"), "workflow": N_("workflow"), "state": N_("state"),
    "year": N_("year"), "format": N_("format"),
}
"""The details of a security log entry, by the key the engine stores them under."""
SECURITY_VALUES = {
    "cli": N_("command line"), "web": N_("web page"), "link": N_("link by mail"), "proxy": N_("trusted proxy"),
    "self": N_("the person themself"), "simulation": N_("simulation"), "admin": N_("administrator"),
    "bootstrap": N_("the first administrator (no administrator had a password yet)"),
}
FLAGS = {"unapproved_delegation": N_("Delegation started without the required permission")}
POSITIONS = {str(p.value): label for p, label in POSITION_LABELS.items()}
RUNGS = {"digest": N_("weekly digest"), "sign_in_link": N_("sign-in link"), "checkpoint": N_("log checkpoint"),
         "bundle": N_("several reminders in one mail")}
"""Mails that are not a rung of a reminder ladder (``bundle``: the one mail that folds a reader's rungs of the same
moment, notifications.compose); the ladder's rungs are worded from the policy file (:func:`rung_word`)."""
ENGINE_ACTORS = frozenset({SYSTEM_ACTOR, "agreeflow"})
"""How the log names the engine's own steps: ``system`` (engine.core.kinds.SYSTEM_ACTOR: fan-in, silence, children)
and ``agreeflow`` (the sweep's and the mail sender's: engine.procedures.sweep.ACTOR,
notifications.outbox.SENDER_ACTOR).  Both read as the role ``system`` does ("Hệ thống (tự động)")."""
_RUNG_WORDS = {  # (the rung's mail, its unit) → the words, the number of days being its offset
    ("reminder", "d"): (N_("reminder {n} day before the due date"), N_("reminder {n} days before the due date")),
    ("reminder", "wd"): (N_("reminder {n} working day before the due date"),
                         N_("reminder {n} working days before the due date")),
    ("overdue", "d"): (N_("overdue notice {n} day after the due date"),
                       N_("overdue notice {n} days after the due date")),
    ("overdue", "wd"): (N_("overdue notice {n} working day after the due date"),
                        N_("overdue notice {n} working days after the due date")),
}
PHRASE_KINDS = {
    "working_days": N_("working days"), "calendar_days": N_("calendar days"), "month": N_("a month"),
    "quarter": N_("a quarter"), "half_year": N_("half a year"), "year": N_("a year"), "months": N_("months"),
    "date": N_("a date"), "before_date": N_("before a date"), "recurring": N_("recurring"),
    "ongoing": N_("ongoing"), "event_relative": N_("counted from an event"),
}
"""What kind of time phrase a deadline was read from (engine.legaltime.calendar.DueKind)."""


def span(n: int, unit: str, lang: str) -> str:
    """A legal period in words: "7 ngày làm việc", "15 ngày", "3 tháng" (units wd, d, m; the engine's one table)."""
    return duration(n, unit).render(lang)


def weekday(n: int, lang: str) -> str:
    """The day of the week ``n`` (0 = Monday) in words: "thứ Hai" … "Chủ nhật" — engine.legaltime.calendar's
    ``weekday_name``, the one source of weekday names (mail, deadline explanations, commands, pages)."""
    from agreeflow.engine.legaltime.calendar import weekday_name
    return weekday_name(n, lang)


def rung_word(rung: str | None, lang: str) -> str:
    """A mail's rung in words ("nhắc trước hạn 3 ngày làm việc"), from what the reminder policy file says the
    rung does; an id the file gives two meanings, or does not know, is shown as the operator wrote it."""
    from agreeflow.engine.legaltime import reminders
    if not rung or rung in RUNGS:
        return word(RUNGS, rung, lang)
    rungs = [r for p in reminders.load().policies.values() for r in p.rungs if r.id == rung]
    meanings = {(r.mail, r.unit if r.offset else "", abs(r.offset)) for r in rungs if r.mail}
    if not meanings:  # a rung that sends no mail but marks an event (``missed``: the deadline is missed)
        events = {r.event for r in rungs if r.event}
        return word(EVENTS, events.pop(), lang) if len(events) == 1 else rung
    if len(meanings) != 1:
        return rung
    mail, unit, n = meanings.pop()
    if not n:
        return t("mail on the due day", lang)
    forms = _RUNG_WORDS.get(("overdue" if mail == "overdue" else "reminder", unit))
    return nt(*forms, n, lang) if forms else rung


def actor_word(actor: str | None, lang: str) -> str:
    """Who did it: a person's e-mail as stored; the engine's own steps (:data:`ENGINE_ACTORS`) in words."""
    return word(ROLES, "system", lang) if actor in ENGINE_ACTORS else actor or ""


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def field_value(field: Mapping[str, Any] | None, value: Any, lang: str,
                units: Mapping[str, str] | None = None) -> str:
    """A stored field value as an official reads it — the one way the command line and the case page show one.

    ``field`` is the field as ``workflow_words`` describes it (``type``, ``choices``; None for a field the
    workflow no longer declares).  A day — a date field, or text holding an ISO day such as a reply-by date
    written as a date — is dd/mm/yyyy; yes/no and choices in words; units by their names when ``units`` (code →
    name) is given, else by their codes; a list joined with ", ".  No value gives "".
    """
    kind = str((field or {}).get("type") or "text")
    choice = kind == "choice" or bool((field or {}).get("choices"))
    values = value if isinstance(value, list) else [value]
    return ", ".join(_one_value(kind, choice, v, lang, units) for v in values if v is not None and v != "")


def _one_value(kind: str, choice: bool, value: Any, lang: str, units: Mapping[str, str] | None) -> str:
    if isinstance(value, bool) or kind in ("bool", "boolean"):
        return t("Yes" if value else "No", lang)
    if kind in ("unit", "units") and units is not None:
        return units.get(str(value), str(value))
    if isinstance(value, date) or (isinstance(value, str) and (kind == "date" or ISO_DAY.fullmatch(value.strip()))):
        try:
            return clock.fmt_day(value.strip() if isinstance(value, str) else value)
        except ValueError:  # not a day after all (2024-13-45, or a date field holding other text): as written
            return str(value)
    if choice:
        return word(CHOICES, str(value), lang)
    return str(value)


def word(table: dict[str, str], key: str | None, lang: str) -> str:
    """The word for ``key`` in one of the tables above; a key it does not know is shown as it is."""
    if not key:
        return ""
    return t(table[key], lang) if key in table else key


def security_note(entry: dict[str, Any], lang: str) -> str:
    """What a security log entry says, in words where the engine stored codes: a setting switched on or off,
    who set a password, how someone signed in. A refusal keeps the text it was logged with."""
    d = entry.get("detail") or {}
    if entry["kind"] == "setting_changed" and d.get("setting"):
        return (f"{word(SETTINGS, d['setting'], lang)}: {word(SWITCH, str(d.get('before')), lang)} → "
                f"{word(SWITCH, str(d.get('after')), lang)}")
    if "msg" in d or "message" in d:  # a refusal: the command and case, and its message (older entries: its text)
        return str(entry["summary"])
    parts = []
    for key, value in d.items():
        if key in ("what", "admin") or value in (None, "", [], {}):
            continue
        if key == "case":
            parts.append(str(value))
            continue
        if isinstance(value, bool):
            shown = t("yes" if value else "no", lang)
        elif key == "locked_until":
            shown = clock.fmt_local(clock.parse_instant(str(value)))
        elif key == "by" and (value == "admin" or str(value).startswith("admin ")):
            # who set a password for someone else: {"by": "admin", "admin": email}; before December 2026 one
            # string, "admin <email>"
            who = d.get("admin") or str(value)[len("admin "):]
            shown = f"{word(SECURITY_VALUES, 'admin', lang)} {who}".strip()
        else:
            shown = word(SECURITY_VALUES, str(value), lang)
        parts.append(f"{word(SECURITY_KEYS, key, lang)}: {shown}")
    return " ".join(p for p in (str(d.get("what") or ""), ", ".join(parts)) if p)
