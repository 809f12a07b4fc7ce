"""Resident memory (psutil RSS) of ``agreeflow serve`` with 1 M open deadlines.

A database made by ``agreeflow init`` gets 1,000 cases of the shipped ``task``
workflow and 1 M open deadlines (``executemany``): 1,000 of them due now, the
rest spread over the coming year — so the node's first sweep really works
(queues reminders, writes the chain, dispatches to the ``.eml`` sink) while
the table is large.  ``agreeflow serve`` runs as its own process for a fixed
window; RSS is sampled every 0.25 s and the peak is the figure.  Baseline: the
same command on the same kind of database without any deadline, sampled the
same way — so the ratio is what a million deadlines add.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common
import dataset
from startup_bench import agreeflow_command

DUE_NOW = 1_000


def serve_available(env: dict[str, str]) -> bool:
    done = subprocess.run([*agreeflow_command(), "serve", "--help"], env=env, capture_output=True)
    return done.returncode == 0


def prepare(name: str, deadlines: int) -> dict[str, str]:
    """A database with 1,000 task cases and ``deadlines`` open deadlines; the env to reach it."""
    from agreeflow.engine import service
    from agreeflow.engine.core import db
    from agreeflow.engine.core.settings import Settings

    home = common.fresh_dir(name)
    os.environ.pop("AGREEFLOW_WORKFLOWS", None)
    settings = Settings(data_dir=home, user=common.COORDINATOR)
    service.init(settings, simulation=True)
    db.dispose_all()
    conn = dataset.connect(common.sqlite_path(settings))
    case_ids = [case_id for case_id, _ in dataset.add_cases(conn, 1000, prefix="NV", workflow="task",
                                                            state="in_progress")]
    now = datetime.now(UTC)
    if deadlines:
        key = "timer:in_progress:due"
        dataset.add_open_deadlines(conn, case_ids, DUE_NOW, now, seed=1, key=key,
                                   window=(timedelta(days=-2), timedelta(seconds=-60)))
        dataset.add_open_deadlines(conn, case_ids, deadlines - DUE_NOW, now, seed=2, key=key,
                                   window=(timedelta(days=1), timedelta(days=365)))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    env = common.agreeflow_env(home)
    env.pop("AGREEFLOW_WORKFLOWS")
    return env


def peak_rss(env: dict[str, str], seconds: float) -> tuple[float, float]:
    """(peak, last) RSS in MiB of ``agreeflow serve`` over ``seconds``."""
    import psutil

    proc = subprocess.Popen([*agreeflow_command(), "serve", "--interval", "3600", "--dispatch-interval", "5"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watched = psutil.Process(proc.pid)
    peak = last = 0.0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and proc.poll() is None:
            last = watched.memory_info().rss / 2**20
            peak = max(peak, last)
            time.sleep(0.25)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"agreeflow serve ended with exit code {proc.returncode}")
    return peak, last


def sweep_work(env: dict[str, str]) -> str:
    """What the node did: reminder events logged and mails sent (so the window saw real work)."""
    conn = sqlite3.connect(Path(env["AGREEFLOW_HOME"]) / "agreeflow.db")
    try:
        queued = conn.execute("SELECT count(*) FROM events WHERE kind = 'reminder_queued'").fetchone()[0]
        sent = conn.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
    finally:
        conn.close()
    return f"{queued:,} reminders queued (logged in the chains), {sent:,} mails sent to the .eml sink"


def run(quick: bool) -> list[common.Figure]:
    size = 100_000 if quick else 1_000_000
    window = 20.0 if quick else 60.0
    name = f"serve RSS with {size:,} open deadlines"
    env = prepare("memory/empty", 0)
    if not serve_available(env):
        return [common.Figure(name=name, value=0, unit="MiB", baseline="serve with no deadlines", baseline_value=0,
                              ratio=0, ratio_meaning="× no-deadline RSS", goal="≤ 150 MB", met=None,
                              notes="pending: `agreeflow serve` is not in this tree yet")]
    common.say(f"serve on an empty deadline table for {window:.0f} s")
    base_peak, base_last = peak_rss(env, window)
    common.say(f"building {size:,} open deadlines ({DUE_NOW:,} due now)")
    env = prepare("memory/full", size)
    common.say(f"serve with {size:,} open deadlines for {window:.0f} s")
    peak, last = peak_rss(env, window)
    work = sweep_work(env)
    mb = peak * 2**20 / 1e6
    return [common.Figure(
        name=name, value=peak, unit="MiB peak RSS", baseline="same serve, no deadlines", baseline_value=base_peak,
        ratio=peak / base_peak, ratio_meaning="× no-deadline RSS", goal="≤ 150 MB",
        met=mb <= 150 if size >= 1_000_000 else None,
        why_missed=(f"the node uses {base_peak:.0f} MiB with no deadline at all (the interpreter with SQLAlchemy, "
                    f"SQLModel, APScheduler, Jinja2 and the engine loaded); the deadlines add "
                    f"{peak - base_peak:.0f} MiB during the sweep"),
        details=[("peak / at the end of the window", f"{peak:.1f} / {last:.1f} MiB ({mb:.0f} MB peak)"),
                 ("no deadlines: peak / end", f"{base_peak:.1f} / {base_last:.1f} MiB"),
                 ("window", f"{window:.0f} s, first sweep at start, {DUE_NOW:,} deadlines due"),
                 ("work done by the node in the window", work)],
        notes=("none of these deadlines is overdue: on its day the weekly digest (engine/procedures/sweep.py "
               "digest_items) loads the overdue open deadlines, then every open deadline of the units they name, "
               "with their cases, as ORM objects — a table with many overdue deadlines costs more then; not "
               "measured here"))]


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
