"""What every benchmark shares: figures, timing, the work folder, a fresh agreeflow database.

A benchmark module runs as its own process (``python bench/<name>_bench.py
[--quick]``) so imports, caches and memory of one never colour another; it
prints its figures as one JSON line that ``bench/run.py`` collects.  Every
figure is a ratio against a baseline measured in the same process, next to
the absolute numbers, so a faster or slower machine moves both sides.

Benchmarks read the real clock (``time.perf_counter``): they measure time.
Business time inside agreeflow still comes from ``engine.clock``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / "_work"
WORKFLOWS = BENCH_DIR / "workflows"
FIGURES_MARK = "BENCH-FIGURES "

COORDINATOR = "dieuphoi@bacgiang.example"
"""A coordinator of the shipped sample directory: may fire every bench transition."""


@dataclass
class Figure:
    """One measured result: agreeflow's number, the baseline's, their ratio and the goal."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    ratio_meaning: str
    goal: str
    met: bool | None
    """True/False against the goal; None when there is no goal or it is pending."""
    notes: str = ""
    why_missed: str = ""
    """Why the goal is not reached (shown in results.md when it is not)."""
    details: list[tuple[str, str]] = field(default_factory=list)
    """Extra absolute numbers shown under the table: (label, value)."""


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    return parser.parse_args()


def emit(figures: list[Figure]) -> None:
    """Hand the figures to run.py (one marked JSON line on stdout)."""
    print(FIGURES_MARK + json.dumps([asdict(f) for f in figures], ensure_ascii=False), flush=True)


def say(text: str) -> None:
    """Progress for the person waiting (stderr, so stdout stays parseable)."""
    print(f"  · {text}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``fn``."""
    return statistics.median(timed(fn) for _ in range(repeat))


def fresh_dir(name: str) -> Path:
    """An empty folder ``bench/_work/<name>``."""
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


STEPS = ("submit", "ask", "synthesise", "decide", "sign", "close")
"""The triggers of bench/workflows/approval.yaml, draft to closed."""


def use_bench_workflows() -> None:
    """Point agreeflow at the bench's workflow folder and register the guard it names.

    Must run before definitions are loaded: loading checks every guard name.
    """
    from agreeflow.engine.core.guards import GuardContext, Reason, register_guard

    def has_title(ctx: GuardContext) -> Reason | None:
        return None if ctx.case.title.strip() else Reason("hồ sơ chưa có tên.", "the case has no title.")

    os.environ["AGREEFLOW_WORKFLOWS"] = str(WORKFLOWS)
    register_guard("bench_has_title", has_title)


def agreeflow_env(home: Path, user: str = COORDINATOR) -> dict[str, str]:
    """Environment for an ``agreeflow`` subprocess on the bench database in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGREEFLOW_")}
    env.update(AGREEFLOW_HOME=str(home), AGREEFLOW_USER=user, AGREEFLOW_WORKFLOWS=str(WORKFLOWS))
    return env


def init_database(home: Path, user: str = COORDINATOR, settings: Any = None) -> Any:
    """``agreeflow init`` in ``home`` (sample directory loaded), or on ``settings``; returns the Settings."""
    use_bench_workflows()
    from agreeflow.engine import service
    from agreeflow.engine.core.settings import Settings

    settings = settings or Settings(data_dir=home, user=user)
    service.init(settings, simulation=True)
    return settings


class Statements:
    """Counts the SQL statements a database driver runs, transaction control (BEGIN/COMMIT/ROLLBACK) aside.

    Counted at the driver, under any library: sqlite3's trace callback (every
    statement SQLite starts, one per row of an ``executemany``) and a wrapper
    around psycopg's ``Cursor.execute``/``executemany`` (psycopg sends BEGIN
    and COMMIT itself, unseen: so they are left out on SQLite too).  Only
    statements run while :attr:`on` is true are counted.
    """

    def __init__(self) -> None:
        self.count = 0
        self.on = False
        self.log: list[str] | None = None
        """When a list, the text of every statement counted is appended to it."""

    def _see(self, sql: str, n: int = 1) -> None:
        if self.on and not sql.lstrip()[:8].upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.count += n
            if self.log is not None:
                self.log.extend([sql] * n)

    def watch_sqlite(self, conn: Any) -> None:
        """Count what this sqlite3 connection runs."""
        conn.set_trace_callback(self._see)

    def watch_engines(self) -> None:
        """Count what every SQLite connection SQLAlchemy opens from now on runs (agreeflow's engines)."""
        import sqlite3

        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            if isinstance(dbapi_conn, sqlite3.Connection):
                self.watch_sqlite(dbapi_conn)
        event.listen(Engine, "connect", on_connect)

    def watch_psycopg(self) -> None:
        """Count what every psycopg cursor executes (SQLAlchemy's and bare ones alike)."""
        import psycopg

        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
        counter = self

        def counted_execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            counter._see(str(query) if isinstance(query, str) else "statement")
            return execute(cur, query, *args, **kwargs)

        def counted_executemany(cur: Any, query: Any, params_seq: Any, *args: Any, **kwargs: Any) -> Any:
            params_seq = list(params_seq)
            counter._see(str(query) if isinstance(query, str) else "statement", len(params_seq))
            return executemany(cur, query, params_seq, *args, **kwargs)

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]

    def per(self, n: int) -> float:
        return self.count / n if n else 0.0


class Postgres:
    """A PostgreSQL server of its own for one benchmark (the pgserver wheel the tests use), in bench/_work.

    Started with the server's default durability (fsync on); each database
    can be given its own settings (``ALTER DATABASE … SET``), which apply to
    every connection to it, agreeflow's and a bare one's alike.
    """

    def __init__(self, name: str) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver
        self.dir = fresh_dir(name)
        self.server = pgserver.get_server(self.dir / "pgdata", cleanup_mode="stop")
        self.uri = self.server.get_uri()

    def execute(self, sql: str) -> Any:
        import psycopg

        with psycopg.connect(self.uri, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else None

    def create(self, name: str, **settings: str) -> tuple[str, str]:
        """A new database with ``settings``; (its SQLAlchemy URL, its libpq URI)."""
        from sqlalchemy.engine import make_url

        self.execute(f'CREATE DATABASE "{name}"')
        for key, value in settings.items():
            self.execute(f'ALTER DATABASE "{name}" SET {key} = {value}')
        url = make_url(self.uri).set(database=name)
        return (url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
                url.render_as_string(hide_password=False))

    def stop(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def sqlite_path(settings: Any) -> Path:
    return Path(settings.url.split("///", 1)[1])


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")
