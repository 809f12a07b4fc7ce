"""Signing in: passwords, sessions of the command line and the web, sign-in links; all in the security log.

The command line keeps its token in a file of the user's own (mode 0600,
one per database) written by ``agreeflow login``; ``AGREEFLOW_TOKEN``
overrides it.  Who may set a password: an admin for anyone, a person for
themself, and — once, to start a new real database — anybody for an admin
when no admin has a password yet (logged as ``bootstrap``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import authority, clock, identity, seclog
from agreeflow.engine.core.atomic import atomic_write
from agreeflow.engine.core.errors import OptionValueError, RoleRefusedError, SignInRefusedError, UserInputError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Account, Person
from agreeflow.engine.service import base


def token_file(settings: Settings) -> Path:
    """Where ``agreeflow login`` keeps this user's token for this database."""
    from platformdirs import user_config_dir
    key = hashlib.sha256(settings.url.encode()).hexdigest()[:16]
    return Path(os.environ.get("AGREEFLOW_CONFIG") or user_config_dir("agreeflow", appauthor=False)) / "sessions" / key


def saved_token(settings: Settings) -> str | None:
    """The token ``agreeflow login`` saved for this database, if any."""
    path = token_file(settings)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _check_password_rules(password: str) -> None:
    if len(password) < identity.MIN_PASSWORD:
        raise OptionValueError(option="password", value="…",
                               remedy=Msg(N_("A password needs at least {n} characters."), n=identity.MIN_PASSWORD))


def _no_admin_has_a_password(s: Session) -> bool:
    admins = [p.email for p in s.exec(select(Person).where(col(Person.active))).all() if Role.ADMIN in p.roles]
    return not any(identity.has_password(s, email) for email in admins)


def set_password(settings: Settings, email: str, password: str) -> dict[str, Any]:
    """Set ``email``'s password (argon2id); ends that person's other sessions."""
    _check_password_rules(password)

    def work(s: Session) -> dict[str, Any]:
        target = authority.person(s, email)
        admin = None
        if base.is_simulation(s, settings):
            how = "simulation"
        elif (who := base.signed_in(s, settings)) is not None and (who.email == email or Role.ADMIN in who.roles):
            how, admin = ("self", None) if who.email == email else ("admin", who.email)
        elif Role.ADMIN in target.roles and _no_admin_has_a_password(s):
            how = "bootstrap"
        else:
            raise RoleRefusedError(actor=who.email if who else settings.origin, trigger="user set-password",
                                   case=email, needed=[Role.ADMIN], roles=who.roles if who else [])
        identity.set_password(s, email, password, clock.real_now())
        detail = {"by": how} | ({"admin": admin} if admin else {})
        seclog.append(s, seclog.SecurityKind.PASSWORD_SET, actor=email, origin=settings.origin,
                      at=clock.real_now(), detail=detail)
        return {"email": email} | detail
    return base.refused(settings, "user set-password", work)


def login(settings: Settings, email: str, password: str, kind: str = "cli", hours: float | None = None,
          save: bool = True) -> dict[str, Any]:
    """Check the password and open a session; the command line saves the token for the next commands.

    A failure is counted (the account locks for a growing while after
    repeated failures), logged in the security log, and is exit 3.
    """
    at = clock.real_now()
    with base.writing(settings) as s:
        person = s.get(Person, email)
        attempt = identity.check_password(s, email, password, at) if person is not None and person.active \
            else identity.Attempt(False)
        if attempt.ok:
            token = identity.open_session(s, email, kind, at, settings.origin, hours)
            seclog.append(s, seclog.SecurityKind.SIGN_IN, actor=email, origin=settings.origin, at=at,
                          detail={"kind": kind})
        else:
            seclog.append(s, seclog.SecurityKind.SIGN_IN_FAILED, actor=email, origin=settings.origin, at=at,
                          detail={"kind": kind, "failures": attempt.failures,
                                  "locked_until": base.iso(attempt.locked_until)})
    if not attempt.ok:
        until = clock.fmt_local(attempt.locked_until) if attempt.locked_until else ""
        raise SignInRefusedError(email=email, wait=Msg(N_(" (try again after {at})"), at=until) if until else "")
    if save and kind == "cli":
        path = token_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, lambda out: out.write(token))  # mode 0600: the temporary file's own (mkstemp)
    return {"email": email, "kind": kind, "token": token}


def logout(settings: Settings) -> dict[str, Any]:
    """End this command line's (or this token's) session."""
    token = settings.token or saved_token(settings)
    email = None
    if token:
        with base.writing(settings) as s:
            email = identity.close_session(s, token, clock.real_now())
            if email:
                seclog.append(s, seclog.SecurityKind.SIGN_OUT, actor=email, origin=settings.origin,
                              at=clock.real_now(), detail={})
    token_file(settings).unlink(missing_ok=True)
    return {"email": email}


def is_simulation_db(settings: Settings) -> bool:
    """True when the database was made with ``init --simulation`` (its clock may be set; its cases are not
    real ones): the web shows it on every page, ``audit export`` says it.

    Raises:
        NotInitialisedError and the other database errors of ``base.reading`` (exit 2): ``agreeflow web``
            asks this at start, so it refuses a database not made yet instead of serving error pages.
    """
    with base.reading(settings) as s:
        return base.is_simulation(s, settings)


class NobodyNamedError(UserInputError):
    """``whoami`` on a simulation database that no ``--as`` names a person for: a simulation acts as the person
    named, whoever signed in (engine.service.base.actor)."""

    msgid = N_("Nobody is signed in or named as the person acting. On this simulation database, say who you are "
               "with --as EMAIL (or AGREEFLOW_USER=EMAIL), an address from: agreeflow directory show")


def whoami(settings: Settings) -> dict[str, Any]:
    """Who this command acts as, on what kind of database.

    Raises, as any command that needs to know who acts (exit 2; 3 for --as someone else without the admin role):
        NobodyNamedError: a simulation database, and no person named (--as / AGREEFLOW_USER).
        NotSignedInError: a real database, and nobody signed in.
        UnknownPersonError: the person named is not in the directory.
        OnBehalfRefusedError: a person who is not an admin named somebody else.
    """
    with base.reading(settings) as s:
        simulation = base.is_simulation(s, settings)
        if simulation and not settings.user:
            raise NobodyNamedError()
        who = base.actor(s, settings)
        signed = base.signed_in(s, settings)
        account = s.get(Account, who.email)
        return {"email": who.email, "name": who.name, "unit": who.unit, "roles": list(who.roles or []),
                "signed_in_as": signed.email if signed else None, "simulation": simulation,
                "has_password": bool(account and account.password_hash), "origin": settings.origin,
                "access_log": base.access_log_on(s)}


# ------------------------------------------------------------------ the web's sign-ins
def web_session(settings: Settings, token: str | None) -> dict[str, Any] | None:
    """Who a web session token belongs to (email, name, unit, roles), or None when it is not live."""
    if not token:
        return None
    with base.reading(settings) as s:
        who = identity.session_person(s, token, clock.real_now(), kinds=("web",))
        if who is None:
            return None
        return {"email": who.email, "name": who.name, "unit": who.unit, "roles": list(who.roles or []),
                "lang": who.lang, "read_only": authority.is_read_only(who)}


LINK_MINUTES = 60
"""How long a one-time sign-in link stays good."""


def send_sign_in_link(settings: Settings, email: str, base_url: str) -> dict[str, Any]:
    """Queue a one-time sign-in link (good once, :data:`LINK_MINUTES` minutes) to ``email`` through the outbox.

    Says nothing about whether ``email`` is in the directory (the page answers the same either way); the
    request is in the security log, and a person who is not there gets no mail.
    """
    at = clock.real_now()
    email = email.strip().lower()
    with base.writing(settings) as s:
        person = s.get(Person, email)
        sent = person is not None and person.active
        if sent:
            assert person is not None
            from agreeflow.engine.legaltime import reminders  # (the mail settings) only for a link, too
            from agreeflow.notifications import compose  # mail (Jinja2, email) only for a link: not every command

            token = identity.open_session(s, email, "link", at, settings.origin, LINK_MINUTES / 60)
            who = compose.Recipient(person.email, person.name, person.lang if person.lang in ("vi", "en") else "vi",
                            person.unit)
            link = f"{base_url.rstrip('/')}/login/link/{token}"
            row = compose.outbox_row(f"link:{identity.token_hash(token)}", "sign_in_link",
                                     {"recipient_name": person.name, "link": link, "valid_minutes": LINK_MINUTES},
                                     who, reminders.load(), base.now(), rung="sign_in_link")
            compose.queue(s, [row])
        seclog.append(s, seclog.SecurityKind.SIGN_IN_LINK_SENT if sent else seclog.SecurityKind.SIGN_IN_FAILED,
                      actor=email, origin=settings.origin, at=at, detail={"kind": "link", "sent": sent})
    return {"email": email}


def sign_in_with_link(settings: Settings, token: str) -> dict[str, Any]:
    """Spend a one-time sign-in link and open a web session; SignInRefusedError (exit 3) when the link
    is unknown, used or expired (logged)."""
    at = clock.real_now()
    with base.writing(settings) as s:
        who = identity.use_link(s, token, at)
        if who is not None:
            session = identity.open_session(s, who.email, "web", at, settings.origin)
            seclog.append(s, seclog.SecurityKind.SIGN_IN, actor=who.email, origin=settings.origin, at=at,
                          detail={"kind": "link"})
        else:
            seclog.append(s, seclog.SecurityKind.SIGN_IN_FAILED, actor="", origin=settings.origin, at=at,
                          detail={"kind": "link", "token": identity.token_hash(token)[:12]})
    if who is None:
        raise SignInRefusedError(email="—", wait="")
    return {"email": who.email, "kind": "web", "token": session}


def sign_in_trusted(settings: Settings, email: str, header: str) -> dict[str, Any]:
    """Open a web session for a person a trusted reverse proxy vouches for (single sign-on).

    The caller has checked that the request came from a trusted proxy address; this checks that the
    person is in the directory and active (SignInRefusedError, exit 3, logged, otherwise).
    """
    at = clock.real_now()
    email = email.strip().lower()
    with base.writing(settings) as s:
        person = s.get(Person, email)
        ok = person is not None and person.active
        if ok:
            token = identity.open_session(s, email, "web", at, settings.origin)
        seclog.append(s, seclog.SecurityKind.SIGN_IN if ok else seclog.SecurityKind.SIGN_IN_FAILED, actor=email,
                      origin=settings.origin, at=at, detail={"kind": "proxy", "header": header})
    if not ok:
        raise SignInRefusedError(email=email, wait="")
    return {"email": email, "kind": "web", "token": token}


def web_sign_out(settings: Settings, token: str) -> dict[str, Any]:
    """End one web session (the command line's saved token is left alone); logged when it was live."""
    at = clock.real_now()
    with base.writing(settings) as s:
        email = identity.close_session(s, token, at)
        if email:
            seclog.append(s, seclog.SecurityKind.SIGN_OUT, actor=email, origin=settings.origin, at=at,
                          detail={"kind": "web"})
    return {"email": email}
