"""The tables (SQLModel).  Schema changes go through Alembic (engine/migrations).

All datetimes are aware UTC in Python; ``UTCDateTime`` stores them naive-UTC
so SQLite and PostgreSQL hold the same values.  JSON columns hold fields,
payloads and explanations.  See docs/architecture.md for what each table means.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel

from agreeflow.engine.core.kinds import DeadlineStatus, OutboxStatus


class TableBase(SQLModel):
    """The base of every table class: a SQLModel whose pydantic validator is built on first use, not at import.

    Nothing validates a table object through pydantic (rows are built from the database or from values the
    engine checked itself: ``engine.core.fields``), so the fourteen validators, built when each class was
    defined, cost every command about 8 ms for nothing (``defer_build``).  Should anything call
    ``model_validate`` on a table class, pydantic builds that class's validator then.  The tables
    themselves (the SQLAlchemy side, on ``SQLModel.metadata``) are unchanged: tests/test_startup.py
    compares them with what the migrations make.
    """

    model_config = {"defer_build": True}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database (portable across dialects)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
"""JSON text with sorted keys, no spaces, non-ASCII as itself: the canonical form of docs/audit.md."""


class CanonicalJSON(TypeDecorator[Any]):
    """A JSON column written as its canonical text (``canonical_json``), kept byte for byte by both databases.

    ``events.payload`` uses it: the payload's stored text is then exactly the part of the
    event's hashed bytes that it stands for, so ``audit verify`` hashes it as it is instead
    of parsing and re-encoding it (docs/audit.md section 5).  PostgreSQL's ``json`` type and
    SQLite's text keep the text as written; reading parses it as any JSON column does.
    """

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from psycopg.types.json import Json  # the wrapper SQLAlchemy's own JSON type hands psycopg

            return lambda value: None if value is None else Json(value, dumps=canonical_json)
        return lambda value: None if value is None else canonical_json(value)


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(sa.JSON(), nullable=False))


class Unit(TableBase, table=True):
    __tablename__ = "units"
    code: str = Field(primary_key=True, max_length=64)
    name_vi: str
    name_en: str = ""
    email: str = ""
    parent: str | None = Field(default=None, max_length=64)
    kind: str = Field(default="", max_length=32)
    active_from: date | None = None
    active_to: date | None = None


class Person(TableBase, table=True):
    __tablename__ = "people"
    email: str = Field(primary_key=True, max_length=255)
    name: str
    unit: str = Field(max_length=64)
    roles: list[str] = _json(list)
    lang: str = Field(default="vi", max_length=8)
    active: bool = True
    positions: list[dict[str, Any]] = _json(list)
    """``[{"unit": "UBND", "position": "chairman"}, …]`` — positions held (engine.core.kinds.Position)."""
    title: str = ""
    """How the person is addressed: "Ông", "Bà" (mail and letters)."""
    phone: str = ""


class Delegation(TableBase, table=True):
    """A delegation of authority (ủy quyền): ``delegate`` may act for ``principal`` in ``scope``, from … to …."""

    __tablename__ = "delegations"
    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=255, index=True)
    delegate: str = Field(max_length=255, index=True)
    scope: list[str] = _json(list)
    """The triggers (e.g. ``approve``) or ``*`` for every step the principal may take."""
    valid_from: date
    valid_to: date | None = None
    document: str = ""
    """The deciding document (số, ngày), e.g. "Quyết định 123/QĐ-UBND ngày 02/01/2024"."""


class Case(TableBase, table=True):
    __tablename__ = "cases"
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    workflow: str = Field(max_length=64, index=True)
    version: int
    state: str = Field(max_length=64, index=True)
    title: str
    unit: str | None = Field(default=None, max_length=64, index=True)
    fields: dict[str, Any] = _json(dict)
    lock_version: int = 1
    parent_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    opened_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)
    closed_at: datetime | None = _utc()
    suspended_at: datetime | None = _utc()
    created_by: str = ""


class Event(TableBase, table=True):
    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
                      # The log page reads newest first by (at, id), with or without a kind or a person, from
                      # an index in that order: its keyset paging costs the same on any page (migration 0005).
                      sa.Index("ix_events_at_id", "at", "id"),
                      sa.Index("ix_events_kind_at_id", "kind", "at", "id"),
                      sa.Index("ix_events_actor_at_id", "actor", "at", "id"),
                      sa.Index("ix_events_recorded_by_at_id", "recorded_by", "at", "id"))
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    seq: int
    at: datetime = _utc(nullable=False)
    actor: str = ""
    role: str = ""
    kind: str = Field(max_length=32)
    from_state: str | None = None
    to_state: str | None = None
    trigger: str | None = None
    note: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(CanonicalJSON(), nullable=False))
    """Written as its canonical text (:class:`CanonicalJSON`): the payload's part of the hashed bytes."""
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    recorded_at: datetime | None = _utc()
    """When it was written, from the real clock (``at`` is when it took effect); NULL before 0002."""
    recorded_by: str = ""
    """Who typed it when that was not the actor (an admin acting on behalf of the actor)."""
    origin: str = ""
    """Where it was written from: ``cli:<os account>@<host>``, ``web:<address>``, ``worker:<node>``."""


class Deadline(TableBase, table=True):
    __tablename__ = "deadlines"
    __table_args__ = (sa.Index("ix_deadlines_due_sweep", "status", "next_action_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    key: str = Field(max_length=128)
    kind: str = Field(default="", max_length=32)
    label_vi: str = ""
    label_en: str = ""
    unit: str | None = Field(default=None, max_length=64, index=True)
    start_at: datetime | None = _utc()
    due_date: date | None = None
    due_at: datetime | None = _utc()
    phrase: str | None = None
    explanation: list[dict[str, Any]] = _json(list)
    citation: str = ""
    confirmed: bool = True
    status: str = Field(default=DeadlineStatus.OPEN, max_length=16)
    policy: str = Field(default="default", max_length=64)
    next_action_at: datetime | None = _utc()
    rung: int = 0
    closed_at: datetime | None = _utc()
    margin_wd: int | None = None
    lock_until: datetime | None = _utc()
    locked_by: str | None = None
    extra: dict[str, Any] = _json(dict)


class OutboxMessage(TableBase, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_dispatch", "status", "next_try_at"),)
    id: int | None = Field(default=None, primary_key=True)
    idem_key: str = Field(max_length=255, sa_column_kwargs={"unique": True})
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadlines.id")
    rung: str = Field(default="", max_length=32)
    recipient: str = Field(max_length=255)
    unit: str | None = Field(default=None, max_length=64)
    lang: str = Field(default="vi", max_length=8)
    subject: str
    message_id: str = Field(max_length=255)
    status: str = Field(default=OutboxStatus.QUEUED, max_length=16)
    tries: int = 0
    next_try_at: datetime | None = _utc()
    lease_until: datetime | None = _utc()
    claimed_by: str | None = None
    last_error: str | None = None
    late_by_s: int | None = None
    created_at: datetime = _utc(nullable=False)
    sent_at: datetime | None = _utc()
    kind: str = Field(default="", max_length=32)
    """The mail kind (``reminder`` … ``escalation``, ``bundle``, ``digest``)."""
    context: dict[str, Any] | None = Field(default=None, sa_column=Column(sa.JSON(), nullable=True))
    """A ``held`` rung's render context, until it is folded into its recipient's message."""
    bundle_id: int | None = Field(default=None, index=True)
    """The message a ``bundled`` rung went out in."""


class OutboxBody(TableBase, table=True):
    """A queued message's text and HTML, apart from its outbox row.

    The dispatcher updates an outbox row three times (claimed, delivered, sent), one of them inside the gate
    every message passes through; SQLite rewrites a whole row on every update, and with its bodies a row
    spans overflow pages (about 7 kB): 3.5× the work of a row without them (docs/mail.md).  Held and
    skipped rungs have no body; a message has one from the moment it is queued.
    """

    __tablename__ = "outbox_bodies"
    id: int = Field(foreign_key="outbox.id", primary_key=True)
    body_text: str = Field(sa_column=Column(sa.Text(), nullable=False))
    body_html: str = Field(sa_column=Column(sa.Text(), nullable=False))


class CalendarDay(TableBase, table=True):
    __tablename__ = "calendar_days"
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)
    reason: str = ""
    source: str = ""
    created_by: str = ""
    created_at: datetime = _utc(nullable=False)


class Node(TableBase, table=True):
    __tablename__ = "nodes"
    name: str = Field(primary_key=True, max_length=128)
    started_at: datetime = _utc(nullable=False)
    last_seen: datetime = _utc(nullable=False)
    pid: int = 0
    host: str = ""


class Meta(TableBase, table=True):
    """Small key/value facts about the database (e.g. when the directory was loaded)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = ""


class WorkflowVersion(TableBase, table=True):
    """The YAML text of each definition version a case was opened on.

    Keeps old versions loadable even after the file on disk was edited or
    replaced, so a running case always runs on the rules it started with.
    """

    __tablename__ = "workflow_versions"
    workflow: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    source: str = Field(sa_column=Column(sa.Text(), nullable=False))
    sha256: str = Field(max_length=64)
    path: str = ""
    stored_at: datetime = _utc(nullable=False)


class SecurityEvent(TableBase, table=True):
    """The security log: sign-ins, sign-outs, failures, refusals with no case, reads (when kept).

    Hash-chained like a case's log (one chain), append-only.
    """

    __tablename__ = "security_log"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column_kwargs={"unique": True})
    recorded_at: datetime = _utc(nullable=False, index=True)
    actor: str = ""
    kind: str = Field(max_length=32, index=True)
    origin: str = ""
    detail: dict[str, Any] = _json(dict)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Account(TableBase, table=True):
    """A person's sign-in secret (argon2 hash) and failure count; the person is in ``people``."""

    __tablename__ = "accounts"
    email: str = Field(primary_key=True, max_length=255)
    password_hash: str = ""
    failures: int = 0
    locked_until: datetime | None = _utc()
    changed_at: datetime = _utc(nullable=False)


class SignIn(TableBase, table=True):
    """A signed-in session (web or command line) or a one-time sign-in link; only the token's hash is kept."""

    __tablename__ = "sign_ins"
    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=255, index=True)
    kind: str = Field(max_length=16)          # web | cli | link
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    used_at: datetime | None = _utc()
    revoked_at: datetime | None = _utc()
    origin: str = ""
