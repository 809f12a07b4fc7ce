"""Three ``agreeflow serve`` nodes on one PostgreSQL share thousands of due reminders.

Real processes, the real clock, a real SMTP server on 127.0.0.1.  Each node
claims deadlines (case row ``FOR UPDATE SKIP LOCKED``) and outbox rows
(``FOR UPDATE SKIP LOCKED`` + a lease): every reminder arrives exactly once;
with one node SIGKILLed mid-run none is lost, its leases run out and the
others take its messages over, and only a message that was on the wire can
arrive twice — with the same Message-ID.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agreeflow.engine.core import clock, db
from agreeflow.engine.core.store import Deadline, OutboxMessage
from agreeflow.engine.legaltime import reminders
from agreeflow.notifications.mailer import message_id_for
from tests.conftest import ROOT, Agreeflow
from tests.smtp_server import SmtpSink
from tests.test_concurrency import TOGGLE

REMINDERS = int(os.environ.get("AGREEFLOW_TEST_REMINDERS") or 1000)
"""5,000 in CI (.ci/run sets it; about three minutes on two cores); 1,000 for a quick local run."""
CASES, NODES = 50, ("n1", "n2", "n3")
LEASE_S = 12
"""Short enough to see a takeover, long enough for a live node to send a claimed batch."""
SMTP_TIMEOUT_S = 2.5
"""Under half the lease margin (half of 6 s): serve refuses a mail timeout the end of a claim could not cover."""
MAILBOX = "bocongan@mps.example"  # the Ministry of Public Security: a unit mailbox, one recipient


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """The shipped policies with a short lease, one message per rung and a one-mail ladder ``bulk``."""
    text = reminders.POLICY_FILE.read_text(encoding="utf-8")
    text, n = re.subn(r"lease_seconds: \d+", f"lease_seconds: {LEASE_S}", text)
    assert n == 1
    # One message per rung (grouping off): the reminders of one mailbox stay thousands of messages, the
    # dispatchers' load this test is about (grouping is tested in test_mail_grouping.py).
    text, n = re.subn(r"group: true", "group: false", text)
    assert n == 1
    text += ("  bulk:\n    rungs:\n      - {id: before_30d, offset: -30, unit: d, mail: reminder}\n"
             "      - {id: missed, at: due_end, event: deadline_missed}\n    digest: false\n")
    path = tmp_path / "reminder-policies.yaml"
    path.write_text(text, encoding="utf-8")
    reminders.load(path)  # valid, or the test stops here with the problems listed
    return path


@pytest.fixture
def nodes() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Serve processes by name; any still running at the end (a failed test) is killed."""
    procs: dict[str, subprocess.Popen[str]] = {}
    yield procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)


def start_node(af: Agreeflow, name: str, policies: Path, smtp: SmtpSink) -> subprocess.Popen[str]:
    """``agreeflow serve --node-name name``; its log goes to a file (a pipe nobody reads fills
    up, and a node blocked writing a log line holds its transaction and the case lock)."""
    env = {**os.environ, **af.base_env(None, None, None), "AGREEFLOW_SMTP": smtp.url(timeout=SMTP_TIMEOUT_S),
           "AGREEFLOW_TEST_POLICIES": str(policies)}
    with open(af.home / f"{name}.log", "a", encoding="utf-8") as log:
        return subprocess.Popen([sys.executable, "-m", "tests.serve_node", "serve", "--node-name", name,
                                 "--interval", "1", "--dispatch-interval", "0.5"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def node_log(af: Agreeflow, name: str) -> str:
    return (af.home / f"{name}.log").read_text(encoding="utf-8")


def stop_node(af: Agreeflow, name: str, proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0, node_log(af, name)[-3000:]
    return node_log(af, name)


def wait_for(what: Callable[[], Any], seconds: float, nodes: dict[str, subprocess.Popen[str]]) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        dead = {n: p for n, p in nodes.items() if p.poll() is not None and p.returncode != -signal.SIGKILL}
        assert not dead, f"node(s) {sorted(dead)} exited: see their logs in the test's home folder"
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what.__doc__ or what}")


def count(af: Agreeflow, sql: str) -> int:
    with db.get_engine(af.url).connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar() or 0)


def due_reminders(af: Agreeflow, workflows_copy: Path) -> list[str]:
    """``REMINDERS`` open deadlines spread over ``CASES`` cases, each with one mail due now; their keys."""
    (workflows_copy / TOGGLE.name).write_bytes(TOGGLE.read_bytes())
    refs = [af("case", "open", "toggle", "--title", f"Hồ sơ {i}", ok=True).stdout.strip() for i in range(CASES)]
    now = clock.now()
    due = clock.local_today() + timedelta(days=20)  # "30 days before" fell due ten days ago
    # Each row is logged with its deadline_set event, as the engine does (a row the log never set is tampering).
    from sqlmodel import Session, col, select

    from agreeflow.engine.core import audit
    from agreeflow.engine.core.kinds import EventKind
    from agreeflow.engine.core.store import Case
    from agreeflow.engine.legaltime.deadlines import deadline_payload

    with Session(db.get_engine(af.url)) as s:
        audit.start_recording(s, audit.Recording(at=clock.real_now(), origin="test:bulk"))
        cases = {c.ref: c for c in s.exec(select(Case).where(col(Case.ref).in_(refs)).with_for_update()).all()}
        for i in range(REMINDERS):
            case = cases[refs[i % CASES]]
            d = Deadline(case_id=case.id, key=f"timer:bulk:{i}", kind="d", label_vi=f"Việc số {i}",
                         label_en=f"Item {i}", unit="BCA", start_at=now - timedelta(days=60), due_date=due,
                         due_at=clock.end_of_local_day(due), phrase="", explanation=[], citation="", confirmed=True,
                         status="open", policy="bulk", next_action_at=now - timedelta(minutes=1), rung=0, extra={})
            s.add(d)
            audit.append_event(s, case, EventKind.DEADLINE_SET, actor="test", payload=deadline_payload(d), at=now)
        s.commit()
    with db.get_engine(af.url).begin() as conn:
        first = conn.execute(sa.text("SELECT min(id) FROM deadlines WHERE key LIKE 'timer:bulk:%'")).scalar()
    return [f"d{first + i}:before_30d:{MAILBOX}" for i in range(REMINDERS)]


def check_delivery(af: Agreeflow, smtp: SmtpSink, keys: list[str], policies: Path) -> Counter[str]:
    """Every key's Message-ID arrived; the log has one queued and one sent event per reminder."""
    domain = reminders.load(policies).mail.message_id_domain
    ids = Counter(m.message()["Message-ID"] for m in smtp.received)
    assert set(ids) == {message_id_for(k, domain) for k in keys}
    assert sent(af) == REMINDERS
    assert count(af, "SELECT count(*) FROM events WHERE kind = 'reminder_queued'") == REMINDERS
    assert count(af, "SELECT count(*) FROM events WHERE kind = 'reminder_sent'") == REMINDERS
    assert af("audit", "verify", ok=True).exit_code == 0
    return ids


def sent(af: Agreeflow, node: str | None = None) -> int:
    by = f" AND claimed_by = '{node}'" if node else ""
    return count(af, f"SELECT count(*) FROM outbox WHERE status = 'sent'{by}")


@pytest.fixture
def keys(af: Agreeflow, workflows_copy: Path, policies: Path, smtp: SmtpSink,
         nodes: dict[str, subprocess.Popen[str]]) -> list[str]:
    """The due reminders' idempotency keys, once n1, n2 and n3 are started on them."""
    due = due_reminders(af, workflows_copy)
    for name in NODES:
        nodes[name] = start_node(af, name, policies, smtp)
    return due


def wait_until_all_sent(af: Agreeflow, nodes: dict[str, subprocess.Popen[str]]) -> None:
    def all_sent() -> bool:
        """every reminder sent"""
        return sent(af) == REMINDERS
    wait_for(all_sent, 600, nodes)


@pytest.mark.parametrize("af", ["postgresql"], indirect=True)
def test_three_nodes_send_every_due_reminder_exactly_once(
        af: Agreeflow, keys: list[str], policies: Path, smtp: SmtpSink,
        nodes: dict[str, subprocess.Popen[str]]) -> None:
    wait_until_all_sent(af, nodes)
    alive = af.json("nodes", user=None)
    for name in NODES:
        stop_node(af, name, nodes[name])

    ids = check_delivery(af, smtp, keys, policies)
    assert len(smtp.received) == REMINDERS and max(ids.values()) == 1
    assert [n["name"] for n in alive] == list(NODES)
    assert sum(n["sent_last_hour"] for n in alive) == REMINDERS
    assert all(n["sent_last_hour"] > 0 for n in alive), alive  # the work was shared
    assert af.json("nodes", user=None) == []  # a stopped node leaves the list


@pytest.mark.parametrize("af", ["postgresql"], indirect=True)
def test_a_node_killed_mid_run_loses_nothing_and_only_its_message_in_flight_can_arrive_twice(
        af: Agreeflow, keys: list[str], policies: Path, smtp: SmtpSink,
        nodes: dict[str, subprocess.Popen[str]]) -> None:
    smtp.data_delay = 0.02  # a slow relay: mail piles up, so every node is always in the middle of a batch

    def victim_busy() -> bool:
        """n2 has sent a tenth of its share and holds claimed messages"""
        return sent(af, "n2") >= REMINDERS // 30 and count(
            af, "SELECT count(*) FROM outbox WHERE status = 'sending' AND claimed_by = 'n2'") > 1
    wait_for(victim_busy, 600, nodes)
    nodes["n2"].send_signal(signal.SIGKILL)
    nodes["n2"].wait(timeout=30)
    with db.get_engine(af.url).connect() as conn:  # what n2 had claimed and not marked sent
        orphaned = dict(conn.execute(sa.select(OutboxMessage.id, OutboxMessage.lease_until).where(
            OutboxMessage.status == "sending", OutboxMessage.claimed_by == "n2")).all())
    assert sent(af) < REMINDERS, "finished before the kill"
    wait_until_all_sent(af, nodes)
    with db.get_engine(af.url).connect() as conn:
        taken = conn.execute(sa.select(OutboxMessage.id, OutboxMessage.claimed_by, OutboxMessage.sent_at)
                             .where(OutboxMessage.id.in_(list(orphaned)))).all()  # type: ignore[attr-defined]
    for name in ("n1", "n3"):
        stop_node(af, name, nodes[name])

    ids = check_delivery(af, smtp, keys, policies)
    repeated = {mid: n for mid, n in ids.items() if n > 1}
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values()), repeated  # n2's one message on the wire
    for mid in repeated:
        first, second = [m.message() for m in smtp.received if m.message()["Message-ID"] == mid]
        assert first["Subject"] == second["Subject"]
        assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(smtp.received) == REMINDERS + len(repeated)
    # n2's claimed messages waited for its lease to run out, then another node sent them
    assert orphaned, "n2 was killed between two batches: nothing to take over"
    for row_id, claimed_by, sent_at in taken:
        assert claimed_by in ("n1", "n3") and sent_at >= orphaned[row_id], (row_id, claimed_by)
