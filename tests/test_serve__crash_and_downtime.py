"""``agreeflow serve`` as a real process: SIGKILL while sending, downtime, clean stop, nodes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from smtp_server import SmtpSink  # pytest puts tests/ on sys.path: it has no __init__.py

from agreeflow.engine.core import clock, db
from agreeflow.engine.core.store import Deadline
from agreeflow.engine.legaltime import reminders
from agreeflow.notifications.mailer import message_id_for
from tests.conftest import COORD, ROOT

SERVE = ("serve", "--interval", "1", "--dispatch-interval", "0.5")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def started() -> Iterator[list[Any]]:
    """Serve processes a test started; any still running at the end (a failed test) is killed."""
    procs: list[Any] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=30)


def wait_for(what: Callable[[], Any], seconds: float = 60) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(af: Any, sql: str) -> Any:
    with db.get_engine(af.url).connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def stop(proc: Any) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return str(err)


def open_task(af: Any, phrase: str = "hoàn thành trong tháng 7/2024") -> str:
    return af("case", "open", "task", "--title", "Nhiệm vụ theo thông báo kết luận", "--field",
              "lead_unit=CA", "--field", f"due_phrase={phrase}",
              "--field", "assigned_on=2024-06-21", now="2024-06-21T09:00:00+07:00", ok=True).stdout.strip()


def bulk_deadlines(af: Any, case_ref: str, n: int, due: date) -> None:
    """``n`` open deadlines of the Ministry of Public Security (a mailbox, no people) on one case.

    Each is logged with its ``deadline_set`` event, as the engine does: a deadline row the log never set is
    tampering to ``audit verify``.
    """
    from sqlmodel import Session, select

    from agreeflow.engine.core import audit
    from agreeflow.engine.core.kinds import EventKind
    from agreeflow.engine.core.store import Case
    from agreeflow.engine.legaltime.deadlines import deadline_payload

    start = clock.parse_instant("2024-07-01T09:00:00+07:00")
    first = clock.local_at(due - timedelta(days=7), 8)
    with Session(db.get_engine(af.url)) as s:
        audit.start_recording(s, audit.Recording(at=clock.real_now(), origin="test:bulk"))
        case = s.exec(select(Case).where(Case.ref == case_ref).with_for_update()).one()
        for i in range(n):
            d = Deadline(case_id=case.id, key=f"timer:bulk:{i}", kind="d", label_vi=f"Việc số {i}",
                         label_en=f"Item {i}", unit="BCA", start_at=start, due_date=due,
                         due_at=clock.end_of_local_day(due), phrase="", explanation=[], citation="", confirmed=True,
                         status="open", policy="task", next_action_at=first, rung=0, extra={})
            s.add(d)
            audit.append_event(s, case, EventKind.DEADLINE_SET, actor="test", payload=deadline_payload(d), at=start)
        s.commit()


def ungrouped(af: Any, tmp_path: Path, *args: str, now: str) -> Any:
    """``agreeflow serve …`` with the shipped policies less grouping (``mail: group: false``): one message
    per rung, so 500 deadlines of one mailbox are 500 messages on the wire — the dispatcher's load."""
    text = reminders.POLICY_FILE.read_text(encoding="utf-8")
    text, n = re.subn(r"group: true", "group: false", text)
    assert n == 1
    policies = tmp_path / "reminder-policies.yaml"
    policies.write_text(text, encoding="utf-8")
    env = {**os.environ, **af.base_env(COORD, now, None), "AGREEFLOW_TEST_POLICIES": str(policies)}
    return subprocess.Popen([sys.executable, "-m", "tests.serve_node", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("af", ["sqlite"], indirect=True)
def test_serve_killed_while_sending_500_reminders_loses_none_and_repeats_only_the_one_in_flight(
        af: Any, smtp: SmtpSink, started: list[Any], tmp_path: Path) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    ref = open_task(af, "trong Quý III năm 2024")  # its own reminders are in September
    bulk_deadlines(af, ref, 500, date(2024, 8, 6))  # "7 days before" = Tuesday 30/07/2024 08:00
    now = "2024-07-30T08:00:00+07:00"

    first = ungrouped(af, tmp_path, *SERVE, "--node-name", "n1", now=now)
    started.append(first)
    wait_for(lambda: len(smtp.received) >= 100 or first.poll() is not None)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    received_before = len(smtp.received)
    assert received_before < 500, "serve finished before it could be killed"

    second = ungrouped(af, tmp_path, *SERVE, "--node-name", "n1", now=now)
    started.append(second)
    wait_for(lambda: scalar(af, "SELECT count(*) FROM outbox WHERE status = 'sent'") == 500)
    stop(second)

    domain = reminders.load().mail.message_id_domain
    keys = [f"d{i}:before_7d:bocongan@mps.example" for i in
            range(2, 502)]  # the task's own deadline is d1
    ids = Counter(m.message()["Message-ID"] for m in smtp.received)
    assert set(ids) == {message_id_for(k, domain) for k in keys}
    repeated = {mid: n for mid, n in ids.items() if n > 1}
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values())
    if repeated:  # the one on the wire at the kill went again, same Message-ID, same words
        [mid] = repeated
        copies = [m.message() for m in smtp.received if m.message()["Message-ID"] == mid]
        assert copies[0]["Subject"] == copies[1]["Subject"]
    assert scalar(af, "SELECT count(*) FROM events WHERE kind = 'reminder_sent'") == 500
    assert scalar(af, "SELECT count(*) FROM events WHERE kind = 'reminder_queued'") == 500
    assert af("audit", "verify", ok=True).exit_code == 0


@pytest.mark.parametrize("af", ["sqlite"], indirect=True)
def test_serve_down_for_three_days_sends_each_missed_reminder_once_marked_late(af: Any, smtp: SmtpSink,
                                                                               started: list[Any]) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    ref = open_task(af)
    for day in ("2024-07-24", "2024-07-26"):
        assert af.json("tick", now=f"{day}T08:00:00+07:00")["sent"] == 2
    up = af.popen(*SERVE, "--node-name", "hq", now="2024-07-29T09:00:00+07:00")
    started.append(up)
    wait_for(lambda: scalar(af, "SELECT count(*) FROM nodes WHERE name = 'hq'") == 1)
    stop(up)
    assert len(smtp.received) == 4

    # Down from Monday 29/07 09:00 to Thursday 01/08 09:00: the due-day mail (31/07 08:00),
    # the missed marker (01/08 00:00) and the overdue mail with its escalation (01/08 08:00) fell due.
    # "Today is the last day" is never said of a past day: the due-day rung is recorded skipped.
    back_at = "2024-08-01T09:00:00+07:00"
    back = af.popen(*SERVE, "--node-name", "hq", now=back_at)
    started.append(back)
    wait_for(lambda: scalar(af, "SELECT count(*) FROM outbox WHERE status = 'sent'") == 4 + 7)
    alive = json.loads(af.run("nodes", "--json", now=back_at).stdout)
    log = stop(back)

    assert [(n["name"], n["sent_last_hour"]) for n in alive] == [("hq", 7)]
    assert "late by 1:00:00" in log and "late by 1 day" not in log
    with db.get_engine(af.url).connect() as conn:
        late = dict(conn.execute(sa.text("SELECT rung, max(late_by_s) FROM outbox GROUP BY rung")).all())
        skipped = conn.execute(sa.text("SELECT rung, last_error FROM outbox WHERE status = 'skipped'")).all()
    assert late == {"before_7d": None, "before_3wd": None, "due_day": None, "overdue_1wd": 3600}
    assert sorted(skipped) == [("due_day", "stale"), ("due_day", "stale")]  # the unit's mailbox and its officer
    history = af.json("case", "history", ref)
    marks = [e["payload"].get("late_by_s") for e in history if e["kind"] in ("reminder_queued", "escalated")]
    assert marks == [None, None, 3600, 3600]
    assert [e["payload"]["why"] for e in history if e["kind"] == "reminder_skipped"] == ["stale"]
    assert [e["kind"] for e in history].count("deadline_missed") == 1

    again = af.popen(*SERVE, "--node-name", "hq", now=back_at)
    started.append(again)
    wait_for(lambda: scalar(af, "SELECT count(*) FROM nodes WHERE name = 'hq'") == 1)
    time.sleep(1.5)  # a sweep or two
    stop(again)
    assert len(smtp.received) == 11 and scalar(af, "SELECT count(*) FROM outbox") == 13
    assert af.json("nodes", now=back_at) == []  # a node that stopped cleanly leaves the list
