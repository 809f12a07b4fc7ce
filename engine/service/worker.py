"""The worker: sweeps of due deadlines and the mail dispatcher (``tick``, ``serve``), and the outbox commands.

The deadlines table is the truth; this module only decides *when* to look
(engine.procedures.sweep decides what is due, notifications.outbox how a
message is claimed and recorded).  Each deadline is handled in its own
transaction, so one failure does not stop the others, and each message is
claimed, sent and recorded in transactions of its own, so a crash loses
nothing (see the docstrings of those modules).
"""

from __future__ import annotations

import logging
import os
import signal
import smtplib
import socket
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import authority, clock, db, tokens
from agreeflow.engine.core.errors import AgreeflowError, OptionValueError
from agreeflow.engine.core.i18n import N_, Msg, t
from agreeflow.engine.core.kinds import OutboxStatus, Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Node, OutboxMessage
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.legaltime.deadlines import calendar_for
from agreeflow.engine.procedures import sweep as sweeping
from agreeflow.engine.reports import checkpoint
from agreeflow.engine.service import audit, base, delivered, words
from agreeflow.engine.service.base import now, reading, writing
from agreeflow.notifications import compose, outbox
from agreeflow.notifications.interleave import GATE_TURN, Gate, Signal, Task, interleave
from agreeflow.notifications.mailer import GateClosed, Transport, TransportError, TransportSession, build_bytes
from agreeflow.notifications.render import RenderedMessage, register_file

log = logging.getLogger("agreeflow.sweep")
COUNTS = ("due", "queued", "reminders", "escalations", "missed", "skipped", "messages", "digests", "late", "errors",
          "checkpoints")


def tick(settings: Settings, node: str | None = None, dispatch: bool = True,
         stop: threading.Event | None = None) -> dict[str, Any]:
    """One sweep at now and (unless ``dispatch`` is False) one dispatch; returns counts.

    Started only by somebody who may write (engine.service.base.worker): an auditor is refused (exit 3,
    security log) before anything is swept or sent.
    """
    base.allowed(settings, "tick", lambda s: base.worker(s, settings, "tick"))
    transport = mail_transport(settings) if dispatch else None  # a bad mail URL fails before the sweep writes
    check_signing_key(settings)  # and so does a signing key that cannot sign
    register_file()  # and a register file (the mail's wording by relation) an operator broke
    counts = sweep(settings, now(), stop)
    if transport is not None:
        counts.update(dispatch_outbox(settings, node or outbox.default_node_name(), stop=stop, transport=transport))
    return counts


def links(settings: Settings) -> compose.Links | None:
    """The web's address and the signing secret for links in mail; None when no base URL is configured."""
    if not settings.base_url:
        return None
    return compose.Links(settings.base_url, tokens.load_secret(settings.secret_file))


def sweep(settings: Settings, at: datetime, stop: threading.Event | None = None) -> dict[str, Any]:
    """Queue every reminder, escalation and digest due at ``at``; returns counts.

    Every event the sweep writes carries ``at``: one sweep, one instant.  With a base URL configured
    (``AGREEFLOW_BASE_URL``) the mails link to the web, and a consulted body's reminder carries its
    personal reply link.
    """
    policies = reminders.load()
    web = links(settings)
    counts: Counter[str] = Counter()
    with reading(settings) as s:
        cal = calendar_for(s)
        ids = sweeping.due_ids(s, at)
    seen: set[int] = set()
    while ids:  # then what the sweep itself made due: periods it opened already over (a recurring catch-up)
        seen.update(ids)
        for deadline_id in ids:
            if stop is not None and stop.is_set():
                break
            try:
                with writing(settings) as s:
                    counts.update(sweeping.handle(s, deadline_id, at, cal, policies, web))
            except Exception:  # isolate: one broken deadline must not stop the reminders of all others
                log.exception("%s", t("deadline {id}: the sweep failed; it stays due for the next sweep",
                                      settings.lang, id=deadline_id))
                counts["errors"] += 1
        if stop is not None and stop.is_set():
            break
        with reading(settings) as s:
            ids = [i for i in sweeping.due_ids(s, at) if i not in seen]
    counts["due"] = len(seen)
    if stop is None or not stop.is_set():
        counts.update(_digests(settings, at, cal, policies, web))
    counts.update(fold_held(settings, at, policies))
    counts.update(_checkpoint(settings, at))
    return {k: counts.get(k, 0) for k in COUNTS}


def fold_held(settings: Settings, at: datetime, policies: reminders.Policies | None = None) -> Counter[str]:
    """Fold every recipient's held rungs into one message each (one transaction per recipient).

    Runs at the end of each sweep, so a recipient gets one mail per sweep; rungs a crashed sweep left
    held are folded by the next one, on whichever node.
    """
    policies = policies or reminders.load()
    counts: Counter[str] = Counter()
    with reading(settings) as s:
        recipients = compose.held_recipients(s)
    for recipient in recipients:
        try:
            with writing(settings) as s:
                if compose.bundle(s, recipient, at, policies) is not None:
                    counts["messages"] += 1
        except Exception:  # isolate: one recipient's mail must not stop everybody else's
            log.exception("%s", t("mail for {who} not made; its rungs stay held for the next sweep", settings.lang,
                                  who=recipient))
            counts["errors"] += 1
    return counts


def mail_transport(settings: Settings) -> Transport:
    """The mail URL's transport, checked against the claim's lease (OptionValueError, exit 2).

    The server's answer to the end of a message is awaited up to the URL's ``timeout``; the gate stops ending
    messages when half the lease margin is left of a claim (``_Gate``). A longer ``timeout`` could let that
    answer come after the claim ran out, when another node may have sent the same message.
    """
    transport = outbox.transport_for(settings)
    timeout, allowed = transport.timeout, lease_margin(reminders.load().mail) / 2
    if timeout is not None and timedelta(seconds=timeout) >= allowed:
        raise OptionValueError(option="AGREEFLOW_SMTP", value=f"timeout={timeout:g}", remedy=Msg(N_(
            "The server's answer must come well within a mail claim: give a timeout under {seconds} seconds, or a "
            "longer mail.lease_seconds in the reminder policy file."), seconds=f"{allowed.total_seconds():g}"))
    return transport


def check_signing_key(settings: Settings) -> None:
    """Raise InputFileError (exit 2) when ``AGREEFLOW_SIGNING_KEY`` names no usable key (before a sweep writes)."""
    if settings.signing_key is not None:
        checkpoint.load_private_key(settings.signing_key)


def _checkpoint(settings: Settings, at: datetime) -> Counter[str]:
    """The sweep's checkpoint (engine.service.audit.sweep_checkpoint); a failure is logged, never raised.

    The sweep's work is committed by then; a checkpoint that cannot be written
    must not stop the mail that follows.
    """
    counts: Counter[str] = Counter()
    try:
        done = audit.sweep_checkpoint(settings, at)
    except (AgreeflowError, OSError) as err:  # a folder that cannot be written: said in one line, no traceback
        log.error("checkpoint not written (folder %s): %s", settings.checkpoints_dir,
                  err.render("en") if isinstance(err, AgreeflowError) else err)
        counts["errors"] += 1
        return counts
    except Exception:
        log.exception("%s", t("checkpoint not written (folder {folder})", settings.lang,
                              folder=settings.checkpoints_dir))
        counts["errors"] += 1
        return counts
    if done is not None and "file" in done:
        counts["checkpoints"] += 1
    elif done is not None:
        counts["errors"] += 1
    return counts


def _digests(settings: Settings, at: datetime, cal: Any, policies: reminders.Policies,
             web: compose.Links | None = None) -> Counter[str]:
    """Queue this week's overdue digest for every unit that has not had it yet (one transaction per unit)."""
    counts: Counter[str] = Counter()
    week = sweeping.digest_week(at, cal, policies)
    if week is None:
        return counts
    with reading(settings) as s:
        per_unit = sweeping.digest_items(s, week, cal, policies)
    for unit, items in per_unit.items():
        try:
            with writing(settings) as s:
                counts.update(sweeping.digest(s, unit, items, week, at, cal, policies, web))
        except Exception:
            log.exception("%s", t("digest for {unit} failed; the next sweep tries again", settings.lang, unit=unit))
            counts["errors"] += 1
    return counts


def dispatch_outbox(settings: Settings, node: str, stop: threading.Event | None = None,
                    transport: Transport | None = None) -> dict[str, int]:
    """Send every due message, batch by batch, until none is left or ``stop`` is set.

    A batch is claimed in one transaction, sent over ``mail.connections``
    transport sessions at once (_send_batch), each message marked ``delivered``
    as soon as the server accepts it, and the batch's ``reminder_sent`` events written in one
    transaction at its end (notifications/outbox.py says why that keeps
    exactly-once).  Stops between messages, never in the middle of one; rows
    claimed but not sent are given back.  A server that cannot be reached ends
    the round (the first message takes the back-off, the others wait for the
    next round).
    """
    mail = reminders.load().mail
    transport = transport or outbox.transport_for(settings)
    counts = {"sent": 0, "retried": 0, "failed": 0, "cancelled": 0}
    _log_delivered(settings)  # what a dispatcher killed after delivering left unlogged
    lease = timedelta(seconds=mail.lease_seconds)
    with ExitStack() as held:
        sessions = _Sessions(settings, transport, held)
        while stop is None or not stop.is_set():
            batch, cancelled, at = _claim_now(settings, node, mail.batch, lease,
                                              cancel=counts["sent"] + counts["retried"] + counts["failed"] == 0)
            counts["cancelled"] += cancelled
            if not batch:
                break
            try:
                go_on = _send_batch(settings, node, batch, sessions, mail, counts, stop, at + lease)
            finally:
                _log_delivered(settings)
            if not go_on:
                break
    return counts


class _Sessions:
    """A round's transport sessions, their gate, and the connection of the delivered marks, kept from batch to
    batch: a relay's greeting (and TLS, and login) once per round, not once per batch."""

    def __init__(self, settings: Settings, transport: Transport, held: ExitStack) -> None:
        self.transport, self.held = transport, held
        self.gate = _Gate()
        self.marks = held.enter_context(delivered.DeliveredMarks(db.get_engine(settings.url)))
        """The delivered marks go through one driver connection: a statement and a commit each, no session to
        build per message."""
        self.opened: list[TransportSession] = []

    def first(self, n: int) -> list[TransportSession]:
        """``n`` sessions, opening the ones this round has not opened yet (each closed at the round's end).
        Session ``i`` goes through the gate as ``i`` (``_Pass``)."""
        while len(self.opened) < n:
            gate = _Pass(self.gate, len(self.opened))
            self.opened.append(self.held.enter_context(self.transport.open(gate)))
        return self.opened[:n]


def _send_batch(settings: Settings, node: str, batch: list[outbox.Claimed], sessions: _Sessions,
                mail: reminders.MailSettings, counts: dict[str, int], stop: threading.Event | None,
                lease_ends: datetime) -> bool:
    """Send one claimed batch over ``mail.connections`` SMTP sessions at once; False when the round must end
    (stop, no server, or a message whose delivery is in doubt).

    A claim is ours until ``lease_ends``; after that another node may take its rows and send them too. So a
    session gives back the rows it has not started once less than ``lease_margin`` of the lease is left (a
    slow server, a large batch): the round claims them again with a fresh lease.

    The batch is dealt out in turn to the sessions, all driven by this one thread (notifications/interleave.py):
    while one waits for the server's answer, the others send.  The end of each message's data, the server's
    reply and the message's ``delivered`` mark happen inside one gate the sessions share (TransportSession,
    _Gate), so however many sessions send, at most one message is ever accepted by the server and not yet
    marked: a crash, or a server that stops answering after the end of a message, can send only that one
    twice (docs/mail.md).
    """
    shares = max(1, min(mail.connections, len(batch)))
    run = _Batch(settings, node, mail, counts, stop, lease_ends, sessions.gate)
    sessions.gate.arm(run.halt, lease_ends - lease_margin(mail) / 2)  # the round's gate, for this batch
    tried = counts["sent"] + counts["retried"] + counts["failed"]
    errors = interleave([run.send(session, i, sessions.marks, batch[i::shares])
                         for i, session in enumerate(sessions.first(shares))], run.gate)
    for exc in errors[1:]:  # the first reaches the caller; the others are logged, not lost
        log.error("a mail session failed too", exc_info=exc)
    if errors:
        raise errors[0]  # the session's unsent rows stay claimed until the lease runs out
    if run.ran_out.is_set() and counts["sent"] + counts["retried"] + counts["failed"] == tried:
        # The claim itself took most of its lease (it waited on another writer's row locks, on PostgreSQL):
        # not again now, the next round tries.
        log.warning("%s", t("a mail claim took most of its lease; its {n} messages wait for the next round",
                            settings.lang, n=len(batch)))
        return False
    return not run.halt.is_set()


class _Gate(Gate):
    """TransportSession's gate, closed once the batch must stop.

    Entered: refuses (``GateClosed``) when the batch halted, so no session ends a message after that, and
    once less than half the lease margin is left of the claim (``end_by``): a message started in time may
    still reach the gate late (a wait behind the other sessions' messages, a slow server), and its end must
    not come when another node may already have taken its row.
    Left by an error other than the server's own refusal of the message (no answer to the end of data, a
    broken connection, a mark that could not be written): the message is in doubt, and the batch halts.
    """

    def __init__(self) -> None:
        super().__init__()
        self.halt = Signal()
        self.end_by = datetime.min.replace(tzinfo=UTC)  # closed until ``arm`` opens it for a batch
        """From this instant on no message ends: what is left of the claim might not cover the server's answer
        and the mark, and another node could take the row and send it too."""
        self.holder: int | None = None
        """The session inside (``_Pass``)."""
        self.doubt_of: int | None = None
        """The session whose message was left in doubt (it records the failure; the others give their rows
        back)."""

    def arm(self, halt: Signal, end_by: datetime) -> None:
        """Open the gate for a batch: closed by ``halt`` and at ``end_by`` (the round's sessions keep it)."""
        self.halt, self.end_by, self.doubt_of = halt, end_by, None

    def refuse(self) -> BaseException | None:
        return GateClosed() if self.halt.is_set() or now() >= self.end_by else None

    def left(self, exc: BaseException | None) -> None:
        code = exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else \
            exc.code if isinstance(exc, TransportError) else None
        answered = code is not None and 400 <= code < 600  # the server refused it: not delivered
        if exc is not None and not answered:  # no answer, or one that is not a reply (-1): in doubt
            self.doubt_of = self.holder
            self.halt.set()
        self.holder = None


class _Pass(AbstractContextManager[None]):
    """Session ``session``'s way through the round's gate: the gate knows whose message is inside."""

    def __init__(self, gate: _Gate, session: int) -> None:
        self.gate, self.session = gate, session

    def __enter__(self) -> None:
        self.gate.__enter__()
        self.gate.holder = self.session

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.gate.__exit__(kind, exc, tb)


class _Batch:
    """What the sessions sending one batch share: the counts, the gate, and the halt."""

    def __init__(self, settings: Settings, node: str, mail: reminders.MailSettings, counts: dict[str, int],
                 stop: threading.Event | None, lease_ends: datetime, gate: _Gate) -> None:
        self.settings, self.node, self.mail = settings, node, mail
        self.counts, self.stop = counts, stop
        self.give_back_at = lease_ends - lease_margin(mail)
        """From this instant on, the rows not yet started go back (their claim could run out mid-message)."""
        self.ran_out = Signal()
        """Set when a session gave rows back because the lease was running out."""
        self.halt = Signal()
        """Set when the round must end: stop was asked, the server cannot be reached, or a delivery is in doubt."""
        self.reached = Signal()
        """Set once the first session has tried the batch's first message: the others start then, so a server
        that cannot be reached costs one attempt (the oldest message's back-off), not one per session."""
        self.gate = gate

    def send(self, session: TransportSession, me: int, marks: delivered.DeliveredMarks,
             share: list[outbox.Claimed]) -> Task:
        """Send ``share`` over ``session`` (the round's session ``me``): each message built, sent and marked
        before the next (a task of ``interleave``).

        Session 0's share holds the batch's first message; the other sessions wait until it was tried.
        """
        try:
            if me:
                yield self.reached
            yield from self._send(session, me, marks, share)
        except BaseException:
            self.halt.set()  # the other sessions stop too; the error goes to the caller
            raise
        finally:
            self.reached.set()

    def _send(self, session: TransportSession, me: int, marks: delivered.DeliveredMarks,
              share: list[outbox.Claimed]) -> Task:
        mail, node = self.mail, self.node
        for i, c in enumerate(share):
            if self.stop is not None and self.stop.is_set():
                self.halt.set()
            if self.halt.is_set() or now() >= self.give_back_at:
                if not self.halt.is_set():
                    self.ran_out.set()
                yield from self._give_back(share[i:])
                return

            def accepted(c: outbox.Claimed = c) -> None:
                # The mark that keeps the message from going again: one small statement, at once.
                if marks.mark(c, node, now()):
                    self.counts["sent"] += 1
            try:
                rendered = RenderedMessage(subject=c.subject, text=c.text, html=c.html)
                headers = {"X-Agreeflow-Key": c.idem_key} | ({"X-Agreeflow-Case": c.case_ref} if c.case_ref else {})
                try:
                    out = build_bytes(rendered, mail.sender, c.recipient, c.message_id, headers, now())
                except (ValueError, UnicodeError) as exc:  # a recipient or header no server would take
                    raise TransportError(f"cannot be sent as it is: {exc}", temporary=False) from exc
                yield from session.steps(out, accepted)
            except TransportError as err:
                if self.halt.is_set() and self.gate.doubt_of != me:
                    # Another session found no server, or has a message in doubt: give the rows back.
                    yield from self._give_back(share[i:])
                    return
                if isinstance(err, GateClosed):
                    # Too little of the claim was left to end this message: the server throws away a message
                    # whose end never came; it and the rest go back, untried.
                    self.ran_out.set()
                    yield from self._give_back(share[i:])
                    return
                if err.session and me:
                    # This session was refused (a relay's limit of connections per client, say): its messages
                    # are not at fault; they wait for the next round.
                    yield from self._give_back(share[i:])
                    return
                yield GATE_TURN  # a write may wait for the database: never while a message is inside the gate
                with writing(self.settings) as s:
                    status = outbox.record_failure(s, c, node, err, now(), mail.max_tries)
                if status:
                    self.counts["retried" if status == OutboxStatus.QUEUED else "failed"] += 1
                if err.temporary and err.code is None:
                    self.halt.set()  # no server: the rest of the batch goes back (next turn) for the next round
            if i == 0:
                self.reached.set()

    def _give_back(self, rows: list[outbox.Claimed]) -> Task:
        """Release ``rows`` (a write that may wait for the database: at the gate's turn, never while another
        session's message is inside, whose mark it would delay)."""
        yield GATE_TURN
        release(self.settings, self.node, [x.id for x in rows])


def lease_margin(mail: reminders.MailSettings) -> timedelta:
    """How much of a claim's lease must be left to start one more message: a minute (a message takes a few
    server round trips, each up to the transport's time-out), or half the lease when that is shorter — so the
    first message of a claim starts unless the claim itself took half its lease (``_send_batch``)."""
    return min(timedelta(minutes=1), timedelta(seconds=mail.lease_seconds) / 2)


def _log_delivered(settings: Settings) -> int:
    """Write the reminder_sent events of delivered messages (outbox.log_delivered), in one transaction."""
    with writing(settings) as s:
        return outbox.log_delivered(s, now())


def _claim_now(settings: Settings, node: str, limit: int, lease: timedelta, cancel: bool,
               at: datetime | None = None) -> tuple[list[outbox.Claimed], int, datetime]:
    """``claim`` at ``at``, or by default at the instant the transaction holds the database: on SQLite its
    BEGIN IMMEDIATE waits for any other writer first, so a claim that waited still gets its whole lease.
    Returns the instant too."""
    with writing(settings) as s:
        s.connection()  # begins the transaction: BEGIN IMMEDIATE on SQLite, which waits for the write lock
        at = at or clock.now()  # not now(), the transaction's recording time, read before that wait
        batch, cancelled = outbox.claim(s, node, at, limit, lease, cancel)
    return batch, cancelled, at


def claim(settings: Settings, node: str, at: datetime, limit: int, lease: timedelta, cancel: bool = True
          ) -> tuple[list[outbox.Claimed], int]:
    """Claim up to ``limit`` due messages for ``node`` at ``at`` and commit the claim (before any is sent);
    ``cancel``: first cancel the messages whose deadlines closed (outbox.claim)."""
    batch, cancelled, _ = _claim_now(settings, node, limit, lease, cancel, at)
    return batch, cancelled


def release(settings: Settings, node: str, ids: list[int] | None = None) -> int:
    """Give back rows ``node`` claimed but did not send (all of them when ``ids`` is None)."""
    with writing(settings) as s:
        return outbox.release(s, node, ids)


def default_node_name() -> str:
    """``host:pid`` — this process's name in ``nodes`` and on the mail it claims."""
    return outbox.default_node_name()


# ------------------------------------------------------------------ outbox commands
def outbox_list(settings: Settings, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest outbox messages (a logged read)."""
    with base.reading_for(settings, "outbox list", status=status) as s:
        return outbox.list_messages(s, status, limit)


def outbox_retry(settings: Settings, message_id: int) -> dict[str, Any]:
    """Queue a failed or cancelled message again (coordinator or admin; a refusal goes to the security log)."""
    def work(s: Session) -> dict[str, Any]:
        who = base.writer(s, settings, action="outbox retry")
        authority.require_any(who, (Role.COORDINATOR, Role.ADMIN), "outbox retry", "outbox")
        return outbox.retry(s, message_id, now())
    return base.refused(settings, "outbox retry", work)


# ------------------------------------------------------------------ serve: APScheduler wakes sweep and dispatcher
serve_log = logging.getLogger("agreeflow.serve")
HEARTBEAT_S = 15
ALIVE_S = 60
"""A node not seen for this long is not alive (``agreeflow nodes``)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register(settings: Settings, name: str) -> None:
    """Enter ``name`` in ``nodes``; refuse a name a live process elsewhere is using."""
    at, host, pid = now(), socket.gethostname(), os.getpid()
    with writing(settings) as s:
        row = s.get(Node, name)
        if row is not None and row.pid != pid and row.last_seen >= at - timedelta(seconds=ALIVE_S):
            if row.host != host or _pid_alive(row.pid):
                raise OptionValueError(option="--node-name", value=name,
                                       remedy=Msg(N_("Process {pid} on {host} is using this name; choose another."),
                                                  pid=row.pid, host=row.host))
        row = row or Node(name=name, started_at=at, last_seen=at)
        row.started_at, row.last_seen, row.pid, row.host = at, at, pid, host
        s.add(row)


def heartbeat(settings: Settings, name: str) -> None:
    """This node is alive now."""
    with writing(settings) as s:
        s.execute(sa.update(Node).where(col(Node.name) == name).values(last_seen=now())
                  .execution_options(synchronize_session=False))


def unregister(settings: Settings, name: str) -> None:
    """This node leaves ``nodes``."""
    with writing(settings) as s:
        s.execute(sa.delete(Node).where(col(Node.name) == name).execution_options(synchronize_session=False))


def nodes(settings: Settings) -> list[dict[str, Any]]:
    """Alive nodes and how many messages each sent in the last hour."""
    at = now()
    with reading(settings) as s:
        rows = s.exec(select(Node).where(col(Node.last_seen) >= at - timedelta(seconds=ALIVE_S))
                      .order_by(col(Node.name))).all()
        sent = dict(s.exec(select(OutboxMessage.claimed_by, sa.func.count()).where(
            col(OutboxMessage.status) == OutboxStatus.SENT, col(OutboxMessage.sent_at) >= at - timedelta(hours=1))
            .group_by(col(OutboxMessage.claimed_by))).all())
    return [{"name": n.name, "host": n.host, "pid": n.pid, "started_at": clock.fmt_local(n.started_at),
             "last_seen": clock.fmt_local(n.last_seen), "sent_last_hour": int(sent.get(n.name, 0))} for n in rows]


class _Once:
    """Run ``fn`` unless it is already running (the timer job and an explicit wake-up share it)."""

    def __init__(self, fn: Callable[[], Any], lang: str = "vi") -> None:
        self.fn, self.lock, self.lang = fn, threading.Lock(), lang

    def __call__(self) -> None:
        if not self.lock.acquire(blocking=False):
            return
        try:
            self.fn()
        except Exception:  # a failing round must not kill the scheduler; the next round retries
            serve_log.exception("%s", t("a scheduled round failed", self.lang))
        finally:
            self.lock.release()


def serve(settings: Settings, node_name: str | None = None, interval: float = 60.0,
          dispatch_interval: float = 10.0, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run until SIGTERM/SIGINT (or ``stop``); returns what the node did."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    if interval <= 0 or dispatch_interval <= 0:
        raise ValueError("intervals are seconds above 0")  # the CLI's FloatRange says it to users
    name = node_name or outbox.default_node_name()
    stop = stop or threading.Event()
    # Signals first: a SIGTERM that arrives while the node registers must stop it cleanly, not kill it.
    previous = _on_signals(stop)
    try:
        base.allowed(settings, "serve", lambda s: base.worker(s, settings, "serve"))  # once, at the start
        transport = mail_transport(settings)
        check_signing_key(settings)
        register_file()
        register(settings, name)
    except BaseException:
        _restore(previous)
        raise
    reclaimed = release(settings, name)  # our own rows left 'sending' by a killed predecessor
    totals: dict[str, int] = {"reclaimed": reclaimed}
    lock = threading.Lock()

    def add(counts: dict[str, Any]) -> None:
        with lock:
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + int(v)

    def do_dispatch() -> None:
        counts = dispatch_outbox(settings, name, stop=stop, transport=transport)
        if any(counts.values()):
            serve_log.info("%s", t("dispatch: {counts}", settings.lang, counts=_counts(counts, settings.lang)))
        add(counts)

    def do_sweep() -> None:
        counts = sweep(settings, now(), stop)
        if counts.get("queued") or counts.get("errors"):
            serve_log.info("%s", t("sweep: {counts}", settings.lang, counts=_counts(counts, settings.lang)))
        add(counts)
        if counts.get("queued") and not stop.is_set():
            scheduler.add_job(dispatch_now, id="dispatch-now", replace_existing=True)  # run it now

    sweep_job, dispatch_now = _Once(do_sweep, settings.lang), _Once(do_dispatch, settings.lang)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(4)}, timezone="UTC",
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
    scheduler.add_job(sweep_job, "interval", seconds=interval, id="sweep")
    scheduler.add_job(dispatch_now, "interval", seconds=dispatch_interval, id="dispatch")
    scheduler.add_job(_Once(lambda: heartbeat(settings, name), settings.lang), "interval", seconds=HEARTBEAT_S,
                      id="heartbeat")
    scheduler.add_job(sweep_job, id="sweep-at-start")  # no trigger: now — catch up on what fell due meanwhile
    serve_log.info("%s", t("node {name}: a sweep every {interval} s, the outbox every {dispatch} s ({n} message(s) "
                           "taken back from stopped nodes)", settings.lang, name=name, interval=interval,
                           dispatch=dispatch_interval, n=reclaimed))
    if not stop.is_set():
        scheduler.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        release(settings, name)
        unregister(settings, name)
        _restore(previous)
    serve_log.info("%s", t("node {name} stopped: {counts}", settings.lang, name=name,
                           counts=_counts(totals, settings.lang)))
    return {"node": name, **totals}


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGTERM/SIGINT set ``stop`` (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _counts(counts: dict[str, Any], lang: str) -> str:
    """``{"sent": 2, "failed": 0}`` in words, as tick prints them ("đã gửi: 2, gửi lỗi: 0")."""
    return ", ".join(f"{words.word(words.COUNTS, k, lang)}: {v}" for k, v in counts.items())
