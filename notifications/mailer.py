"""Turn rendered mail into MIME messages and hand them to a transport.

The dispatcher builds the bytes of each outbox row with ``build_bytes`` (the
message ``build_email`` makes, written directly) and sends them through a
session of a ``Transport`` (``Transport.open``: for SMTP, one connection and
``_transaction`` per message; several sessions share one gate, see
``TransportSession``); it never talks SMTP itself.  A transport needs one
method, ``send``, and signals failure only through ``TransportError``, whose
``temporary`` flag tells the dispatcher whether to retry (after
``backoff_delay``) or to give up on that message.

Transports are chosen by URL scheme from a small registry:

    smtp://user:pass@host:587?starttls=1&timeout=10   plain SMTP, optional STARTTLS
    smtps://user:pass@host:465?timeout=10             SMTP over TLS
    file:///var/mail/agreeflow, file:, or no URL      .eml files in a folder
                                                      (default <data_dir>/mail/)

More schemes are added with ``register_transport(scheme, factory)``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import smtplib
import socket
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agreeflow.engine.core import clock
from agreeflow.engine.core.atomic import write_bytes
from agreeflow.engine.core.errors import did_you_mean
from agreeflow.notifications.interleave import GATE_TURN, Readable, Task, Wait, drive
from agreeflow.notifications.render import RenderedMessage

MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")
"""CRLF lines and 7-bit transfer encodings: Vietnamese text goes as base64 or
quoted-printable, so a relay without 8BITMIME cannot mangle the diacritics."""


class TransportError(Exception):
    """Sending failed; ``temporary`` says whether trying again later may succeed.

    Attributes:
        temporary: True for outages, time-outs, 4xx replies and server set-up
            problems (the dispatcher retries); False when this message itself
            was refused (5xx about the message or its recipient).
        code: the SMTP reply code when there was one, else None.
        session: True when the failure is about the session (greeting, HELO or
            login refused, e.g. a relay's limit of connections per client),
            not about the message.
    """

    def __init__(self, message: str, *, temporary: bool, code: int | None = None, session: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = code
        self.session = session


class GateClosed(TransportError):
    """A session's gate refused the end of a message (see TransportSession): the batch stopped (another
    session's message ended in doubt, or a stop was asked), or too little of the claim was left for the
    server's answer.  Nothing was delivered: the message goes back, untried."""

    def __init__(self) -> None:
        super().__init__("not sent: the batch stopped before the end of this message", temporary=True)


class MailUrlError(ValueError):
    """The mail URL in the settings cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: envelope and bytes (``build_bytes``)."""

    sender: str
    """The envelope sender's address (no display name)."""
    recipient: str
    data: bytes
    message_id: str


class TransportSession:
    """Messages sent one after another through one connection (``Transport.open``).

    The default sends each through ``Transport.send``; transports that can do
    better (one SMTP session for a whole dispatch batch) override it.

    ``gate`` is shared by the sessions of one dispatcher sending at the same
    time: the moment a message becomes delivered (for SMTP, the end-of-data
    line and the server's reply to it) and the ``accepted`` callback that
    records it happen inside the gate, one session at a time.  Everything
    before that moment (the envelope, the body) goes on in parallel, but at
    most one message of all the sessions is ever delivered and not yet
    recorded — the one a crash can send twice.  The gate may refuse to be
    entered (``GateClosed``): the session then drops its connection before the
    end of the message, which the server throws away.

    The dispatcher runs its sessions in one thread (notifications/interleave.py):
    it takes each message's ``steps``, which yield what they wait for — a reply
    on the socket, the gate's turn.  ``send`` is the same work done at once, in
    the caller's thread, with a real lock as the gate.  A session of one's own
    (``register_transport``) needs only ``send``: its default ``steps`` waits
    for the gate's turn and calls it, so its messages go one after another.
    """

    def __init__(self, transport: Transport, gate: AbstractContextManager[Any] | None = None) -> None:
        self.transport = transport
        self.gate: AbstractContextManager[Any] = gate if gate is not None else nullcontext()

    def send(self, out: Outgoing, accepted: Callable[[], None] | None = None) -> None:
        """Deliver one message or raise ``TransportError``; ``accepted()`` runs, inside the gate, as soon as
        the message is delivered."""
        parsed = BytesParser(policy=MAIL_POLICY).parsebytes(out.data)
        assert isinstance(parsed, EmailMessage)
        with self.gate:
            self.transport.send(parsed)
            if accepted is not None:
                accepted()

    def steps(self, out: Outgoing, accepted: Callable[[], None] | None = None) -> Task:
        """``send`` as a task of ``interleave``: the gate's turn, then ``send`` at once."""
        yield GATE_TURN
        self.send(out, accepted)

    def close(self) -> None:
        """End the session (nothing to end by default)."""

    def __enter__(self) -> TransportSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport(ABC):
    """Something that delivers one message or raises ``TransportError``."""

    timeout: float | None = None
    """Seconds a reply from the far end may take (SMTP: each one); None: it does not wait for a reply."""

    @abstractmethod
    def send(self, msg: EmailMessage) -> None:
        """Deliver ``msg`` to the recipients in its headers.

        Sending the same message twice may deliver it twice; the dispatcher
        relies on the Message-ID being stable so that receivers can tell.
        """

    def open(self, gate: AbstractContextManager[Any] | None = None) -> TransportSession:
        """A session for a batch of messages (use it as a context manager); ``gate``: see TransportSession."""
        return TransportSession(self, gate)


def message_id_for(idem_key: str, domain: str) -> str:
    """The Message-ID for an outbox idempotency key: ``<sha256(key)[:32]@domain>``.

    Deterministic, so a message re-sent after a crash carries the same id.
    """
    if not domain or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        raise ValueError(f"mail domain {domain!r} must be a host name such as agreeflow.local")
    digest = hashlib.sha256(idem_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_email(rendered: RenderedMessage, sender: str, recipient: str, message_id: str,
                headers: Mapping[str, str] | None = None, date: datetime | None = None) -> EmailMessage:
    """Build a multipart/alternative UTF-8 message (text first, then HTML).

    ``Date`` is ``date`` (the sender's instant; default: the engine's clock),
    shown in Vietnam time, so a moved clock shows in the mail.
    ``Auto-Submitted: auto-generated`` (RFC 3834) keeps auto-replies from
    looping back.  Extra ``headers`` (e.g. ``X-Agreeflow-Case``) are added
    as given; they may not replace the headers set here.

    Raises:
        ValueError: a header value holds a line break, or ``headers`` names
            a header this function sets.
    """
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = recipient
    _set_subject(msg, rendered.subject)
    msg["Date"] = format_datetime(clock.to_local(date or clock.now()))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        if name in msg:
            raise ValueError(f"header {name} is set by build_email and cannot be overridden")
        msg[name] = value
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


def _set_subject(msg: EmailMessage, subject: str) -> None:
    """Set ``Subject``, encoding non-ASCII text with the ``Header`` class.

    Python's header folder (3.11) folds a long Vietnamese subject at a space
    *between* two encoded words, where RFC 2047 says whitespace is ignored:
    readers show "hướng dẫnbảo".  ``Header`` keeps the space inside the
    encoded text and still keeps each encoded word within 75 characters.
    """
    msg["Subject"] = subject  # checks the value (no line breaks)
    if not subject.isascii():
        del msg["Subject"]
        msg.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode(linesep=msg.policy.linesep))


def build_bytes(rendered: RenderedMessage, sender: str, recipient: str, message_id: str,
                headers: Mapping[str, str] | None = None, date: datetime | None = None) -> Outgoing:
    """The message ``build_email`` makes, written straight to bytes: the dispatcher's fast path.

    The same headers (the subject encoded as ``_set_subject`` does), the same
    multipart/alternative structure and 7-bit transfer encoding (base64 UTF-8
    bodies), without the email package's parse-and-refold of every header —
    which cost more than rendering the three templates.  A test parses both
    forms and compares them.

    Raises:
        ValueError: a header value holds a line break, or ``headers`` names a
            header this function sets.
    """
    fixed = {"from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version", "content-type"}
    address, shown = _sender(sender)
    lines = [f"From: {shown}", f"To: {recipient}", _subject_line(rendered.subject),
             f"Date: {format_datetime(clock.to_local(date or clock.now()))}", f"Message-ID: {message_id}",
             "Auto-Submitted: auto-generated"]
    for key, value in (headers or {}).items():
        if key.lower() in fixed:
            raise ValueError(f"header {key} is set by build_email and cannot be overridden")
        lines.append(f"{key}: {_one_line(value)}")
    for value in (recipient, message_id):
        _one_line(value)
    boundary = "==" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32] + "=="
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"', "",
              f"--{boundary}", 'Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: base64", "",
              _b64_lines(rendered.text), f"--{boundary}", 'Content-Type: text/html; charset="utf-8"',
              "Content-Transfer-Encoding: base64", "", _b64_lines(rendered.html), f"--{boundary}--", ""]
    return Outgoing(address, recipient, "\r\n".join(lines).encode("ascii"), message_id)


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a header value must be one line")
    return value


@lru_cache(maxsize=16)
def _sender(sender: str) -> tuple[str, str]:
    """(address, the From header's value): the name RFC 2047-encoded when it is not ASCII, folded before the
    address.  One sender per configuration: worked out once."""
    name, address = parseaddr(sender)
    if not name:
        return address, address
    shown = formataddr((name, address), charset="utf-8")
    return address, shown.replace(f" <{address}>", f"\r\n <{address}>") if len(shown) > 70 else shown


_WORD_BYTES = 45
"""UTF-8 bytes per encoded word: base64 of 45 bytes is 60 characters, 72 with ``=?utf-8?b?…?=`` (≤ 75)."""


def _subject_line(subject: str) -> str:
    """``Subject:`` with a non-ASCII value as RFC 2047 base64 words of whole characters, one per line.

    Spaces stay inside the encoded words (see ``_set_subject``: a space between two words is ignored by
    readers), as the email package's ``Header`` does, at a tenth of its cost.
    """
    _one_line(subject)
    if subject.isascii() and len(subject) < 990:
        return f"Subject: {subject}"
    # Cut the UTF-8 bytes at most _WORD_BYTES long (6 fewer on the first line), never inside a character:
    # a cut moves back over continuation bytes (10xxxxxx).
    data = subject.encode("utf-8")
    words: list[str] = []
    start, room = 0, _WORD_BYTES - 6
    while len(data) - start > room:
        cut = start + room
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        if cut == start:  # nothing fits: the first line's room is smaller than one character
            words.append("")
        else:
            words.append(base64.b64encode(data[start:cut]).decode("ascii"))
        start, room = cut, _WORD_BYTES
    words.append(base64.b64encode(data[start:]).decode("ascii"))
    return "Subject: " + "\r\n ".join(f"=?utf-8?b?{w}?=" for w in words)


def _b64_lines(text: str) -> str:
    body = text if text.endswith("\n") else text + "\n"
    # CRLF inside the encoded text too, as the email package writes it under the SMTP policy
    # base64.encodebytes' lines (76 characters, 57 bytes each), cut from one encoding of the whole body
    encoded = base64.b64encode(body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")).decode("ascii")
    return "\r\n".join([encoded[i:i + 76] for i in range(0, len(encoded), 76)])


def backoff_delay(tries: int, base: timedelta = timedelta(minutes=1),
                  cap: timedelta = timedelta(hours=1)) -> timedelta:
    """How long to wait after the ``tries``-th failed attempt: 1, 2, 4 … minutes, at most 1 h.

    No jitter: claims are per row, so nodes do not retry the same row at once.
    """
    if tries < 1:
        raise ValueError("tries counts failed attempts and starts at 1")
    # Stop doubling once past the cap so a large count cannot overflow.
    return min(base * (1 << min(tries - 1, 32)), cap)


class SmtpTransport(Transport):
    """Send through an SMTP server, one connection per message.

    One connection per message keeps the transport stateless: a dispatcher
    crash or a server restart never leaves a half-used session behind.
    """

    timeout: float

    def __init__(self, host: str, port: int, *, ssl_mode: str = "none",
                 username: str | None = None, password: str | None = None,
                 timeout: float = 10.0) -> None:
        if ssl_mode not in ("none", "starttls", "ssl"):
            raise ValueError(f"ssl_mode {ssl_mode!r} must be none, starttls or ssl")
        self.host = host
        self.port = port
        self.ssl_mode = ssl_mode
        self.username = username
        self.password = password
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """Read ``smtp://[user[:pass]@]host[:port][?starttls=1&timeout=10]`` or ``smtps://…``.

        Raises:
            MailUrlError: wrong scheme, no host, an unknown query option, a bad
                port or timeout, or a non-ASCII login or password.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise MailUrlError(f"{_redact(url)}: an SMTP URL starts with smtp:// or smtps://")
        if not parts.hostname:
            raise MailUrlError(f"{_redact(url)}: no host; write smtp://host:587")
        options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        allowed = {"starttls", "timeout"} if parts.scheme == "smtp" else {"timeout"}
        for key in options:
            if key not in allowed:
                raise MailUrlError(f"{_redact(url)}: unknown option {key!r}; "
                                   f"allowed: {', '.join(sorted(allowed))}")
        try:
            timeout = float(options.get("timeout", "10"))
            port = parts.port
        except ValueError as exc:
            raise MailUrlError(f"{_redact(url)}: {exc}") from None
        if not math.isfinite(timeout) or timeout <= 0:
            raise MailUrlError(f"{_redact(url)}: timeout must be a positive number of seconds")
        starttls = options.get("starttls", "0").lower()
        if starttls not in _FLAGS:
            raise MailUrlError(f"{_redact(url)}: starttls={starttls!r}; write starttls=1 or starttls=0")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if not (username or "").isascii() or not (password or "").isascii():
            # smtplib encodes AUTH as ASCII; fail here rather than on every send.
            raise MailUrlError(f"{_redact(url)}: the SMTP login and password must be ASCII")
        if parts.scheme == "smtps":
            mode = "ssl"
        else:
            mode = "starttls" if _FLAGS[starttls] else "none"
        return cls(parts.hostname, port or (465 if mode == "ssl" else 25), ssl_mode=mode,
                   username=username, password=password, timeout=timeout)

    def send(self, msg: EmailMessage) -> None:
        """Deliver ``msg``; map every failure to a temporary or permanent ``TransportError``."""
        with _smtp_errors(self):
            with self._connect() as smtp:
                self._hello(smtp)
                smtp.send_message(msg)

    def open(self, gate: AbstractContextManager[Any] | None = None) -> TransportSession:
        """One SMTP session for a batch: connect (and log in) once, send each, QUIT at the end."""
        return _SmtpSession(self, gate)

    def _hello(self, smtp: smtplib.SMTP) -> None:
        if self.ssl_mode == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")

    def _connect(self) -> smtplib.SMTP:
        if self.ssl_mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if smtp.sock is not None:
            # The end-of-data line goes in a packet of its own (see _transaction): without this, Nagle's
            # algorithm holds it until the body's packets are acknowledged, 40 ms later.
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return smtp


class _SmtpSession(TransportSession):
    """A batch over one connection; a connection that broke is opened again for the next message.

    smtplib opens the session (connection, TLS, login, EHLO) and ends it (QUIT); the mail transactions in
    between are ``_transaction``'s steps, which read the server's replies through ``_Replies``.  Opening
    blocks the thread, so it waits for the gate's turn: never while another session's message is inside.
    """

    transport: SmtpTransport

    def __init__(self, transport: SmtpTransport, gate: AbstractContextManager[Any] | None = None) -> None:
        super().__init__(transport, gate)
        self.replies: _Replies | None = None

    def send(self, out: Outgoing, accepted: Callable[[], None] | None = None) -> None:
        drive(self.steps(out, accepted))

    def steps(self, out: Outgoing, accepted: Callable[[], None] | None = None) -> Task:
        try:
            with _smtp_errors(self.transport, self._drop):
                replies, kept = self.replies, self.replies is not None
                if replies is None:
                    replies = yield from self._open()
                try:
                    yield from _transaction(replies, out, self.gate, accepted)
                except _Stale as stale:
                    # A connection kept from earlier messages that the server has closed since (a restart, an
                    # idle or per-connection limit): nothing of this message reached it; open a new one, once.
                    if not kept:
                        raise stale.lost from None
                    self._drop(True)
                    try:
                        yield from _transaction((yield from self._open()), out, self.gate, accepted)
                    except _Stale as again:
                        raise again.lost from None
        except TransportError as exc:
            if isinstance(exc, GateClosed):  # refused at the gate in the middle of DATA
                self._drop(True)
            raise  # any other: _smtp_errors has dropped the connection if the error left it unusable
        except BaseException:
            # Stopped in the middle of a message, or a mark that failed: close without QUIT, which a server
            # still reading the message would take for text.
            self._drop(True)
            raise

    def _open(self) -> Generator[Wait, None, _Replies]:
        yield GATE_TURN
        smtp = self.transport._connect()
        try:
            self.transport._hello(smtp)  # STARTTLS replaces smtp.sock: _Replies reads the one after it
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        self.replies = _Replies(smtp, self.transport.timeout)
        return self.replies

    def _drop(self, broken: bool) -> None:
        # A connection closed already (a 421, a lost connection: _Replies) is broken whatever the error says.
        if self.replies is not None and (broken or self.replies.smtp.sock is None):
            try:
                self.replies.smtp.close()
            finally:
                self.replies = None

    def close(self) -> None:
        if self.replies is not None:
            smtp, self.replies = self.replies.smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class _Stale(Exception):
    """The server had closed the connection, or closes it now (421), at this message's MAIL command: nothing of
    the message reached it (``lost``: what said so)."""

    def __init__(self, lost: smtplib.SMTPException) -> None:
        super().__init__(str(lost))
        self.lost = lost


_MAX_LINE = 8192
"""The longest reply line smtplib reads (its ``_MAXLINE``)."""


class _Replies:
    """The commands and replies of one smtplib connection, as steps that wait for the socket (``Readable``)
    instead of blocking on it.  Errors as smtplib's ``send`` and ``getreply`` raise them: a connection lost,
    silent past the time-out or sending a line too long is closed (``smtp.sock`` becomes None) and raises."""

    def __init__(self, smtp: smtplib.SMTP, timeout: float) -> None:
        assert smtp.sock is not None
        self.smtp = smtp
        self.sock = smtp.sock
        self.timeout = timeout
        self.buffer = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.smtp.close()
            raise smtplib.SMTPServerDisconnected("Server not connected") from None

    def command(self, line: str) -> Generator[Wait, None, tuple[int, bytes]]:
        """Send one command line; the steps return the reply (code, text)."""
        self.send(line.encode("ascii") + b"\r\n")
        return (yield from self.reply())

    def reply(self) -> Generator[Wait, None, tuple[int, bytes]]:
        """The next reply (code, text), whole within the time-out (a server that trickles bytes cannot stretch
        it); a malformed code is -1, as in smtplib."""
        lines: list[bytes] = []
        deadline = time.monotonic() + self.timeout
        while True:
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > _MAX_LINE:  # not a reply: smtplib makes it a 500, which no server said
                    self.smtp.close()
                    raise smtplib.SMTPServerDisconnected(f"Connection closed: a reply line over {_MAX_LINE} bytes")
                try:
                    pending = getattr(self.sock, "pending", None)  # TLS: bytes already decrypted
                    if not (pending is not None and pending()):
                        yield Readable(self.sock, deadline)  # or TimeoutError, thrown in
                    data = self.sock.recv(65536)
                except OSError as exc:
                    self.smtp.close()
                    raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from None
                if not data:
                    self.smtp.close()
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                self.buffer += data
                continue
            line, self.buffer = self.buffer[:end + 1], self.buffer[end + 1:]
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                return -1, b"\n".join(lines)
            if line[3:4] != b"-":
                return code, b"\n".join(lines)


def _transaction(replies: _Replies, out: Outgoing, gate: AbstractContextManager[Any],
                 accepted: Callable[[], None] | None) -> Task:
    """One SMTP mail transaction (RFC 5321 section 3.3), as ``smtplib.SMTP.sendmail`` makes it, split at
    the moment of delivery: MAIL, RCPT, DATA and the body go out at once; the end-of-data line, the
    server's reply to it and ``accepted()`` happen inside ``gate``, entered at the gate's turn.  A server
    keeps nothing of a transaction whose end-of-data line never came, so a crash before the gate sends
    nothing.

    Raises smtplib's exceptions, as ``sendmail`` does (mapped by ``_smtp_errors``), and ``_Stale`` when the
    connection turns out closed at MAIL.
    """
    smtp = replies.smtp
    size = f" SIZE={len(out.data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    # MAIL and RCPT as smtplib's mail() and rcpt() write them, with the address quoted by _envelope: their
    # own quoteaddr parses every address with the email package, a fifth of a message's time here.
    try:
        code, reply = yield from replies.command(f"MAIL FROM:{_envelope(out.sender)}{size}")
    except smtplib.SMTPServerDisconnected as lost:
        raise _Stale(lost) from lost
    if code == 421:  # closing the channel (an idle connection's time-out, a limit of messages per connection)
        smtp.close()
        raise _Stale(smtplib.SMTPSenderRefused(code, reply, out.sender))
    if code != 250:
        yield from _abandon(replies, code)
        raise smtplib.SMTPSenderRefused(code, reply, out.sender)
    code, reply = yield from replies.command(f"RCPT TO:{_envelope(out.recipient)}")
    if code not in (250, 251):
        yield from _abandon(replies, code)
        raise smtplib.SMTPRecipientsRefused({out.recipient: (code, reply)})
    code, reply = yield from replies.command("DATA")
    if code != 354:
        yield from _abandon(replies, code)
        raise smtplib.SMTPDataError(code, reply)
    body = out.data
    if body.startswith(b".") or b"\n." in body:  # a line that starts with a dot gets a second one
        body = re.sub(rb"(?m)^\.", b"..", body)
    replies.send(body if body.endswith(b"\r\n") else body + b"\r\n")
    yield GATE_TURN
    with gate:
        replies.send(b".\r\n")
        code, reply = yield from replies.reply()
        if code != 250:
            yield from _abandon(replies, code)
            raise smtplib.SMTPDataError(code, reply)
        if accepted is not None:
            accepted()


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _envelope(address: str) -> str:
    """``<address>`` for MAIL FROM or RCPT TO: what ``smtplib.quoteaddr`` gives, without parsing a plain
    local@domain address (anything else still goes through quoteaddr)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _abandon(replies: _Replies, code: int) -> Task:
    """End a refused transaction as sendmail does: 421 closes the connection, anything else resets it."""
    if code == 421:
        replies.smtp.close()
        return
    try:
        yield from replies.command("RSET")
    except smtplib.SMTPServerDisconnected:
        pass


@contextmanager
def _smtp_errors(transport: SmtpTransport, on_error: Callable[[bool], None] | None = None) -> Iterator[None]:
    """Map smtplib's exceptions to ``TransportError``; ``on_error(broken)`` hears whether the connection
    is unusable afterwards (a refused recipient leaves it usable: smtplib has sent RSET)."""
    try:
        yield
    except (smtplib.SMTPException, OSError) as exc:
        broken = not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)) or \
            isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)) or \
            getattr(exc, "smtp_code", None) == 421  # "closing the channel": smtplib has closed it (_abandon too)
        if on_error is not None:
            on_error(broken)
        raise _transport_error(transport, exc) from exc


def _transport_error(self: SmtpTransport, exc: BaseException) -> TransportError:
    """The ``TransportError`` for one of smtplib's exceptions (temporary or permanent, with the code)."""
    try:
        raise exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        permanent = any(code >= 500 for code in codes)
        said = "; ".join(f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in exc.recipients.items())
        return TransportError(f"recipient refused: {said}", temporary=not permanent, code=max(codes, default=None))
    except smtplib.SMTPAuthenticationError as exc:
        # A wrong password refuses every message, not this one: retry until
        # the operator fixes the settings rather than drop the reminder.
        return TransportError(f"SMTP login refused ({exc.smtp_code}); check the mail URL",
                              temporary=True, code=exc.smtp_code, session=True)
    except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as exc:
        # A greeting or HELO refused is about this server, not this message.
        return TransportError(f"SMTP server {self.host}:{self.port} refused the session: "
                              f"{exc.smtp_code} {_text(exc.smtp_error)}", temporary=True, code=exc.smtp_code,
                              session=True)
    except smtplib.SMTPResponseException as exc:
        return TransportError(f"SMTP server replied {exc.smtp_code} {_text(exc.smtp_error)}",
                              temporary=exc.smtp_code < 500, code=exc.smtp_code)
    except (smtplib.SMTPException, OSError) as exc:
        # Disconnects, refused connections, time-outs, DNS and TLS failures:
        # none says anything about this message, so all are worth a retry.
        return TransportError(f"cannot reach {self.host}:{self.port}: {exc!r}", temporary=True)


class SinkTransport(Transport):
    """Write each message as ``<message-id>.eml`` into a folder instead of sending it.

    For demos, tests and offices without an SMTP relay.  Writing is atomic
    (a temporary file, then ``os.replace``), and the file name comes from the
    Message-ID, so re-sending a message after a crash overwrites its file
    instead of adding a second one.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, msg: EmailMessage) -> Path:
        """The file ``msg`` is written to."""
        message_id = msg["Message-ID"]
        if not message_id:
            raise ValueError("the sink names files by Message-ID; the message has none")
        safe = re.sub(r"[^A-Za-z0-9._@-]", "_", str(message_id).strip().strip("<>"))
        return self.folder / f"{safe}.eml"

    def send(self, msg: EmailMessage) -> None:
        """Write ``msg`` atomically; a full disk or a locked folder is a temporary error."""
        self._write(self.path_for(msg), msg.as_bytes(policy=MAIL_POLICY))

    def open(self, gate: AbstractContextManager[Any] | None = None) -> TransportSession:
        return _SinkSession(self, gate)

    def _write(self, target: Path, data: bytes) -> None:
        try:
            write_bytes(target, data)
        except OSError as exc:
            raise TransportError(f"cannot write {target}: {exc}", temporary=True) from exc


class _SinkSession(TransportSession):
    transport: SinkTransport

    def send(self, out: Outgoing, accepted: Callable[[], None] | None = None) -> None:
        safe = re.sub(r"[^A-Za-z0-9._@-]", "_", out.message_id.strip().strip("<>"))
        with self.gate:  # the file appears (os.replace) and is recorded, one session at a time
            self.transport._write(self.transport.folder / f"{safe}.eml", out.data)
            if accepted is not None:
                accepted()


_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}

TransportFactory = Callable[[str, Path], Transport]
"""Builds a transport from the mail URL and the data directory."""

_FACTORIES: dict[str, TransportFactory] = {}


def register_transport(scheme: str, factory: TransportFactory) -> None:
    """Make ``transport_from_url`` build URLs of ``scheme`` with ``factory``.

    Registering a scheme again replaces its factory (tests use this).
    """
    _FACTORIES[scheme.lower()] = factory


def transport_from_url(url: str | None, data_dir: Path) -> Transport:
    """The transport for the configured mail URL; no URL means a sink in ``<data_dir>/mail``.

    Raises:
        MailUrlError: the scheme is not registered, or the URL is malformed.
    """
    if not url:
        return SinkTransport(Path(data_dir) / "mail")
    scheme = urlsplit(url).scheme.lower()
    factory = _FACTORIES.get(scheme)
    if factory is None:
        hint = did_you_mean(scheme, _FACTORIES)
        raise MailUrlError(
            f"{_redact(url)}: unknown mail scheme {scheme!r}"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; use one of {', '.join(sorted(_FACTORIES))}")
    return factory(url, Path(data_dir))


def _file_sink(url: str, data_dir: Path) -> Transport:
    """``file:`` → <data_dir>/mail; ``file:relative`` → under data_dir; ``file:///abs`` as is."""
    path = unquote(urlsplit(url).path)
    if not path:
        return SinkTransport(data_dir / "mail")
    return SinkTransport(data_dir / path)  # an absolute path replaces data_dir


def _smtp(url: str, data_dir: Path) -> Transport:
    return SmtpTransport.from_url(url)


register_transport("smtp", _smtp)
register_transport("smtps", _smtp)
register_transport("file", _file_sink)


def _redact(url: str) -> str:
    """The URL without its password, fit for an error message or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
