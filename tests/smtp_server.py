"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd in a thread, collecting mail.

Not a mock: the transport under test opens a socket, speaks SMTP (and TLS
when asked) and the server parses what arrives.  Tests can make the server
refuse recipients or data with any reply, stop it to simulate an outage and
start it again on the same port.

    with SmtpSink() as server:
        SmtpTransport.from_url(server.url()).send(msg)
        server.received[0].message()["Subject"]
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ReceivedMail:
    """One message as the server got it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any = None
    """The client's (host, port): one per SMTP connection."""

    def message(self) -> EmailMessage:
        """The bytes parsed back into a message (headers decoded by the modern policy)."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class TlsFiles:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path) -> TlsFiles | None:
        """Write cert.pem and key.pem into ``folder``; None when openssl is not installed."""
        if shutil.which("openssl") is None:
            return None
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)
        return cls(cert, key)

    def server_context(self) -> ssl.SSLContext:
        """The context the server presents the certificate with."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@dataclass
class _Handler:
    """aiosmtpd hooks: accept or refuse as the sink is told, keep what arrives."""

    sink: SmtpSink
    lock: threading.Lock = field(default_factory=threading.Lock)
    greeted: set[Any] = field(default_factory=set)

    def _too_many(self, session: Session) -> bool:
        """A new session beyond ``sink.max_sessions`` (the sessions greeted and not yet ended by QUIT)."""
        limit = self.sink.max_sessions
        with self.lock:
            if limit is not None and session.peer not in self.greeted and len(self.greeted) >= limit:
                return True
            self.greeted.add(session.peer)
            return False

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.greeted.discard(session.peer)  # the limit is on sessions open at once
        return "221 Bye"

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        if self._too_many(session):
            return ["421 4.7.0 Too many connections from your host"]
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        if self._too_many(session):
            return "421 4.7.0 Too many connections from your host"
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.sink.fail_rcpt:
            return self.sink.fail_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.sink.data_ends += 1
        if self.sink.data_delay:
            await asyncio.sleep(self.sink.data_delay)
        if self.sink.fail_data:
            return self.sink.fail_data
        content = envelope.original_content or b""
        with self.lock:
            self.sink.received.append(
                ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), content, session.peer))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server for one test; keeps its port across stop() and start().

    Args:
        users: {login: password}; when given, AUTH is offered (after STARTTLS,
            as aiosmtpd requires) and checked.
        tls: certificate files; with ``implicit_tls`` the server speaks TLS
            from the first byte (smtps), otherwise it offers STARTTLS.
    """

    def __init__(self, *, users: dict[str, str] | None = None, tls: TlsFiles | None = None,
                 implicit_tls: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.users = users
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.received: list[ReceivedMail] = []
        self.fail_rcpt: str | None = None
        """A reply such as "550 5.1.1 No such user" for every RCPT, or None to accept."""
        self.fail_data: str | None = None
        """A reply such as "451 4.3.0 Try again later" after DATA, or None to accept."""
        self.data_delay: float = 0.0
        """Seconds the server thinks before answering DATA (a slow relay; 0: at once)."""
        self.data_ends = 0
        """Messages whose end of data arrived (delivered or not: a client that hangs up during data_delay)."""
        self.max_sessions: int | None = None
        """Sessions open at once (greeted, not yet ended by QUIT) beyond which the server answers a new one's
        EHLO/HELO 421 (a relay's limit of connections per client), or None for no limit."""
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen on the sink's port (a new controller each time: a stopped one's loop is closed)."""
        kwargs: dict[str, Any] = {}
        if self.tls and not self.implicit_tls:
            kwargs["tls_context"] = self.tls.server_context()
        if self.users is not None:
            kwargs["authenticator"] = self._authenticate
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port,
            ssl_context=self.tls.server_context() if self.tls and self.implicit_tls else None,
            **kwargs)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening; connections are refused until start() is called again."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, *, user: str | None = None, password: str | None = None,
            starttls: bool = False, timeout: float = 5) -> str:
        """The mail URL that points at this server."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        auth = ""
        if user is not None:
            auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
        query = f"timeout={timeout:g}" + ("&starttls=1" if starttls else "")
        return f"{scheme}://{auth}{self.host}:{self.port}?{query}"

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.users is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = self.users.get(login) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False)


Answer = str | None
"""A reply line such as "550 No such user"; None: the usual reply; "CLOSE": hang up instead; "": say nothing (a
server that stops answering)."""


class ScriptedSmtp:
    """A small SMTP server on 127.0.0.1 that answers as a test says: for the faults aiosmtpd cannot make
    (hanging up after a reply, a greeting that comes late, a reply that never comes).

    ``answer(connection, command)`` gives the reply to each command line (``connection`` counts from 0;
    the greeting's command is ``"CONNECT"``, the message text's is ``"."``); the default accepts everything.
    ``messages`` keeps the text of every message accepted.
    """

    def __init__(self, answer: Callable[[int, str], Answer] | None = None) -> None:
        self.answer = answer or (lambda connection, command: None)
        self.messages: list[bytes] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, timeout: float = 5) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout={timeout:g}"

    def close(self) -> None:
        """Stop listening and hang up every connection (shut down first: a bare close wakes no blocked call)."""
        for sock in [self.listener, *self._open]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected, or closed already
            sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._open.append(conn)
            n, self.connections = self.connections, self.connections + 1  # counted before it is served
            threading.Thread(target=self._talk, args=(conn, n), daemon=True).start()

    def _reply(self, conn: socket.socket, n: int, command: str, default: str) -> str | None:
        """The reply sent (None: the connection was closed)."""
        said = self.answer(n, command)
        if said is None:
            said = default
        if said == "CLOSE":
            conn.close()
            return None
        if said:
            conn.sendall(said.encode("ascii") + b"\r\n")
        return said

    def _talk(self, conn: socket.socket, n: int) -> None:
        reader = conn.makefile("rb")
        try:
            if self._reply(conn, n, "CONNECT", "220 scripted.example ESMTP") is None:
                return
            while line := reader.readline():
                command = line.decode("ascii", "replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb == "DATA":
                    if self._reply(conn, n, "DATA", "354 go ahead") is None:
                        return
                    text = b""
                    while (part := reader.readline()) not in (b".\r\n", b""):
                        text += part
                    said = self._reply(conn, n, ".", "250 accepted")
                    if said is None:
                        return
                    if said.startswith("2"):
                        self.messages.append(text)
                    continue
                default = {"EHLO": "250 scripted.example", "HELO": "250 scripted.example",
                           "QUIT": "221 bye"}.get(verb, "250 OK")
                if self._reply(conn, n, verb, default) is None or verb == "QUIT":
                    return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()
