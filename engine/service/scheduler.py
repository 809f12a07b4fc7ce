"""``agreeflow serve``: wake the sweep and the dispatcher on a timer; register the node.

APScheduler only wakes the process — no job per deadline, nothing to lose on
a restart: what is due is in the deadlines and outbox tables.  Three jobs on
a BackgroundScheduler: ``sweep`` (every ``interval`` s; it then wakes the
dispatcher), ``dispatch`` (every ``dispatch_interval`` s) and ``heartbeat``.
Misfire policy, explicit: ``misfire_grace_time=None`` (a late wake-up still
runs), ``coalesce=True`` (many missed wake-ups run once), ``max_instances=1``
(a long dispatch is never doubled).  After downtime the first sweep finds
every rung that fell due meanwhile and queues it once, logged as late
(``late_by_s``).

SIGTERM and SIGINT set a stop flag; the sweep and the dispatcher look at it
between deadlines and between messages, claimed-but-unsent messages are
given back, then the scheduler shuts down and the node leaves ``nodes``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import col, select

from agreeflow.engine.core import clock, db
from agreeflow.engine.core.errors import OptionValueError
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Node, OutboxMessage

log = logging.getLogger("agreeflow.serve")
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
    now, host, pid = clock.now(), socket.gethostname(), os.getpid()
    with db.write(settings) as s:
        row = s.get(Node, name)
        if row is not None and row.pid != pid and row.last_seen >= now - timedelta(seconds=ALIVE_S):
            if row.host != host or _pid_alive(row.pid):
                raise OptionValueError(option="--node-name", value=name,
                                       remedy_vi=f"Tiến trình {row.pid} trên {row.host} đang dùng tên này; "
                                                 "chọn tên khác.",
                                       remedy_en=f"Process {row.pid} on {row.host} is using this name; "
                                                 "choose another.")
        row = row or Node(name=name, started_at=now, last_seen=now)
        row.started_at, row.last_seen, row.pid, row.host = now, now, pid, host
        s.add(row)


def heartbeat(settings: Settings, name: str) -> None:
    with db.write(settings) as s:
        s.execute(sa.update(Node).where(col(Node.name) == name).values(last_seen=clock.now())
                  .execution_options(synchronize_session=False))


def unregister(settings: Settings, name: str) -> None:
    with db.write(settings) as s:
        s.execute(sa.delete(Node).where(col(Node.name) == name).execution_options(synchronize_session=False))


def nodes(settings: Settings) -> list[dict[str, Any]]:
    """Alive nodes and how many messages each sent in the last hour."""
    now = clock.now()
    with db.read(settings) as s:
        rows = s.exec(select(Node).where(col(Node.last_seen) >= now - timedelta(seconds=ALIVE_S))
                      .order_by(col(Node.name))).all()
        sent = dict(s.exec(select(OutboxMessage.claimed_by, sa.func.count()).where(
            col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) >= now - timedelta(hours=1))
            .group_by(col(OutboxMessage.claimed_by))).all())
    return [{"name": n.name, "host": n.host, "pid": n.pid, "started_at": clock.fmt_local(n.started_at),
             "last_seen": clock.fmt_local(n.last_seen), "sent_last_hour": int(sent.get(n.name, 0))} for n in rows]


class _Once:
    """Run ``fn`` unless it is already running (the timer job and an explicit wake-up share it)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn, self.lock = fn, threading.Lock()

    def __call__(self) -> None:
        if not self.lock.acquire(blocking=False):
            return
        try:
            self.fn()
        except Exception:  # a failing round must not kill the scheduler; the next round retries
            log.exception("scheduled round failed")
        finally:
            self.lock.release()


def serve(settings: Settings, node_name: str | None = None, interval: float = 60.0,
          dispatch_interval: float = 10.0, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run until SIGTERM/SIGINT (or ``stop``); returns what the node did."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from agreeflow.engine.procedures import sweep
    from agreeflow.notifications import outbox

    if interval <= 0 or dispatch_interval <= 0:
        raise ValueError("intervals are seconds above 0")  # the CLI's FloatRange says it to users
    name = node_name or outbox.default_node_name()
    stop = stop or threading.Event()
    transport = outbox.transport_for(settings)
    register(settings, name)
    reclaimed = outbox.release(settings, name)  # our own rows left 'sending' by a killed predecessor
    totals: dict[str, int] = {"reclaimed": reclaimed}
    lock = threading.Lock()

    def add(counts: dict[str, Any]) -> None:
        with lock:
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + int(v)

    def do_dispatch() -> None:
        counts = outbox.dispatch(settings, name, stop=stop, transport=transport)
        if any(counts.values()):
            log.info("dispatch: %s", counts)
        add(counts)

    def do_sweep() -> None:
        counts = sweep.sweep(settings, clock.now(), stop)
        if counts.get("queued") or counts.get("errors"):
            log.info("sweep: %s", counts)
        add(counts)
        if counts.get("queued") and not stop.is_set():
            scheduler.add_job(dispatch_now, id="dispatch-now", replace_existing=True)  # run it now

    sweep_job, dispatch_now = _Once(do_sweep), _Once(do_dispatch)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(4)}, timezone="UTC",
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
    scheduler.add_job(sweep_job, "interval", seconds=interval, id="sweep")
    scheduler.add_job(dispatch_now, "interval", seconds=dispatch_interval, id="dispatch")
    scheduler.add_job(_Once(lambda: heartbeat(settings, name)), "interval", seconds=HEARTBEAT_S, id="heartbeat")
    scheduler.add_job(sweep_job, id="sweep-at-start")  # no trigger: now — catch up on what fell due meanwhile
    previous = _on_signals(stop)
    log.info("node %s: sweep every %ss, dispatch every %ss (reclaimed %d message(s))", name, interval,
             dispatch_interval, reclaimed)
    scheduler.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
        outbox.release(settings, name)
        unregister(settings, name)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("node %s stopped: %s", name, totals)
    return {"node": name, **totals}


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGTERM/SIGINT set ``stop`` (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous
