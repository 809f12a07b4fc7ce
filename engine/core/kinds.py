"""The closed vocabularies of the engine: event kinds and statuses, as string enums.

They are ``str`` subclasses, so a stored ``'deadline_set'`` equals
``EventKind.DEADLINE_SET``, JSON writes them as their text and the hash chain's
canonical form is unchanged.  A kind or status that is not listed here cannot
be written (mypy sees the parameter type; a typo fails at import).
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What one event of the log records."""

    OPENED = "opened"
    TRANSITION = "transition"
    FIELD_CHANGED = "field_changed"
    ATTACHED = "attached"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    DEADLINE_SET = "deadline_set"
    DEADLINE_MET = "deadline_met"
    DEADLINE_MISSED = "deadline_missed"
    DEADLINE_CANCELLED = "deadline_cancelled"
    DEADLINE_CLOSED = "deadline_closed"      # ended without a judgement of time: no reply, deemed agreed
    DEADLINE_MOVED = "deadline_moved"
    REMINDER_QUEUED = "reminder_queued"
    REMINDER_SKIPPED = "reminder_skipped"    # a rung never sent: stale after downtime, or overtaken by a later one
    ESCALATED = "escalated"
    REMINDER_SENT = "reminder_sent"
    CALENDAR_CHANGED = "calendar_changed"
    DIRECTORY_LOADED = "directory_loaded"
    CHILD_OPENED = "child_opened"
    REPLY_RECORDED = "reply_recorded"
    DEEMED_AGREED = "deemed_agreed"
    FLAGGED = "flagged"
    OCCURRENCE_OPENED = "occurrence_opened"
    FOLLOW_UP_OPENED = "follow_up_opened"
    ROUND_CHECKED = "round_checked"
    EFFECT_FAILED = "effect_failed"        # an effect on a linked case could not run; logged on its cause
    UNIT_TRANSFERRED = "unit_transferred"  # a retired unit's open work passed to its successor (directory transfer)


class DeadlineStatus(StrEnum):
    """Where a deadline row stands."""

    PENDING = "pending"      # waits for an event (no date yet)
    OPEN = "open"            # running; reminders and escalation follow its ladder
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"  # its case ended or its step was abandoned / superseded
    NO_REPLY = "no_reply"    # a consulted body never answered (statutory silence is not consent)
    DEEMED_AGREED = "deemed_agreed"  # no answer, and the request letter said silence means agreement


OPEN_DEADLINE = (DeadlineStatus.OPEN, DeadlineStatus.PENDING)
"""Statuses of a deadline that is not closed yet."""


class OutboxStatus(StrEnum):
    """Where one message of the outbox stands."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its deadline closed before it left
    HELD = "held"            # one rung for one recipient, waiting to be folded into that recipient's mail
    BUNDLED = "bundled"      # a held rung folded into the message ``bundle_id`` (which is what is sent)
    SKIPPED = "skipped"      # a rung never sent: stale after downtime, or overtaken by a later rung
    DELIVERED = "delivered"  # handed to the mail server; its reminder_sent event is not written yet


class Role(StrEnum):
    """Roles a person holds in the directory."""

    COORDINATOR = "coordinator"
    OFFICER = "officer"
    APPROVER = "approver"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Position(StrEnum):
    """A person's position in a unit (directory ``positions``): who may decide, not only what role they hold."""

    CHAIRMAN = "chairman"                  # Chủ tịch
    VICE_CHAIRMAN = "vice_chairman"        # Phó Chủ tịch
    DIRECTOR = "director"                  # Giám đốc (Sở), Thủ trưởng
    DEPUTY_DIRECTOR = "deputy_director"    # Phó Giám đốc
    HEAD = "head"                          # Trưởng phòng / Chánh Văn phòng
    DEPUTY_HEAD = "deputy_head"            # Phó Trưởng phòng
    OFFICER = "officer"                    # Chuyên viên


SYSTEM_ACTOR = "system"
"""The engine itself as an actor (fan-in, silence rules, sweeps): never a directory person."""
