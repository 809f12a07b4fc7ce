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
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
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
from agreeflow.engine.service import audit, base, words
from agreeflow.engine.service.base import now, reading, writing
from agreeflow.notifications import compose, outbox
from agreeflow.notifications.mailer import Transport, TransportError, build_bytes
from agreeflow.notifications.render import RenderedMessage

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
    transport = outbox.transport_for(settings) if dispatch else None  # a bad mail URL fails before the sweep writes
    check_signing_key(settings)  # and so does a signing key that cannot sign
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
    counts["due"] = len(ids)
    for deadline_id in ids:
        if stop is not None and stop.is_set():
            break
        try:
            with writing(settings) as s:
                counts.update(sweeping.handle(s, deadline_id, at, cal, policies, web))
        except Exception:  # isolate: one broken deadline must not stop the reminders of all others
            log.exception("%s", t("deadline {id}: the sweep failed; it stays due for the next sweep", settings.lang,
                                  id=deadline_id))
            counts["errors"] += 1
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

    A batch is claimed in one transaction, sent over one transport session
    (one SMTP connection), each message marked ``delivered`` as soon as the
    server accepts it, and the batch's ``reminder_sent`` events written in one
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
    while stop is None or not stop.is_set():
        batch, cancelled = claim(settings, node, now(), mail.batch, timedelta(seconds=mail.lease_seconds))
        counts["cancelled"] += cancelled
        if not batch:
            break
        try:
            go_on = _send_batch(settings, node, batch, transport, mail, counts, stop)
        finally:
            _log_delivered(settings)
        if not go_on:
            break
    return counts


def _send_batch(settings: Settings, node: str, batch: list[outbox.Claimed], transport: Transport,
                mail: reminders.MailSettings, counts: dict[str, int], stop: threading.Event | None) -> bool:
    """Send one claimed batch over one session; False when the round must end (stop, or no server)."""
    # The delivered marks go through one plain connection held for the batch: a statement and a commit
    # each, no session to build per message.
    with transport.open() as session, db.get_engine(settings.url).connect() as conn:
        for i, c in enumerate(batch):
            if stop is not None and stop.is_set():
                release(settings, node, [x.id for x in batch[i:]])
                return False
            rendered = RenderedMessage(subject=c.subject, text=c.text, html=c.html)
            headers = {"X-Agreeflow-Key": c.idem_key} | ({"X-Agreeflow-Case": c.case_ref} if c.case_ref else {})
            try:
                session.send(build_bytes(rendered, mail.sender, c.recipient, c.message_id, headers, now()))
            except TransportError as err:
                with writing(settings) as s:
                    status = outbox.record_failure(s, c, node, err, now(), mail.max_tries)
                if status:
                    counts["retried" if status == OutboxStatus.QUEUED else "failed"] += 1
                if err.temporary and err.code is None:
                    release(settings, node, [x.id for x in batch[i + 1:]])
                    return False
                continue
            # The mark that keeps the message from going again: one small statement, at once.
            with conn.begin():
                if outbox.mark_delivered(conn, c, node, now()):
                    counts["sent"] += 1
    return True


def _log_delivered(settings: Settings) -> int:
    """Write the reminder_sent events of delivered messages (outbox.log_delivered), in one transaction."""
    with writing(settings) as s:
        return outbox.log_delivered(s, now())


def claim(settings: Settings, node: str, at: datetime, limit: int, lease: timedelta
          ) -> tuple[list[outbox.Claimed], int]:
    """Claim up to ``limit`` due messages for ``node`` and commit the claim (before any is sent)."""
    with writing(settings) as s:
        return outbox.claim(s, node, at, limit, lease)


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
            col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) >= at - timedelta(hours=1))
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
        transport = outbox.transport_for(settings)
        check_signing_key(settings)
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
