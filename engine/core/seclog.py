"""The security log: who signed in, who failed to, who was refused where no case could hold it, who read.

One hash chain (``seq`` 1, 2, …; each hash covers the previous one), append-
only like the case log (database triggers since migration 0002).  Auditors
read it; ``audit verify`` checks it with the case chains.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core.audit import GENESIS, fmt_at
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.store import SecurityEvent

_PG_LOCK = 0x5EC106  # the security log's advisory lock key on PostgreSQL
NAME = "security_log"
"""How findings about the security log name it (where a case finding names the case)."""
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


class SecurityKind(StrEnum):
    """What one entry of the security log records."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LINK_SENT = "sign_in_link_sent"  # a one-time sign-in link went into the outbox
    SIGN_OUT = "sign_out"
    PASSWORD_SET = "password_set"
    REFUSED = "refused"          # a refusal that concerns no existing case
    READ = "read"                # kept only when the database is configured to keep an access log
    TOKEN_USED = "token_used"    # a reply link opened a step
    SETTING_CHANGED = "setting_changed"  # an admin switched a setting of the database (the access log)


def entry_hash(seq: int, recorded_at: datetime, actor: str, kind: str, origin: str, detail: dict[str, Any],
               prev_hash: str) -> str:
    """The hash one entry must carry."""
    doc = {"seq": seq, "recorded_at": fmt_at(recorded_at), "actor": actor, "kind": kind, "origin": origin,
           "detail": detail, "prev_hash": prev_hash}
    return hashlib.sha256(_encode(doc).encode("utf-8")).hexdigest()


def append(s: Session, kind: SecurityKind, *, actor: str, origin: str, at: datetime,
           detail: dict[str, Any] | None = None) -> SecurityEvent:
    """Append one entry in the caller's transaction (the UNIQUE seq keeps the chain linear)."""
    if s.get_bind().dialect.name == "postgresql":  # one writer at a time (SQLite's write lock does this alone)
        s.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    last = s.exec(select(SecurityEvent.seq, SecurityEvent.hash).order_by(col(SecurityEvent.seq).desc())
                  .limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    body = detail or {}
    row = SecurityEvent(seq=seq, recorded_at=at, actor=actor, kind=kind, origin=origin, detail=body,
                        prev_hash=prev, hash=entry_hash(seq, at, actor, kind, origin, body, prev))
    s.add(row)
    s.flush()
    return row


def verify(s: Session) -> tuple[int, list[Msg]]:
    """(entries checked, problems): every hash recomputed, every link and seq in order."""
    problems: list[Msg] = []
    prev, expected = GENESIS, 1
    n = 0
    for row in s.exec(select(SecurityEvent).order_by(col(SecurityEvent.seq))).all():
        n += 1
        if row.seq != expected:
            problems.append(Msg(N_("security log: expected seq {expected}, found {found} (entry missing or "
                                   "reordered)"), expected=expected, found=row.seq))
            break
        if row.prev_hash != prev or entry_hash(row.seq, row.recorded_at, row.actor, row.kind, row.origin,
                                               row.detail or {}, row.prev_hash) != row.hash:
            problems.append(Msg(N_("security log seq {seq}: hash does not match (entry edited)"), seq=row.seq))
            break
        prev, expected = row.hash, expected + 1
    return n, problems
