"""What one event of the log says, in the reader's language.

The log keeps a person's own words as they typed them (the ``note`` column)
and the engine's words as a message key with its values: a note the engine
writes is ``payload["note"] = {"msg": <English msgid>, "args": {...}}``
(:func:`stored`), a refusal keeps its error the same way
(``payload = {"error", "msg", "args"}``).  Both are part of the hashed
payload; their canonical JSON is the same on every machine, because the
values are plain JSON (dates already written dd/mm/yyyy).  :func:`describe`
renders an event (as :func:`agreeflow.engine.core.audit.event_view` gives
it) for a history, an audit log or a page: in the reader's language, with
states and choices by their labels, days dd/mm/yyyy and durations in words.
Events written before keep their plain text (English or "vi / en") and read
as they were written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.i18n import N_, Msg, from_json, join, pair, show
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.vocabulary import CHOICES, OUTBOX_NOTES, duration, word

NOTE = "note"
"""The payload key of a note the engine wrote (a stored message)."""

MAIL_KINDS = {"reminder": N_("reminder"), "due_today": N_("due-today notice"), "overdue": N_("overdue notice"),
              "escalation": N_("escalation"), "digest": N_("weekly digest"), "checkpoint": N_("checkpoint"),
              "bundle": N_("reminder")}
"""What a queued mail is, by its kind (the rung's ``mail:``)."""

Labels = Callable[[str], Mapping[str, str] | None]
"""A field name → its label ``{vi, en}`` in the case's workflow (None: not known)."""

Rungs = Callable[[str], str]
"""A reminder rung's id → what it is, in the reader's language (the policy file says; the service knows it)."""


def stored(note: str | Msg | None, payload: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(note column, payload) for an event: a message goes into the payload, a person's text stays a note."""
    if isinstance(note, Msg):
        return None, {**payload, NOTE: note.to_json()}
    return note, dict(payload)


def note_of(e: Mapping[str, Any], lang: str) -> str:
    """The event's note alone: the person's words, or the engine's message in ``lang``."""
    found = from_json((e.get("payload") or {}).get(NOTE))
    if found is not None:
        return found.render(lang)
    return str(e.get("note") or "")


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?")


def day(value: Any) -> str:
    """An ISO day (or instant) as dd/mm/yyyy; anything else as it is."""
    text = "" if value is None else str(value)
    if _ISO_DAY.fullmatch(text):
        try:
            return fmt_day(date.fromisoformat(text[:10]))
        except ValueError:
            return text
    return text


_AS_TYPED = frozenset({"text", "unit", "units", "int", "case-ref", "person"})
"""Field types whose values read as they were typed (a text that happens to be a choice's code stays text)."""


def value(v: Any, kind: str | None = None) -> Any:
    """A stored field value as a reader sees it: days dd/mm/yyyy, choices by label, true/false as words.

    ``kind``: the field's type in its workflow, when known; without it the value itself decides.
    """
    if isinstance(v, bool):
        return Msg(N_("yes") if v else N_("no"))
    if isinstance(v, list):
        return [value(x, kind) for x in v]
    if isinstance(v, str) and kind not in _AS_TYPED:
        return day(v) if _ISO_DAY.fullmatch(v) else word(CHOICES, v)
    return v


def _late(seconds: int) -> Msg:
    """How late a mail was queued, in days or hours, never a count of seconds."""
    if seconds >= 86400:
        return Msg.plural(N_("{n} day"), N_("{n} days"), seconds // 86400)
    if seconds >= 3600:
        return Msg.plural(N_("{n} hour"), N_("{n} hours"), seconds // 3600)
    return Msg.plural(N_("{n} minute"), N_("{n} minutes"), max(seconds // 60, 1))


def describe(e: Mapping[str, Any], lang: str, labels: Labels | None = None, rungs: Rungs | None = None) -> str:
    """The event in words, in ``lang`` (see the module docstring).

    ``labels`` gives a field's label (else the event's ``field_label``, else its name); ``rungs`` a reminder
    rung in words (else the kind of mail).
    """
    return show(message(e, labels, rungs), lang)


def message(e: Mapping[str, Any], labels: Labels | None = None, rungs: Rungs | None = None) -> Msg | str:
    """The event in words, as a message not yet in a language."""
    p: Mapping[str, Any] = e.get("payload") or {}

    def field_label(name: str) -> Any:
        """A field by its label: the workflow's, else the one the event view carries, else its name."""
        return (labels(name) if labels is not None else None) or (
            e.get("field_label") if name == p.get("field") else None) or name

    def mail(payload: Mapping[str, Any]) -> Any:
        """The mail by its rung in words; else (a rung the policy file no longer knows) by its kind."""
        rung = str(payload.get("rung") or "")
        if rungs is not None and rung and (said := rungs(rung)) != rung:
            return said
        return word(MAIL_KINDS, payload.get("kind")) if payload.get("kind") in MAIL_KINDS else rung

    kind = e.get("kind")
    own: Msg | str = from_json(p.get(NOTE)) or str(e.get("note") or "")
    if kind == EventKind.DEADLINE_MOVED:
        name = pair(p.get("label"), p.get("label_en") or p.get("label")) if p.get("label") else p.get("deadline")
        if p.get("why") == "calendar":
            return Msg(N_("{deadline}: {before} → {after} (calendar change: {day} {reason}; source {source})"),
                       deadline=name, before=day(p.get("before")), after=day(p.get("after")),
                       day=day(p.get("calendar_day")), reason=p.get("reason"), source=p.get("source"))
        return Msg(N_("{deadline}: {before} → {after} (+{count}, suspension)"), deadline=name,
                   before=day(p.get("before")), after=day(p.get("after")),
                   count=duration(int(p.get("working_days") or 0), "wd"))
    if kind == EventKind.CALENDAR_CHANGED:
        return Msg(N_("{day} → {kind}: {reason} (source {source}); {n} deadline(s) re-projected"),
                   day=day(p.get("date")), kind=Msg(N_("off") if p.get("kind") == "off" else N_("working")),
                   reason=p.get("reason"), source=p.get("source"), n=len(p.get("moved") or []))
    if kind == EventKind.SUSPENDED and "since" in p:
        if not own:  # stopped by a step (a dossier sent back to complete), no reason typed
            return Msg(N_("Suspended from {since}"), since=day(p["since"]))
        return Msg(N_("Suspended from {since}: {reason}"), since=day(p["since"]), reason=own)
    if kind == EventKind.RESUMED and "until" in p:
        dates = [Msg("; {label}: {before} → {after}", label=pair(d.get("label"), d.get("label_en") or d.get("label")),
                     before=day(d.get("before")),
                     after=day(d.get("after"))) for d in p.get("deadlines") or []]
        reason = p.get("reason")
        if not reason:  # stopped by a step, no reason typed: the note of the restart, if any, follows
            text = Msg(N_("Resumed: suspended {since} – {until} ({count}){dates}"), since=day(p["since"]),
                       until=day(p["until"]), count=duration(int(p.get("working_days") or 0), "wd"),
                       dates=join(dates, ""))
            return Msg("{text} — {note}", text=text, note=own) if own else text
        return Msg(N_("Resumed: suspended {since} – {until} ({count}; reason: {reason}){dates}"),
                   since=day(p["since"]), until=day(p["until"]),
                   count=duration(int(p.get("working_days") or 0), "wd"), reason=reason,
                   dates=join(dates, ""))
    if kind in (EventKind.DEADLINE_SET, EventKind.DEADLINE_MET, EventKind.DEADLINE_MISSED, EventKind.DEADLINE_CANCELLED,
                EventKind.DEADLINE_CLOSED):
        label = pair(p.get("label"), p.get("label_en") or p.get("label")) if p.get("label") else p.get("deadline")
        when = day(p.get("due_date")) if p.get("due_date") else p.get("phrase") or ""
        text = Msg("{label}: {when}", label=label, when=when)
        if p.get("margin_wd") is not None:
            margin = int(p["margin_wd"])
            text = Msg(N_("{text} (done {count} early)") if margin > 0 else N_("{text} (done {count} late)")
                       if margin < 0 else N_("{text} (done on the last day)"), text=text,
                       count=duration(abs(margin), "wd"))
        return text
    if kind in (EventKind.REMINDER_QUEUED, EventKind.ESCALATED):
        text = Msg(N_("{what} to {recipients}"), what=mail(p), recipients=list(p.get("recipients") or []))
        if p.get("due_date"):
            text = Msg(N_("{text} (due {date})"), text=text, date=day(p["due_date"]))
        late = p.get("late_by_s")
        return Msg(N_("{text} (queued {late} late)"), text=text, late=_late(int(late))) if late else text
    if kind == EventKind.REMINDER_SKIPPED:  # a rung never sent (engine.procedures.sweep): to whom, and why not
        text = Msg(N_("{what} to {recipients}"), what=mail(p), recipients=list(p.get("recipients") or []))
        if p.get("due_date"):
            text = Msg(N_("{text} (due {date})"), text=text, date=day(p["due_date"]))
        return Msg("{text} — {note}", text=text, note=word(OUTBOX_NOTES, p.get("why")))
    if kind == EventKind.REMINDER_SENT:
        return Msg(N_("{what} → {recipient} (node {node})"), what=mail(p), recipient=p.get("recipient"),
                   node=p.get("node"))
    if kind == EventKind.REFUSED:
        return from_json(p) or str(p.get("message", ""))
    if kind == EventKind.CHILD_OPENED and p.get("child"):
        return Msg(N_("{child} for {unit}"), child=p.get("child"), unit=p.get("unit"))
    if kind == EventKind.FIELD_CHANGED:
        name = str(p.get("field"))
        return Msg("{field}: {value}", field=field_label(name), value=value(p.get("after"), e.get("field_type")))
    if kind == EventKind.UNIT_TRANSFERRED:
        summary: Any
        if "cases" in p:  # the summary on the system chain
            summary = list(p["cases"]) or Msg(N_("(none)"))
        else:
            moved: list[Any] = [Msg("{field}: {before} → {after}", field=field_label(k),
                                    before=value(v.get("before")), after=value(v.get("after")))
                                for k, v in (p.get("fields") or {}).items()]
            if p.get("unit") and not moved:
                moved.append(Msg(N_("unit: {before} → {after}"), before=p["unit"][0], after=p["unit"][1]))
            moved += [pair(str(d.get("label") or d.get("key")),
                           str(d.get("label_en") or d.get("label") or d.get("key"))) for d in p.get("deadlines") or []]
            summary = join(moved)
        text = Msg(N_("{old} → {new} from {since}: {what}"), old=p.get("from_unit"), new=p.get("to_unit"),
                   since=day(p.get("effective_from")), what=summary)
        return Msg("{text} — {note}", text=text, note=own) if own else text
    if kind in (EventKind.SUSPENDED, EventKind.RESUMED) and "working_days" in p:
        return Msg("{note} ({count})", note=own, count=duration(int(p["working_days"]), "wd"))
    return own
