"""The one place that reads the time.

Everything in agreeflow asks this module for "now" so that tests and the demo
can move time (a whole year in seconds) and so that stored times are always
aware UTC.  Nothing else may call ``datetime.now()`` or ``date.today()``.
"""

from __future__ import annotations

from datetime import UTC as UTC  # re-exported: callers use clock.UTC
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")

_fixed: datetime | None = None


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 date or datetime; a naive value is Vietnamese local time.

    Raises ValueError with the offending text when it is not ISO-8601.
    """
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if len(text) <= 10:  # a bare date means the start of that local day
        dt = datetime.combine(dt.date(), time(0, 0))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN)
    return dt.astimezone(UTC)


def set_now(value: datetime | str | None) -> None:
    """Fix the clock at ``value`` (aware datetime or ISO text); ``None`` frees it."""
    global _fixed
    if isinstance(value, str):
        value = parse_instant(value)
    if value is not None and value.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _fixed = value.astimezone(UTC) if value is not None else None


def advance(delta: timedelta) -> datetime:
    """Move a fixed clock forward (the demo and tests); returns the new now."""
    global _fixed
    _fixed = now() + delta
    return _fixed


def now() -> datetime:
    """The current instant, aware, in UTC: the simulated clock when one is set, else the system's.

    A simulated clock (``set_now``; the command line's ``--now`` /
    ``AGREEFLOW_NOW``) is accepted only on a database declared a simulation
    (engine.service checks it before any transaction).
    """
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC)


def is_simulated() -> bool:
    """True while a simulated time is set."""
    return _fixed is not None


def real_now() -> datetime:
    """The system clock, whatever the simulated time: when a record is really written (``recorded_at``)."""
    return datetime.now(UTC)


def to_local(dt: datetime) -> datetime:
    """Show an instant in Asia/Ho_Chi_Minh."""
    return dt.astimezone(VN)


def local_today() -> date:
    """Today's date in Vietnam."""
    return to_local(now()).date()


def end_of_local_day(d: date) -> datetime:
    """24:00 of ``d`` in Vietnam (Civil Code art. 148), as an aware UTC instant."""
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=VN).astimezone(UTC)


def local_at(d: date, hour: int, minute: int = 0) -> datetime:
    """``d`` at ``hour:minute`` Vietnamese time, as an aware UTC instant."""
    return datetime.combine(d, time(hour, minute), tzinfo=VN).astimezone(UTC)


def fmt_day(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy — the one way agreeflow writes a day ('' for none).

    A datetime is shown on its day in Vietnam; text is read as an ISO date.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    elif isinstance(value, datetime):
        value = to_local(value).date()
    return f"{value.day:02d}/{value.month:02d}/{value.year}"  # not strftime: 5x slower, and it runs per step


def fmt_local(dt: datetime | None, with_time: bool = True, seconds: bool = False) -> str:
    """dd/mm/yyyy [HH:MM[:SS]] in Vietnamese local time, the form officials read."""
    if dt is None:
        return ""
    loc = to_local(dt)
    day = fmt_day(loc.date())
    return f"{day} {loc.strftime('%H:%M:%S' if seconds else '%H:%M')}" if with_time else day
