"""Alembic environment: runs on the connection agreeflow hands it (or the URL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import agreeflow.engine.core.store  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        eng = sa.create_engine(config.get_main_option("sqlalchemy.url"))
        with eng.begin() as conn:
            _migrate(conn)
    else:
        _migrate(conn)


def _migrate(conn: sa.Connection) -> None:
    context.configure(connection=conn, target_metadata=target_metadata,
                      render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
