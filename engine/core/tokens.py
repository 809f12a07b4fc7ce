"""Signed tokens: the web's cookies and CSRF tokens, and the reply links sent to consulted bodies.

One secret signs them all: 32 random bytes in a file of the data folder
(``secret.key``, or the file ``AGREEFLOW_SECRET_FILE`` names), created with
mode 0600 on first use and never stored in the database — a copy of the
database forges nothing.  Processes that must read each other's tokens (the
web and the ``serve`` nodes that write the reply links into mails) share the
file.

A token is ``<payload>.<signature>``: the payload is base64url JSON, the
signature an HMAC-SHA256 over the *purpose* and the payload, so a token made
for one purpose (a reply link) is worthless for another (a session cookie).
Nothing here expires a token by time: a reply link is valid while its step
is open (engine.service.replies decides), a session while its row in
``sign_ins`` is live.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from agreeflow.engine.core.atomic import atomic_write

SECRET_BYTES = 32
REPLY = "reply-link"
"""Purpose of a reply link (one consultation-reply case, one addressee unit)."""


def load_secret(path: Path) -> bytes:
    """The signing secret kept in ``path``, made (mode 0600, exclusive create) when there is none.

    Raises OSError when the folder cannot be written; a file that is not a
    secret we wrote (too short) is a ValueError, never silently replaced.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = secrets.token_hex(SECRET_BYTES)
        try:
            atomic_write(path, lambda out: out.write(text + "\n"), exclusive=True)  # 0600
        except FileExistsError:  # another process made it between our read and our create: use theirs
            return load_secret(path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < SECRET_BYTES:
        raise ValueError(f"{path} does not hold a secret of {SECRET_BYTES} bytes in hex")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}\n{body}".encode(), hashlib.sha256).digest())


def sign(secret: bytes, purpose: str, payload: dict[str, Any]) -> str:
    """``payload`` as a URL-safe token signed for ``purpose`` (same input, same token)."""
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(secret: bytes, purpose: str, token: str) -> dict[str, Any] | None:
    """The payload of a token signed for ``purpose`` with ``secret``; None when it is not one."""
    body, dot, mac = (token or "").partition(".")
    if not dot or not body or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def token_id(token: str) -> str:
    """A short public name of a token (logged instead of the token, which is a credential)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def digest(secret: bytes, purpose: str, value: str) -> str:
    """A keyed digest of ``value`` (the CSRF token of a session is the digest of the session)."""
    return _mac(secret, purpose, value)


def reply_token(secret: bytes, case_ref: str, unit: str) -> str:
    """The reply link token of one consultation-reply case and its addressee unit."""
    return sign(secret, REPLY, {"c": case_ref, "u": unit})


def read_reply_token(secret: bytes, token: str) -> tuple[str, str] | None:
    """(case ref, unit) of a genuine reply token; None otherwise."""
    payload = unsign(secret, REPLY, token)
    if payload is None or not isinstance(payload.get("c"), str) or not isinstance(payload.get("u"), str):
        return None
    return payload["c"], payload["u"]
