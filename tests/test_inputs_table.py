"""docs/inputs.md stays true: every row whose example is a command is run on a fresh simulation database, and
its exit code and its message in Vietnamese and in English are what the table says.  Each run's working
directory is its own folder, where the files the examples name are made: no example reaches outside it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests import fuzzing
from tests.conftest import ROOT
from tests.databases import sqlite_snapshot

TABLE = (ROOT / "docs" / "inputs.md").read_text(encoding="utf-8").split("## The table", 1)[1].split("\n## ", 1)[0]
ROWS = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in TABLE.splitlines()
        if line.startswith("| ") and not line.startswith("| input class")]
COMMANDS = [r for r in ROWS if r[1].startswith("`")]
FILES = {
    "bomb.yaml": fuzzing.BOMB.encode(), "nul.yaml": b"id: task\x00\n", "latin1.yaml": "id: t\u00e9\n".encode("latin-1"),
    "big.yaml": b"# " + b"x" * (600 * 1024) + b"\n", "deep.yaml": b"[" * 3000 + b"]" * 3000,
    "noname.yaml": b"units:\n  - {code: X, name_vi: X, parent: UBND, kind: department}\n"
                   b"people:\n  - {email: a@b.example, unit: X, roles: [officer]}\n",
    "doc.pdf": b"%PDF-1.4 van ban", "text.txt": b"not a database\n",
}


def test_the_table_has_every_class_the_issue_names():
    classes = " ".join(r[0] for r in ROWS)
    for word in ("calendar", "environment", "database URL", "unreachable", "output path", "overflowing",
                 "directory", "alias bomb", "NUL", "UTF-8", "size limit", "phrase", "attachment", "refused",
                 "tampering", "fault"):
        assert word in classes, word
    assert all(r[2] in {"1", "2", "3", "4"} for r in ROWS)
    assert len(COMMANDS) >= 30


def pattern(message: str) -> re.Pattern[str]:
    """The table's text as a pattern: ``…`` stands for anything, whitespace runs are one space."""
    return re.compile(".*".join(re.escape(part) for part in " ".join(message.split()).split("…")), re.S)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("inputs-pristine")
    scene = fuzzing.Scene(tmp / "home", f"sqlite:///{tmp / 'home' / 'agreeflow.db'}", tmp)
    scene.home.mkdir()
    assert fuzzing.invoke(scene, ["init", "--simulation"], {}).result.exit_code == 0
    fuzzing.populate(scene)
    sqlite_snapshot(scene.home / "agreeflow.db")
    return scene.home / "agreeflow.db"


@pytest.mark.parametrize("row", COMMANDS, ids=[r[0][:60] for r in COMMANDS])
def test_each_row_is_what_agreeflow_does(pristine, tmp_path, row):
    what, example, code, vi, en = row
    for lang, message in (("vi", vi), ("en", en)):
        scene, unchanged = fuzzing.sqlite_scene(pristine, tmp_path / "work")
        for name, data in FILES.items():
            (scene.tmp / name).write_bytes(data)
        with (scene.tmp / "big.pdf").open("wb") as fh:
            fh.truncate(21 * 1024 * 1024)
        words = shlex.split(example.strip("`"))
        env = {}
        while "=" in words[0] and words[0].split("=")[0].isupper():
            key, value = words.pop(0).split("=", 1)
            env[key] = str(scene.tmp / value) if value in FILES else value
        assert words.pop(0) == "agreeflow"
        args = [_local(w, scene.tmp) for w in words] + ["--lang", lang]
        run = fuzzing.invoke(scene, args, env)
        said = " ".join((run.result.stderr or "").split())
        assert run.result.exit_code == int(code), run.describe()
        assert pattern(message).fullmatch(said), f"{lang}: the table says\n  {message}\nagreeflow said\n  {said}"
        if code == "2":
            assert unchanged(), "exit 2 but the database changed"


def _local(word: str, folder: Path) -> str:
    """A file name the examples use, as a path in the test's folder (also inside KIND=FILE and sqlite:///FILE)."""
    for name in (*FILES, "big.pdf", "nope.pdf"):
        if word == name or word.endswith(("=" + name, "///" + name)):
            return word[: len(word) - len(name)] + str(folder / name)
    return word
