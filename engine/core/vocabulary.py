"""The words for the engine's own values: statuses, event kinds, roles, unit kinds, choice values.

A stored value (``missed``, ``in_person``, ``district``) is a code; a reader
sees its label, in their language, through the catalogue: ``word(DEADLINE_STATUS,
"missed")`` is a :class:`~agreeflow.engine.core.i18n.Msg` ("Missed" / "Quá hạn").
A value a table does not know is shown as it is (a unit kind an operator
invented stays readable).  Labels that operators edit — a workflow's states,
steps and fields — are data in the workflow files, not here.
"""

from __future__ import annotations

from agreeflow.engine.core.i18n import N_, Msg

DEADLINE_STATUS = {"open": N_("Running"), "pending": N_("Awaiting an event"), "met": N_("Met"),
                   "missed": N_("Missed"), "cancelled": N_("Cancelled"), "no_reply": N_("No reply"),
                   "deemed_agreed": N_("Deemed agreed")}
OUTBOX_STATUS = {"queued": N_("Waiting"), "sending": N_("Being sent"), "sent": N_("Sent"), "failed": N_("Failed"),
                 "cancelled": N_("Cancelled"), "held": N_("Held to be sent with the reader's other mail"),
                 "bundled": N_("Sent in one mail with the reader's others"), "skipped": N_("Skipped"),
                 "delivered": N_("Accepted by the mail server, being logged")}
CANCELLED_NOTE = N_("deadline closed before sending")
NO_BODY_NOTE = N_("no text to send: the message was never rendered")
OUTBOX_NOTES = {
    CANCELLED_NOTE: CANCELLED_NOTE, NO_BODY_NOTE: NO_BODY_NOTE,
    "stale": N_("not sent: its words no longer fit the day (mail caught up after a stop)"),
    "overtaken": N_("not sent: a later reminder of the same deadline went instead"),
}
"""Why a message was not sent, as the engine stores it in ``outbox.last_error`` (the outbox's own notes, and a
skipped rung's reason from engine.legaltime.reminders); any other text there is the mail server's own reply."""
ROLES = {"coordinator": N_("Coordinator"), "officer": N_("Officer"), "approver": N_("Approver"),
         "auditor": N_("Auditor"), "admin": N_("Administrator"), "system": N_("agreeflow (automatic)"),
         "reply-link": N_("Reply link")}
EVENT_KINDS = {
    "opened": N_("Case opened"), "transition": N_("Step taken"), "field_changed": N_("Field changed"),
    "attached": N_("Document attached"), "refused": N_("Refused"), "suspended": N_("Legal clock stopped"),
    "resumed": N_("Legal clock restarted"), "deadline_set": N_("Deadline set"), "deadline_met": N_("Deadline met"),
    "deadline_missed": N_("Deadline missed"), "deadline_cancelled": N_("Deadline cancelled"),
    "deadline_closed": N_("Deadline closed (no reply or deemed agreed)"), "deadline_moved": N_("Deadline moved"),
    "reminder_queued": N_("Reminder queued"), "escalated": N_("Escalated to the supervising body"),
    "reminder_sent": N_("Mail delivered"), "reminder_skipped": N_("Reminder not sent"),
    "calendar_changed": N_("Calendar changed"),
    "directory_loaded": N_("Directory loaded"), "child_opened": N_("Consultation of a body opened"),
    "reply_recorded": N_("Reply recorded"), "deemed_agreed": N_("Deemed agreed"), "flagged": N_("Flagged"),
    "occurrence_opened": N_("Next occurrence opened"), "follow_up_opened": N_("Follow-up round opened"),
    "round_checked": N_("Round checked at the deadline"), "effect_failed": N_("A linked step could not run"),
    "unit_transferred": N_("Work passed to the successor unit"),
}
CHOICES = {
    "agreement": N_("Agreement"), "mou": N_("Memorandum of understanding"), "letter_of_intent": N_("Letter of intent"),
    "minutes": N_("Minutes"), "programme": N_("Programme"), "plan": N_("Plan"), "other": N_("Other"),
    "in_person": N_("In person"), "online": N_("Online"), "amend": N_("Amend"), "supplement": N_("Supplement"),
    "extend": N_("Extend"), "terminate": N_("Terminate"), "withdraw": N_("Withdraw"), "suspend": N_("Suspend"),
    "overdue": N_("Overdue (no reply is not consent)"), "deemed_agreed": N_("Deemed agreed"),
}
UNIT_KINDS = {"department": N_("department"), "district": N_("district"), "commune": N_("commune"),
              "ward": N_("ward"), "division": N_("division"), "ministry": N_("ministry"),
              "government": N_("government"), "province": N_("province"), "office": N_("office"),
              "party": N_("Party body"), "association": N_("association"), "organisation": N_("organisation"),
              "national-organisation": N_("national organisation")}


def word(table: dict[str, str], key: object) -> Msg | str:
    """The label of ``key`` in ``table`` as a message; a key the table does not know, as it is."""
    text = "" if key is None else str(key)
    return Msg(table[text]) if text in table else text


def words(table: dict[str, str], keys: object) -> list[Msg | str]:
    """Several labels (a list value of a message shows them joined with ", ")."""
    return [word(table, k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]


DURATION_UNITS = {
    "wd": (N_("{n} working day"), N_("{n} working days")),
    "d": (N_("{n} day"), N_("{n} days")),
    "m": (N_("{n} month"), N_("{n} months")),
}


def duration(n: int, unit: str) -> Msg:
    """``n`` working days (``wd``), calendar days (``d``) or months (``m``), in words: "trễ 1 ngày làm việc"."""
    singular, plural = DURATION_UNITS.get(unit, DURATION_UNITS["d"])
    return Msg.plural(singular, plural, n)
