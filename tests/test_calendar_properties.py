"""Properties of working-day arithmetic (hypothesis) and the holiday seasons it must get right."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreeflow.engine.core.i18n import show
from agreeflow.engine.legaltime.calendar import Calendar, load
from agreeflow.engine.legaltime.calendar.sources import read_data_file

CAL: Calendar = load()
days = st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=1, max_value=80)


@settings(max_examples=400)
@given(start=days, n=counts)
def test_adding_working_days_never_lands_on_a_day_off(start: date, n: int) -> None:
    assert CAL.is_working(CAL.add_date(start, n, "wd"))
    assert CAL.is_working(CAL.add_date(start, -n, "wd"))


@settings(max_examples=400)
@given(start=days, n=counts)
def test_adding_working_days_is_strictly_monotonic_in_n(start: date, n: int) -> None:
    assert start < CAL.add_date(start, n, "wd") < CAL.add_date(start, n + 1, "wd")
    assert CAL.add_date(start, -n - 1, "wd") < CAL.add_date(start, -n, "wd") < start


@settings(max_examples=400)
@given(start=days, n=counts)
def test_counting_working_days_back_gives_n(start: date, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_date(start, n, "wd")) == n
    back = CAL.add_date(start, -n, "wd")
    if CAL.is_working(start):
        assert CAL.working_days_between(back, start) == n
    assert CAL.add_date(back, n, "wd") == CAL.next_working(start)


@settings(max_examples=300)
@given(start=days, n=st.integers(min_value=0, max_value=120))
def test_calendar_days_land_on_the_first_working_day_from_start_plus_n(start: date, n: int) -> None:
    due = CAL.add_date(start, n, "d")
    plain = start + timedelta(days=n)
    assert CAL.is_working(due) and due >= plain
    assert CAL.working_days_between(plain, due - timedelta(days=1)) <= 0


@settings(max_examples=200)
@given(a=days, b=days)
def test_working_days_between_is_antisymmetric_and_additive(a: date, b: date) -> None:
    middle = a + (b - a) / 2
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    assert CAL.working_days_between(a, b) == (CAL.working_days_between(a, middle)
                                              + CAL.working_days_between(middle, b))


def test_every_makeup_day_in_the_data_counts_as_working() -> None:
    makeup = [e.day for e in read_data_file().entries if e.kind == "working"]
    assert makeup
    for day in makeup:
        assert CAL.is_working(day)
        assert CAL.working_days_between(day - timedelta(days=1), day) == 1


def _skipped(start: date, n: int) -> list[str]:
    return [s["date"] for s in CAL.add(start, n, "wd").steps[1:-1]]


def test_ten_working_days_from_20_january_2025_land_after_tet() -> None:
    due = CAL.add(date(2025, 1, 20), 10, "wd")
    assert due.due_date == date(2025, 2, 10)
    tet = {"2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01"}
    assert tet <= set(_skipped(date(2025, 1, 20), 10))


def test_tet_2026_takes_the_whole_week_of_16_february() -> None:
    due = CAL.add(date(2026, 2, 13), 1, "wd")
    assert due.due_date == date(2026, 2, 23)
    assert _skipped(date(2026, 2, 13), 1) == [
        "2026-02-14", "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
        "2026-02-20", "2026-02-21", "2026-02-22"]
    assert "Tết Nguyên Đán (nghỉ lễ)" in show(due.steps[4], "vi")


def test_new_year_2026_swap_moves_the_count_and_counts_saturday_10_january() -> None:
    assert CAL.add_date(date(2025, 12, 31), 1, "wd") == date(2026, 1, 5)
    assert CAL.add_date(date(2026, 1, 9), 1, "wd") == date(2026, 1, 10)
    steps = CAL.add(date(2026, 1, 8), 3, "wd").steps
    assert any(s.get("date") == "2026-01-10" and "làm bù" in show(s, "vi") for s in steps)


@pytest.mark.parametrize(("start", "due", "off"), [
    # 30/4–1/5: 2024 with 29/04 swapped for Sat 04/05; 2025 with 02/05 swapped for Sat 26/04; 2026
    (date(2024, 4, 26), date(2024, 5, 2), ["2024-04-29", "2024-04-30", "2024-05-01"]),
    (date(2024, 5, 3), date(2024, 5, 4), []),
    (date(2025, 4, 25), date(2025, 4, 26), []),
    (date(2025, 4, 29), date(2025, 5, 5), ["2025-04-30", "2025-05-01", "2025-05-02"]),
    (date(2026, 4, 29), date(2026, 5, 4), ["2026-04-30", "2026-05-01"]),
    # National Day 2/9
    (date(2024, 8, 30), date(2024, 9, 4), ["2024-09-02", "2024-09-03"]),
    (date(2025, 8, 29), date(2025, 9, 3), ["2025-09-01", "2025-09-02"]),
    (date(2026, 8, 28), date(2026, 9, 3), ["2026-08-31", "2026-09-01", "2026-09-02"]),
    (date(2026, 8, 21), date(2026, 8, 22), []),
])
def test_one_working_day_across_the_spring_and_national_day_breaks(start: date, due: date,
                                                                   off: list[str]) -> None:
    assert CAL.add_date(start, 1, "wd") == due
    weekday_off = [d for d in _skipped(start, 1) if date.fromisoformat(d).weekday() < 5]
    assert weekday_off == off


def test_a_new_off_day_override_changes_a_projection() -> None:
    start = date(2025, 8, 25)
    assert CAL.add_date(start, 5, "wd") == date(2025, 9, 3)
    cal = load(overrides=[{"day": "2025-09-03", "kind": "off", "reason": "Nghỉ thêm", "source": "test"}])
    assert cal.add_date(start, 5, "wd") == date(2025, 9, 4)
    assert "2025-09-03" in [s.get("date") for s in cal.add(start, 5, "wd").steps]
