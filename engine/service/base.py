"""What every service function shares: the transaction, the clock, who acts, refusals logged.

The service layer is the only one that opens transactions and the only one
that reads the clock for a command: it reads ``now()`` once and hands that
instant down, so every event a command writes carries one time.  Each write
transaction declares its :class:`audit.Recording` — the real time of
writing, where from, and (when an admin acts for someone) by whom — before
anything is appended.

Who acts.  On a database declared a simulation (``agreeflow init
--simulation``: the demo, the tests) the acting person is the one named
(``--as`` / ``AGREEFLOW_USER``) and the simulated clock (``--now``) is
allowed.  On a real database the acting person is the one signed in
(``agreeflow login``, the web's session); naming another person needs the
admin role and is recorded as "recorded by X on behalf of Y"; ``--now`` is
refused.

Who starts the worker.  A sweep, the mail dispatcher and the outbox
commands (``tick``, ``serve``, ``outbox retry``) write and send, so they need
somebody who may write (:func:`worker`): the person named on a simulation
database, or signed in on a real one — on a real database the scheduler runs
under a service account of the directory signed in for long enough
(``agreeflow login worker@… --hours 8784``); an auditor is refused (exit 3,
security log).  On a simulation database with nobody named (the demo, the
tests, ``agreeflow tick --now …``) the scheduler starts as itself.  Either
way the sweep's events name the engine (``agreeflow``) and the process's
origin.

Who reads.  When the database keeps an access log (``agreeflow audit
access-log on``, a fact in ``meta``), every read a person asks for —
a case, a list, a history, a report, an export — must name its reader (as
a write names its actor) and is appended to the security log (kind
``read``: who, what, when, from where) once it succeeded
(:func:`reading_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col

from agreeflow.engine.core import audit, authority, cases, clock, db, identity, seclog
from agreeflow.engine.core.errors import (
    NotSignedInError,
    OnBehalfRefusedError,
    RefusedError,
    SimulationOnlyError,
    TimeOrderRefusedError,
    UnknownCaseError,
    UnknownPersonError,
)
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import Role
from agreeflow.engine.core.prepared import Prepared
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Meta, Person
from agreeflow.engine.service import wiring  # noqa: F401  (registers effects, actions and guards first)

T = TypeVar("T")
SIMULATION_KEY = "simulation"
ACCESS_LOG_KEY = "access_log"
_FLAGS: dict[tuple[str, str], bool] = {}


_WRITING: ContextVar[audit.Recording | None] = ContextVar("agreeflow_writing", default=None)


def now() -> datetime:
    """The instant of the command being served.

    Inside a write transaction on a real database it is the transaction's
    recording time, so a step takes effect exactly when it is recorded; on a
    simulation database it is the simulated clock.
    """
    rec = _WRITING.get()
    if rec is not None and not clock.is_simulated():
        return rec.at
    return clock.now()


def flag(s: Session, settings: Settings, key: str) -> bool:
    """A yes/no fact about the database kept in ``meta`` (read once per process: it never changes)."""
    if (settings.url, key) not in _FLAGS:
        row = _META.run(s, {"key": key}).first()
        _FLAGS[(settings.url, key)] = row is not None and row.value == "true"
    return _FLAGS[(settings.url, key)]


_META = Prepared(sa.select(col(Meta.value)).where(col(Meta.key) == sa.bindparam("key")))


def is_simulation(s: Session, settings: Settings) -> bool:
    """True for a database made with ``agreeflow init --simulation``."""
    return flag(s, settings, SIMULATION_KEY)


def _check_clock(s: Session, settings: Settings) -> None:
    if clock.is_simulated() and not is_simulation(s, settings):
        raise SimulationOnlyError(what="--now / AGREEFLOW_NOW", db=db.safe_url(settings.url))


@contextmanager
def reading(settings: Settings) -> Iterator[Session]:
    """A read-only transaction (one consistent snapshot; on SQLite it takes no write lock)."""
    with db.read(settings) as s:
        _check_clock(s, settings)
        yield s


def access_log_on(s: Session) -> bool:
    """True when this database keeps an access log (read afresh: an admin may switch it at any time)."""
    row = s.get(Meta, ACCESS_LOG_KEY)
    return row is not None and row.value == "true"


@contextmanager
def reading_for(settings: Settings, what: str, **detail: Any) -> Iterator[Session]:
    """A read transaction for a read a person asked for (``what``: the command, ``detail``: its arguments).

    With the access log on, the reader must be known as a writer must
    (UnknownPersonError / NotSignedInError, exit 2, before anything is read),
    and once the read has succeeded an entry naming the reader, what was
    read and when is appended to the security log in a transaction of its
    own.  A read that fails is not logged: it showed nothing.
    """
    with reading(settings) as s:
        reader = actor(s, settings).email if access_log_on(s) else None
        yield s
    if reader is not None:
        security(settings, seclog.SecurityKind.READ, reader,
                 {"what": what} | {k: v for k, v in detail.items() if v not in (None, "", [], {})})


@contextmanager
def writing(settings: Settings) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error; its events share one recording."""
    with db.write(settings) as s:
        _check_clock(s, settings)
        rec = audit.start_recording(s, audit.Recording(at=clock.real_now(), origin=settings.origin))
        token = _WRITING.set(rec)
        try:
            yield s
        finally:
            _WRITING.reset(token)


# ------------------------------------------------------------------ who acts
def signed_in(s: Session, settings: Settings) -> Person | None:
    """The person whose sign-in token this command carries (None: nobody signed in)."""
    return identity.session_person(s, settings.token, clock.real_now())


def actor(s: Session, settings: Settings) -> Person:
    """The person this command acts as, decided as the module docstring says.

    Raises:
        UnknownPersonError (exit 2): the person named is not in the directory.
        NotSignedInError (exit 2): a real database, and nobody signed in.
        OnBehalfRefusedError (exit 3): a person who is not an admin named somebody else.
    """
    if is_simulation(s, settings):
        return authority.person(s, settings.user)
    who = signed_in(s, settings)
    if who is None:
        raise NotSignedInError()
    if not settings.user or settings.user == who.email:
        return who
    if Role.ADMIN not in (who.roles or []):
        raise OnBehalfRefusedError(recorder=who.email, actor=settings.user)
    acted_for = authority.person(s, settings.user)
    if audit.is_recording(s):
        audit.recording(s).recorded_by = who.email
    return acted_for


def viewer(s: Session, settings: Settings) -> Person | None:
    """The person reading (to offer the actions they may take), or None when nobody is known."""
    try:
        return actor(s, settings)
    except (NotSignedInError, OnBehalfRefusedError, UnknownPersonError):
        return None  # the page shows no actions rather than failing the read


def writer(s: Session, settings: Settings, *, admin: bool = False, action: str = "admin",
           target: str = cases.SYSTEM_REF) -> Person:
    """The acting person, who must be allowed to write (and be an admin when ``admin``)."""
    return authority.check_writer(actor(s, settings), admin=admin, action=action, target=target)


def worker(s: Session, settings: Settings, action: str) -> Person:
    """Who starts a sweep, the dispatcher or an outbox command (see the module docstring).

    Raises:
        ReadOnlyError (exit 3): an auditor.
        NotSignedInError / UnknownPersonError (exit 2): nobody who may write is known on a real database.
    """
    if is_simulation(s, settings) and not settings.user:
        return authority.system_person()
    return writer(s, settings, action=action)


# ------------------------------------------------------------------ refusals
def on_case(settings: Settings, ref: str, action: str | None, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one write transaction; a refusal is rolled back, logged, then raised.

    Catches both a :class:`cases.Refusal` (which knows who was refused and
    under which role) and any other :class:`RefusedError` (who may act,
    checked before the case moved): every refusal leaves a ``refused`` event
    on the case — or, when there is no such case, an entry in the security
    log — written in a transaction of its own.
    """
    try:
        with writing(settings) as s:
            return work(s)
    except cases.Refusal as r:
        err, who, role = r.err, r.actor, r.role
    except RefusedError as e:
        err, who, role = e, str(e.fields.get("recorder") or e.fields.get("actor") or settings.user or ""), ""
    log_refusal(settings, ref, err, who, role, action)
    raise err


def refused(settings: Settings, action: str, work: Callable[[Session], T]) -> T:
    """Like :func:`on_case` for commands that concern no case: a refusal goes to the security log."""
    try:
        with writing(settings) as s:
            return work(s)
    except RefusedError as err:
        log_security_refusal(settings, action, err)
        raise


def allowed(settings: Settings, action: str, decide: Callable[[Session], T]) -> T:
    """Run a check of who may act in a read transaction; a refusal goes to the security log (exit 3)."""
    try:
        with reading(settings) as s:
            return decide(s)
    except RefusedError as err:
        log_security_refusal(settings, action, err)
        raise


def log_security_refusal(settings: Settings, action: str, err: RefusedError) -> None:
    """A refusal that concerns no case, in the security log (its own transaction)."""
    security(settings, seclog.SecurityKind.REFUSED,
             str(err.fields.get("recorder") or err.fields.get("actor") or settings.user or ""),
             {"action": action, "error": type(err).__name__, **err.message().to_json()})


def log_refusal(settings: Settings, ref: str, err: RefusedError, who: str, role: str, action: str | None) -> None:
    """Append ``refused`` to case ``ref`` in its own transaction (the security log when there is no such case)."""
    with writing(settings) as s:
        try:
            case = cases.find(s, ref, lock=True)
        except UnknownCaseError:
            seclog.append(s, seclog.SecurityKind.REFUSED, actor=who, origin=settings.origin,
                          at=clock.real_now(), detail={"case": ref, "action": action, "error": type(err).__name__,
                                                       **err.message().to_json()})
            return
        cases.log_refusal(s, case, err, who, role, action, now())


def security(settings: Settings, kind: seclog.SecurityKind, who: str, detail: dict[str, Any]) -> None:
    """One entry in the security log, in a transaction of its own."""
    with writing(settings) as s:
        seclog.append(s, kind, actor=who, origin=settings.origin, at=clock.real_now(), detail=detail)


def late_entry(s: Session, case: Case, effective: datetime, reason: str, at: datetime, who: str) -> datetime:
    """Mark this transaction's events as recorded late and return the instant they take effect.

    Refused (exit 3) when ``effective`` is later than now, or earlier than
    the case's last event (the core checks the latter for every step).
    """
    if effective > at:
        raise cases.Refusal(TimeOrderRefusedError(effective=clock.fmt_local(effective), case=case.ref,
                                                  problem=Msg(N_("later than the time of recording ({at})"),
                                                              at=clock.fmt_local(at))), who, "")
    audit.recording(s).late = {"effective": audit.fmt_at(effective), "reason": reason.strip()}
    return min(effective, at)


def iso(value: Any) -> str | None:
    """A date or datetime as ISO text (None stays None)."""
    return value.isoformat() if value is not None else None


def set_meta(s: Session, key: str, value: str) -> None:
    """Write one fact about the database."""
    s.merge(Meta(key=key, value=value))
    s.flush()

