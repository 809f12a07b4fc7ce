"""Every YAML reader refuses hostile files — alias bombs, recursive aliases, deep nesting, oversized files,
NUL bytes, bad UTF-8 — with exit 2, the file, the line and the problem named, nothing written, in well
under a second (before: `directory load` of a 400-byte bomb ran 2 min 45 s into a MemoryError at 5.5 GB)."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from agreeflow.engine.core import yamlio
from agreeflow.engine.core.i18n import show
from agreeflow.engine.core.yamlio import MAX_ALIAS_EXPANSION, MAX_BYTES, YamlLimitError, load_file, load_text
from tests.conftest import ADMIN, ROOT

SECONDS = 5.0  # a generous wall-time bound for a loaded CI machine; the refusal itself takes microseconds


def billion_laughs() -> bytes:
    """The classic: nine levels of nine aliases each, 9⁹ "lol"s, about 400 bytes."""
    names = "abcdefghi"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{n}: &{n} [{','.join(['*' + p] * 9)}]" for p, n in zip(names, names[1:])]
    return ("\n".join(lines) + "\n").encode()


def merge_key_bomb() -> bytes:
    """The same through mappings and ``<<`` merge keys (what a workflow file would use)."""
    lines = ["m0: &m0 {k0: lol, k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol}"]
    for i in range(1, 9):
        refs = ", ".join(f"x{j}: *m{i - 1}" for j in range(8))
        lines.append(f"m{i}: &m{i} {{<<: *m{i - 1}, {refs}}}")
    return ("\n".join(lines) + "\n").encode()


# name → (file bytes, the line the message must name, the problem in English)
BAD_FILES: dict[str, tuple[bytes, int | None, str]] = {
    "billion_laughs": (billion_laughs(), None, "aliases (*name) expand the document by more than 100 000 nodes"),
    "merge_key_bomb": (merge_key_bomb(), None, "aliases (*name) expand the document by more than 100 000 nodes"),
    "recursive_alias": (b"id: loop\nstates: &s\n  - *s\n", 2, "a recursive alias"),  # the anchor's line
    "deep_nesting": (b"id: deep\nstates: " + b"[" * 150 + b"]" * 150 + b"\n", 2, "nested deeper than 100 levels"),
    "nul_byte": (b"id: x\nunits:\n  - code: S\x00NGV\n", 3, "a NUL byte at byte offset 24"),
    "bad_utf8": (b"id: x\nunits:\n  - name_vi: S\xf4 Ngo\xe1i v\xf9\n", 3, "byte 0xf4 at byte offset 27 is not UTF-8"),
    "control_char": (b"id: x\nname: bell\x07\n", 2, "control character U+0007 is not allowed"),
    "oversized": (b"id: big\n# " + b"x" * MAX_BYTES + b"\n", 1, "over the 524 288-byte limit"),
}

COMMANDS: dict[str, Callable[..., object]] = {
    "workflows lint": lambda af, f: af("workflows", "lint", str(f), "--lang", "en"),
    "directory load": lambda af, f: af("directory", "load", str(f), "--lang", "en", user=ADMIN),
    "tasks import": lambda af, f: af("tasks", "import", str(f), "--lang", "en"),
    "report compliance --map": lambda af, f: af("report", "compliance", "--map", str(f), "--lang", "en"),
}


def names_the_line(message: str, path: Path, line: int | None) -> bool:
    """``FILE:LINE:`` (listed errors) or ``'FILE': line LINE:`` (tasks import)."""
    number = str(line) if line is not None else r"\d+"
    return re.search(rf"{re.escape(str(path))}(:{number}:|': line {number}:)", message) is not None


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_hostile_yaml_file_is_refused_by_every_reader_quickly_and_writes_nothing(af, tmp_path, workflows_copy,
                                                                                     kind):
    content, line, problem = BAD_FILES[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(content)
    before = af.snapshot()
    for command, run in COMMANDS.items():
        start = time.monotonic()
        res = run(af, path)
        took = time.monotonic() - start
        assert res.exit_code == 2, f"{command}: exit {res.exit_code}\n{res.output}"
        assert problem in res.stderr and names_the_line(res.stderr, path, line), f"{command}:\n{res.stderr}"
        assert "Traceback" not in res.output
        assert took < SECONDS, f"{command} took {took:.1f} s"
    assert af.snapshot() == before

    # Dropped into the workflows folder, the file stops every command that needs workflows — at once, not in 71 s.
    # A command process costs seconds on a loaded machine; the bound is that cost, measured now, plus SECONDS.
    start = time.monotonic()
    assert af.run("workflows", "list", "--lang", "en").returncode == 0
    process = time.monotonic() - start
    (workflows_copy / path.name).write_bytes(content)
    for args in (("workflows", "list"), ("case", "open", "task", "--title", "Kiểm thử")):
        start = time.monotonic()
        proc = af.run(*args, "--lang", "en")
        took = time.monotonic() - start
        assert proc.returncode == 2, f"{args}: exit {proc.returncode}\n{proc.stderr}"
        assert problem in proc.stderr and names_the_line(proc.stderr, workflows_copy / path.name, line), proc.stderr
        assert "Traceback" not in proc.stderr
        assert took < process + SECONDS, f"{args} took {took:.1f} s (a good run: {process:.1f} s)"
    assert af.snapshot() == before


def test_a_bomb_is_refused_within_a_few_megabytes_of_memory(af, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_bytes(billion_laughs())
    assert len(path.read_bytes()) < 450
    tracemalloc.start()
    try:
        res = af("directory", "load", str(path), "--lang", "en", user=ADMIN)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.exit_code == 2 and "aliases (*name) expand the document" in res.stderr
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_the_alias_bound_counts_exactly_what_a_tree_walk_would_see():
    # An anchored scalar of 999 characters (size 1 + 999) used through k aliases adds k × 1000 to the document.
    def doc(k: int) -> str:
        return "text: &t " + "x" * 999 + "\ncopies: [" + ", ".join(["*t"] * k) + "]\n"

    assert MAX_ALIAS_EXPANSION == 100_000
    assert len(load_text(doc(100))["copies"]) == 100
    with pytest.raises(YamlLimitError) as refused:
        load_text(doc(101), "copies.yaml")
    assert refused.value.path == "copies.yaml" and "expand the document" in show(refused.value.problem, "en")


def test_a_long_text_aliased_many_times_is_refused_like_a_bomb_of_nodes():
    with pytest.raises(YamlLimitError) as refused:
        load_text("t: &t " + "x" * 50_000 + "\nu: [*t, *t, *t]\n")
    assert "aliases (*name) expand the document" in show(refused.value.problem, "en")


def test_the_shipped_anchors_and_aliases_still_load():
    local = load_file(ROOT / "workflows" / "agreement-local.yaml")
    spawns = [t["spawn"] for t in local["transitions"] if "spawn" in t]
    assert len(spawns) == 3 and spawns[1] == spawns[0] == spawns[2]  # spawn: &ask, then spawn: *ask twice
    province = load_file(ROOT / "workflows" / "agreement-province.yaml")
    timers = [timer for state in province["states"].values() if isinstance(state, dict)
              for timer in state.get("timers") or []]
    assert timers and all(isinstance(t, dict) for t in timers)


def test_words_stay_text_and_lines_are_kept_within_the_limits():
    doc = load_text("base: &b {kind: off}\nstates:\n  on: *b\n  no: {<<: *b, extra: yes}\n")
    assert doc["states"]["on"] == {"kind": "off"} and doc["states"]["no"] == {"kind": "off", "extra": "yes"}
    assert doc.line_of("states") == 2 and doc["states"].line_of("no") == 4


def test_a_file_is_read_no_further_than_the_limit(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(64 * MAX_BYTES)  # 32 MiB of NUL, sparse: reading it whole would be the bug
    with pytest.raises(YamlLimitError) as refused:
        load_file(path)
    assert f"the file is {64 * MAX_BYTES:,} bytes".replace(",", " ") in show(refused.value.problem, "en")


@pytest.mark.parametrize("text, problem", [
    ("day: 2024-02-30\n", "'2024-02-30' is not a real date"),
    ("? [a, b]\n: c\n", "a key must be a single value"),
])
def test_values_yaml_itself_cannot_build_are_reported_with_their_line(text, problem):
    with pytest.raises(yamlio.YamlSyntaxError) as refused:
        load_text(text, "x.yaml")
    assert problem in show(refused.value.problem, "en") and refused.value.line == 1
