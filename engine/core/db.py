"""Database connections, transactions and migrations.

One command = one transaction: ``with db.write(settings) as s: ...`` commits on
success and rolls back on any exception, so a refused or malformed command
leaves the database as it was.  On SQLite a write transaction begins
``BEGIN IMMEDIATE`` (writers queue on the file lock instead of failing late
with SQLITE_BUSY_SNAPSHOT), a read transaction a plain deferred ``BEGIN``
(readers never wait for the write lock, WAL gives them a snapshot); on
PostgreSQL the case row is locked with ``SELECT … FOR UPDATE`` before events
are appended.  A URL that is malformed, names a driver we do not have, or
cannot be reached is a DatabaseUrlError (exit 2) naming the URL without its
password — never a driver's traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agreeflow.engine.core.errors import DatabaseUrlError, NotInitialisedError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.paths import MIGRATIONS_DIR
from agreeflow.engine.core.settings import Settings

_engines: dict[str, Engine] = {}
MIGRATIONS = MIGRATIONS_DIR
_READ_ONLY = "agreeflow_read_only"  # execution option: begin a deferred (read) transaction on SQLite


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def safe_url(url: str) -> str:
    """The URL as it may be shown: no password (and the text itself when it is no URL at all)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _bad_url(url: str, problem: Msg) -> DatabaseUrlError:
    return DatabaseUrlError(db=safe_url(url), problem=problem)


def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL, a busy timeout, and IMMEDIATE for writes."""
    eng = _engines.get(url)
    if eng is not None:
        return eng
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise _bad_url(url, Msg(N_("it is not a database URL"))) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise _bad_url(url, Msg(N_("agreeflow runs on SQLite or PostgreSQL, not '{backend}'"),
                                backend=parsed.get_backend_name()))
    try:
        eng = _sqlite_engine(url, parsed) if is_sqlite(url) else sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError):
        raise _bad_url(url, Msg(N_("no driver for this URL (use postgresql+psycopg://…)"))) from None
    _engines[url] = eng
    return eng


def _sqlite_engine(url: str, parsed: sa.engine.URL) -> Engine:
    path = parsed.database or ""
    if path and path != ":memory:":
        if Path(path).is_dir():
            raise _bad_url(url, Msg(N_("'{path}' is a folder, not a database file"), path=path))
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _bad_url(url, Msg(N_("cannot create the file's folder ({problem})"), problem=exc.strerror)) from None
    eng = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")
    return eng


def dispose_all() -> None:
    """Close every pooled connection (tests, forked processes)."""
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()
    _initialised.clear()


def after_fork() -> None:
    """In a forked child process: forget the parent's engines without closing their connections.

    Those connections belong to the parent (closing a PostgreSQL one from the
    child would end the parent's session); the child opens its own.
    """
    for eng in _engines.values():
        eng.dispose(close=False)
    _engines.clear()


_initialised: set[str] = set()


def _check_initialised(eng: Engine, url: str) -> None:
    # Once per URL per process: on PostgreSQL the catalogue query would cost a
    # round trip in every transaction of a busy scheduler node.
    if url in _initialised:
        return
    try:
        # On a connection of its own marked read-only: on SQLite it begins with BEGIN, not BEGIN IMMEDIATE,
        # so a reading command never waits for the write lock (up to the 30 s busy timeout) just to look.
        with eng.connect() as conn:
            has_cases = sa.inspect(conn.execution_options(**{_READ_ONLY: True})).has_table("cases")
    except sa.exc.DBAPIError as exc:
        raise _unreachable(url, exc) from None
    if not has_cases:
        raise NotInitialisedError(db=safe_url(url))
    _initialised.add(url)


def _unreachable(url: str, exc: sa.exc.DBAPIError) -> DatabaseUrlError:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return _bad_url(url, Msg(N_("cannot connect to or read it ({detail})"), detail=detail))


@contextmanager
def _session(settings: Settings, read_only: bool) -> Iterator[Session]:
    eng = get_engine(settings.url)
    _check_initialised(eng, settings.url)
    try:
        conn = eng.connect()
    except sa.exc.DBAPIError as exc:
        raise _unreachable(settings.url, exc) from None
    with conn:
        if read_only:
            conn = conn.execution_options(**{_READ_ONLY: True})
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


@contextmanager
def write(settings: Settings) -> Iterator[Session]:
    """A session in one write transaction: commit on success, roll back on any error."""
    with _session(settings, read_only=False) as session:
        yield session


@contextmanager
def read(settings: Settings) -> Iterator[Session]:
    """A session in one read transaction (a consistent snapshot; on SQLite, no write lock)."""
    with _session(settings, read_only=True) as session:
        yield session


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings) -> str:
    """Bring the schema to the newest migration; returns the revision now in force."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    eng = get_engine(settings.url)
    cfg = alembic_config(settings.url)
    try:
        conn = eng.connect()
    except sa.exc.DBAPIError as exc:
        raise _unreachable(settings.url, exc) from None
    with conn:
        if is_sqlite(settings.url):
            conn.commit()  # leave the listener's IMMEDIATE transaction; alembic runs its own
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")
        except sa.exc.DBAPIError as exc:
            raise _unreachable(settings.url, exc) from None
        conn.commit()
        rev = MigrationContext.configure(conn).get_current_revision()
    return rev or ""
