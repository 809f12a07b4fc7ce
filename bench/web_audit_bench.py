"""The inspectors' pages (issue 18) at 1,000,000 events: the log page, first and deep, and the integrity
check's progress as the page sees it.

The database is made by ``agreeflow init --simulation``; 50,000 cases with
20 hash-chained events each are added with ``executemany``
(dataset.add_verifiable_log, as bench/verify_bench.py: the log, the rows and
the deadlines agree, so the check finds nothing).  ``agreeflow web`` then runs
as its own process on 127.0.0.1 (the bench's workflow folder, whose guard is
registered first) and is reached over real sockets (httpx), signed in as the
auditor (Thanh tra tỉnh):

1. **log page** — ``/audit/log`` (50 events, newest first) asked for one
   after another, in three rounds: the first page, and a deep page — the
   keyset cursor (``before=<at>~<id>``) of an event among the oldest
   thousand, 999,000 events down.  Each figure is the best round's p95 (all
   are listed); the log filtered to one unit, first and deep, is listed too.
   Baseline: the same server's static stylesheet (the HTTP floor).
2. **verify progress** — "Kiểm tra toàn vẹn" started from the page
   (``POST /audit/verify``), then its status fragment asked for every 0.1 s
   (the page asks every 0.5 s) until it ends; the figure is the longest gap
   between two changes of the count shown (events checked, or the phase).
   It must be ≤ 1 s: progress reaches the page at least every second.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import dataset
from web_bench import CSRF, free_port, latencies, p95

AUDITOR = "thanhtra@bacgiang.example"
PASSWORD = "mat-khau-bench-2024"
ROUNDS = 3
STATUS = re.compile(r'data-phase="([^"]*)" data-done="(\d+)" data-updates="(\d+)"')


def build(home: Path, n_cases: int) -> tuple[Any, int]:
    settings = common.init_database(home)
    from agreeflow.engine import service
    from agreeflow.engine.core import db

    service.set_password(settings, AUDITOR, PASSWORD)
    db.dispose_all()
    conn = dataset.connect(common.sqlite_path(settings))
    events = dataset.add_verifiable_log(conn, n_cases, datetime(2024, 1, 2, tzinfo=UTC))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return settings, events


class Server:
    """``agreeflow web`` in its own process, with the bench's workflows (their guard registered first)."""

    def __init__(self, home: Path) -> None:
        import httpx

        self.port = free_port()
        env = common.agreeflow_env(home)
        env.pop("AGREEFLOW_USER", None)
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import common; common.use_bench_workflows(); "
                "from agreeflow.cli import main; main(['web', '--port', sys.argv[2]])")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(common.BENCH_DIR), str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.base}/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("agreeflow web did not start")
            time.sleep(0.2)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def signed_in(base: str) -> Any:
    import httpx
    client = httpx.Client(base_url=base, timeout=120)
    csrf = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    res = client.post("/login", data={"csrf": csrf, "email": AUDITOR, "password": PASSWORD, "next": "/audit"})
    assert res.status_code == 303, res.text[:500]
    return client


def deep_cursor(path: Path, skip: int, unit: str | None = None) -> str:
    """The log page's cursor (``<at>~<id>``) of the event ``skip`` events from the newest (optionally in one
    unit's cases)."""
    from agreeflow.engine.core import audit, clock

    conn = sqlite3.connect(path)
    where = "WHERE case_id IN (SELECT id FROM cases WHERE unit = ?)" if unit else ""
    row = conn.execute(f"SELECT at, id FROM events {where} ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?",
                       (unit, skip) if unit else (skip,)).fetchone()
    conn.close()
    return f"{audit.fmt_at(clock.parse_instant(row[0]))}~{row[1]}"


def verify_progress(client: Any) -> dict[str, Any]:
    """Start the check from the page and watch its status fragment until it ends."""
    csrf = CSRF.search(client.get("/audit/proof").text).group(1)  # type: ignore[union-attr]
    res = client.post("/audit/verify", data={"csrf": csrf}, follow_redirects=False)
    assert res.status_code == 303, res.status_code
    job = res.headers["location"].split("job=", 1)[1]
    start = time.monotonic()
    changes: list[float] = [start]  # the count or phase shown changed
    heard: list[float] = [start]  # a progress report from the check reached the server
    shown, reports, polls, text = None, "0", 0, ""
    while time.monotonic() - start < 900:
        text = client.get(f"/audit/verify/{job}").text
        polls += 1
        now = time.monotonic()
        m = STATUS.search(text)
        seen = m.groups()[:2] if m else None
        if m and m.group(3) != reports:
            reports = m.group(3)
            heard.append(now)
        if seen != shown:
            shown = seen
            changes.append(now)
        if "hx-trigger" not in text:  # finished: the fragment stops asking
            break
        time.sleep(0.1)
    gaps = [b - a for a, b in zip(changes, changes[1:])]
    silences = [b - a for a, b in zip(heard, heard[1:])]
    return {"seconds": changes[-1] - start, "changes": len(changes) - 1, "polls": polls, "reports": int(reports),
            "max_gap": max(gaps or [0.0]), "median_gap": statistics.median(gaps or [0.0]),
            "max_silence": max(silences or [0.0]),
            "passed": 'class="notice ok"' in text, "end": text}


def run(quick: bool) -> list[common.Figure]:
    n_cases = 5_000 if quick else 50_000
    samples = 60 if quick else 300
    home = common.fresh_dir("web_audit")
    common.say(f"writing {n_cases * dataset.PER_CASE:,} events ({n_cases:,} cases × {dataset.PER_CASE})")
    start = time.perf_counter()
    settings, events = build(home, n_cases)
    build_s = time.perf_counter() - start
    db_path = common.sqlite_path(settings)
    total = sqlite3.connect(db_path).execute("SELECT count(*) FROM events").fetchone()[0]
    deep = deep_cursor(db_path, total - 1_000)
    unit = sqlite3.connect(db_path).execute("SELECT unit, count(*) FROM cases GROUP BY unit ORDER BY 2 DESC"
                                            ).fetchone()[0]
    unit_total = sqlite3.connect(db_path).execute(
        "SELECT count(*) FROM events WHERE case_id IN (SELECT id FROM cases WHERE unit = ?)", (unit,)).fetchone()[0]
    unit_deep = deep_cursor(db_path, max(unit_total - 1_000, 0), unit)
    common.say(f"{total:,} events; serving")
    server = Server(home)
    try:
        client = signed_in(server.base)
        first_url, deep_url = "/audit/log", f"/audit/log?before={quote(deep)}"
        page = client.get(deep_url).text
        assert page.count('class="ev-') >= 40 or page.count("<tr") >= 40, page[:2000]
        latencies(client, [first_url, deep_url] * 5)  # warm
        rounds = []
        for _ in range(ROUNDS):
            n = samples // ROUNDS
            rounds.append({"floor": latencies(client, ["/static/app.css"] * n),
                           "first": latencies(client, [first_url] * n),
                           "deep": latencies(client, [deep_url] * n),
                           "unit_first": latencies(client, [f"/audit/log?unit={unit}"] * (n // 2)),
                           "unit_deep": latencies(client, [f"/audit/log?unit={unit}&before={quote(unit_deep)}"]
                                                  * (n // 2))})
        best = {k: min(rounds, key=lambda r: p95(r[k]))[k] for k in rounds[0]}
        common.say("verify from the page")
        progress = verify_progress(client)
        client.close()
    finally:
        server.close()
    floor95 = p95(best["floor"])
    full = total >= 1_000_000
    size = f"{total:,} events in {n_cases + 1:,} chains (built in {build_s:.0f} s)"

    def page_figure(key: str, label: str, where: str) -> common.Figure:
        v = p95(best[key])
        return common.Figure(
            name=f"web audit: log page p95, {label}", value=v * 1000, unit="ms", baseline="static file, same server",
            baseline_value=floor95 * 1000, ratio=v / floor95, ratio_meaning="× the HTTP floor",
            goal="≤ 100 ms at 1 M events", met=v <= 0.100 if full else None,
            details=[("data", size), ("page", where),
                     ("p50 / p95 / max (best round)", _ms(best[key])), ("p95 of each round", _rounds(rounds, key)),
                     (f"filtered to unit {unit} ({unit_total:,} events): first page p50 / p95 / max",
                      _ms(best["unit_first"])),
                     (f"filtered to unit {unit}: a page 1,000 events from its oldest, p50 / p95 / max",
                      _ms(best["unit_deep"])),
                     ("static stylesheet p50 / p95 / max (best round)", _ms(best["floor"]))])

    return [
        page_figure("first", "first page", "/audit/log — the newest 50 events"),
        page_figure("deep", "deep page", f"/audit/log?before=… — 50 events starting {total - 1_000:,} events down"),
        common.Figure(
            name="web audit: verify progress, longest silence", value=progress["max_silence"], unit="s",
            baseline="the page's own polling interval", baseline_value=0.5, ratio=progress["max_silence"] / 0.5,
            ratio_meaning="× the page's polling interval", goal="progress at least every 1 s",
            met=(progress["max_silence"] <= 1.0 and progress["passed"]) if full else None,
            notes="the figure: the longest time between two progress reports reaching the server (each one "
                  "moves the page's line: events checked, or the seconds while the engine loads and the "
                  "security log is read); the longest time the count of events shown stood still is listed",
            details=[("data", size),
                     ("check", f"{progress['seconds']:.1f} s from the click to the verdict; "
                               f"{'passed' if progress['passed'] else 'DID NOT PASS'}"),
                     ("progress reports", f"{progress['reports']} reached the server"),
                     ("the count of events or the phase shown", f"{progress['changes']} changes over "
                                              f"{progress['polls']} asks (every 0.1 s); median gap "
                                              f"{progress['median_gap']:.2f} s, longest {progress['max_gap']:.2f} s"),
                     ("machine load after", f"{os.getloadavg()[0]:.2f}")]),
    ]


def _rounds(rounds: list[dict[str, list[float]]], key: str) -> str:
    return " / ".join(f"{p95(r[key]) * 1000:.1f}" for r in rounds) + " ms"


def _ms(values: list[float]) -> str:
    return (f"{statistics.median(values) * 1000:.1f} / {p95(values) * 1000:.1f} / {max(values) * 1000:.1f} ms"
            if len(values) > 1 else "—")


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
