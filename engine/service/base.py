"""What every service function shares: the transaction, the acting person, refusals logged on the case.

The service layer is the only one that opens transactions (``db.write`` /
``db.read``) and the only one that reads the clock for a command: it reads
``clock.now()`` once and hands that instant down, so every event a command
writes carries one time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session

from agreeflow.engine.core import cases, clock, db
from agreeflow.engine.core.errors import RefusedError, UnknownCaseError
from agreeflow.engine.core.settings import Settings

T = TypeVar("T")


def now() -> datetime:
    """The instant of the command being served."""
    return clock.now()


@contextmanager
def reading(settings: Settings) -> Iterator[Session]:
    """A read-only transaction (one consistent snapshot)."""
    with db.read(settings) as s:
        yield s


@contextmanager
def writing(settings: Settings) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error."""
    with db.write(settings) as s:
        yield s


def on_case(settings: Settings, ref: str, action: str | None, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one write transaction; a refusal is rolled back, logged on case ``ref``, then raised.

    Catches both a :class:`cases.Refusal` (which knows who was refused and
    under which role) and any other :class:`RefusedError` (a role check done
    before the case moved): every refusal on an existing case leaves a
    ``refused`` event, written in a transaction of its own.
    """
    try:
        with db.write(settings) as s:
            return work(s)
    except cases.Refusal as r:
        err, actor, role = r.err, r.actor, r.role
    except RefusedError as e:
        err, actor, role = e, str(e.fields.get("actor") or settings.user or ""), ""
    log_refusal(settings, ref, err, actor, role, action)
    raise err


def log_refusal(settings: Settings, ref: str, err: RefusedError, actor: str, role: str, action: str | None) -> None:
    """Append ``refused`` to case ``ref`` in its own transaction (nothing when the case does not exist)."""
    with db.write(settings) as s:
        try:
            case = cases.find(s, ref, lock=True)
        except UnknownCaseError:  # no case, no chain to log on
            return
        cases.log_refusal(s, case, err, actor, role, action, now())


def iso(value: Any) -> str | None:
    """A date or datetime as ISO text (None stays None)."""
    return value.isoformat() if value is not None else None
