"""What a reading command costs to start (issue 12): ``case show`` and ``case list`` import no module they do not
use, read the workflow files' parse from the cache folder while no file changed — and still see an operator's
edit at the next command — take no write lock, and the table classes, defined more cheaply, are still the tables
the migrations make."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from agreeflow.engine.core import definitions, yamlio
from agreeflow.engine.core.yamlio import LineDict, load_file
from agreeflow.engine.legaltime.calendar.sources import DATA_PATH
from tests.conftest import COORD, ROOT, Agreeflow

NOW = "2024-06-21T09:00"

NOT_ON_A_READ = ("yaml", "babel", "jinja2", "argon2", "difflib", "holidays", "alembic", "pygal", "smtplib",
                 "email.mime", "openpyxl", "docx", "icalendar", "agreeflow.notifications",
                 "agreeflow.engine.legaltime.reminders")
"""Modules a reading command must not import (docs/performance.md): the YAML parser (the parse is cached), the
catalogue compiler (the .mo is cached), mail, passwords, "did you mean", the holiday package (its table is
cached), migrations, charts, office files, the reminder ladders (only when a deadline moves)."""


def open_task(af: Agreeflow) -> str:
    return af("case", "open", "task", "--title", "Ban hành hướng dẫn", "--field", "lead_unit=SNGV",
              "--field", "due_phrase=hoàn thành trong tháng 7/2024", now=NOW, ok=True).stdout.strip()


def imported(af: Agreeflow, *args: str) -> set[str]:
    """The modules ``agreeflow ARGS`` imports, in a new process (from ``python -X importtime``)."""
    env = {**os.environ, **af.base_env(COORD, None, None)}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "agreeflow.cli", *args], env=env,
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return {line.split("|")[2].strip() for line in run.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2 and line.split("|")[1].strip().isdigit()}


@pytest.mark.parametrize("af", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", [("case", "show"), ("case", "list")])
def test_a_reading_command_imports_nothing_it_does_not_use(af: Agreeflow, command: tuple[str, ...]) -> None:
    ref = open_task(af)
    args = (*command, ref) if command[-1] == "show" else command
    af.run(*args)  # the first command after an install fills the cache folder (parses, catalogue, holidays)
    modules = imported(af, *args)
    assert "agreeflow.engine.core.store" in modules  # the check sees the command's own imports
    assert sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_ON_A_READ)) == []


@pytest.mark.parametrize("af", ["sqlite"], indirect=True)
def test_a_reading_command_does_not_wait_for_a_writer(af: Agreeflow) -> None:
    """The check that the database is initialised (once a process) read-only: it took SQLite's write lock, so
    ``case show`` waited out a writer's transaction, up to the 30 s busy timeout, before reading anything."""
    import sqlite3

    ref = open_task(af)
    env = {**os.environ, **af.base_env(COORD, None, None)}
    writer = sqlite3.connect(af.sqlite_path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        for args in (("case", "show", ref), ("case", "list")):
            run = subprocess.run([sys.executable, "-m", "agreeflow.cli", *args], env=env, capture_output=True,
                                 text=True, cwd=ROOT, timeout=20)
            assert run.returncode == 0 and ref in run.stdout, run.stderr
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def same_tree(a: object, b: object) -> bool:
    """Equal values, and every mapping with the same line and key lines (what validation messages name)."""
    if isinstance(a, LineDict) or isinstance(b, LineDict):
        return (type(a) is type(b) is LineDict and a.line == b.line and a.key_lines == b.key_lines  # type: ignore
                and list(a) == list(b) and all(same_tree(a[k], b[k]) for k in a))  # type: ignore
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("path", [*sorted(definitions.WORKFLOWS_DIR.glob("*.yaml")), DATA_PATH],
                         ids=lambda p: p.name)
def test_a_cached_parse_is_the_parse(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREEFLOW_HOME", str(tmp_path))
    fresh = load_file(path)
    assert same_tree(load_file(path, cached=True), fresh)  # parsed, then kept
    assert yamlio._cache_file(path).is_file()
    assert same_tree(load_file(path, cached=True), fresh)  # from the cache


def test_an_edit_that_keeps_the_size_and_the_time_is_still_read(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREEFLOW_HOME", str(tmp_path / "home"))
    path = tmp_path / "w.yaml"
    path.write_text("id: a\nlabel: {vi: \"Đã giao\"}\n", encoding="utf-8")
    stamp = path.stat()
    assert load_file(path, cached=True)["label"]["vi"] == "Đã giao"
    path.write_text("id: a\nlabel: {vi: \"Đã GIAO\"}\n", encoding="utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size
    assert load_file(path, cached=True)["label"]["vi"] == "Đã GIAO"


def test_a_damaged_or_foreign_cache_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREEFLOW_HOME", str(tmp_path / "home"))
    path = tmp_path / "w.yaml"
    path.write_text("id: a\nwhen: 2024-09-02\nstates: [x, y]\n", encoding="utf-8")
    want = load_file(path)
    load_file(path, cached=True)
    kept = yamlio._cache_file(path)
    digest = marshal.loads(kept.read_bytes())[0]
    foreign = [  # well-formed, with the right key, holding what the loader never makes
        (0, 1, {}, ["id", "when", "states"], [b"bytes-not-str", (1, 739131), ["x", "y"]]),
        (0, 1, {}, ["id", "when", "states"], ["a", (1, 10**12), ["x", "y"]]),
        (0, "1", {}, ["id"], ["a"]),
        (0, 1, {"id": "one"}, ["id"], ["a"]),
        (7, 1, {}, ["id"], ["a"]),
    ]
    for junk in (b"", b"\x00garbage", kept.read_bytes()[:-3], *(marshal.dumps((digest, f)) for f in foreign)):
        kept.write_bytes(junk)
        assert same_tree(load_file(path, cached=True), want)
    assert same_tree(load_file(path, cached=True), want)


def test_a_file_the_encoding_cannot_carry_is_read_and_not_kept(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREEFLOW_HOME", str(tmp_path / "home"))
    path = tmp_path / "w.yaml"
    path.write_text("at: 2024-09-02 10:00:00\n", encoding="utf-8")  # a timestamp: a datetime
    assert load_file(path, cached=True) == load_file(path)
    assert not yamlio._cache_file(path).exists()


def test_a_cache_folder_that_cannot_be_written_only_costs_the_parse(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("AGREEFLOW_HOME", str(home))
    path = definitions.WORKFLOWS_DIR / "task.yaml"
    assert same_tree(load_file(path, cached=True), load_file(path))
    assert same_tree(load_file(path, cached=True), load_file(path))


@pytest.mark.parametrize("af", ["sqlite"], indirect=True)
def test_an_operator_edit_of_a_workflow_shows_at_the_next_command(af: Agreeflow, workflows_copy: Path) -> None:
    ref = open_task(af)
    assert "Đã giao" in af.run("case", "show", ref).stdout  # the parse is now in the cache folder
    task = workflows_copy / "task.yaml"
    stamp = task.stat()
    task.write_text(task.read_text(encoding="utf-8").replace('vi: "Đã giao"', 'vi: "Đã GIAO"'), encoding="utf-8")
    os.utime(task, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # same size, same time: only the bytes differ
    shown = af.run("case", "show", ref).stdout
    assert "Đã GIAO" in shown and "Đã giao" not in shown


def test_the_table_classes_are_the_tables_the_migrations_make(af: Agreeflow) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import agreeflow.engine.core.store  # noqa: F401  (the table classes, on SQLModel.metadata)

    engine = sa.create_engine(af.url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    SQLModel.metadata) == []
    finally:
        engine.dispose()
