"""Where a Calendar's days come from: the shipped YAML file and database overrides.

Why a module of its own: the calendar arithmetic stays pure (no files, no
database), and ``load`` is the one place that reads the operator's file and
caches the result.  The caller (engine.service) reads the ``calendar_days``
rows and passes them in as plain dicts, so this package never imports the store.

The file is read through engine.core.yamlio like every YAML file: it keeps
``off``/``on``/``yes``/``no`` as words (in YAML 1.1 they are booleans, and
``kind: off`` would silently become ``False``) and refuses oversized files,
NUL bytes, bad UTF-8 and alias bombs with the line.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agreeflow.engine.core.errors import InputFileError, listed
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.yamlio import YamlSyntaxError, load_file
from agreeflow.engine.legaltime.calendar.days import Calendar, DayCategory, DayInfo

DATA_PATH = DATA_DIR / "calendar-vn.yaml"
ENTRY_KEYS = ("date", "kind", "reason_vi", "reason_en", "source", "confirmed")
TOP_KEYS = ("version", "unconfirmed_package_holidays", "years")
_CACHE_SIZE = 16


@dataclass(frozen=True)
class CalendarData:
    """The content of a calendar data file."""

    entries: tuple[DayInfo, ...]
    unconfirmed_names: tuple[str, ...]


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _entry(year: int, index: int, raw: Any, problems: list[Msg]) -> DayInfo | None:
    where = f"years.{year}[{index}]"
    if not isinstance(raw, dict):
        problems.append(Msg(N_("{where}: expected a mapping with keys {keys}"), where=where, keys=list(ENTRY_KEYS)))
        return None
    unknown = sorted(str(k) for k in set(raw) - set(ENTRY_KEYS))  # a key may be a number: YAML reads 2024: as one
    missing = [k for k in ENTRY_KEYS if k not in raw]
    if unknown:
        problems.append(Msg(N_("{where}: unknown key(s) {keys}; allowed: {allowed}"), where=where, keys=unknown,
                            allowed=list(ENTRY_KEYS)))
    if missing:
        problems.append(Msg(N_("{where}: missing key(s) {keys}"), where=where, keys=missing))
    if unknown or missing:
        return None
    try:
        day = _as_date(raw["date"])
    except ValueError:
        problems.append(Msg(N_("{where}: date {value} is not YYYY-MM-DD"), where=where, value=repr(raw["date"])))
        return None
    kind, confirmed = raw["kind"], raw["confirmed"]
    bad = [text for failed, text in (
        (day.year != year, Msg(N_("{where}: date {day} is not in {year}"), where=where, day=day.isoformat(),
                               year=str(year))),
        (kind not in ("off", "working"), Msg(N_("{where}: kind must be off or working, not {kind}"), where=where,
                                             kind=repr(kind))),
        (not isinstance(confirmed, bool), Msg(N_("{where}: confirmed must be true or false"), where=where)),
    ) if failed]
    if bad:
        problems.extend(bad)
        return None
    category = DayCategory.SWAP if kind == "off" else DayCategory.MAKEUP
    return DayInfo(day, kind, str(raw["reason_vi"]), str(raw["reason_en"]), str(raw["source"]),
                   confirmed, category)


def read_data_file(path: Path = DATA_PATH) -> CalendarData:
    """Read and check a calendar data file; every problem is reported at once.

    Raises:
        InputFileError: the file is missing, not YAML, or has bad entries.
    """
    try:
        doc = load_file(path, cached=True)  # its parse kept in the cache folder: no YAML parser on a read command
    except YamlSyntaxError as exc:
        raise InputFileError(path=str(path), problem=Msg(N_("line {line}: {detail}"), line=exc.line,
                                                         detail=exc.detail)) from None
    except OSError as exc:
        raise InputFileError(path=str(path), problem=str(exc)) from exc
    if not isinstance(doc, dict):
        raise InputFileError(path=str(path), problem=Msg(N_("expected a mapping with keys {keys}"),
                                                         keys=list(TOP_KEYS)))
    problems = [Msg(N_("unknown key {key}; allowed: {allowed}"), key=repr(k), allowed=list(TOP_KEYS))
                for k in doc if k not in TOP_KEYS]
    entries: list[DayInfo] = []
    years = doc.get("years") or {}
    if not isinstance(years, dict):
        problems.append(Msg(N_("years: expected a mapping of year numbers to lists of entries")))
        years = {}
    for year, items in years.items():
        if not isinstance(year, int) or not isinstance(items, list):
            problems.append(Msg(N_("years.{year}: expected a year number with a list of entries"), year=str(year)))
            continue
        for index, raw in enumerate(items):
            entry = _entry(year, index, raw, problems)
            if entry is not None:
                entries.append(entry)
    names = doc.get("unconfirmed_package_holidays") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append(Msg(N_("unconfirmed_package_holidays: expected a list of holiday names")))
        names = []
    if problems:
        raise InputFileError(path=str(path), problem=listed(problems))
    return CalendarData(tuple(entries), tuple(names))


def override_days(overrides: Iterable[Mapping[str, Any]]) -> list[DayInfo]:
    """Database rows ``{day, kind, reason, source}`` as DayInfo (operator overrides)."""
    days = []
    for row in overrides:
        kind = row["kind"]
        if kind not in ("off", "working"):
            raise ValueError(f"calendar override {row.get('day')}: kind must be off or working")
        reason = str(row.get("reason") or "")
        days.append(DayInfo(_as_date(row["day"]), kind, reason, reason,
                            str(row.get("source") or ""), True, DayCategory.OVERRIDE))
    return days


_cache: OrderedDict[tuple[Any, ...], Calendar] = OrderedDict()
_cache_lock = threading.Lock()


def load(overrides: Iterable[Mapping[str, Any]] | None = None,
         data_path: Path | str | None = None) -> Calendar:
    """The calendar from the shipped data file plus ``overrides`` (DB rows as dicts).

    Cached on (file, its modification time, the overrides), so a sweep that
    calls ``load`` per deadline pays once, and an edited file is re-read.

    Raises:
        InputFileError: the data file cannot be read or has bad entries.
    """
    path = Path(data_path) if data_path is not None else DATA_PATH
    rows = tuple(sorted((str(r["day"]), str(r["kind"]), str(r.get("reason") or ""),
                         str(r.get("source") or "")) for r in (overrides or ())))
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise InputFileError(path=str(path), problem=str(exc)) from exc
    key = (str(path), stamp, rows)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = read_data_file(path)
    cal = Calendar(data.entries,
                   override_days({"day": d, "kind": k, "reason": r, "source": s} for d, k, r, s in rows),
                   data.unconfirmed_names)
    with _cache_lock:
        _cache[key] = cal
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return cal
