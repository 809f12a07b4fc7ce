"""Checks a page starts and then watches: the integrity check ("Kiểm tra toàn vẹn").

The check runs in a process of its own (``python -m agreeflow.web.verify_job``):
on a large log it shares the work between processes, which must not be
forked from a server full of threads, and it does not hold the web's
interpreter while pages are served.  The process prints one JSON line per
progress report (several a second); a thread here reads them into the
:class:`Job`, and the page asks for the job's state every half second
(HTMX) until it ends.  A job belongs to the person who started it; the
newest :data:`KEPT` are kept in memory, and a job still running when the
server stops is stopped with it.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from agreeflow.engine import service

KEPT = 50
"""Finished jobs kept (the oldest is forgotten first)."""


@dataclass
class Job:
    """One run of the integrity check, as the page shows it."""

    id: str
    owner: str
    started: float = field(default_factory=time.monotonic)
    phase: str = "starting"
    done: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    broken: list[dict[str, Any]] | None = None
    error: dict[str, str] | None = None
    updates: list[float] = field(default_factory=list)
    """When each progress report arrived (monotonic seconds): how often the page could move."""
    proc: subprocess.Popen[str] | None = None
    errors: Any = None
    """The process's standard error (a temporary file: a pipe nobody reads could fill and stop it)."""
    ended: float | None = None

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "failed")

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "phase": self.phase, "done": self.done, "total": self.total, "percent": self.percent,
                "seconds": round(self.seconds, 1), "finished": self.finished, "result": self.result,
                "broken": self.broken, "error": self.error, "updates": len(self.updates)}


class Jobs:
    """The integrity checks of one web server."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, settings: service.Settings, owner: str) -> Job:
        """Start the check over ``settings``' database for ``owner`` (the caller has checked they may)."""
        job = Job(id=secrets.token_urlsafe(12), owner=owner)
        config = {"data_dir": str(settings.data_dir), "db_url": settings.url, "lang": settings.lang,
                  "checkpoints": str(settings.checkpoints) if settings.checkpoints else None,
                  "origin": settings.origin}
        job.errors = tempfile.TemporaryFile()
        job.proc = subprocess.Popen([sys.executable, "-m", "agreeflow.web.verify_job"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=job.errors, text=True, encoding="utf-8")
        assert job.proc.stdin is not None
        job.proc.stdin.write(json.dumps(config) + "\n")
        job.proc.stdin.close()
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT:
                old = next(iter(self._jobs.values()))
                if not old.finished:
                    break
                self._jobs.popitem(last=False)
        threading.Thread(target=self._follow, args=(job,), name=f"agreeflow-verify-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job ``job_id`` if ``owner`` started it."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def stop(self) -> None:
        """Stop every check still running (the server is stopping)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.proc is not None and j.proc.poll() is None]
        for job in running:
            assert job.proc is not None
            job.proc.terminate()
            try:
                job.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                job.proc.kill()

    def _follow(self, job: Job) -> None:
        """Read the process's reports into ``job`` until it ends."""
        proc = job.proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            job.updates.append(time.monotonic())
            job.done, job.total = int(msg.get("done") or job.done), int(msg.get("total") or job.total)
            if msg.get("phase") == "done":
                job.result = msg.get("result")
                job.broken = msg.get("broken")
                events = (job.result or {}).get("events") if job.broken is None else msg.get("events")
                job.done = job.total = int(events or 0)
                job.ended = time.monotonic()
            elif msg.get("phase") == "failed":
                job.error = msg.get("error")
                job.ended = time.monotonic()
            job.phase = str(msg.get("phase") or job.phase)
        proc.stdout.close()
        proc.wait()
        job.errors.seek(0)
        err = job.errors.read().decode("utf-8", "replace").strip().splitlines()
        job.errors.close()
        if not job.finished:
            job.error = {"detail": err[-1] if err else f"exit {proc.returncode}"}
            job.ended = time.monotonic()
            job.phase = "failed"
