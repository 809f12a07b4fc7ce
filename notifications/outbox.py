"""The dispatcher: claim outbox rows, send each through the transport, record the result.

Statuses of a message: ``queued`` → ``sending`` → ``delivered`` → ``sent``,
or back to ``queued`` with a later ``next_try_at`` after a temporary failure
(``backoff_delay``), or ``failed`` after a permanent refusal or ``max_tries``
attempts (policy file; ``agreeflow outbox retry ID`` queues it again).
``cancelled``: the deadline was closed before its mail left
(``deadlines.mail_moot``: a recurring period that ended without its report
keeps its "overdue" mail; a bundle is cancelled when all its deadlines are).
Rows of one rung for one recipient are ``held`` until the sweep folds them
into that recipient's message (``bundled``, with ``bundle_id``), or
``skipped`` (never sent: stale after downtime, or overtaken by a later rung).

Every function works in the caller's session; engine.service.worker runs
the dispatcher's loop and opens one transaction per step.

Crash safety.  A claim (``queued`` and due, or ``sending`` with an expired
lease) is committed in its own transaction *before* SMTP is spoken — with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under SQLite's ``BEGIN IMMEDIATE``
write lock otherwise.  Each message the server accepted is marked
``delivered`` at once, by one small UPDATE (``DELIVERED``); the batch's
``reminder_sent`` events are then written, and the rows made ``sent``, in one
transaction (``log_delivered``) — the expensive part (chain hashes, case
locks) is batched, the mark that prevents a second sending is not.  A
process killed in between leaves its rows ``sending`` or ``delivered``:
another node takes ``sending`` rows when the lease runs out (a node
restarted under the same ``--node-name`` takes its own back at once), and
any dispatcher logs ``delivered`` rows.  Only the message that was on the
wire can go twice, and it carries the same Message-ID (derived from the
idempotency key), so mail clients show it once.  Each sent message is
logged as ``reminder_sent`` in its case's chain — a bundle in the chain of
each case it speaks of (digests have no case and are not).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, clock
from agreeflow.engine.core.errors import OptionValueError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import EventKind, OutboxStatus
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Deadline, OutboxBody, OutboxMessage
from agreeflow.engine.core.vocabulary import CANCELLED_NOTE, NO_BODY_NOTE, OUTBOX_STATUS, word
from agreeflow.engine.legaltime import deadlines
from agreeflow.notifications.mailer import MailUrlError, Transport, TransportError, backoff_delay, transport_from_url

log = logging.getLogger("agreeflow.outbox")
STATUSES = tuple(OutboxStatus)
SENDER_ACTOR = "agreeflow"


def default_node_name() -> str:
    """``host:pid`` — unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def transport_for(settings: Settings) -> Transport:
    """SMTP from ``AGREEFLOW_SMTP`` or the ``.eml`` sink in ``<data dir>/mail``; a bad URL is exit 2."""
    try:
        return transport_from_url(settings.smtp_url, settings.data_dir)
    except MailUrlError as exc:
        raise OptionValueError(option="AGREEFLOW_SMTP", value="…", remedy=str(exc)) from None


@dataclass(frozen=True)
class Claimed:
    """What the dispatcher needs of one claimed row, detached from the session."""

    id: int
    idem_key: str
    case_id: int | None
    case_ref: str | None
    rung: str
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    tries: int
    late_by_s: int | None


def _busy(now: datetime) -> Any:
    return sa.or_(sa.and_(col(OutboxMessage.status) == OutboxStatus.QUEUED, col(OutboxMessage.next_try_at) <= now),
                  sa.and_(col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.lease_until) < now))


def claim(s: Session, node: str, now: datetime, limit: int, lease: timedelta, cancel: bool = True
          ) -> tuple[list[Claimed], int]:
    """Mark up to ``limit`` due rows ``sending`` for ``node``; returns them and how many were cancelled.

    ``cancel``: first cancel the due messages whose deadlines closed (``cancelled``).  Those two UPDATEs look
    at every due message, so a dispatch round makes them at its first claim only (a deadline closed during
    the round's few seconds is no different from one closed just after its claim).
    The caller commits at once, before a word is spoken to the mail server.
    """
    cancelled = 0
    if cancel:
        closed = select(Deadline.id).where(deadlines.mail_moot())
        cancelled = s.exec(sa.update(OutboxMessage)
                           .where(_busy(now), col(OutboxMessage.deadline_id).in_(closed))
                           .values(status=OutboxStatus.CANCELLED, lease_until=None, last_error=CANCELLED_NOTE)
                           .execution_options(synchronize_session=False)).rowcount or 0
        cancelled += _cancel_moot_bundles(s, now)
    # The columns the sending needs, and one UPDATE for the whole batch: no ORM object per row.
    # Through the connection: rows and UPDATEs of columns, nothing for the ORM to load or track.
    run = s.connection().execute
    rows = run(select(OutboxMessage.id, OutboxMessage.idem_key, OutboxMessage.case_id,  # type: ignore[call-overload]
                      OutboxMessage.rung, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.message_id,
                      OutboxMessage.tries, OutboxMessage.late_by_s)
               .where(_busy(now))
               .order_by(col(OutboxMessage.next_try_at), col(OutboxMessage.id))
               .limit(limit).with_for_update(skip_locked=True)).all()
    if not rows:
        return [], int(cancelled or 0)
    # The bodies live apart (OutboxBody: the updates of a row without them cost a third).
    bodies = {row_id: (text, html) for row_id, text, html in run(
        select(OutboxBody.id, OutboxBody.body_text, OutboxBody.body_html)
        .where(col(OutboxBody.id).in_([r[0] for r in rows]))).all()}
    if bodyless := [r[0] for r in rows if r[0] not in bodies]:
        # A message with no body (a bug, not a state) fails, visibly, rather than reach an official blank.
        log.error("outbox messages %s have no body: marked failed, not sent", bodyless)
        run(sa.update(OutboxMessage).where(col(OutboxMessage.id).in_(bodyless))
            .values(status=OutboxStatus.FAILED, lease_until=None, last_error=NO_BODY_NOTE))
        rows = [r for r in rows if r[0] in bodies]
    run(sa.update(OutboxMessage).where(col(OutboxMessage.id).in_([r[0] for r in rows]))
        .values(status=OutboxStatus.SENDING, lease_until=now + lease, claimed_by=node))
    refs: dict[int, str] = dict(run(select(Case.id, Case.ref).where(
        col(Case.id).in_({r[2] for r in rows if r[2]}))).all())
    out = [Claimed(row_id, key, case_id, refs.get(case_id), rung, recipient, subject, *bodies[row_id],
                   message_id, tries, late_by_s)
           for row_id, key, case_id, rung, recipient, subject, message_id, tries, late_by_s in rows]
    return out, int(cancelled or 0)


def _cancel_moot_bundles(s: Session, now: datetime) -> int:
    """Cancel due bundles of several deadlines each of which has closed (a single-deadline one carries its
    ``deadline_id`` and is cancelled above)."""
    rung = sa.orm.aliased(OutboxMessage)
    live = (select(rung.id).join(Deadline, col(Deadline.id) == rung.deadline_id)
            .where(rung.bundle_id == OutboxMessage.id, sa.not_(deadlines.mail_moot())))
    some = select(rung.id).where(rung.bundle_id == OutboxMessage.id, col(rung.deadline_id).is_not(None))
    result = s.exec(sa.update(OutboxMessage)
                    .where(_busy(now), col(OutboxMessage.kind) == "bundle", col(OutboxMessage.deadline_id).is_(None),
                           some.exists(), sa.not_(live.exists()))
                    .values(status=OutboxStatus.CANCELLED, lease_until=None, last_error=CANCELLED_NOTE)
                    .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


DELIVERED = (sa.update(OutboxMessage)
              .where(col(OutboxMessage.id) == sa.bindparam("row_id"),
                     col(OutboxMessage.status) == OutboxStatus.SENDING,
                     col(OutboxMessage.claimed_by) == sa.bindparam("node"))
              .values(status=OutboxStatus.DELIVERED, sent_at=sa.bindparam("at"), lease_until=None,
                      tries=sa.bindparam("tries")))
"""The mark that a server accepted message ``row_id`` (``engine.service.delivered`` commits one per message):
only while the row is still ``node``'s claim."""


def log_delivered(s: Session, now: datetime, limit: int = 1000) -> int:
    """Write the ``reminder_sent`` events of delivered messages and mark them ``sent``; returns how many.

    One transaction for many messages: the cases are locked in id order (as every multi-case
    transaction does), and rows another node is logging are skipped.
    """
    # Only the columns the events need: the bodies (kilobytes each) stay in the database.
    run = s.connection().execute  # rows and UPDATEs of columns: nothing for the ORM to load or track
    rows = [_Delivered(*r) for r in run(
        select(OutboxMessage.id, OutboxMessage.idem_key, OutboxMessage.case_id, OutboxMessage.rung,  # type: ignore[call-overload, misc]
               OutboxMessage.recipient, OutboxMessage.message_id, OutboxMessage.tries, OutboxMessage.claimed_by,
               OutboxMessage.late_by_s, OutboxMessage.sent_at)
        .where(OutboxMessage.status == OutboxStatus.DELIVERED)
        .order_by(col(OutboxMessage.id)).limit(limit).with_for_update(skip_locked=True)).all()]
    if not rows:
        return 0
    from agreeflow.notifications.compose import rung_cases

    bundles = rung_cases(s, [r.id for r in rows if r.idem_key.startswith("m") and r.id is not None])
    per_case: dict[int, list[tuple[_Delivered, str, str]]] = {}
    for r in rows:
        if r.id in bundles:
            for case_id, rung, key in bundles[r.id]:
                per_case.setdefault(case_id, []).append((r, rung, key))
        elif r.case_id is not None:
            per_case.setdefault(r.case_id, []).append((r, r.rung, r.idem_key))
    ids = sorted(per_case)
    locked = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))
                                      .with_for_update()).all()}
    # Every message its own event, in its case's chain; the heads read in one query, the events written
    # in one INSERT (audit.append_events).
    audit.append_events(s, ((locked[case_id], _payload(r, rung, key)) for case_id in ids
                            for r, rung, key in per_case[case_id]),
                        EventKind.REMINDER_SENT, at=now, actor=SENDER_ACTOR, role="system")
    run(sa.update(OutboxMessage).where(col(OutboxMessage.id).in_([r.id for r in rows]))
        .values(status=OutboxStatus.SENT))
    return len(rows)


@dataclass(frozen=True)
class _Delivered:
    id: int
    idem_key: str
    case_id: int | None
    rung: str
    recipient: str
    message_id: str
    tries: int
    claimed_by: str | None
    late_by_s: int | None
    sent_at: datetime | None


def _payload(r: _Delivered, rung: str, key: str) -> dict[str, Any]:
    """The ``reminder_sent`` payload of message ``r`` in the chain of the case it speaks of as ``key``."""
    payload = {"idem_key": key, "rung": rung, "recipient": r.recipient, "message_id": r.message_id,
               "attempt": r.tries, "node": r.claimed_by, "late_by_s": r.late_by_s,
               "delivered_at": audit.fmt_at(r.sent_at) if r.sent_at else None}
    if key != r.idem_key:
        payload["message"] = r.idem_key
    return payload


def record_failure(s: Session, c: Claimed, node: str, err: TransportError, now: datetime, max_tries: int) -> str:
    """Schedule a retry after ``backoff_delay`` or give up; the new status ("" when the claim was lost)."""
    tries = c.tries + 1
    status = OutboxStatus.FAILED if not err.temporary or tries >= max_tries else OutboxStatus.QUEUED
    retry_at = now + backoff_delay(tries) if status == OutboxStatus.QUEUED else None
    changed = s.exec(sa.update(OutboxMessage)
                     .where(col(OutboxMessage.id) == c.id, col(OutboxMessage.status) == OutboxStatus.SENDING,
                            col(OutboxMessage.claimed_by) == node)
                     .values(status=status, tries=tries, next_try_at=retry_at, lease_until=None,
                             last_error=str(err)[:2000]).execution_options(synchronize_session=False))
    if int(changed.rowcount) != 1:
        return ""  # another node took the row over after our lease ran out: its outcome stands
    if status == OutboxStatus.QUEUED:
        log.warning("outbox %s to %s: attempt %d failed (%s); retry at %s", c.id, c.recipient, tries, err,
                    clock.fmt_local(retry_at))
    else:
        log.error("outbox %s to %s: failed after %d attempt(s): %s", c.id, c.recipient, tries, err)
    return status


def release(s: Session, node: str, ids: list[int] | None = None) -> int:
    """Give back rows ``node`` claimed but did not send (all of them when ``ids`` is None)."""
    stmt = sa.update(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.SENDING,
                                          col(OutboxMessage.claimed_by) == node)
    if ids is not None:
        stmt = stmt.where(col(OutboxMessage.id).in_(ids))
    return int(s.exec(stmt.values(status=OutboxStatus.QUEUED, lease_until=None, claimed_by=None)
                      .execution_options(synchronize_session=False)).rowcount)


# ------------------------------------------------------------------ reading and retrying
def list_messages(s: Session, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest outbox rows (``agreeflow outbox list``)."""
    stmt = select(OutboxMessage, Case.ref).join(Case, col(Case.id) == col(OutboxMessage.case_id), isouter=True)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    rows = s.exec(stmt.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
    return [_view(m, ref) for m, ref in rows]


def _view(m: OutboxMessage, ref: str | None) -> dict[str, Any]:
    return {"id": m.id, "status": m.status, "case": ref, "rung": m.rung, "recipient": m.recipient,
            "unit": m.unit, "lang": m.lang, "subject": m.subject, "tries": m.tries,
            "next_try_at": clock.fmt_local(m.next_try_at) or None, "sent_at": clock.fmt_local(m.sent_at) or None,
            "late_by_s": m.late_by_s, "claimed_by": m.claimed_by, "last_error": m.last_error,
            "message_id": m.message_id, "idem_key": m.idem_key}


def retry(s: Session, message_id: int, now: datetime) -> dict[str, Any]:
    """Queue a ``failed`` or ``cancelled`` message again (the caller checks who may)."""
    m = s.get(OutboxMessage, message_id)
    if m is None or m.status not in (OutboxStatus.FAILED, OutboxStatus.CANCELLED):
        raise OptionValueError(option="ID", value=Msg(N_("{id} ({status})"), id=message_id,
                                                      status=Msg(N_("none")) if m is None
                                                      else word(OUTBOX_STATUS, m.status)),
                               remedy=Msg(N_("Only failed or cancelled messages can be retried; see: agreeflow "
                                             "outbox list")))
    m.status, m.tries, m.next_try_at, m.lease_until = OutboxStatus.QUEUED, 0, now, None
    s.add(m)
    s.flush()
    case = s.get(Case, m.case_id) if m.case_id else None
    return _view(m, case.ref if case else None)
