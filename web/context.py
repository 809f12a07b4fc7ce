"""One request as the pages see it: language, who is signed in, the CSRF token, the engine's settings.

Cookies (all HttpOnly, SameSite=Lax, Secure when configured):

- ``af_session`` — the session token of ``sign_ins`` (the database keeps
  only its hash), signed with the data folder's secret;
- ``af_anon`` — a random value, signed, that anchors the CSRF token of a
  visitor who is not signed in (the sign-in form, a reply link's form);
- ``af_lang`` — ``vi`` or ``en``.

The CSRF token of a page is a keyed digest of the session token (or of
``af_anon``): every form carries it, every POST is checked against it before
anything else happens, and a missing or wrong one is refused with 403 and
nothing written.

On a real database the engine resolves the acting person from the session
token (engine.service.base.actor); on a simulation database it takes the
e-mail given — which this module gives only after the session cookie has
been checked.  Either way the signed-in person is the actor of every event
their requests cause.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agreeflow.engine import service
from agreeflow.web.config import WebConfig
from agreeflow.web.render import Words

SESSION, ANON, LANG = "af_session", "af_anon", "af_lang"
LANGS = ("vi", "en")
T = TypeVar("T")
SECURITY_HEADERS = {
    # Every script and style is served from here; nothing loads from outside, nothing runs inline.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class CsrfError(Exception):
    """A POST without the page's CSRF token: refused (403) before anything is read or written."""


class TooLargeError(Exception):
    """A POST larger than :data:`MAX_BODY`: refused (413) before it is read."""


MAX_BODY = 60 * 2**20
"""Largest request accepted (bytes): a few documents of the service's 50 MiB limit at most."""


@dataclass
class Site:
    """What every request shares: the configuration, the engine's settings, the secret, the templates."""

    config: WebConfig
    settings: service.Settings
    secret: bytes
    env: Any
    simulation: bool = False
    """The database is a simulation (``init --simulation``): every page says so."""
    password_checks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    """Password checks run one at a time: argon2id takes 64 MiB for each, and fifty people signing in at
    nine o'clock must not cost fifty times that (they wait a few tens of milliseconds each instead)."""


def sign(secret: bytes, purpose: str, value: str) -> str:
    """``value`` with an HMAC for ``purpose`` (the cookie's content)."""
    mac = hmac.new(secret, f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
    return f"{value}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def unsign(secret: bytes, purpose: str, signed: str | None) -> str | None:
    """The value of a cookie signed for ``purpose``; None when absent or forged."""
    if not signed or "." not in signed:
        return None
    value = signed.rsplit(".", 1)[0]
    return value if hmac.compare_digest(sign(secret, purpose, value), signed) else None


@dataclass
class Page:
    """One request: who, which language, which CSRF token; renders templates and sets cookies."""

    request: Request
    site: Site
    lang: str
    who: dict[str, Any] | None
    token: str | None
    seed: str
    csrf: str
    client: str
    cookies: list[tuple[str, str | None]] = field(default_factory=list)

    # -------------------------------------------------------------- start
    @classmethod
    async def start(cls, request: Request, site: Site) -> Page:
        """Read the cookies (and, from a trusted proxy, the single sign-on header) of ``request``."""
        client = _client(request, site.config)
        cookies: list[tuple[str, str | None]] = []
        lang = request.query_params.get("lang")
        if lang in LANGS:
            cookies.append((LANG, lang))
        else:
            lang = request.cookies.get(LANG)
            lang = lang if lang in LANGS else "vi"
        token = unsign(site.secret, SESSION, request.cookies.get(SESSION))
        base = site.settings
        anon_settings = service.Settings(data_dir=base.data_dir, db_url=base.db_url, lang=lang,
                                         smtp_url=base.smtp_url, origin=f"web:{client}", base_url=base.base_url)
        who = await run_in_threadpool(service.web_session, anon_settings, token) if token else None
        if who is None:
            token = None
        sso = await _single_sign_on(request, site, anon_settings, who)
        if sso is not None:
            who, token = sso
            if token:
                cookies.append((SESSION, sign(site.secret, SESSION, token)))
        anon = unsign(site.secret, ANON, request.cookies.get(ANON))
        if anon is None:
            anon = secrets.token_urlsafe(18)
            cookies.append((ANON, sign(site.secret, ANON, anon)))
        seed = f"s:{token}" if token else f"a:{anon}"
        csrf = base64.urlsafe_b64encode(hmac.new(site.secret, f"csrf\n{seed}".encode(), hashlib.sha256)
                                        .digest()).rstrip(b"=").decode()
        return cls(request, site, lang, who, token, seed, csrf, client, cookies)

    # -------------------------------------------------------------- the engine
    @property
    def settings(self) -> service.Settings:
        """The engine's settings for this request: the signed-in person acts, from ``web:<address>``."""
        base = self.site.settings
        return service.Settings(data_dir=base.data_dir, db_url=base.db_url, lang=self.lang,
                                user=self.who["email"] if self.who else None, smtp_url=base.smtp_url,
                                token=self.token, origin=f"web:{self.client}", base_url=self.site.config.base_url)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) service function off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    async def form(self) -> FormData:
        """The POSTed form, after its CSRF token was checked (CsrfError otherwise; TooLargeError, unread,
        when it announces more than :data:`MAX_BODY`)."""
        length = self.request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            raise TooLargeError()
        data = await self.request.form(max_files=20, max_fields=200)
        sent = data.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, self.csrf):
            raise CsrfError()
        return data

    # -------------------------------------------------------------- answers
    def render(self, template: str, status: int = 200, **data: Any) -> HTMLResponse:
        """A page rendered in this request's language."""
        words = Words(self.lang)
        query = dict(self.request.query_params)
        other = service.other_language(self.lang)
        switch = self.request.url.path + "?" + urlencode({**query, "lang": other})
        html = self.site.env.get_template(template).render(
            _=words, w=words, lang=self.lang, who=self.who, csrf=self.csrf, path=self.request.url.path,
            simulation=self.site.simulation, switch_url=switch, switch_lang=other,
            switch_name=service.language_name(other),
            inspects=bool(self.who and set(self.who["roles"]) & set(service.INSPECTORS)), **data)
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def sign_in(self, token: str) -> None:
        """Remember a new session in the cookie (after a password, a link or the proxy vouched)."""
        self.cookies.append((SESSION, sign(self.site.secret, SESSION, token)))

    def sign_out(self) -> None:
        self.cookies.append((SESSION, None))

    def finish(self, response: Response) -> Response:
        """Set the cookies this request decided and the security headers."""
        for name, value in self.cookies:
            if value is None:
                response.delete_cookie(name, path="/", secure=self.site.config.secure_cookies, httponly=True,
                                       samesite="lax")
            else:
                response.set_cookie(name, value, path="/", httponly=True, samesite="lax",
                                    secure=self.site.config.secure_cookies,
                                    max_age=365 * 86400 if name == LANG else None)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response


def _client(request: Request, config: WebConfig) -> str:
    """The reader's address: the connecting peer, or what a trusted proxy says it forwarded."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in config.trusted_proxies:
        return forwarded.split(",")[0].strip()
    return peer


async def _single_sign_on(request: Request, site: Site, settings: service.Settings,
                          who: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None] | None:
    """A new session for the person a trusted proxy names, when it is not the one already signed in
    (None: nothing to change; (None, None): the proxy names somebody who may not sign in)."""
    header = site.config.trusted_header
    if not header or not request.client or request.client.host not in site.config.trusted_proxies:
        return None
    email = (request.headers.get(header) or "").strip().lower()
    if not email or (who is not None and who["email"] == email):
        return None
    try:
        res = await run_in_threadpool(service.sign_in_trusted, settings, email, header)
    except service.SignInRefusedError:  # not in the directory: logged by the service, and not signed in
        return None, None
    fresh = await run_in_threadpool(service.web_session, settings, res["token"])
    return (fresh, res["token"]) if fresh else (None, None)
