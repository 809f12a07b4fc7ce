"""The delivered marks of the dispatcher: one small transaction per message, straight on the driver.

The service layer opens every transaction (docs/architecture.md); this one is
on the path of every message, so it skips SQLAlchemy's session and
Connection and runs the outbox's ``DELIVERED`` statement, compiled once, on a
pooled DB-API connection held for the dispatching round.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agreeflow.engine.core.kinds import OutboxStatus
from agreeflow.notifications import outbox
from agreeflow.notifications.outbox import Claimed


class DeliveredMarks:
    """The server accepted a message: mark it ``delivered`` (its event comes in ``log_delivered``).

    One UPDATE in a transaction of its own per message, written straight to the database driver on a
    pooled connection the dispatching session holds.

    The mark is on the path of every message, inside the gate that lets one message at a time become
    delivered (mailer.TransportSession): through SQLAlchemy's Connection the statement, its BEGIN and
    its COMMIT cost about three times the driver's own work.  The statement is ``outbox.DELIVERED`` compiled
    once for the engine's dialect, its parameters converted by their columns' own bind processors, as SQLAlchemy
    would (tests read the row back on both databases).
    """

    def __init__(self, engine: sa.Engine) -> None:
        dialect = engine.dialect
        compiled = outbox.DELIVERED.compile(dialect=dialect)
        self._sql = compiled.string
        self._order = compiled.positiontup  # the parameters' order for positional paramstyles, else None
        given = dict.fromkeys(("row_id", "node", "at", "tries"))
        self._defaults = dict(compiled.construct_params(given))  # and the .values() and .where() constants
        self._convert = {name: convert for name, bind in compiled.binds.items()
                         if (convert := bind.type.bind_processor(dialect)) is not None}
        self._begin = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else None  # SQLite: we issue BEGIN (db.py)
        self._raw = engine.raw_connection()

    def mark(self, c: Claimed, node: str, now: datetime) -> bool:
        """Commit ``c``'s delivered mark; False when the claim is no longer ``node``'s."""
        given = self._defaults | {"row_id": c.id, "node": node, "at": now, "tries": c.tries + 1}
        values = {k: str(v) if isinstance(v, OutboxStatus) else v for k, v in given.items()}
        values = {k: self._convert[k](v) if k in self._convert else v for k, v in values.items()}
        params: Any = [values[k] for k in self._order] if self._order is not None else values
        cursor = self._raw.cursor()
        try:
            if self._begin:
                cursor.execute(self._begin)
            cursor.execute(self._sql, params)
            done = cursor.rowcount == 1
            self._raw.commit()
        except BaseException:
            try:
                self._raw.rollback()
            except Exception:  # a dead connection: the error that killed it is the one to report
                pass
            raise
        finally:
            cursor.close()
        return done

    def close(self) -> None:
        """Give the connection back to the pool."""
        self._raw.close()

    def __enter__(self) -> DeliveredMarks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
