"""How the web is run: address, links in mail, cookies, and the optional trusted single sign-on header."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


@dataclass(frozen=True)
class WebConfig:
    """What the web server needs beside the engine's settings (environment variables in brackets)."""

    host: str = "127.0.0.1"
    """Address to listen on (``agreeflow web --host``)."""
    port: int = 8080
    """Port to listen on (``agreeflow web --port``)."""
    base_url: str = ""
    """How readers reach the web [``AGREEFLOW_BASE_URL``]; default ``http://<host>:<port>``. Sign-in links
    and reply links in mail start with it."""
    secure_cookies: bool = False
    """Mark cookies ``Secure`` (HTTPS only) [``AGREEFLOW_WEB_SECURE_COOKIES=1``]; on by itself when the
    base URL is ``https://``."""
    trusted_header: str = ""
    """A header a reverse proxy sets to the signed-in person's e-mail (provincial single sign-on)
    [``AGREEFLOW_WEB_TRUSTED_HEADER``]; empty (the default) turns single sign-on off."""
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    """Addresses of the proxies whose ``trusted_header`` is believed [``AGREEFLOW_WEB_TRUSTED_PROXIES``,
    comma-separated]; a request from anywhere else carrying the header is treated as not signed in."""
    threads: int = 4
    """Service calls running at once (the rest wait their turn) [``AGREEFLOW_WEB_THREADS``]; default 4.
    Each holds a database connection with its page cache and prepared statements (about 5 MiB on SQLite):
    more threads buy no speed on a few cores (one Python interpreter, one SQLite writer) and cost memory."""

    @classmethod
    def from_env(cls, host: str = "127.0.0.1", port: int = 8080, base_url: str | None = None) -> WebConfig:
        """The configuration from the environment, for a server on ``host:port``."""
        url = (base_url or os.environ.get("AGREEFLOW_BASE_URL") or f"http://{host}:{port}").rstrip("/")
        return cls(host=host, port=port, base_url=url,
                   secure_cookies=os.environ.get("AGREEFLOW_WEB_SECURE_COOKIES") == "1" or url.startswith("https:"),
                   trusted_header=os.environ.get("AGREEFLOW_WEB_TRUSTED_HEADER", "").strip(),
                   trusted_proxies=_list(os.environ.get("AGREEFLOW_WEB_TRUSTED_PROXIES")),
                   threads=max(1, int(os.environ.get("AGREEFLOW_WEB_THREADS") or 4)))
