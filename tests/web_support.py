"""What the web tests share: a database with people who can sign in, the app, a synchronous httpx client
over ASGI (no Starlette TestClient: it warns, and warnings are errors here), and mail read back from the
``.eml`` sink."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.web.app import create_app
from agreeflow.web.config import WebConfig
from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_CA, OFFICER_SNGV

PASSWORD = "mat-khau-thu-nghiem"
OFFICER_LG = "chuyenvien.lg@bacgiang.example"    # Lạng Giang district: not a party to the agreement
OFFICER_STP = "chuyenvien.stp@bacgiang.example"
PEOPLE = (COORD, OFFICER_SNGV, OFFICER_CA, OFFICER_LG, OFFICER_STP, APPROVER, AUDITOR)
T0 = "2024-03-04T09:00:00+07:00"   # a Monday
TITLE = "Bản ghi nhớ hợp tác với tỉnh Gifu (Nhật Bản)"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REPLY_LINK = re.compile(r"https?://\S+/reply/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def settings_for(home: Path, url: str, user: str | None = None, base_url: str | None = None) -> service.Settings:
    return service.Settings(data_dir=home, db_url=url, user=user, origin="test", base_url=base_url)


def give_passwords(home: Path, url: str) -> None:
    """Every person the web tests sign in as gets :data:`PASSWORD` (a simulation database allows it)."""
    for who in PEOPLE:
        service.set_password(settings_for(home, url), who, PASSWORD)


def open_agreement(home: Path, url: str, title: str = TITLE, consulted: str = "BNG,CA,STP,STC",
                   send: bool = True, partner: str = "Tỉnh Gifu", country: str = "Nhật Bản") -> str:
    """An agreement of the province (as the coordinator, through the service), sent for opinions."""
    s = settings_for(home, url, COORD)
    ref = service.open_case(s, "agreement-province", title,
                            {"proposing_unit": "SNGV", "partner": partner, "partner_country": country,
                             "subject": "Hợp tác nông nghiệp", "consulted_units": consulted})["id"]
    if send:
        service.fire(s, ref, "submit", {}, uploads=[("proposal", "to-trinh.pdf", b"%PDF-1.4 to trinh"),
                                                    ("draft_agreement", "du-thao.pdf", b"%PDF-1.4 du thao")])
        service.fire(s, ref, "send_for_opinions", {})
    return ref


def children(home: Path, url: str, ref: str) -> dict[str, str]:
    """The consultation-reply cases of ``ref`` by addressee unit."""
    return {c["unit"]: c["id"] for c in service.show_case(settings_for(home, url, COORD), ref)["children"]}


def eml_messages(folder: Path) -> list[EmailMessage]:
    msgs = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(msg, EmailMessage)
        msgs.append(msg)
    return msgs


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def reply_links(folder: Path, to: str) -> list[str]:
    """The reply links in the plain-text mails to ``to``."""
    return [link for m in eml_messages(folder) if to in str(m["To"]) for link in REPLY_LINK.findall(text_of(m))]


@dataclass
class Client:
    """httpx over the ASGI app, driven synchronously (one event loop per client)."""

    app: Any
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://agreeflow.test")

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def csrf(self, url: str = "/login") -> str:
        res = self.get(url)
        found = CSRF.search(res.text)
        assert found, f"no CSRF token on {url}: {res.status_code} {res.text[-1500:]}"
        return found.group(1)

    def sign_in(self, who: str, password: str = PASSWORD) -> httpx.Response:
        res = self.post("/login", data={"csrf": self.csrf(), "email": who, "password": password, "next": "/"})
        assert res.status_code == 303 and res.headers["location"] == "/", res.text[:2000]
        return res

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
        # Starlette runs each service call in an AnyIO worker thread; they stop once their loop is gone.
        for t in threading.enumerate():
            if t.name.startswith("AnyIO worker"):
                t.join(timeout=15)


@dataclass
class WebSite:
    """A database, its app, and clients signed in as whoever a test needs."""

    home: Path
    url: str
    config: WebConfig
    clients: list[Client] = field(default_factory=list)
    passwords: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.app = create_app(settings_for(self.home, self.url), self.config)

    def client(self, who: str | None = None) -> Client:
        c = Client(self.app)
        self.clients.append(c)
        if who:
            self.password(who)
            c.sign_in(who)
        return c

    def password(self, who: str) -> None:
        """Give ``who`` :data:`PASSWORD` (once: argon2 is slow on purpose)."""
        if who not in self.passwords:
            service.set_password(settings_for(self.home, self.url), who, PASSWORD)
            self.passwords.add(who)

    def settings(self, user: str | None = COORD) -> service.Settings:
        return settings_for(self.home, self.url, user, self.config.base_url)

    def close(self) -> None:
        for c in self.clients:
            c.close()
        clock.set_now(None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """uvicorn on 127.0.0.1:``port`` in a (daemon) thread, lifespan included, for as long as the block runs."""
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
