"""PostgreSQL specifics: the roles of docs/postgresql.md, run verbatim on a real server."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.conftest import COORD, OFFICER_SNGV, ROOT, Agreeflow
from tests.databases import PostgresCluster, libpq_url

DOC = ROOT / "docs" / "postgresql.md"
NOW = "2024-06-21T09:00:00+07:00"
_suffixes = itertools.count(1)


def doc_sql(marker: str) -> str:
    """The ```sql block right after ``<!-- sql:marker -->`` in docs/postgresql.md."""
    found = re.search(rf"<!-- sql:{marker} -->\s*```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/postgresql.md has no sql block marked {marker}"
    return found.group(1)


def statements(sql: str) -> list[str]:
    """One statement per ``;`` at a line end, comment lines dropped (as psql runs them)."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*$", text, flags=re.M) if s.strip()]


class Roles:
    """The documented roles and database, renamed with a suffix so runs never collide."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.suffix = f"_{os.getpid()}_{next(_suffixes)}"
        self.database = f"agreeflow{self.suffix}"
        self.passwords: dict[str, str] = {}

    def rename(self, sql: str) -> str:
        sql = re.sub(r"\bagreeflow_(owner|app|auditor)\b", lambda m: m.group(0) + self.suffix, sql)
        return re.sub(r"\bagreeflow\b", self.database, sql)

    def role(self, name: str) -> str:
        return f"agreeflow_{name}{self.suffix}"

    def url(self, name: str) -> str:
        """SQLAlchemy URL of the test database as one of the roles, with the documented password."""
        import sqlalchemy as sa

        u = sa.engine.make_url(self.cluster.url(self.database, user=self.role(name)))
        return u.set(password=self.passwords[self.role(name)]).render_as_string(hide_password=False)

    def connect(self, name: str) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq_url(self.url(name)), autocommit=True)

    def create(self) -> None:
        for stmt in statements(self.rename(doc_sql("roles"))):
            if (m := re.match(r"CREATE ROLE (\w+) LOGIN PASSWORD '([^']*)'", stmt)):
                self.cluster.execute(f"DROP ROLE IF EXISTS {m.group(1)}")
                self.passwords[m.group(1)] = m.group(2)
            self.cluster.execute(stmt)

    def drop(self) -> None:
        self.cluster.drop_database(self.database)
        for name in ("app", "auditor", "owner"):
            self.cluster.execute(f"DROP ROLE IF EXISTS {self.role(name)}")


@pytest.fixture
def roles(pg_cluster: PostgresCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Roles]:
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_LANG", "AGREEFLOW_SMTP", "AGREEFLOW_WORKFLOWS"):
        monkeypatch.delenv(var, raising=False)
    r = Roles(pg_cluster)
    r.create()
    try:
        yield r
    finally:
        r.drop()


def test_documented_roles_let_the_app_append_to_events_but_never_rewrite_them(roles: Roles, tmp_path: Path) -> None:
    Agreeflow(home=tmp_path / "owner", url=roles.url("owner"))("init", "--simulation", user=None, ok=True)
    with roles.connect("owner") as con:
        for stmt in statements(roles.rename(doc_sql("grants"))):
            con.execute(stmt)

    app = Agreeflow(home=tmp_path / "app", url=roles.url("app"))
    ref = app("case", "open", "task", "--title", "Hướng dẫn ký kết", "--field", "lead_unit=SNGV",
              "--field", "due_phrase=hoàn thành trong tháng 7/2024", now=NOW, ok=True).stdout.strip()
    app("case", "fire", ref, "start", user=OFFICER_SNGV, now=NOW, ok=True)
    app("case", "fire", ref, "accept", user=OFFICER_SNGV, now=NOW)  # refused: the refusal is appended too

    with roles.connect("app") as con:
        for stmt in ("UPDATE events SET note = 'rewritten'", "DELETE FROM events", "TRUNCATE events",
                     "UPDATE alembic_version SET version_num = 'x'"):
            with pytest.raises(errors.InsufficientPrivilege) as raised:
                con.execute(stmt)
            assert "permission denied" in str(raised.value), stmt
        for stmt in ("DROP TRIGGER events_no_update_delete ON events",
                     "ALTER TABLE events DISABLE TRIGGER ALL", "CREATE TABLE shadow (x int)"):
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(stmt)
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 0  # type: ignore[index]

    auditor = Agreeflow(home=tmp_path / "auditor", url=roles.url("auditor"))
    verified = auditor.json("audit", "verify", user=None)
    assert verified["broken"] == [] and verified["cases"] == 2
    kinds = [e["kind"] for e in auditor.json("case", "history", ref, user=COORD)]
    assert kinds.count("transition") == 1 and kinds[-1] == "refused"
    with roles.connect("auditor") as con:
        with pytest.raises(errors.ReadOnlySqlTransaction):
            con.execute("UPDATE cases SET state = 'x'")
        con.execute("SET default_transaction_read_only = off")  # anyone may; the grants still hold
        for stmt in ("INSERT INTO events (case_id) VALUES (1)", "UPDATE cases SET state = 'x'",
                     "DELETE FROM outbox", "UPDATE deadlines SET status = 'met'"):
            with pytest.raises(errors.InsufficientPrivilege):
                con.execute(stmt)


def test_migrations_go_down_to_nothing_and_up_again(af: Agreeflow) -> None:
    """Alembic runs both ways on both databases (the append-only triggers included)."""
    from alembic import command

    from agreeflow.engine.core import db

    cfg = db.alembic_config(af.url)
    db.dispose_all()
    command.downgrade(cfg, "base")
    with af.raw_connection() as con:
        catalog = ("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%'"
                   if af.dialect == "sqlite" else
                   "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        assert [r[0] for r in con.execute(catalog).fetchall()] == ["alembic_version"]
    af("init", "--simulation", user=None, ok=True)
    assert af("case", "list", ok=True).exit_code == 0
    with af.raw_connection() as con:
        with pytest.raises(Exception, match="append-only"):
            con.execute("DELETE FROM events")
