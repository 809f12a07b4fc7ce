"""Mail leaves through real transports: aiosmtpd on 127.0.0.1 and .eml files on disk."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from smtp_server import SmtpSink, TlsFiles  # pytest puts tests/ on sys.path: it has no __init__.py

from agreeflow.engine.core import clock
from agreeflow.notifications.mailer import (
    MailUrlError,
    SinkTransport,
    SmtpTransport,
    Transport,
    TransportError,
    backoff_delay,
    build_email,
    message_id_for,
    register_transport,
    transport_from_url,
)
from agreeflow.notifications.render import RenderedMessage

SUBJECT = "[Nhắc hạn] TTQT-2024-0003: Kế hoạch triển khai thỏa thuận — hạn 30/09/2024"
TEXT = "Kính gửi: Sở Ngoại vụ\n\nHạn: thứ Hai, 30/09/2024 (còn 3 ngày làm việc).\n"
HTML = "<p>Kính gửi: <strong>Sở Ngoại vụ</strong></p><p>thứ Hai, 30/09/2024</p>\n"
SENDER = "Hệ thống agreeflow <agreeflow@songoaivu.example.vn>"
RECIPIENT = "Phòng Hợp tác quốc tế <htqt@songoaivu.example.vn>"
NOW = datetime(2024, 9, 25, 2, 30, tzinfo=UTC)


@pytest.fixture
def fixed_clock() -> Iterator[datetime]:
    clock.set_now(NOW)
    try:
        yield NOW
    finally:
        clock.set_now(None)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TlsFiles:
    """A self-signed certificate the client trusts through SSL_CERT_FILE, as an operator would."""
    files = TlsFiles.make(tmp_path)
    if files is None:
        pytest.skip("the openssl command is not installed")
    monkeypatch.setenv("SSL_CERT_FILE", str(files.cert))
    return files


def make_message(idem_key: str = "d1:0:htqt@songoaivu.example.vn", text: str = TEXT) -> EmailMessage:
    rendered = RenderedMessage(subject=SUBJECT, text=text, html=HTML)
    return build_email(rendered, SENDER, RECIPIENT, message_id_for(idem_key, "agreeflow.local"),
                       {"X-Agreeflow-Case": "TTQT-2024-0003"})


def parts_of(msg: EmailMessage) -> dict[str, str]:
    """{content type: decoded text} of the leaves of a parsed message.

    Text parts travel with CRLF line ends (RFC 5322's canonical form); a mail
    reader shows them as lines, so compare lines.
    """
    return {part.get_content_type(): part.get_content().replace("\r\n", "\n")
            for part in msg.walk() if not part.is_multipart()}


def send_error(transport: Transport, msg: EmailMessage) -> TransportError:
    with pytest.raises(TransportError) as caught:
        transport.send(msg)
    return caught.value


def test_smtp_delivers_both_parts_with_diacritics_intact(
        smtp_server: SmtpSink, fixed_clock: datetime) -> None:
    msg = make_message()
    SmtpTransport.from_url(smtp_server.url()).send(msg)

    [mail] = smtp_server.received
    assert mail.mail_from == "agreeflow@songoaivu.example.vn"
    assert mail.rcpt_tos == ["htqt@songoaivu.example.vn"]
    received = mail.message()
    assert received["Subject"] == SUBJECT
    assert received["To"] == RECIPIENT
    assert received["From"] == SENDER
    assert received["Message-ID"] == msg["Message-ID"]
    assert received["X-Agreeflow-Case"] == "TTQT-2024-0003"
    assert received["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(received["Date"]) == fixed_clock
    assert received.get_content_type() == "multipart/alternative"
    assert parts_of(received) == {"text/plain": TEXT, "text/html": HTML}
    assert mail.content.isascii(), "headers and bodies must be encoded for 7-bit servers"


def test_server_down_is_a_temporary_error(smtp_server: SmtpSink) -> None:
    transport = SmtpTransport.from_url(smtp_server.url())
    smtp_server.stop()
    error = send_error(transport, make_message())
    assert error.temporary and error.code is None


def test_sending_works_again_when_the_server_comes_back(smtp_server: SmtpSink) -> None:
    transport = SmtpTransport.from_url(smtp_server.url())
    smtp_server.stop()
    assert send_error(transport, make_message()).temporary
    smtp_server.start()
    transport.send(make_message())
    assert len(smtp_server.received) == 1


def test_4xx_reply_is_a_temporary_error(smtp_server: SmtpSink) -> None:
    smtp_server.fail_data = "451 4.3.0 Mailbox busy, try again later"
    error = send_error(SmtpTransport.from_url(smtp_server.url()), make_message())
    assert error.temporary and error.code == 451


def test_5xx_recipient_refusal_is_a_permanent_error(smtp_server: SmtpSink) -> None:
    smtp_server.fail_rcpt = "550 5.1.1 No such user"
    error = send_error(SmtpTransport.from_url(smtp_server.url()), make_message())
    assert not error.temporary and error.code == 550


def test_5xx_data_refusal_is_a_permanent_error(smtp_server: SmtpSink) -> None:
    smtp_server.fail_data = "554 5.6.0 Message rejected"
    error = send_error(SmtpTransport.from_url(smtp_server.url()), make_message())
    assert not error.temporary and error.code == 554


def test_silent_server_times_out_as_a_temporary_error() -> None:
    # A listening socket that never accepts: the connection completes in the
    # kernel's backlog but no greeting ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        transport = SmtpTransport.from_url(f"smtp://127.0.0.1:{port}?timeout=0.3")
        started = time.monotonic()
        error = send_error(transport, make_message())
    assert error.temporary
    assert time.monotonic() - started < 3


def test_starttls_with_login_delivers(tls_files: TlsFiles) -> None:
    with SmtpSink(users={"agreeflow": "p@ss:w/rd?"}, tls=tls_files) as server:
        url = server.url(user="agreeflow", password="p@ss:w/rd?", starttls=True)
        SmtpTransport.from_url(url).send(make_message())
        assert server.received[0].message()["Subject"] == SUBJECT


def test_wrong_password_is_temporary_so_reminders_wait_for_the_fix(tls_files: TlsFiles) -> None:
    with SmtpSink(users={"agreeflow": "right"}, tls=tls_files) as server:
        url = server.url(user="agreeflow", password="wrong", starttls=True)
        error = send_error(SmtpTransport.from_url(url), make_message())
    assert error.temporary and error.code == 535


def test_smtps_delivers_over_implicit_tls(tls_files: TlsFiles) -> None:
    with SmtpSink(tls=tls_files, implicit_tls=True) as server:
        assert server.url().startswith("smtps://")
        SmtpTransport.from_url(server.url()).send(make_message())
        assert parts_of(server.received[0].message())["text/plain"] == TEXT


def test_sink_writes_a_parseable_eml_named_by_message_id(tmp_path: Path) -> None:
    msg = make_message()
    sink = SinkTransport(tmp_path / "mail")
    sink.send(msg)

    [written] = list((tmp_path / "mail").iterdir())
    assert written == sink.path_for(msg)
    assert written.name == msg["Message-ID"].strip("<>") + ".eml"
    parsed = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert parsed["Subject"] == SUBJECT
    assert parts_of(parsed) == {"text/plain": TEXT, "text/html": HTML}


def test_sink_resend_with_same_message_id_overwrites(tmp_path: Path) -> None:
    sink = SinkTransport(tmp_path)
    sink.send(make_message(text="lần đầu\n"))
    sink.send(make_message(text="lần hai\n"))
    sink.send(make_message(idem_key="d1:1:htqt@songoaivu.example.vn"))

    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2, files  # no leftover temporary files either
    parsed = BytesParser(policy=policy.default).parsebytes(
        sink.path_for(make_message()).read_bytes())
    assert parts_of(parsed)["text/plain"] == "lần hai\n"


def test_sink_that_cannot_write_is_a_temporary_error(tmp_path: Path) -> None:
    blocker = tmp_path / "mail"
    blocker.write_text("a file where the folder should be")
    assert send_error(SinkTransport(blocker), make_message()).temporary


def test_message_id_is_deterministic_per_idempotency_key() -> None:
    first = message_id_for("d7:2:a@b.vn", "agreeflow.local")
    assert first == message_id_for("d7:2:a@b.vn", "agreeflow.local")
    assert first != message_id_for("d7:3:a@b.vn", "agreeflow.local")
    assert first.startswith("<") and first.endswith("@agreeflow.local>")
    assert len(first.split("@")[0]) == 1 + 32
    with pytest.raises(ValueError):
        message_id_for("d7:2:a@b.vn", "bad domain>")


def test_build_email_refuses_header_injection_and_overrides() -> None:
    rendered = RenderedMessage(SUBJECT, TEXT, HTML)
    with pytest.raises(ValueError):
        build_email(rendered, SENDER, RECIPIENT, "<x@y>", {"X-Note": "a\r\nBcc: evil@example.com"})
    with pytest.raises(ValueError, match="Subject"):
        build_email(rendered, SENDER, RECIPIENT, "<x@y>", {"Subject": "other"})


def test_no_url_or_file_scheme_gives_a_sink_under_the_data_dir(tmp_path: Path) -> None:
    for url in (None, "", "file:", "file://"):
        transport = transport_from_url(url, tmp_path)
        assert isinstance(transport, SinkTransport) and transport.folder == tmp_path / "mail"
    absolute = transport_from_url(f"file://{tmp_path}/outgoing", Path("/elsewhere"))
    assert isinstance(absolute, SinkTransport) and absolute.folder == tmp_path / "outgoing"


def test_smtp_urls_are_read_into_settings(tmp_path: Path) -> None:
    plain = transport_from_url("smtp://mail%40so:p%40ss@mail.example.vn:587?starttls=1&timeout=3",
                               tmp_path)
    assert isinstance(plain, SmtpTransport)
    assert (plain.host, plain.port, plain.ssl_mode, plain.timeout) == ("mail.example.vn", 587,
                                                                        "starttls", 3.0)
    assert (plain.username, plain.password) == ("mail@so", "p@ss")
    secure = transport_from_url("smtps://mail.example.vn", tmp_path)
    assert isinstance(secure, SmtpTransport)
    assert (secure.port, secure.ssl_mode, secure.timeout) == (465, "ssl", 10.0)


@pytest.mark.parametrize(("url", "says"), [
    ("smtpx://mail.example.vn", "did you mean 'smtp'"),
    ("smtp://mail.example.vn?tls=1", "unknown option 'tls'"),
    ("smtps://mail.example.vn?starttls=1", "unknown option 'starttls'"),
    ("smtp://u:secret@mail.example.vn?timeout=abc", "timeout"),
    ("smtp://u:secret@mail.example.vn:99999", "smtp://u:***@mail.example.vn"),
    ("smtp:///nohost", "no host"),
    ("smtp://mail.example.vn?starttls=maybe", "starttls=1 or starttls=0"),
    ("smtp://mail.example.vn?timeout=0", "positive"),
    ("smtp://u:m%E1%BA%ADt-secret@mail.example.vn", "ASCII"),
])
def test_bad_mail_url_says_what_is_wrong_without_the_password(
        url: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(MailUrlError) as caught:
        transport_from_url(url, tmp_path)
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


def test_registered_scheme_builds_its_transport(tmp_path: Path) -> None:
    class Collecting(Transport):
        def __init__(self) -> None:
            self.sent: list[EmailMessage] = []

        def send(self, msg: EmailMessage) -> None:
            self.sent.append(msg)

    register_transport("collect", lambda url, data_dir: Collecting())
    transport = transport_from_url("collect:", tmp_path)
    transport.send(make_message())
    assert isinstance(transport, Collecting) and len(transport.sent) == 1


@pytest.mark.parametrize(("tries", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (10_000, 60)])
def test_backoff_doubles_from_one_minute_up_to_one_hour(tries: int, minutes: int) -> None:
    assert backoff_delay(tries) == timedelta(minutes=minutes)


def test_backoff_needs_at_least_one_failed_try() -> None:
    with pytest.raises(ValueError):
        backoff_delay(0)
