"""Sign-in: passwords (argon2id), sessions and one-time sign-in links, failures that slow down.

A person of the directory signs in with a password (``accounts``) and gets a
random token; only its SHA-256 is stored (``sign_ins``), so a copy of the
database opens no session.  The command line keeps its token in a file of
the user's own (engine.service.identity), the web in a signed, HttpOnly
cookie.  Repeated failures lock the account for a growing while
(:data:`LOCK_AFTER` failures, then :func:`lock_for`); every success, failure
and sign-out goes to the security log (engine.core.seclog) — written by the
service layer, which knows where the request came from.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core.store import Account, Person, SignIn

LOCK_AFTER = 5
"""Failures in a row before the account is locked for a while."""
MIN_PASSWORD = 10
"""Shortest password accepted (characters)."""
SESSION_HOURS = {"cli": 12, "web": 10, "link": 1}
"""How long a sign-in lasts, by kind (a sign-in link is good for one use within the hour)."""


@lru_cache(maxsize=1)
def _hasher() -> Any:
    """argon2's hasher, imported when a password is set or checked: not by every command (the import costs)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def lock_for(failures: int) -> timedelta:
    """How long an account stays locked after ``failures`` failures in a row (1, 2, 4 … minutes, ≤ 1 hour)."""
    if failures < LOCK_AFTER:
        return timedelta(0)
    return timedelta(minutes=min(60, 2 ** (failures - LOCK_AFTER)))


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def set_password(s: Session, email: str, password: str, now: datetime) -> Account:
    """Store ``password`` (argon2id) for ``email``; unlocks the account and ends its other sessions."""
    account = s.get(Account, email) or Account(email=email, changed_at=now)
    account.password_hash = _hasher().hash(password)
    account.failures, account.locked_until, account.changed_at = 0, None, now
    s.add(account)
    for row in s.exec(select(SignIn).where(SignIn.email == email, col(SignIn.revoked_at).is_(None))).all():
        row.revoked_at = now
        s.add(row)
    return account


@dataclass(frozen=True)
class Attempt:
    """The outcome of one password check."""

    ok: bool
    locked_until: datetime | None = None
    failures: int = 0


def check_password(s: Session, email: str, password: str, now: datetime) -> Attempt:
    """Verify ``password``; a failure counts against the account (and locks it after :data:`LOCK_AFTER`)."""
    account = s.get(Account, email)
    if account is None or not account.password_hash:
        return Attempt(False)
    if account.locked_until is not None and account.locked_until > now:
        return Attempt(False, account.locked_until, account.failures)
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        _hasher().verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        account.failures += 1
        wait = lock_for(account.failures)
        account.locked_until = now + wait if wait else None
        s.add(account)
        return Attempt(False, account.locked_until, account.failures)
    account.failures, account.locked_until = 0, None
    s.add(account)
    return Attempt(True)


def open_session(s: Session, email: str, kind: str, now: datetime, origin: str = "",
                 hours: float | None = None) -> str:
    """A new token for ``email`` (kind ``cli``, ``web`` or ``link``); the caller hands it to the person."""
    token = secrets.token_urlsafe(32)
    life = timedelta(hours=hours if hours is not None else SESSION_HOURS[kind])
    s.add(SignIn(token_hash=token_hash(token), email=email, kind=kind, created_at=now, expires_at=now + life,
                 origin=origin))
    return token


def session_person(s: Session, token: str | None, now: datetime, kinds: tuple[str, ...] = ("cli", "web")
                   ) -> Person | None:
    """The active person a live token of one of ``kinds`` belongs to, or None."""
    if not token:
        return None
    row = s.get(SignIn, token_hash(token))
    if row is None or row.kind not in kinds or row.revoked_at is not None or row.expires_at <= now:
        return None
    person = s.get(Person, row.email)
    return person if person is not None and person.active else None


def use_link(s: Session, token: str, now: datetime) -> Person | None:
    """Spend a one-time sign-in link: the person it was sent to, or None when used, expired or unknown."""
    row = s.get(SignIn, token_hash(token))
    if row is None or row.kind != "link" or row.used_at is not None or row.revoked_at is not None \
            or row.expires_at <= now:
        return None
    row.used_at = now
    s.add(row)
    person = s.get(Person, row.email)
    return person if person is not None and person.active else None


def close_session(s: Session, token: str, now: datetime) -> str | None:
    """Revoke a token; the email it belonged to (None when it was not live)."""
    row = s.get(SignIn, token_hash(token))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now
    s.add(row)
    return row.email


def has_password(s: Session, email: str) -> bool:
    """True when ``email`` can sign in with a password."""
    account = s.get(Account, email)
    return account is not None and bool(account.password_hash)
