"""The ``holidays`` package's Vietnamese holidays, kept in a small JSON file between runs.

Why: importing ``holidays`` and building its tables costs a fresh process
about 0.2–0.3 s, paid by every command that shows a deadline (``case show``),
while its answer depends only on the package version and the year.  So the
names it gives for each year are written once to
``<cache folder>/holidays-vn-<version>.json`` and read back from then on;
upgrading the package changes the file name, so nothing stale is ever read.

The cache folder is ``$AGREEFLOW_HOME/cache`` when that is set, else the
user's cache directory (platformdirs).  A missing, unreadable or unwritable
cache only costs time: the package is asked as before, with the same result
(``holidays`` computes each year on its own, so a year read from the file
equals the year computed again).
"""

from __future__ import annotations

import json
from datetime import date
from importlib.metadata import version
from pathlib import Path

from agreeflow.engine.core.atomic import atomic_write
from agreeflow.engine.core.paths import cache_dir

FORMAT = 1
"""Bumped when the file's layout changes."""
PACKAGE_VERSION = version("holidays")

Names = dict[date, tuple[str, str]]
"""Day → (Vietnamese name, English name) as the package gives them."""


def folder() -> Path:
    return cache_dir()


def cache_file() -> Path:
    return folder() / f"holidays-vn-{PACKAGE_VERSION}.json"


def holiday_names(years: list[int]) -> Names:
    """The package's holidays of ``years`` with their Vietnamese and English names."""
    path = cache_file()
    stored = _read(path)
    missing = [y for y in years if str(y) not in stored]
    if missing:
        stored.update(_from_package(missing))
        _write(path, stored)
    try:
        return {date.fromisoformat(day): (vi, en) for y in years for day, vi, en in stored[str(y)]}
    except (TypeError, ValueError):  # a damaged file: ask the package, and mend the file
        fresh = _from_package(years)
        _write(path, {**stored, **fresh})
        return {date.fromisoformat(day): (vi, en) for y in years for day, vi, en in fresh[str(y)]}


def _from_package(years: list[int]) -> dict[str, list[list[str]]]:
    import holidays

    vi = holidays.country_holidays("VN", years=years, language="vi")
    en = holidays.country_holidays("VN", years=years, language="en_US")
    out: dict[str, list[list[str]]] = {str(y): [] for y in years}
    for day, name_vi in vi.items():
        out[str(day.year)].append([day.isoformat(), name_vi, en.get(day, name_vi)])
    return out


def _read(path: Path) -> dict[str, list[list[str]]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("years"), dict):
        return {}
    return dict(doc["years"])


def _write(path: Path, years: dict[str, list[list[str]]]) -> None:
    """Replace the file atomically; processes racing to write it write the same content."""
    try:
        atomic_write(path, lambda out: json.dump({"format": FORMAT, "package": PACKAGE_VERSION, "years": years},
                                                 out, ensure_ascii=False), sync=False)
    except OSError:  # a read-only home: the next process asks the package again
        pass
