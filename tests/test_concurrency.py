"""Many processes firing on one case: one winner per version, no lost event, linear chains."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import COORD, ROOT, Agreeflow

TOGGLE = ROOT / "tests" / "fixtures" / "workflows" / "toggle.yaml"
PROCESSES = 4
# SQLite serialises writers on the file lock and its busy handler sleeps between
# retries, so it gets a shorter run of the same test; PostgreSQL gets the full one.
ROUNDS = {"postgresql": 200, "sqlite": 12}


def open_toggle(af: Agreeflow, title: str) -> str:
    return af("case", "open", "toggle", "--title", title, ok=True).stdout.strip()


def test_four_processes_firing_on_one_case_lose_no_event_and_keep_the_chain_linear(af: Agreeflow, workflows_copy: Path) -> None:
    shutil.copy(TOGGLE, workflows_copy / TOGGLE.name)
    shared = open_toggle(af, "Hồ sơ dùng chung")
    own = [open_toggle(af, f"Hồ sơ riêng {i}") for i in range(PROCESSES)]
    rounds = ROUNDS[af.dialect]
    env = {**os.environ, **af.base_env(COORD, None, None)}
    workers = [subprocess.Popen([sys.executable, "-m", "tests.fire_worker", shared, ref, str(rounds)], cwd=ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for ref in own]
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr
    for w in workers:  # all imported and connected: start together
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    results = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        results.append(json.loads(out))

    fired = sum(r["fired"] for r in results)
    refused = sum(r["stale"] + r["state"] for r in results)
    assert fired + refused == PROCESSES * rounds
    assert sum(r["stale"] for r in results) > 0, results  # the processes really did overlap
    history = af.json("case", "history", shared)
    assert [e["kind"] for e in history].count("transition") == fired
    assert [e["kind"] for e in history].count("refused") == refused
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    assert af.json("case", "show", shared)["lock_version"] == 1 + fired
    for r, ref in zip(results, own):
        assert r["own_fired"] == r["own_rounds"] > 0
        assert af.json("case", "show", ref)["lock_version"] == 1 + r["own_rounds"]
    verified = af.json("audit", "verify")
    assert verified["broken"] == [] and verified["cases"] == 2 + PROCESSES
