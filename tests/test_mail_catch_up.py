"""After downtime a deadline sends its latest rung only, and never a mail whose words no longer fit the day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from agreeflow.engine.core import clock
from agreeflow.engine.core.errors import InputFileError
from agreeflow.engine.core.store import Deadline
from agreeflow.engine.legaltime import calendar, reminders

DUE = date(2024, 7, 31)  # Wednesday; the default ladder: 24/07, 26/07, 31/07, missed, overdue 01/08


def deadline(due: date = DUE, policy: str = "default") -> Deadline:
    return Deadline(id=1, case_id=1, key="timer:t:x", unit="CA", due_date=due, due_at=clock.end_of_local_day(due),
                    start_at=clock.local_at(date(2024, 6, 21), 9), policy=policy, extra={})


def plan(now: str, d: Deadline | None = None) -> list[tuple[str, str, str]]:
    steps = reminders.plan(d or deadline(), clock.parse_instant(now), calendar.load(), reminders.load())
    return [(s.rung.id, s.action, s.why) for s in steps]


def test_on_time_each_rung_is_sent() -> None:
    assert plan("2024-07-24T08:00:00+07:00") == [("before_7d", "send", "")]
    d = deadline()
    d.extra = {"rungs_done": ["before_7d", "before_3wd"]}
    assert plan("2024-07-31T08:00:00+07:00", d) == [("due_day", "send", "")]


def test_a_short_downtime_sends_every_rung_it_missed() -> None:
    """Two working days late (24/07 → 26/07): within catch_up_after_working_days, both go (in one mail)."""
    assert plan("2024-07-26T09:00:00+07:00") == [("before_7d", "send", ""), ("before_3wd", "send", "")]


def test_a_longer_downtime_sends_only_the_latest_rung() -> None:
    assert plan("2024-07-29T09:00:00+07:00") == [("before_7d", "skip", "overtaken"), ("before_3wd", "send", "")]


def test_today_is_the_last_day_is_never_said_of_a_past_day() -> None:
    """Down from 30/07 to 01/08 09:00 (the earlier rungs went out on time)."""
    d = deadline()
    d.extra = {"rungs_done": ["before_7d", "before_3wd"]}
    assert plan("2024-08-01T09:00:00+07:00", d) == [("due_day", "skip", "stale"), ("missed", "event", ""),
                                                 ("overdue_1wd", "send", "")]


def test_a_deadline_years_late_gets_its_overdue_mail_only() -> None:
    assert plan("2027-01-04T09:00:00+07:00") == [
        ("before_7d", "skip", "overtaken"), ("before_3wd", "skip", "overtaken"), ("due_day", "skip", "overtaken"),
        ("missed", "event", ""), ("overdue_1wd", "send", "")]


def test_a_ladder_without_an_overdue_mail_sends_nothing_stale() -> None:
    """A consultation reply (policy ``reply``): after downtime past its due day, neither "3 days left" nor
    "today is the last day" is true any more — both skipped, the missed marker still runs."""
    assert plan("2024-08-02T09:00:00+07:00", deadline(policy="reply")) == [
        ("before_3wd", "skip", "overtaken"), ("due_day", "skip", "stale"), ("missed", "event", "")]


@pytest.mark.parametrize(("kind", "today", "fits"), [
    ("reminder", DUE - timedelta(days=1), True), ("reminder", DUE, False),
    ("due_today", DUE, True), ("due_today", DUE + timedelta(days=1), False),
    ("overdue", DUE, False), ("overdue", DUE + timedelta(days=1), True)])
def test_each_kind_fits_only_its_days(kind: str, today: date, fits: bool) -> None:
    assert reminders.fits_day(kind, today, DUE) is fits


def test_the_catch_up_limit_is_data(tmp_path: Path) -> None:
    text = reminders.POLICY_FILE.read_text(encoding="utf-8")
    strict = tmp_path / "strict.yaml"
    strict.write_text(text.replace("catch_up_after_working_days: 2", "catch_up_after_working_days: 0"),
                      encoding="utf-8")
    pol = reminders.load(strict)
    steps = reminders.plan(deadline(), clock.parse_instant("2024-07-26T09:00:00+07:00"), calendar.load(), pol)
    assert [(s.rung.id, s.action) for s in steps] == [("before_7d", "skip"), ("before_3wd", "send")]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("catch_up_after_working_days: 2", "catch_up_after_working_days: -1"),
                   encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        reminders.load(bad)
    assert "catch_up_after_working_days" in str(caught.value)


def test_plan_reads_no_clock() -> None:
    """The same instant gives the same plan whatever the real time (the sweep passes ``now``)."""
    assert plan("2024-07-29T09:00:00+07:00") == plan("2024-07-29T09:00:00+07:00")
    assert isinstance(clock.parse_instant("2024-07-29T09:00:00+07:00"), datetime)
