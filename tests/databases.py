"""The databases the test suite runs on: a SQLite file per test, and a real PostgreSQL.

PostgreSQL comes from the ``pgserver`` wheel (binaries inside, started as the
current user in a temporary directory, Unix socket only), once per session; or
from ``AGREEFLOW_TEST_PG_URL`` when a system server should be used instead
(its user needs CREATEDB and CREATEROLE).  Every test gets its own database
copied from a template that ``agreeflow init`` already ran on (migrations,
system chain, sample directory), which costs tens of milliseconds instead of
an upgrade and a directory load per test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from agreeflow.engine import service
from agreeflow.engine.core import db
from agreeflow.engine.core.settings import Settings

TEST_PG_URL_ENV = "AGREEFLOW_TEST_PG_URL"
_counter = itertools.count(1)


def sa_url(url: str, database: str | None = None) -> str:
    """``url`` for SQLAlchemy with psycopg 3, optionally on another database."""
    u = sa.engine.make_url(url).set(drivername="postgresql+psycopg")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """``url`` (any SQLAlchemy spelling) as a libpq URI for ``psycopg.connect``."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresCluster:
    """One PostgreSQL server for the session: template database and per-test databases."""

    def __init__(self, admin_url: str, server: Any = None, tmp_dir: str | None = None) -> None:
        self.admin_url = sa_url(admin_url)
        self._server = server
        self._tmp_dir = tmp_dir
        self._admin = sa.create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.template: str | None = None
        self._strategy: str | None = None

    @classmethod
    def start(cls) -> PostgresCluster:
        """Use ``AGREEFLOW_TEST_PG_URL`` if set, else start pgserver in a fresh temporary directory."""
        url = os.environ.get(TEST_PG_URL_ENV)
        if url:
            return cls(url)
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI containers)
            warnings.simplefilter("ignore")
            import pgserver
        tmp_dir = tempfile.mkdtemp(prefix="agreeflow-pg-")
        server = pgserver.get_server(Path(tmp_dir) / "pgdata", cleanup_mode="stop")
        cluster = cls(server.get_uri(), server, tmp_dir)
        # A throw-away server: durability costs a checkpoint per CREATE DATABASE.
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            cluster.execute(f"ALTER SYSTEM SET {setting} = off")
        cluster.execute("SELECT pg_reload_conf()")
        return cluster

    def stop(self) -> None:
        """Drop the template, stop a server we started and remove its directory."""
        try:
            if self.template:
                self.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self._admin.dispose()
        finally:  # whatever failed above, never leave a server running behind the test run
            if self._server is not None:
                self._server.cleanup()
            if self._tmp_dir:
                shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def execute(self, statement: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(statement)

    def url(self, database: str, user: str | None = None) -> str:
        """SQLAlchemy URL of ``database`` on this server (as ``user`` if given)."""
        u = sa.engine.make_url(sa_url(self.admin_url, database))
        if user is not None:
            u = u.set(username=user, password=None)
        return u.render_as_string(hide_password=False)

    def _ensure_template(self) -> str:
        if self.template is None:
            name = f"agreeflow_tmpl_{os.getpid()}"
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.execute(f'CREATE DATABASE "{name}"')
            # migrations, system chain and sample directory: what `agreeflow init` leaves behind
            service.init(Settings(db_url=self.url(name)), simulation=True)
            db.dispose_all()  # CREATE DATABASE … TEMPLATE needs the template free of connections
            self.template = name
        return self.template

    def new_database(self) -> str:
        """A fresh database as `agreeflow init` leaves it; returns its name."""
        template = self._ensure_template()
        name = f"t_{os.getpid()}_{next(_counter)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{self._copy_strategy}')
        return name

    @property
    def _copy_strategy(self) -> str:
        """FILE_COPY (PostgreSQL 15+) copies a small template faster than the WAL-logged default."""
        if self._strategy is None:
            with self._admin.connect() as conn:
                version = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one())
            self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        return self._strategy

    def create_empty_database(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        db.dispose_all()
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_snapshot(path: Path, but: tuple[str, ...] = ()) -> bytes:
    """The database file's bytes after folding the WAL into it — or, when tables are left out (``but``),
    every other table's rows in order (a refusal may append to the security log and nothing else)."""
    db.dispose_all()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if not but:
        con.close()
        return path.read_bytes()
    lines: list[str] = []
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        if table in but:
            continue
        rows = con.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
        lines.append(table)
        lines.extend(repr(r) for r in rows if table != "sqlite_sequence" or r[0] not in but)
    con.close()
    return "\n".join(lines).encode("utf-8")


def postgres_snapshot(url: str, but: tuple[str, ...] = ()) -> bytes:
    """Every table's rows ordered by primary key, then each sequence's last value.

    Deterministic for equal contents, so ``before == after`` says "nothing
    written" as the SQLite file comparison does; sequences are included
    because a rolled-back INSERT still consumes an id.
    """
    eng = sa.create_engine(sa_url(url), poolclass=NullPool)
    lines: list[str] = []
    try:
        with eng.connect() as conn:
            insp = sa.inspect(conn)
            for table in sorted(insp.get_table_names()):
                if table in but:
                    continue
                columns = [c["name"] for c in insp.get_columns(table)]
                order = insp.get_pk_constraint(table)["constrained_columns"] or columns
                quoted = ", ".join(f'"{c}"' for c in order)
                rows = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY {quoted}').all()
                lines.append(f"{table} {columns}")
                lines.extend(repr(tuple(r)) for r in rows)
            seqs = conn.exec_driver_sql("SELECT sequencename, last_value FROM pg_sequences "
                                        "WHERE schemaname = current_schema() ORDER BY sequencename").all()
            lines.extend(f"sequence {name} {value}" for name, value in seqs
                         if not any(name.startswith(f"{table}_") for table in but))
    finally:
        eng.dispose()
    return "\n".join(lines).encode("utf-8")


@contextmanager
def raw_connection(url: str) -> Iterator[Any]:
    """A plain DB-API connection in autocommit (sqlite3 or psycopg), outside agreeflow's engine."""
    if url.startswith("sqlite"):
        db.dispose_all()
        con: Any = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    else:
        import psycopg

        con = psycopg.connect(libpq_url(url), autocommit=True)
    try:
        yield con
    finally:
        con.close()
