"""A database from before the two times (schema revision 0001) migrates forward with ``agreeflow init``:
its events keep ``recorded_at`` NULL, are shown as "recorded before this field existed" ("ghi nhận trước khi
có trường này") in history, the audit log and the export's summary, and ``audit verify`` accepts them — also
after new steps are recorded beside them.

The rows are those agreeflow wrote at commit b7d4d5f (tests/fixtures/pre-0002-database.json says how); the
schema is made by migration 0001 on each database, as it was then."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from agreeflow.engine.core import db
from tests import standalone_verifier
from tests.conftest import ADMIN, ROOT, Agreeflow
from tests.databases import sa_url
from tests.test_auditors__refused_every_write import accounts

DUMP = json.loads((ROOT / "tests" / "fixtures" / "pre-0002-database.json").read_text(encoding="utf-8"))
TASK = "NV-2024-0001"
BEFORE_VI = "ghi nhận trước khi có trường này"
BEFORE_EN = "recorded before this field existed"


def _value(column: sa.Column, value):
    if isinstance(value, str) and isinstance(column.type, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(value, str) and isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


def restore_at_0001(url: str) -> None:
    """Schema revision 0001 (its own migration), then the rows of the dump, as a restore would leave them."""
    eng = sa.create_engine(url)
    try:
        cfg = db.alembic_config(url)
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        meta = sa.MetaData()
        meta.reflect(eng)
        assert "recorded_at" not in meta.tables["events"].columns  # truly the old schema
        with eng.begin() as conn:
            for name, rows in DUMP["tables"].items():
                if rows:
                    table = meta.tables[name]
                    conn.execute(table.insert(), [{k: _value(table.c[k], v) for k, v in r.items()} for r in rows])
            if conn.dialect.name == "postgresql":  # a restore sets the sequences past the rows it loaded
                for name, table in meta.tables.items():
                    if "id" in table.c and isinstance(table.c["id"].type, sa.Integer):
                        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                             f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)")
    finally:
        eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old(request, tmp_path: Path, monkeypatch) -> Agreeflow:
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_TOKEN", "AGREEFLOW_LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGREEFLOW_CONFIG", str(tmp_path / "config"))
    home = tmp_path / "home"
    home.mkdir()
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'agreeflow.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        name = f"old_{uuid.uuid4().hex[:12]}"
        cluster.create_empty_database(name)
        url = sa_url(cluster.url(name))
    restore_at_0001(url)
    yield Agreeflow(home=home, url=url)
    db.dispose_all()
    if name is not None:
        request.getfixturevalue("pg_cluster").drop_database(name)


def test_old_events_migrate_with_no_recorded_time_are_shown_so_and_still_verify(old, tmp_path):
    upgraded = old.json("init", user=None)
    assert upgraded["revision"] >= "0002" and upgraded["directory"] is None  # the directory is kept as it was
    with old.raw_connection() as con:
        rows = con.execute("SELECT e.seq, e.recorded_at, e.recorded_by, e.origin FROM events e "
                           "JOIN cases c ON c.id = e.case_id WHERE c.ref = 'NV-2024-0001' ORDER BY e.seq").fetchall()
    assert [tuple(r) for r in rows] == [(seq, None, "", "") for seq in range(1, 12)]

    history = old.json("case", "history", TASK, user=None)
    assert [(e["kind"], e["recorded_at"], e["recorded"]) for e in history][:3] == [
        ("opened", None, BEFORE_VI), ("deadline_set", None, BEFORE_VI), ("refused", None, BEFORE_VI)]
    assert all(e["recorded"] == BEFORE_VI for e in history)
    table = old("case", "history", TASK, "--lang", "en", user=None)
    assert table.exit_code == 0 and "Recorded" in table.stdout
    assert table.stdout.count("recorded before") == 11  # the column wraps the rest of the words
    log = old.json("audit", "log", "--case", TASK, "--lang", "en", user=None)
    assert {e["recorded"] for e in log} == {BEFORE_EN}

    export = tmp_path / "log.jsonl"
    done = old("audit", "export", "-o", str(export), user=None)
    assert done.exit_code == 0
    assert (f"12 sự kiện trong số đó {BEFORE_VI}: không có recorded_at, recorded_by, origin" in done.stdout)
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert all("recorded_at" not in ev for ev in lines)  # exactly the fields their hashes cover
    assert standalone_verifier.verify(lines)[TASK][0] == 11

    verified = old.json("audit", "verify", user=None)
    assert (verified["events"], verified["broken"]) == (12, [])


def test_a_step_recorded_after_the_upgrade_has_its_time_beside_the_old_ones_and_the_chain_holds(old):
    old("init", user=None, ok=True)
    old.env["AGREEFLOW_TOKEN"] = accounts(old, ADMIN)[ADMIN]  # a real database: the admin signs in
    old("case", "fire", TASK, "accept", user=None, ok=True)
    history = old.json("case", "history", TASK, user=None)
    assert [e["recorded"] for e in history[:11]] == [BEFORE_VI] * 11
    new = [e for e in history[11:]]
    assert new and all(e["recorded_at"] and e["recorded"] != BEFORE_VI and e["origin"].startswith("cli:")
                       for e in new)
    assert old.json("audit", "verify", user=None)["broken"] == []
