"""The integrity check as a process of its own: ``python -m agreeflow.web.verify_job`` (started by web/jobs.py).

It reads the engine's settings as one JSON line on standard input (never on
the command line, where other accounts could read a database password),
runs :func:`agreeflow.engine.service.verify` — the same check as ``agreeflow
audit verify`` — and writes one JSON line per progress report, then the
result: ``{"phase": "done", "result": …}``, ``{"phase": "done", "broken":
[…]}`` (tampering found) or ``{"phase": "failed", "error": {…}}``.

When nothing has been said for :data:`TICK` seconds — the engine still
loading, the checkpoint being read, the security log — the last report is said
again, so the page hears from the check at least every second (issue 18).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

TICK = 0.5
"""Seconds of silence after which the last progress report is said again."""
_said: dict[str, Any] = {"at": 0.0, "last": None}
_lock = threading.Lock()


def say(obj: dict[str, Any]) -> None:
    with _lock:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        _said["at"], _said["last"] = time.monotonic(), obj


def _ticker(stop: threading.Event) -> None:
    """Say the last report again whenever the check has been silent for TICK seconds."""
    while not stop.wait(TICK / 5):
        with _lock:
            quiet = time.monotonic() - _said["at"] >= TICK
            last = _said["last"]
        if quiet and last is not None and last.get("phase") not in ("done", "failed"):
            say(last)


def main() -> int:
    say({"phase": "starting", "done": 0, "total": 0})  # before the engine is imported (the slow part)
    stop = threading.Event()
    threading.Thread(target=_ticker, args=(stop,), daemon=True).start()
    try:
        return _check()
    finally:
        stop.set()


def _check() -> int:
    config = json.loads(sys.stdin.readline())
    from pathlib import Path

    from agreeflow.engine import AgreeflowError, TamperingError, service

    settings = service.Settings(data_dir=Path(config["data_dir"]), db_url=config["db_url"], lang=config["lang"],
                                checkpoints=Path(config["checkpoints"]) if config.get("checkpoints") else None,
                                origin=config.get("origin") or "web")
    try:
        result = service.verify(settings, progress=lambda phase, done, total: say(
            {"phase": phase, "done": done, "total": total}))
    except TamperingError as err:
        say({"phase": "done", "broken": err.fields.get("broken") or [], "events": err.fields.get("events"),
             "cases": err.fields.get("cases")})
        return 0
    except AgreeflowError as err:
        say({"phase": "failed", "error": {"vi": err.render("vi"), "en": err.render("en")}})
        return 0
    say({"phase": "done", "result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
