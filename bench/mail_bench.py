"""Reminders rendered, queued and handed to a local SMTP server by the outbox dispatcher, per second.

agreeflow, in one timed run: for each reminder ``compose.outbox_row`` (the
register, the templates — compiled once per process — subject, text and
HTML), ``compose.queue`` in transactions of 500 rows into a fresh SQLite
database, then ``worker.dispatch_outbox``: batches of ``mail.batch`` (200)
claimed in one transaction, shared among ``mail.connections`` (4) SMTP
sessions sending at once to aiosmtpd on 127.0.0.1 (the test suite's SmtpSink,
in its own process: bench/smtp_sink.py), each message built as bytes
(``build_bytes``) and marked ``delivered`` as the server accepts it (the end
of data, the server's answer and the mark inside the sessions' shared gate:
docs/mail.md), and the batch's ``reminder_sent`` events written in one
transaction.  Every reminder goes to its own mailbox, so each is one message
on the wire.  Baseline, in the same run: raw ``smtplib`` sending one
pre-built message, one session per message, to the same server.  The details
give each stage alone, and raw smtplib over one reused session and over as
many parallel sessions as the dispatcher opens — what the server takes.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import common

WHY_MISSED = (
    "the end-to-end figure is the render + queue time and the dispatch time one after the other; the details "
    "give each. The dispatcher drives its sessions from one thread (notifications/interleave.py); during the "
    "dispatch the SMTP server (aiosmtpd, a Python asyncio server, in its own process on the other core) is "
    "the busier of the two, and it waits while the dispatcher claims a batch and writes its reminder_sent "
    "events (about a fifth of the dispatch). Both share the machine's two cores: when other work loads it "
    "(the load average below), every part slows, and runs vary by about a tenth (docs/mail.md, 'Where it "
    "stands'). The details' CPU budget adds up what one message costs both processes, the test server "
    "included, and the most the machine's cores allow: where that bound is near 1,000, no overlap of "
    "rendering and sending reaches the goal on this machine (sending while rendering was tried: no faster).")
SENDER = "agreeflow@bacgiang.example"
DOMAIN = "bacgiang.example"
RELATIONS = ("superior", "peer", "subordinate")


class SinkProcess:
    """The SMTP server process: start, its URL, stop and count what arrived."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(common.BENCH_DIR / "smtp_sink.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"

    def cpu(self) -> float:
        """Seconds of CPU the server process has used so far (user + system)."""
        import psutil

        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> int:
        """Stop the server; returns how many messages it received."""
        out, _ = self.proc.communicate("", timeout=60)
        return int(out.strip() or 0)


def context(i: int, lang: str) -> dict[str, Any]:
    """A reminder context; every message differs (case, unit, due date, days left, register)."""
    vi = lang == "vi"
    unit_vi, unit_en = ("UBND thành phố Bắc Giang", "Bắc Giang City People's Committee")
    return {
        "recipient_name": unit_vi if vi else unit_en, "relation": RELATIONS[i % 3], "you": "",
        "sender_name": "Sở Ngoại vụ" if vi else "Department of Foreign Affairs", "internal": False,
        "contact": {"name": "Bà Nguyễn Thị Lan", "phone": "0204 000 0210", "email": "dieuphoi@bacgiang.example"},
        "case_ref": f"TTQT-2024-{i:04d}",
        "case_title": f"Thỏa thuận hợp tác giữa tỉnh Bắc Giang và tỉnh Gyeonggi số {i}",
        "workflow_title": "Thỏa thuận quốc tế cấp địa phương" if vi else "Provincial international agreement",
        "deadline_label": "Góp ý dự thảo thỏa thuận" if vi else "Opinions on the draft agreement",
        "unit_name": unit_vi if vi else unit_en,
        "due_date": date(2024, 7, 1) + timedelta(days=i % 90),
        "working_days_left": i % 7 + 1,
        "phrase": "07 ngày làm việc kể từ ngày nhận hồ sơ",
        "citation": "Luật 70/2020/QH14, Điều 19(2)",
        "confirmed": i % 5 != 0,
        "explanation": [{"vi": "Ngày bắt đầu (ngày 0, không tính): 21/06/2024",
                         "en": "Start (day 0, not counted): 21/06/2024"},
                        {"vi": "Ngày làm việc thứ 7 sau ngày bắt đầu: 02/07/2024",
                         "en": "Working day 7 after the start: 02/07/2024"}],
        "letter": f"Văn bản {400 + i % 100}/SNgV-HTQT ngày 21/06/2024", "silence": "", "waiting_for": [],
        "late": unit_vi if vi else unit_en,
        "reply_link": f"https://agreeflow.bacgiang.example/reply/{'x' * 40}{i}",
    }


def pipeline(n: int, url: str | None, server_cpu: Callable[[], float] | None = None) -> dict[str, float]:
    """Seconds to render and queue ``n`` reminders, and to dispatch them (to ``url``; None: the .eml sink
    of the data folder is not used — the dispatch is skipped).  With ``server_cpu`` (the SMTP server's CPU
    seconds so far), also the CPU seconds each side used: ``cpu_queue`` and ``cpu_dispatch`` (this process,
    every thread) and ``cpu_server``."""
    import dataset

    from agreeflow.engine.core import db
    from agreeflow.engine.legaltime import reminders
    from agreeflow.engine.service import worker
    from agreeflow.engine.service.base import writing
    from agreeflow.notifications import compose
    from agreeflow.notifications.mailer import SmtpTransport

    db.dispose_all()  # a fresh database file under the same URL: forget the engine of the last one
    settings = common.init_database(common.fresh_dir("mail"))
    conn = dataset.connect(common.sqlite_path(settings))
    cases = dataset.add_cases(conn, 50)
    conn.close()
    policies = reminders.load()
    now = datetime.now(UTC) - timedelta(minutes=1)
    start, cpu_start = time.perf_counter(), time.process_time()
    for lo in range(0, n, 500):
        rows = []
        for i in range(lo, min(n, lo + 500)):
            lang = "vi" if i % 4 else "en"
            who = compose.Recipient(f"unit{i}@{DOMAIN}", "UBND thành phố Bắc Giang", lang, "TPBG")
            rows.append(compose.outbox_row(f"d{i}:before_3wd:{who.address}", "reminder", context(i, lang), who,
                                           policies, now, rung="before_3wd", case_id=cases[i % len(cases)][0]))
        with writing(settings) as s:
            compose.queue(s, rows)
    queued, cpu_queued = time.perf_counter(), time.process_time()
    if url is None:
        return {"queue": queued - start}
    server_before = server_cpu() if server_cpu else 0.0
    counts = worker.dispatch_outbox(settings, "bench-node", transport=SmtpTransport.from_url(url))
    end, cpu_end = time.perf_counter(), time.process_time()
    server_after = server_cpu() if server_cpu else 0.0
    if counts["sent"] != n:
        raise RuntimeError(f"the dispatcher sent {counts}, expected {n}")
    return {"queue": queued - start, "dispatch": end - queued, "total": end - start,
            "cpu_queue": cpu_queued - cpu_start, "cpu_dispatch": cpu_end - cpu_queued,
            "cpu_server": server_after - server_before}


def dispatch_without_smtp(n: int) -> float:
    """Seconds for the dispatcher alone with a transport that accepts and drops each message (no server)."""
    from agreeflow.engine.service import worker
    from agreeflow.notifications.mailer import Outgoing, Transport, TransportSession

    class Drop(TransportSession):
        def send(self, out: Outgoing, accepted: Any = None) -> None:
            with self.gate:
                if accepted is not None:
                    accepted()

    class DropTransport(Transport):
        def send(self, msg: Any) -> None:
            pass

        def open(self, gate: Any = None) -> TransportSession:
            return Drop(self, gate)

    pipeline(n, None)
    from agreeflow.engine.core.settings import Settings
    settings = Settings(data_dir=common.WORK / "mail", user=common.COORDINATOR)
    start = time.perf_counter()
    counts = worker.dispatch_outbox(settings, "bench-node", transport=DropTransport())
    seconds = time.perf_counter() - start
    if counts["sent"] != n:
        raise RuntimeError(f"the dispatcher sent {counts}, expected {n}")
    return seconds


def raw_parallel(n: int, port: int, sessions: int) -> float:
    """Seconds for raw smtplib to send one pre-built message ``n`` times over ``sessions`` sessions at once."""
    import threading

    start = time.perf_counter()
    threads = [threading.Thread(target=raw_send, args=(n // sessions, port, True)) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def raw_send(n: int, port: int, reuse: bool) -> float:
    """Seconds for raw smtplib to send one pre-built message ``n`` times."""
    from agreeflow.notifications.mailer import build_bytes, message_id_for
    from agreeflow.notifications.render import render_message

    out = build_bytes(render_message("reminder", "vi", context(1, "vi")), SENDER, f"unit1@{DOMAIN}",
                      message_id_for("d1:0:unit1", DOMAIN))
    start = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            for _ in range(n):
                smtp.sendmail(SENDER, [f"unit1@{DOMAIN}"], out.data)
    else:
        for _ in range(n):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.sendmail(SENDER, [f"unit1@{DOMAIN}"], out.data)
    return time.perf_counter() - start


def run(quick: bool) -> list[common.Figure]:
    n = 500 if quick else 5000
    n_raw = n // 5
    from agreeflow.engine.legaltime import reminders

    connections = reminders.load().mail.connections
    sink = SinkProcess()
    try:
        pipeline(50, sink.url())  # warm-up: templates compiled, server loop running
        raw_send(20, sink.port, reuse=False)
        common.say(f"agreeflow: {n} reminders rendered, queued and dispatched over SMTP")
        ours = pipeline(n, sink.url(), sink.cpu)
        common.say(f"raw smtplib: {n_raw} pre-built messages, one session each, then over one session")
        raw_s = raw_send(n_raw, sink.port, reuse=False)
        reuse_s = raw_send(n_raw, sink.port, reuse=True)
        parallel_s = raw_parallel(n_raw, sink.port, connections)
    finally:
        received = sink.stop()
    expected = 50 + 20 + n + 2 * n_raw + n_raw // connections * connections
    if received != expected:
        raise RuntimeError(f"the SMTP server received {received} messages, expected {expected}")
    common.say(f"stages alone: render + queue, and the dispatcher with no server ({n} reminders)")
    no_smtp_s = dispatch_without_smtp(n)
    render_queue_s = pipeline(n, None)["queue"]

    value, base = common.rate(n, ours["total"]), common.rate(n_raw, raw_s)
    return [common.Figure(
        name="reminders rendered, queued and sent by the outbox dispatcher", value=value, unit="mails/s",
        baseline="raw smtplib, pre-built message, one session each", baseline_value=base,
        ratio=value / base, ratio_meaning="× raw smtplib", goal="≥ 1,000 mails/s", met=value >= 1000,
        why_missed=WHY_MISSED,
        details=[("messages", f"{n} (¾ Vietnamese, ¼ English), each to its own mailbox, {len(_sample_bytes())} "
                              "bytes each: compose.outbox_row + compose.queue + worker.dispatch_outbox"),
                 ("of which render + queue", f"{common.rate(n, ours['queue']):,.0f} mails/s "
                                             f"({ours['queue'] / n * 1000:.2f} ms each)"),
                 ("of which dispatch over SMTP", f"{common.rate(n, ours['dispatch']):,.0f} mails/s "
                                                 f"({ours['dispatch'] / n * 1000:.2f} ms each: claim, build_bytes, "
                                                 f"send over {connections} sessions at once, delivered mark, "
                                                 "batched reminder_sent)"),
                 ("CPU per message, both processes (the CPU budget)", cpu_budget(ours, n)),
                 ("render + queue alone, second run", f"{common.rate(n, render_queue_s):,.0f} mails/s"),
                 ("dispatcher with a transport that drops", f"{common.rate(n, no_smtp_s):,.0f} mails/s"),
                 ("raw smtplib over one reused session", f"{common.rate(n_raw, reuse_s):,.0f} mails/s"),
                 (f"raw smtplib over {connections} reused sessions at once",
                  f"{common.rate(n_raw // connections * connections, parallel_s):,.0f} mails/s "
                  "(what the server takes from a client that does nothing else)")])]


def cpu_budget(ours: dict[str, float], n: int) -> str:
    """What one message costs in CPU, both processes, and the rate that allows on this machine's cores."""
    cores = len(os.sched_getaffinity(0))
    parts = [ours["cpu_queue"] / n * 1000, ours["cpu_dispatch"] / n * 1000, ours["cpu_server"] / n * 1000]
    total = sum(parts)
    return (f"render + queue {parts[0]:.2f} ms, dispatch {parts[1]:.2f} ms (claim, build_bytes, the SMTP client's "
            f"side, delivered marks, events), the SMTP server {parts[2]:.2f} ms: {total:.2f} ms in all; {cores} "
            f"cores allow at most {cores} / {total:.2f} ms = {cores / total * 1000:,.0f} mails/s, were the two "
            "stages overlapped and every core busy with this and nothing else the whole time (a bound, not a "
            "measurement)")


def _sample_bytes() -> bytes:
    from agreeflow.notifications.mailer import build_bytes, message_id_for
    from agreeflow.notifications.render import render_message

    return build_bytes(render_message("reminder", "vi", context(1, "vi")), SENDER, f"unit1@{DOMAIN}",
                       message_id_for("d1:0:unit1", DOMAIN)).data


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
