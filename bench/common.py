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


def init_database(home: Path, user: str = COORDINATOR) -> Any:
    """``agreeflow init`` in ``home`` (sample directory loaded); returns the Settings."""
    use_bench_workflows()
    from agreeflow.engine import service
    from agreeflow.engine.core.settings import Settings

    settings = Settings(data_dir=home, user=user)
    service.init(settings, simulation=True)
    return settings


def sqlite_path(settings: Any) -> Path:
    return Path(settings.url.split("///", 1)[1])


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")
