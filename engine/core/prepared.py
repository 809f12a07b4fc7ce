"""Statements of the hot paths, compiled once per dialect and run on the transaction's own DB-API connection.

Why.  SQLAlchemy's ``Connection.execute`` does a great deal per call — cache
key, execution context, result object, events — that costs more than the
statement itself: measured on a fire, 14 statements took a third of the
command's CPU time, against a few microseconds each for the driver alone.  A
command that moves a case runs a dozen statements; the ones that every such
command runs are declared here, as ordinary SQLAlchemy Core statements on the
SQLModel tables (one definition of the SQL, both dialects), and run
through :meth:`Prepared.run`:

* compiled once per dialect (and, for INSERT/UPDATE, per set of columns
  given), with SQLAlchemy's compiler, so the text is what SQLAlchemy would send;
* parameters converted by the same type processors SQLAlchemy would apply
  (UTC datetimes, JSON, booleans), and result columns likewise;
* sent with the driver's own ``execute`` on the connection of the session's
  transaction — the same transaction, savepoints included.

What it gives up, on purpose: SQLAlchemy's ``before/after_cursor_execute``
events do not see these statements, and the ORM does not autoflush before
them — a caller that reads rows the session may hold unflushed calls
``session.flush()`` first (cheap when nothing is pending).  Rows come back
as named tuples.  Only plain bound values are supported: no ``IN`` lists
expanded at run time, no SQL-side defaults filled in (an INSERT names every
column it sets; :class:`Prepared` refuses one that leaves a column with a
Python-side default unset).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

Processor = Callable[[Any], Any] | None


class _Form:
    """One statement compiled for one dialect (and one set of columns)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.sql = compiled.string
        names: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():  # type: ignore[attr-defined]
            if bind.expanding:
                raise ValueError(f"prepared statements take no expanding IN parameter ({name}): {self.sql}")
            names[name] = bind
        self.fixed = {n: b.value for n, b in names.items() if b.value is not None and not b.required}
        missing = [n for n, b in names.items() if keys is not None and n not in keys and n not in self.fixed
                   and not b.required]
        if missing:
            raise ValueError(f"name every column of a prepared INSERT/UPDATE (missing {missing}): {self.sql}")
        self.processors: dict[str, Processor] = {
            n: b.type.dialect_impl(dialect).bind_processor(dialect) for n, b in names.items()}
        self.order: list[str] | None = list(compiled.positiontup) if compiled.positional else None  # type: ignore[attr-defined]
        self.columns = list(getattr(statement, "selected_columns", ()))
        self.dialect = dialect
        self.row: Any = None
        self.readers: list[Processor] = []

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **params} if self.fixed else params
        procs = self.processors
        if self.order is not None:
            return tuple(v if (v := values[n]) is None or (p := procs[n]) is None else p(v) for n in self.order)
        return {n: v if (p := procs[n]) is None or v is None else p(v) for n, v in values.items() if n in procs}

    def rows(self, cursor: Any) -> list[Any]:
        fetched = cursor.fetchall()
        if self.row is None:
            names = [d[0] for d in cursor.description]
            self.row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
            self.readers = [c.type.dialect_impl(self.dialect).result_processor(self.dialect, d[1])
                            for c, d in zip(self.columns, cursor.description)]
        readers, make = self.readers, self.row._make
        if not any(readers):
            return [make(r) for r in fetched]
        return [make(v if p is None or v is None else p(v) for p, v in zip(readers, r)) for r in fetched]


class Ran:
    """What one run of a prepared statement gave: its rows (for a SELECT) and the row count."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def all(self) -> list[Any]:
        return self.rows


class Prepared:
    """A Core statement run straight on the DB-API connection of a session's transaction (module docstring)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self.dml = bool(statement.is_dml)
        self._forms: dict[tuple[str, tuple[str, ...] | None], _Form] = {}

    def _form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        keys = tuple(sorted(params)) if self.dml else None
        form = self._forms.get((dialect.name, keys))
        if form is None:
            form = self._forms[(dialect.name, keys)] = _Form(self.statement, dialect, keys)
        return form

    def run(self, session: Session, params: Mapping[str, Any] | None = None) -> Ran:
        """Execute in ``session``'s transaction (beginning it if need be); a SELECT's rows are read at once."""
        conn = session.connection()
        form = self._form(conn.dialect, params or {})
        cursor = conn.connection.driver_connection.execute(form.sql, form.parameters(params or {}))  # type: ignore[union-attr]
        rows = form.rows(cursor) if cursor.description is not None else []
        return Ran(rows, cursor.rowcount)
