"""Database connections, transactions and migrations.

One command = one transaction: ``with db.write(settings) as s: ...`` commits on
success and rolls back on any exception, so a refused or malformed command
leaves the database as it was.  On SQLite every transaction begins
``BEGIN IMMEDIATE`` (writers queue on the file lock instead of failing late
with SQLITE_BUSY_SNAPSHOT) and the journal is WAL; on PostgreSQL the case row
is locked with ``SELECT … FOR UPDATE`` before events are appended.
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

from agreeflow.engine.core.errors import NotInitialisedError
from agreeflow.engine.core.paths import MIGRATIONS_DIR
from agreeflow.engine.core.settings import Settings

_engines: dict[str, Engine] = {}
MIGRATIONS = MIGRATIONS_DIR


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL, a busy timeout and IMMEDIATE."""
    eng = _engines.get(url)
    if eng is not None:
        return eng
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
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
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        eng = sa.create_engine(url, pool_pre_ping=True)
    _engines[url] = eng
    return eng


def dispose_all() -> None:
    """Close every pooled connection (tests, forked processes)."""
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()
    _initialised.clear()


_initialised: set[str] = set()


def _check_initialised(eng: Engine, url: str) -> None:
    # Once per URL per process: on PostgreSQL the catalogue query would cost a
    # round trip in every transaction of a busy scheduler node.
    if url in _initialised:
        return
    insp = sa.inspect(eng)
    if not insp.has_table("cases"):
        raise NotInitialisedError(db=_safe_url(url))
    _initialised.add(url)


def _safe_url(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@contextmanager
def write(settings: Settings) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on any error."""
    eng = get_engine(settings.url)
    _check_initialised(eng, settings.url)
    with Session(eng, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


read = write  # reads run in a transaction too, so they see one consistent snapshot


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
    with eng.connect() as conn:
        if is_sqlite(settings.url):
            conn.commit()  # leave the listener's IMMEDIATE transaction; alembic runs its own
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
        rev = MigrationContext.configure(conn).get_current_revision()
    return rev or ""
