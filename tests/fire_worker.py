"""One process of the concurrency test: fire N times on a shared case and on its own case.

``python -m tests.fire_worker SHARED OWN N`` with ``AGREEFLOW_DB``/``_USER``/
``_WORKFLOWS`` in the environment.  Prints ``ready``, waits for a line on
stdin so every worker starts together, then prints one JSON line of counts.
Each round fires the trigger allowed by the state this worker last saw: on
even rounds with ``expect_version`` (a concurrent change → StaleCaseError), on
odd rounds without (the state moved on → StateRefusedError); after a refusal
it reads the case again.  Every fourth round it also fires on its own case.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agreeflow.engine import service
from agreeflow.engine.core.errors import StaleCaseError, StateRefusedError
from agreeflow.engine.core.settings import Settings

NEXT = {"idle": "switch_on", "busy": "switch_off"}
OWN_EVERY = 4


def fire_once(settings: Settings, ref: str, view: dict[str, Any], with_version: bool) -> tuple[str, dict[str, Any]]:
    """Fire on ``ref`` as last seen in ``view``; returns (``fired``|``stale``|``state``, the case now)."""
    try:
        return "fired", service.fire(settings, ref, NEXT[view["state"]],
                                     expect_version=view["lock_version"] if with_version else None)
    except StaleCaseError:
        return "stale", service.show_case(settings, ref)
    except StateRefusedError:
        return "state", service.show_case(settings, ref)


def main(shared: str, own: str, rounds: int) -> dict[str, int]:
    settings = Settings.from_env()
    counts = {"fired": 0, "stale": 0, "state": 0, "own_fired": 0, "own_rounds": 0}
    views = {ref: service.show_case(settings, ref) for ref in (shared, own)}
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(rounds):
        outcome, views[shared] = fire_once(settings, shared, views[shared], with_version=i % 2 == 0)
        counts[outcome] += 1
        if i % OWN_EVERY == 0:  # a case nobody else touches: every fire must pass
            outcome, views[own] = fire_once(settings, own, views[own], with_version=True)
            counts["own_rounds"] += 1
            counts["own_fired"] += outcome == "fired"
    return counts


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))), flush=True)
