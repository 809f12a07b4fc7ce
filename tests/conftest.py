"""Fixtures that start real things: a fresh data directory with a real SQLite file
(and, when asked, a real PostgreSQL server), the CLI through click's runner and
through real subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agreeflow import cli
from agreeflow.engine.core import clock, db, definitions
from tests.databases import PostgresCluster, postgres_snapshot, raw_connection, sqlite_snapshot

DIALECTS = ("sqlite", "postgresql")

ROOT = Path(__file__).resolve().parent.parent
COORD = "dieuphoi@bacgiang.example"        # coordinator, DOFA
OFFICER_SNGV = "chuyenvien.sngv@bacgiang.example"
OFFICER_CA = "chuyenvien.ca@bacgiang.example"
APPROVER = "chutich@bacgiang.example"
AUDITOR = "thanhtra@bacgiang.example"
ADMIN = "quantri@bacgiang.example"


@dataclass
class Agreeflow:
    """Runs ``agreeflow`` against one data directory/database, in-process or as a subprocess."""

    home: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def base_env(self, user: str | None, now: str | None, lang: str | None) -> dict[str, str]:
        env = {"AGREEFLOW_HOME": str(self.home), "AGREEFLOW_DB": self.url, **self.env}
        if user:
            env["AGREEFLOW_USER"] = user
        if now:
            env["AGREEFLOW_NOW"] = now
        if lang:
            env["AGREEFLOW_LANG"] = lang
        return env

    def __call__(self, *args: str, user: str | None = COORD, now: str | None = None,
                 lang: str | None = None, ok: bool | None = None) -> Result:
        env = self.base_env(user, now, lang)
        env.setdefault("AGREEFLOW_USER", "")
        env.setdefault("AGREEFLOW_NOW", "")
        env.setdefault("AGREEFLOW_LANG", "")
        result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
        clock.set_now(None)
        if ok is True:
            assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        import json
        result = self(*args, "--json", ok=True, **kw)
        return json.loads(result.stdout)

    def run(self, *args: str, user: str | None = COORD, now: str | None = None,
            lang: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.base_env(user, now, lang)}
        return subprocess.run([sys.executable, "-m", "agreeflow.cli", *args], env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    def popen(self, *args: str, user: str | None = COORD, now: str | None = None) -> subprocess.Popen[str]:
        env = {**os.environ, **self.base_env(user, now, None)}
        return subprocess.Popen([sys.executable, "-m", "agreeflow.cli", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)

    @property
    def sqlite_path(self) -> Path:
        assert self.url.startswith("sqlite:///")
        return Path(self.url[len("sqlite:///"):])

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def snapshot(self, but: tuple[str, ...] = ()) -> bytes:
        """The whole database as bytes, equal exactly when nothing was written.

        SQLite: the checkpointed file.  PostgreSQL: every table's rows ordered
        by primary key plus the sequences' last values.  ``but`` leaves tables
        out (``("security_log",)``: a refusal with no case is logged there).
        """
        if self.dialect == "sqlite":
            return sqlite_snapshot(self.sqlite_path, but)
        return postgres_snapshot(self.url, but)

    def raw_connection(self) -> Any:
        """Context manager: a DB-API connection (sqlite3 or psycopg) in autocommit."""
        return raw_connection(self.url)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", action="append", default=[], choices=["sqlite", "postgresql"],
                     help="Database(s) to run store tests on (default: sqlite and, when available, postgresql).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--db sqlite`` (or ``--db postgresql``) keeps only that database's runs of ``af`` tests."""
    chosen = set(config.getoption("--db")) or set(DIALECTS)
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        dialect = params.params.get("af") if params else None
        (drop if dialect is not None and dialect not in chosen else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def pg_cluster() -> Any:
    """A real PostgreSQL for the session: pgserver in a temp dir, or ``AGREEFLOW_TEST_PG_URL``."""
    cluster = PostgresCluster.start()
    yield cluster
    db.dispose_all()
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Any:
    """SQLAlchemy URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=DIALECTS)
def af(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agreeflow:
    """A fresh, initialised agreeflow on a real SQLite file, then on a real PostgreSQL database."""
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_LANG", "AGREEFLOW_SMTP", "AGREEFLOW_WORKFLOWS"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)  # SQLite's file creates it; tests expect it on PostgreSQL too
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'agreeflow.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    runner = Agreeflow(home=home, url=url)
    runner("init", "--simulation", ok=True, user=None)
    return runner


@pytest.fixture
def workflows_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of workflows/ that a test may edit (AGREEFLOW_WORKFLOWS)."""
    dest = tmp_path / "workflows"
    shutil.copytree(definitions.WORKFLOWS_DIR, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("AGREEFLOW_WORKFLOWS", str(dest))
    yield dest
    definitions._registry.cache_clear()


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Any:
    before = set(threading.enumerate())
    yield
    clock.set_now(None)
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"threads leaked by the test: {leaked}"
