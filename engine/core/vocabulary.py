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
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind, OutboxStatus

DEADLINE_STATUS: dict[str, str] = {
    DeadlineStatus.OPEN: N_("Running"), DeadlineStatus.PENDING: N_("Awaiting an event"), DeadlineStatus.MET: N_("Met"),
    DeadlineStatus.MISSED: N_("Missed"), DeadlineStatus.CANCELLED: N_("Cancelled"),
    DeadlineStatus.NO_REPLY: N_("No reply"), DeadlineStatus.DEEMED_AGREED: N_("Deemed agreed"),
}
OUTBOX_STATUS: dict[str, str] = {
    OutboxStatus.QUEUED: N_("Waiting"), OutboxStatus.SENDING: N_("Being sent"), OutboxStatus.SENT: N_("Sent"),
    OutboxStatus.FAILED: N_("Failed"), OutboxStatus.CANCELLED: N_("Cancelled"),
    OutboxStatus.HELD: N_("Held to be sent with the reader's other mail"),
    OutboxStatus.BUNDLED: N_("Sent in one mail with the reader's others"), OutboxStatus.SKIPPED: N_("Skipped"),
    OutboxStatus.DELIVERED: N_("Accepted by the mail server, being logged"),
}
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
EVENT_KINDS: dict[str, str] = {
    EventKind.OPENED: N_("Case opened"), EventKind.TRANSITION: N_("Step taken"),
    EventKind.FIELD_CHANGED: N_("Field changed"), EventKind.ATTACHED: N_("Document attached"),
    EventKind.REFUSED: N_("Refused"), EventKind.SUSPENDED: N_("Legal clock stopped"),
    EventKind.RESUMED: N_("Legal clock restarted"), EventKind.DEADLINE_SET: N_("Deadline set"),
    EventKind.DEADLINE_MET: N_("Deadline met"), EventKind.DEADLINE_MISSED: N_("Deadline missed"),
    EventKind.DEADLINE_CANCELLED: N_("Deadline cancelled"),
    EventKind.DEADLINE_CLOSED: N_("Deadline closed (no reply or deemed agreed)"),
    EventKind.DEADLINE_MOVED: N_("Deadline moved"), EventKind.REMINDER_QUEUED: N_("Reminder queued"),
    EventKind.ESCALATED: N_("Escalated to the supervising body"), EventKind.REMINDER_SENT: N_("Mail delivered"),
    EventKind.REMINDER_SKIPPED: N_("Reminder not sent"), EventKind.CALENDAR_CHANGED: N_("Calendar changed"),
    EventKind.DIRECTORY_LOADED: N_("Directory loaded"), EventKind.CHILD_OPENED: N_("Consultation of a body opened"),
    EventKind.REPLY_RECORDED: N_("Reply recorded"), EventKind.DEEMED_AGREED: N_("Deemed agreed"),
    EventKind.FLAGGED: N_("Flagged"), EventKind.OCCURRENCE_OPENED: N_("Next occurrence opened"),
    EventKind.FOLLOW_UP_OPENED: N_("Follow-up round opened"),
    EventKind.ROUND_CHECKED: N_("Round checked at the deadline"),
    EventKind.EFFECT_FAILED: N_("A linked step could not run"),
    EventKind.UNIT_TRANSFERRED: N_("Work passed to the successor unit"),
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


def choice_typed(code: str) -> Msg | str:
    """A choice value in words with the code the user types (``--field change_kind=terminate``):
    "Chấm dứt (terminate)"; a value :data:`CHOICES` does not name, as it is."""
    return Msg("{choice} ({code})", choice=word(CHOICES, code), code=code) if code in CHOICES else code


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
