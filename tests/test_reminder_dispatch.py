"""Reminders leave through a real SMTP server (aiosmtpd on 127.0.0.1): content, retries, leases, cancellation."""

from __future__ import annotations

import html
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from smtp_server import ScriptedSmtp, SmtpSink  # pytest puts tests/ on sys.path: it has no __init__.py
from sqlmodel import Session, select

from agreeflow.engine.core import clock, db
from agreeflow.engine.core.errors import InputFileError
from agreeflow.engine.core.kinds import OutboxStatus
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import OutboxMessage
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.service import delivered, worker
from agreeflow.notifications import outbox
from agreeflow.notifications.interleave import Gate, Signal, interleave
from agreeflow.notifications.mailer import SmtpTransport, TransportError, build_bytes, build_email, message_id_for
from agreeflow.notifications.render import RenderedMessage
from tests.conftest import APPROVER, OFFICER_CA

OPENED = "2024-06-21T09:00:00+07:00"
WEEK_BEFORE = "2024-07-24T08:00:00+07:00"      # 7 days before 31/07/2024, a Wednesday
DOMAIN = reminders.load().mail.message_id_domain


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def open_police_task(af: Any) -> str:
    return af("case", "open", "task", "--title", "Ban hành hướng dẫn bảo đảm an ninh trong hợp tác quốc tế",
              "--field", "lead_unit=CA", "--field", "due_phrase=hoàn thành trong tháng 7/2024",
              "--field", "assigned_on=2024-06-21", now=OPENED, ok=True).stdout.strip()


def rows(af: Any, where: str = "1=1") -> list[Any]:
    with db.get_engine(af.url).connect() as conn:
        return list(conn.execute(sa.text(f"SELECT id, status, tries, recipient, last_error, next_try_at, "
                                         f"idem_key, claimed_by FROM outbox WHERE {where} ORDER BY id")))


def parts(msg: Any) -> dict[str, str]:
    """{content type: the words a reader sees} (HTML without its tags)."""
    return {p.get_content_type(): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", p.get_content())).split())
            for p in msg.walk() if not p.is_multipart()}


def test_reminder_reaches_the_unit_mailbox_and_its_officers_in_their_language(af: Any, smtp: SmtpSink,
                                                                                  tmp_path: Path) -> None:
    english = tmp_path / "directory.yaml"
    english.write_text(Path("engine/data/directory-bac-giang-2024.yaml").read_text(encoding="utf-8").replace(
        'unit: CA, roles: [officer]}', 'unit: CA, roles: [officer], lang: en}'), encoding="utf-8")
    af("directory", "load", str(english), user="quantri@bacgiang.example", ok=True)
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    ref = open_police_task(af)

    counts = af.json("tick", now=WEEK_BEFORE)

    assert counts["queued"] == counts["sent"] == 2 and counts["reminders"] == 1
    by_rcpt = {m.rcpt_tos[0]: m.message() for m in smtp.received}
    assert sorted(by_rcpt) == ["chuyenvien.ca@bacgiang.example", "congan@bacgiang.example"]
    vi, en = by_rcpt["congan@bacgiang.example"], by_rcpt["chuyenvien.ca@bacgiang.example"]
    title = "Ban hành hướng dẫn bảo đảm an ninh trong hợp tác quốc tế"
    assert vi["Subject"] == f"[Nhắc hạn] {ref}: {title} — hạn 31/07/2024"
    assert en["Subject"] == f"[Reminder] {ref}: {title} — due 31/07/2024"
    assert vi["From"] == "agreeflow - Sở Ngoại vụ Bắc Giang <agreeflow@bacgiang.example>"
    assert vi["To"] == "congan@bacgiang.example"
    assert vi["Auto-Submitted"] == "auto-generated" and vi["X-Agreeflow-Case"] == ref
    key = vi["X-Agreeflow-Key"]
    assert key.startswith("d") and key.endswith(":before_7d:congan@bacgiang.example")
    assert vi["Message-ID"] == message_id_for(key, DOMAIN)
    body = parts(vi)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "Kính gửi: Công an tỉnh" in text
        assert "thứ Tư, 31/07/2024" in text and "còn 5 ngày làm việc" in text
        assert "hoàn thành trong tháng 7/2024" in text and "Văn bản giao nhiệm vụ" in text
        assert "agreeflow case" not in text  # an outside body has no shell: it is told whom to write to
        assert "Đầu mối liên hệ tại Sở Ngoại vụ: " in text
    assert "Ngô Đức Anh" in parts(en)["text/plain"]
    assert "5 working days left" in parts(en)["text/plain"]

    history = af.json("case", "history", ref)
    queued = [e for e in history if e["kind"] == "reminder_queued"]
    assert len(queued) == 1 and sorted(queued[0]["payload"]["recipients"]) == sorted(by_rcpt)
    assert sum(e["kind"] == "reminder_sent" for e in history) == 2
    assert af.json("tick", now=WEEK_BEFORE)["queued"] == 0  # a second sweep at the same instant is a no-op
    assert len(smtp.received) == 2


def test_smtp_outage_is_retried_with_backoff_and_everything_arrives_once_it_is_back(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url(timeout=2)
    open_police_task(af)
    smtp.stop()
    t0 = clock.parse_instant(WEEK_BEFORE)

    first = af.json("tick", now=WEEK_BEFORE)
    assert first["queued"] == 2 and first["sent"] == 0 and first["retried"] == 1
    failed, waiting = rows(af)
    assert (failed.status, failed.tries) == ("queued", 1) and "cannot reach" in failed.last_error
    assert waiting.tries == 0  # the round stopped at the unreachable server
    second = af.json("tick", now=(t0 + timedelta(minutes=1)).isoformat())
    assert second["retried"] == 1 and second["sent"] == 0  # the oldest waiting message tried first
    assert [r.tries for r in rows(af)] == [1, 1]
    listed = af.json("outbox", "list", "--status", "queued", now=(t0 + timedelta(minutes=1)).isoformat())
    assert all("cannot reach" in m["last_error"] for m in listed)

    smtp.start()
    back = af.json("tick", now=(t0 + timedelta(minutes=5)).isoformat())
    assert back["sent"] == 2
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == ["chuyenvien.ca@bacgiang.example",
                                                            "congan@bacgiang.example"]
    assert {r.status for r in rows(af)} == {"sent"}


def test_permanent_refusal_fails_at_once_and_outbox_retry_sends_it_again(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_police_task(af)
    smtp.fail_rcpt = "550 5.1.1 No such user"
    assert af.json("tick", now=WEEK_BEFORE)["failed"] == 2
    bad = rows(af)[0]
    assert bad.status == "failed" and "550" in bad.last_error

    refused = af("outbox", "retry", str(bad.id), user=OFFICER_CA, now=WEEK_BEFORE)
    assert refused.exit_code == 3
    assert af("outbox", "retry", "9999", now=WEEK_BEFORE).exit_code == 2
    smtp.fail_rcpt = None
    assert af.json("outbox", "retry", str(bad.id), now=WEEK_BEFORE)["status"] == "queued"
    assert af.json("tick", now=WEEK_BEFORE)["sent"] == 1
    assert [m.rcpt_tos[0] for m in smtp.received] == [bad.recipient]


def test_mail_queued_for_a_deadline_met_before_sending_is_cancelled(af: Any, smtp: SmtpSink, tmp_path: Path) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    ref = open_police_task(af)
    assert af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"] == 2
    doc = tmp_path / "huong-dan.pdf"
    doc.write_bytes(b"%PDF-1.4")
    af("case", "fire", ref, "report", "--field", "result_document=Hướng dẫn 102/HD-CAT", "--attach",
       f"result={doc}", user=OFFICER_CA, now="2024-07-24T08:01:00+07:00", ok=True)
    af("case", "fire", ref, "accept", user=APPROVER, now="2024-07-24T08:02:00+07:00", ok=True)

    counts = af.json("tick", now="2024-07-24T08:03:00+07:00")

    assert counts["cancelled"] == 2 and counts["sent"] == 0 and smtp.received == []
    assert af.json("tick", now="2024-09-30T08:00:00+07:00")["queued"] == 0  # the ladder ended with the case


def test_a_message_claimed_by_a_vanished_node_is_sent_by_another_after_its_lease(af: Any, smtp: SmtpSink) -> None:
    settings = Settings(data_dir=af.home, db_url=af.url, smtp_url=smtp.url())
    open_police_task(af)
    assert af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"] == 2
    t0 = clock.parse_instant(WEEK_BEFORE)
    lease = timedelta(seconds=reminders.load().mail.lease_seconds)
    claimed, _ = worker.claim(settings, "node-a", t0, 1, lease)  # node-a dies before sending
    assert len(claimed) == 1

    clock.set_now(t0 + lease - timedelta(seconds=1))
    assert worker.dispatch_outbox(settings, "node-b")["sent"] == 1  # only the unclaimed one
    clock.set_now(t0 + lease + timedelta(seconds=1))
    assert worker.dispatch_outbox(settings, "node-b")["sent"] == 1
    assert [r.claimed_by for r in rows(af)] == ["node-b", "node-b"]
    assert len(smtp.received) == 2


def test_a_message_sent_but_not_recorded_before_a_crash_goes_again_with_the_same_message_id(
        af: Any, smtp: SmtpSink) -> None:
    settings = Settings(data_dir=af.home, db_url=af.url, smtp_url=smtp.url())
    open_police_task(af)
    assert af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"] == 2
    clock.set_now(clock.parse_instant(WEEK_BEFORE))
    [c], _ = worker.claim(settings, "n1", clock.now(), 1, timedelta(minutes=5))
    mail = reminders.load().mail
    transport = outbox.transport_for(settings)
    transport.send(build_email(RenderedMessage(c.subject, c.text, c.html), mail.sender, c.recipient,
                               c.message_id))  # on the wire … and the process dies before marking it sent

    assert worker.release(settings, "n1") == 1  # n1 restarts under its name and takes its rows back
    assert worker.dispatch_outbox(settings, "n1")["sent"] == 2

    ids = [m.message()["Message-ID"] for m in smtp.received]
    assert len(ids) == 3 and ids.count(c.message_id) == 2
    assert {r.status for r in rows(af)} == {"sent"}
    assert sum(e["kind"] == "reminder_sent" for e in af.json("case", "history", "NV-2024-0001")) == 2


LEADS = ("CA", "STP", "STC", "SVHTTDL", "TTRA", "LHHN")


def test_a_batch_is_shared_among_several_smtp_sessions_and_each_message_goes_once(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_tasks(af)
    connections = reminders.load().mail.connections
    assert connections > 1  # the default policy file shares a batch

    counts = af.json("tick", now=WEEK_BEFORE)
    ids = Counter(m.message()["Message-ID"] for m in smtp.received)
    assert counts["sent"] == len(smtp.received) == len(ids) >= len(LEADS) and max(ids.values()) == 1
    assert len({m.peer for m in smtp.received}) == connections  # one connection per session, all used
    with Session(db.get_engine(af.url)) as s:
        marked = s.exec(select(OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.tries,  # type: ignore[call-overload]
                               OutboxMessage.lease_until)).all()
    assert set(marked) == {("sent", clock.parse_instant(WEEK_BEFORE), 1, None)}


def test_a_round_keeps_its_smtp_sessions_from_batch_to_batch(af: Any, smtp: SmtpSink, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of three over two sessions: the relay greets two connections for the whole round (its TLS and
    login once per round, not once per batch), and every message goes once."""
    policy = tmp_path / "policies.yaml"
    policy.write_text(reminders.POLICY_FILE.read_text(encoding="utf-8")
                      .replace("  batch: 200", "  batch: 3").replace("  connections: 4", "  connections: 2"),
                      encoding="utf-8")
    monkeypatch.setattr(reminders, "POLICY_FILE", policy)
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    assert queued >= 3 * 3  # three batches at least

    counts = af.json("tick", now=WEEK_BEFORE)
    assert counts["sent"] == queued == len({m.message()["Message-ID"] for m in smtp.received}) == len(smtp.received)
    assert len({m.peer for m in smtp.received}) == 2


def test_sessions_sharing_a_gate_never_leave_two_messages_delivered_and_unrecorded(smtp: SmtpSink) -> None:
    """The server's count at each recording is the number recorded so far: no second message became delivered
    (its end of data answered) while one was delivered and not yet recorded.  Without the gate it fails."""
    smtp.data_delay = 0.002  # a server that thinks a little: the sessions' messages overlap
    transport = SmtpTransport.from_url(smtp.url())
    gate = threading.Lock()
    seen: list[int] = []

    def session(i: int) -> None:
        with transport.open(gate) as s:
            for j in range(8):
                out = build_bytes(RenderedMessage(f"Thư {i}.{j}", "Nội dung", "<p>Nội dung</p>"),
                                  "agreeflow@bacgiang.example", f"u{i}@bacgiang.example",
                                  message_id_for(f"gate:{i}:{j}", "bacgiang.example"))
                s.send(out, lambda: (time.sleep(0.002), seen.append(len(smtp.received))))  # a mark's time

    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == list(range(1, 33))
    assert len({m.peer for m in smtp.received}) == 4


def test_sessions_run_in_one_thread_take_turns_at_the_gate_and_each_message_goes_once(smtp: SmtpSink) -> None:
    """The dispatcher's way (notifications/interleave.py): four sessions driven by one thread, their messages
    overlapping while the server thinks, one at a time at the end of data. The same count as above: no second
    message became delivered while one was delivered and not yet recorded."""
    smtp.data_delay = 0.002
    transport = SmtpTransport.from_url(smtp.url())
    gate = Gate()
    seen: list[int] = []
    inside_at_once: list[bool] = []

    def messages(session: Any, i: int) -> Iterator[Any]:
        for j in range(8):
            out = build_bytes(RenderedMessage(f"Thư {i}.{j}", "Nội dung", "<p>Nội dung</p>"),
                              "agreeflow@bacgiang.example", f"u{i}@bacgiang.example",
                              message_id_for(f"turns:{i}:{j}", "bacgiang.example"))
            yield from session.steps(out, lambda: (inside_at_once.append(gate.inside), time.sleep(0.002),
                                                   seen.append(len(smtp.received))))

    sessions = [transport.open(gate) for _ in range(4)]
    try:
        assert interleave([messages(session, i) for i, session in enumerate(sessions)], gate) == []
    finally:
        for session in sessions:
            session.close()
    assert seen == list(range(1, 33)) and all(inside_at_once)
    assert len({m.peer for m in smtp.received}) == 4
    assert len({m.message()["Message-ID"] for m in smtp.received}) == 32
    assert smtp.data_ends == 32


def test_a_session_whose_server_stops_answering_times_out_and_the_others_finish(smtp: SmtpSink) -> None:
    """One thread waits on every socket: a server that greets, then never answers MAIL keeps that session
    waiting until the mail URL's timeout, and no longer: it fails alone (a temporary TransportError) while the
    other sessions send."""
    import socket as sockets

    listener = sockets.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[sockets.socket] = []

    def greets_then_goes_quiet() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        conn.sendall(b"220 quiet.example ESMTP\r\n")
        conn.recv(1024)  # EHLO
        conn.sendall(b"250 quiet.example\r\n")
        conn.recv(1024)  # MAIL FROM: never answered

    server = threading.Thread(target=greets_then_goes_quiet, daemon=True)
    server.start()
    try:
        quiet = SmtpTransport.from_url(f"smtp://127.0.0.1:{listener.getsockname()[1]}?timeout=1")
        talking = SmtpTransport.from_url(smtp.url())
        gate = Gate()
        done: list[str] = []

        def one(transport: SmtpTransport, name: str) -> Iterator[Any]:
            with transport.open(gate) as session:
                out = build_bytes(RenderedMessage(name, "Nội dung", "<p>Nội dung</p>"), "agreeflow@bacgiang.example",
                                  f"{name}@bacgiang.example", message_id_for(name, "bacgiang.example"))
                yield from session.steps(out, lambda: done.append(name))

        started = time.monotonic()
        errors = interleave([one(quiet, "quiet"), one(talking, "a"), one(talking, "b")], gate)
        waited = time.monotonic() - started
    finally:
        listener.close()
        for conn in held:
            conn.close()
    [error] = errors
    assert isinstance(error, TransportError) and error.temporary and "timed out" in str(error)
    assert 1 <= waited < 3
    assert sorted(done) == ["a", "b"] and len(smtp.received) == 2


def message(name: str) -> Any:
    return build_bytes(RenderedMessage(name, "Nội dung", "<p>Nội dung</p>"), "agreeflow@bacgiang.example",
                       f"{name}@bacgiang.example", message_id_for(name, "bacgiang.example"))


def test_a_session_opens_its_connection_only_while_no_message_is_inside_the_gate(smtp: SmtpSink) -> None:
    """Opening a session blocks the one thread (a relay that greets 2 s late). It waits for the gate's turn, so
    it never holds up a message inside the gate, whose answer would otherwise be marked late in its claim."""
    smtp.data_delay = 0.5
    slow = ScriptedSmtp(lambda n, command: time.sleep(2) if command == "CONNECT" else None)
    gate, inside = Gate(), Signal()
    marked_after: list[float] = []

    class Watched(Gate):
        def __enter__(self) -> None:
            gate.__enter__()
            inside.set()
            self.since = time.monotonic()

        def __exit__(self, *exc: Any) -> None:
            gate.__exit__(*exc)

    watched = Watched()

    def fast() -> Iterator[Any]:
        with SmtpTransport.from_url(smtp.url()).open(watched) as session:
            yield from session.steps(message("a"), lambda: marked_after.append(time.monotonic() - watched.since))

    def late() -> Iterator[Any]:
        yield inside  # starts once the other message is inside the gate, waiting for its answer
        with SmtpTransport.from_url(slow.url()).open(gate) as session:
            yield from session.steps(message("b"), None)

    try:
        assert interleave([fast(), late()], gate) == []
    finally:
        slow.close()
    assert len(marked_after) == 1 and marked_after[0] < 1.5, marked_after  # 2.5 s if the greeting came first
    assert len(smtp.received) == len(slow.messages) == 1


def test_a_refusal_then_a_hang_up_costs_the_next_message_nothing() -> None:
    """The relay refuses a recipient (550) and closes the connection: that message fails for good; the next
    goes out on a new connection instead of failing as 'cannot reach'."""
    relay = ScriptedSmtp(lambda n, command: "550 5.1.1 No such user" if (n, command) == (0, "RCPT") else
                         "CLOSE" if (n, command) == (0, "RSET") else None)
    try:
        with SmtpTransport.from_url(relay.url()).open() as session:
            with pytest.raises(TransportError) as refused:
                session.send(message("nobody"))
            assert (refused.value.code, refused.value.temporary) == (550, False)
            session.send(message("somebody"))
    finally:
        relay.close()
    assert relay.connections == 2 and len(relay.messages) == 1


def test_a_refusal_whose_reset_is_never_answered_is_still_the_refusal() -> None:
    """After the 550, the relay says nothing to RSET: the message fails for good with the 550 (as smtplib's
    sendmail reports it), not as a relay that cannot be reached."""
    relay = ScriptedSmtp(lambda n, command: "550 5.1.1 No such user" if command == "RCPT" else
                         "" if command == "RSET" else None)
    try:
        with SmtpTransport.from_url(relay.url(timeout=0.5)).open() as session:
            with pytest.raises(TransportError) as refused:
                session.send(message("nobody"))
    finally:
        relay.close()
    assert (refused.value.code, refused.value.temporary) == (550, False)


@pytest.mark.parametrize("goodbye", ["CLOSE", "421 4.4.2 Error: timeout exceeded"], ids=["hang-up", "421"])
def test_a_kept_connection_the_relay_has_closed_since_is_opened_again_without_a_failure(goodbye: str) -> None:
    """A relay that closes a connection between two messages of a kept session — by hanging up (a restart, an
    idle or per-connection limit), or as Postfix and Exim do with an idle one, "421 … timeout exceeded" to the
    next command: at MAIL, before anything of the message reached it, so the second goes on a new connection;
    nothing fails, nothing goes twice."""
    relay = ScriptedSmtp(lambda n, command: goodbye if (n, command) == (0, "MAIL") and relay.messages else None)
    try:
        with SmtpTransport.from_url(relay.url()).open() as session:
            session.send(message("first"))
            session.send(message("second"))
    finally:
        relay.close()
    assert relay.connections == 2 and len(relay.messages) == 2


def test_a_relay_that_drops_the_new_connection_too_is_a_relay_that_cannot_be_reached() -> None:
    """A kept connection found closed is opened again once; if the new one is closed at MAIL as well (a relay
    still restarting), the message fails as an unreachable relay does — a temporary error, tried later."""
    relay = ScriptedSmtp(lambda n, command: "CLOSE" if command == "MAIL" and n >= 1 or
                         (n, command) == (0, "MAIL") and relay.messages else None)
    try:
        with SmtpTransport.from_url(relay.url()).open() as session:
            session.send(message("first"))
            with pytest.raises(TransportError) as lost:
                session.send(message("second"))
    finally:
        relay.close()
    assert lost.value.temporary and lost.value.code is None and relay.connections == 2
    assert len(relay.messages) == 1


def test_an_answer_to_the_end_of_a_message_that_is_no_reply_leaves_it_in_doubt(af: Any, tmp_path: Path) -> None:
    """The relay answers the end of the first message with garbage: it may have been delivered, so the batch
    stops there as for no answer at all — one try for that message, the others untouched for the next round."""
    relay = ScriptedSmtp(lambda n, command: "what?" if command == "." and not relay.messages else None)
    try:
        af.env["AGREEFLOW_SMTP"] = relay.url()
        open_tasks(af)
        queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
        first = af.json("tick", now=WEEK_BEFORE)
        assert (first["sent"], first["retried"], first["failed"]) == (0, 1, 0)
        assert sum(r.tries for r in rows(af)) == 1 and [r.status for r in rows(af)].count("queued") == queued
    finally:
        relay.close()


def test_a_failure_is_written_only_while_no_message_waits_inside_the_gate(af: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing a failure may wait for the database, which would hold up the one thread while a message inside
    the gate waits for its answer and mark. Half the sessions are refused at RCPT while the others' ends of
    data take 0.2 s to answer: every failure is written while no message is inside."""
    gates: list[Any] = []
    made = worker._Gate.__init__

    def remember(self: Any) -> None:
        made(self)
        gates.append(self)
    monkeypatch.setattr(worker._Gate, "__init__", remember)
    inside_at_write: list[bool] = []
    record = outbox.record_failure

    def watched(*args: Any, **kwargs: Any) -> str:
        inside_at_write.append(gates[-1].inside)
        return record(*args, **kwargs)
    monkeypatch.setattr(outbox, "record_failure", watched)
    relay = ScriptedSmtp(lambda n, command: "550 5.1.1 No such user" if command == "RCPT" and n % 2 else
                         time.sleep(0.2) if command == "." else None)
    try:
        af.env["AGREEFLOW_SMTP"] = relay.url()
        open_tasks(af)
        af.json("tick", "--no-dispatch", now=WEEK_BEFORE)
        counts = af.json("tick", now=WEEK_BEFORE)
    finally:
        relay.close()
    assert counts["failed"] >= 2 and counts["sent"] >= 2
    assert len(inside_at_write) == counts["failed"] and not any(inside_at_write)


def test_a_delivered_mark_for_a_claim_another_node_holds_changes_nothing(af: Any, smtp: SmtpSink) -> None:
    settings = Settings(data_dir=af.home, db_url=af.url, smtp_url=smtp.url())
    open_police_task(af)
    assert af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"] == 2
    t0 = clock.parse_instant(WEEK_BEFORE)
    [c], _ = worker.claim(settings, "node-a", t0, 1, timedelta(minutes=5))
    with delivered.DeliveredMarks(db.get_engine(af.url)) as marks:
        assert not marks.mark(c, "node-b", t0 + timedelta(seconds=1))
        assert (rows(af, f"id = {c.id}")[0].status, rows(af, f"id = {c.id}")[0].claimed_by) == ("sending", "node-a")
        assert marks.mark(c, "node-a", t0 + timedelta(seconds=2))
    with Session(db.get_engine(af.url)) as s:
        row = s.get(OutboxMessage, c.id)
        assert row is not None
        assert (row.status, row.sent_at, row.tries, row.lease_until) == (
            "delivered", t0 + timedelta(seconds=2), c.tries + 1, None)


def test_the_number_of_smtp_sessions_is_data_and_checked(tmp_path: Path) -> None:
    text = reminders.POLICY_FILE.read_text(encoding="utf-8")
    assert "  connections: 4" in text
    one = tmp_path / "one.yaml"
    one.write_text(text.replace("  connections: 4", "  connections: 1"), encoding="utf-8")
    assert reminders.load(one).mail.connections == 1
    for bad_value in ("0", "9", "two", "true"):
        bad = tmp_path / f"bad-{bad_value}.yaml"
        bad.write_text(text.replace("  connections: 4", f"  connections: {bad_value}"), encoding="utf-8")
        with pytest.raises(InputFileError) as caught:
            reminders.load(bad)
        assert "connections" in str(caught.value)
    assert "  max_tries: 8" in text
    bad = tmp_path / "bad-tries.yaml"
    bad.write_text(text.replace("  max_tries: 8", "  max_tries: eight"), encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        reminders.load(bad)
    assert caught.value.message().render("vi").count("max_tries: một số nguyên") == 1
    assert "mail: max_tries: a whole number, 1 or more" in caught.value.message().render("en")
    at_once = tmp_path / "at-once.yaml"
    at_once.write_text(text.replace("late_after_minutes: 10", "late_after_minutes: 0"), encoding="utf-8")
    assert "late_after_minutes: 10" in text and reminders.load(at_once).late_after == timedelta(0)
    listed = tmp_path / "listed.yaml"
    listed.write_text(text.replace("\nmail:\n", "\nmail: [sender]\nold_mail:\n"), encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        reminders.load(listed)
    assert "mail: cần là một bảng" in caught.value.message().render("vi")


def open_tasks(af: Any) -> None:
    for unit in LEADS:
        af("case", "open", "task", "--title", f"Nhiệm vụ của {unit}", "--field", f"lead_unit={unit}",
           "--field", "due_phrase=hoàn thành trong tháng 7/2024", "--field", "assigned_on=2024-06-21",
           now=OPENED, ok=True)


def test_a_server_that_stops_answering_after_a_message_leaves_only_that_one_in_doubt(af: Any, smtp: SmtpSink) -> None:
    """No answer to the end of data within the time-out: that message may have been delivered, so the batch
    stops there — the other sessions drop their connections before ending their messages, which the server
    throws away.  The next round sends everything; only the message in doubt can arrive twice."""
    af.env["AGREEFLOW_SMTP"] = smtp.url(timeout=1)
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    assert queued >= 2 * reminders.load().mail.connections
    smtp.data_delay = 2.5  # longer than the client's time-out: the first message ends in doubt
    first = af.json("tick", now=WEEK_BEFORE)
    assert (first["sent"], first["retried"]) == (0, 1)
    assert smtp.data_ends == 1  # the other sessions' messages were never ended
    time.sleep(2.7)  # what the server does with the one in doubt (aiosmtpd drops it with the connection)
    assert len(smtp.received) <= 1
    assert [r.status for r in rows(af)].count("queued") == queued and sum(r.tries for r in rows(af)) == 1

    smtp.data_delay = 0
    later = (clock.parse_instant(WEEK_BEFORE) + timedelta(minutes=2)).isoformat()
    assert af.json("tick", now=later)["sent"] == queued
    ids = Counter(m.message()["Message-ID"] for m in smtp.received)
    assert len(ids) == queued and sum(n > 1 for n in ids.values()) <= 1 and max(ids.values()) <= 2
    assert {r.status for r in rows(af)} == {"sent"}


def test_a_relay_that_refuses_extra_sessions_costs_their_messages_nothing(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    smtp.max_sessions = 1  # "421 Too many connections" to a second session while one is open
    counts = af.json("tick", now=WEEK_BEFORE)
    assert (counts["sent"], counts["retried"], counts["failed"]) == (queued, 0, 0)  # the first session sent all
    assert {(r.status, r.tries) for r in rows(af)} == {("sent", 1)}  # a refused session costs its messages no try
    assert len(smtp.received) == queued == len({m.message()["Message-ID"] for m in smtp.received})


def one_message_spoiled(af: Any, smtp: SmtpSink, sql: str) -> tuple[int, int, dict[str, int]]:
    """Queue the tasks' reminders, spoil the first with ``sql`` (``:id`` is its id), then tick: (how many were
    queued, the spoiled one's id, the tick's counts)."""
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    bad = rows(af)[0].id
    with db.get_engine(af.url).begin() as conn:
        conn.execute(sa.text(sql), {"id": bad})
    return queued, bad, af.json("tick", now=WEEK_BEFORE)


def test_a_message_no_server_would_take_fails_alone_and_the_batch_goes_on(af: Any, smtp: SmtpSink) -> None:
    queued, bad, counts = one_message_spoiled(
        af, smtp, "UPDATE outbox SET recipient = 'phòng.hợp.tác@bacgiang.example' WHERE id = :id")
    assert (counts["sent"], counts["failed"]) == (queued - 1, 1)
    [row] = rows(af, f"id = {bad}")
    assert row.status == "failed" and "cannot be sent as it is" in row.last_error


def short_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, connections: int = 4) -> None:
    """The mail policy with a 2 s claim (a 1 s margin), and ``connections`` sessions."""
    policy = tmp_path / "policies.yaml"
    policy.write_text(reminders.POLICY_FILE.read_text(encoding="utf-8")
                      .replace("  lease_seconds: 300", "  lease_seconds: 2")
                      .replace("  connections: 4", f"  connections: {connections}"), encoding="utf-8")
    monkeypatch.setattr(reminders, "POLICY_FILE", policy)


def two_nodes_send_once_each(af: Any, smtp: SmtpSink, queued: int, b_starts: float = 2.2) -> None:
    """node-a dispatches; ``b_starts`` s later, when its first 2 s claim has run out, node-b dispatches too
    (real time). Every message arrives once and is counted once, by one of them."""
    settings = Settings(data_dir=af.home, db_url=af.url, smtp_url=smtp.url())
    clock.set_now(None)
    counts: dict[str, dict[str, int]] = {}
    node_a = threading.Thread(target=lambda: counts.__setitem__("a", worker.dispatch_outbox(settings, "node-a")))
    node_a.start()
    time.sleep(b_starts)  # node-a's first claim has run out: node-b takes whatever it still holds
    counts["b"] = worker.dispatch_outbox(settings, "node-b")
    node_a.join()

    ids = Counter(m.message()["Message-ID"] for m in smtp.received)
    assert len(ids) == queued and max(ids.values()) == 1, ids  # nothing twice
    assert counts["a"]["sent"] + counts["b"]["sent"] == queued
    assert {r.status for r in rows(af)} == {"sent"}


def test_a_batch_slower_than_its_lease_gives_its_rows_back_so_no_other_node_sends_them_too(
        af: Any, smtp: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim is a node's for ``lease_seconds``; then another node may take its rows. A slow server must not
    make the first node go on sending rows the second has taken: it gives back what it has not started while
    enough of the lease is left (worker.lease_margin) and claims them again. Two nodes, real time, one slow
    server: every message arrives once."""
    short_lease(tmp_path, monkeypatch, connections=1)
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    assert queued >= 6
    # A slow relay: the batch takes far longer than the 2 s lease. Without the margin node-a would start its
    # fifth message at 1.8 s and end it at 2.25 s, after node-b (at 2.1 s) had taken and sent it too.
    smtp.data_delay = 0.45
    two_nodes_send_once_each(af, smtp, queued, b_starts=2.1)


def test_a_claim_that_waits_for_another_writer_still_gets_its_whole_lease(
        af: Any, smtp: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer holds the database for 1.3 s of the claim's 2 s lease. On SQLite the claim reads the clock
    once its BEGIN IMMEDIATE has the write lock, so it gets its whole lease and sends at once. On PostgreSQL
    the wait comes inside the claim (a lock on the outbox table): less than the margin is left, so its rows go
    back untried and the round ends — it does not claim and give back without end — and the next round sends."""
    short_lease(tmp_path, monkeypatch)
    open_police_task(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    settings = Settings(data_dir=af.home, db_url=af.url, smtp_url=smtp.url())
    clock.set_now(None)  # real time
    holding, log_delivered = threading.Event(), worker._log_delivered

    def hold_the_database() -> None:
        with af.raw_connection() as con:
            con.execute("BEGIN IMMEDIATE" if af.dialect == "sqlite" else "BEGIN")
            if af.dialect != "sqlite":
                con.execute("LOCK TABLE outbox IN EXCLUSIVE MODE")
            holding.set()
            time.sleep(1.3)
            con.execute("COMMIT")

    def then_another_writer(settings: Settings) -> int:  # right before the round's first claim
        done = log_delivered(settings)
        if not holding.is_set():
            threading.Thread(target=hold_the_database).start()
            holding.wait()
        return done
    monkeypatch.setattr(worker, "_log_delivered", then_another_writer)
    first = worker.dispatch_outbox(settings, "node-a")["sent"]
    if af.dialect == "sqlite":
        assert first == queued and len(smtp.received) == queued
        return
    assert first == 0 and len(smtp.received) == 0
    assert [(r.status, r.tries) for r in rows(af)] == [("queued", 0)] * queued
    assert worker.dispatch_outbox(settings, "node-a")["sent"] == queued  # the next round sends them


def test_a_message_without_a_body_fails_visibly_and_is_never_sent_blank(af: Any, smtp: SmtpSink) -> None:
    queued, bad, counts = one_message_spoiled(af, smtp, "DELETE FROM outbox_bodies WHERE id = :id")
    assert (counts["sent"], len(smtp.received)) == (queued - 1, queued - 1)
    [row] = rows(af, f"id = {bad}")
    assert row.status == "failed" and row.last_error == outbox.NO_BODY_NOTE


def test_a_message_that_reaches_the_gate_too_late_in_its_claim_is_not_ended_so_no_other_node_sends_it_too(
        af: Any, smtp: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four sessions start their messages in time, then queue at the gate behind a slow server: the last of
    them would end its message after the 2 s claim ran out, while another node has taken the row. The gate
    refuses an end once less than half the lease margin is left; the message goes back untried."""
    short_lease(tmp_path, monkeypatch)
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    assert queued >= 5
    smtp.data_delay = 0.5  # the first message ends at 0.5 s; the four after it reach the gate then, in time
    two_nodes_send_once_each(af, smtp, queued)


def test_a_mail_timeout_that_does_not_fit_in_a_claim_is_refused_before_anything_is_written(
        af: Any, smtp: SmtpSink) -> None:
    """The server's answer is awaited up to the mail URL's timeout; the gate stops ending messages when half
    the lease margin (30 s of the default 300 s lease) is left. A longer timeout could let the answer come after
    the claim ran out, so tick (and serve, through the same check) refuses it, naming what to change: exit 2,
    nothing written."""
    open_police_task(af)
    af.env["AGREEFLOW_SMTP"] = smtp.url(timeout=45)
    before = af.snapshot()
    refused = af("tick", now=WEEK_BEFORE, ok=False)
    assert refused.exit_code == 2 and "timeout=45" in refused.stderr and "dưới 30 giây" in refused.stderr
    assert af.snapshot() == before and not smtp.received
    af.env["AGREEFLOW_SMTP"] = smtp.url(timeout=29)
    assert af.json("tick", now=WEEK_BEFORE)["sent"] >= 1  # a timeout that fits: accepted


def test_why_a_message_was_not_sent_reads_in_the_officials_language(af: Any, smtp: SmtpSink) -> None:
    """The outbox stores its own notes and a skipped rung's reason as codes; the outbox list shows them in words
    (a mail server's own reply is shown as it came)."""
    from agreeflow.engine.service import words
    one_message_spoiled(af, smtp, "DELETE FROM outbox_bodies WHERE id = :id")
    af.env["COLUMNS"] = "250"
    vi = af("outbox", "list", "--status", "failed", ok=True).stdout
    assert "không có nội dung để gửi" in vi and "never rendered" not in vi
    en = af("outbox", "list", "--status", "failed", lang="en", ok=True).stdout
    assert "no text to send: the message was never rendered" in en
    assert words.word(words.OUTBOX_NOTES, "stale", "vi").startswith("không gửi:")
    assert words.word(words.OUTBOX_NOTES, "overtaken", "vi").startswith("không gửi:")
    assert words.word(words.OUTBOX_NOTES, "550 5.1.1 No such user", "vi") == "550 5.1.1 No such user"
    assert {str(x) for x in OutboxStatus} <= set(words.OUTBOX_STATUS)  # every status has its words too


def test_the_outbox_list_offers_every_status(af: Any) -> None:
    from agreeflow import cli
    assert sorted(cli.OUTBOX_STATUSES) == sorted(str(x) for x in OutboxStatus)
    assert af("outbox", "list", "--status", "skipped", ok=True).exit_code == 0
    wrong = af("outbox", "list", "--status", "gone", ok=False)
    assert wrong.exit_code == 2 and "'gone'" in wrong.stderr
