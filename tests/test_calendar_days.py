"""Working days: which days count, how counts land, and where the days come from."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import holidays
import pytest

from agreeflow.engine.core.errors import InputFileError
from agreeflow.engine.core.i18n import show
from agreeflow.engine.legaltime.calendar import Calendar, Due, load, next_occurrence
from agreeflow.engine.legaltime.calendar.sources import DATA_PATH, read_data_file


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load()


def test_weekdays_work_and_weekends_rest(cal: Calendar) -> None:
    assert cal.is_working(date(2024, 7, 3))          # Wednesday
    assert not cal.is_working(date(2024, 7, 6))      # Saturday
    assert not cal.is_working(date(2024, 7, 7))      # Sunday
    assert cal.day_info(date(2024, 7, 6)).reason_vi == "thứ Bảy"


@pytest.mark.parametrize("day", [date(2024, 5, 4), date(2025, 4, 26), date(2026, 1, 10),
                                 date(2019, 1, 5), date(2019, 5, 4)])
def test_makeup_saturday_from_data_is_a_working_day(cal: Calendar, day: date) -> None:
    assert day.weekday() == 5
    assert cal.is_working(day)
    assert cal.day_info(day).kind == "working"
    assert "làm bù" in cal.day_info(day).describe("vi")


def test_new_year_2026_swap_is_off_with_the_government_letter_as_source(cal: Calendar) -> None:
    info = cal.day_info(date(2026, 1, 2))
    assert info.kind == "off" and info.confirmed
    assert info.source == "Công văn 12729/VPCP-KGVX ngày 25/12/2025"
    assert cal.day_info(date(2026, 1, 10)).source == info.source


def test_tet_day_is_named_in_both_languages(cal: Calendar) -> None:
    info = cal.day_info(date(2025, 1, 29))
    assert (info.kind, info.reason_vi, info.reason_en) == ("off", "Tết Nguyên Đán", "Lunar New Year")
    assert info.describe("vi") == "Tết Nguyên Đán (nghỉ lễ)"


def test_holidays_2026_lists_weekdays_off_and_weekends_worked(cal: Calendar) -> None:
    days = [(i.day.isoformat(), i.kind) for i in cal.holidays(2026)]
    assert days == [
        ("2026-01-01", "off"), ("2026-01-02", "off"), ("2026-01-10", "working"),
        ("2026-02-16", "off"), ("2026-02-17", "off"), ("2026-02-18", "off"), ("2026-02-19", "off"),
        ("2026-02-20", "off"), ("2026-04-27", "off"), ("2026-04-30", "off"), ("2026-05-01", "off"),
        ("2026-08-22", "working"), ("2026-08-31", "off"), ("2026-09-01", "off"), ("2026-09-02", "off"),
        ("2026-11-24", "off")]


def test_holidays_2024_and_2025_follow_the_notices(cal: Calendar) -> None:
    off_2024 = [i.day.isoformat() for i in cal.holidays(2024) if i.kind == "off"]
    assert off_2024 == ["2024-01-01", "2024-02-08", "2024-02-09", "2024-02-12", "2024-02-13",
                        "2024-02-14", "2024-04-18", "2024-04-29", "2024-04-30", "2024-05-01",
                        "2024-09-02", "2024-09-03"]
    worked_2025 = [i.day for i in cal.holidays(2025) if i.kind == "working"]
    assert worked_2025 == [date(2025, 4, 26)]
    assert not cal.is_working(date(2025, 5, 2)) and not cal.is_working(date(2025, 9, 1))


def test_unconfirmed_days_say_so(cal: Calendar) -> None:
    assert not cal.day_info(date(2026, 11, 24)).confirmed        # Vietnam Culture Day
    assert not cal.day_info(date(2026, 8, 22)).confirmed
    assert cal.day_info(date(2026, 11, 24)).describe("en").endswith("UNCONFIRMED")


def test_every_swap_in_the_package_has_its_makeup_day_working(cal: Calendar) -> None:
    # Drift guard: a newer `holidays` may add a swap "thay cho ngày X"; X must then be in the data file.
    for year in range(2016, 2031):
        for day, name in holidays.country_holidays("VN", years=year, language="vi").items():
            found = re.search(r"thay cho ngày (\d\d)/(\d\d)/(\d{4})", name)
            if found:
                makeup = date(int(found[3]), int(found[2]), int(found[1]))
                assert cal.is_working(makeup), f"{day}: make-up day {makeup} missing from the data file"


def test_seed_years_2017_and_2021_know_their_holidays(cal: Calendar) -> None:
    assert [d.day for d in cal.holidays(2017) if d.day.month in (1, 2)] == [
        date(2017, 1, 2), date(2017, 1, 26), date(2017, 1, 27), date(2017, 1, 30),
        date(2017, 1, 31), date(2017, 2, 1)]
    assert not cal.is_working(date(2021, 9, 3))
    assert cal.is_working(date(2021, 8, 9))   # the Xay Som Boun signing day, a Monday


def test_years_far_from_today_load_on_demand(cal: Calendar) -> None:
    assert not cal.is_working(date(2035, 1, 1))      # a Monday, New Year's Day
    assert not cal.is_working(date(1999, 9, 2))      # a Thursday, National Day
    assert cal.add_date(date(2030, 12, 20), 30, "wd").year == 2031
    assert cal.add_date(date(2016, 1, 10), -30, "wd").year == 2015


def test_working_days_over_tet_2025_list_each_skipped_day(cal: Calendar) -> None:
    due = cal.add(date(2025, 1, 20), 10, "wd")
    assert due.due_date == date(2025, 2, 10)
    skipped = [s["date"] for s in due.steps[1:-1]]
    assert skipped == ["2025-01-25", "2025-01-26", "2025-01-27", "2025-01-28", "2025-01-29",
                       "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02", "2025-02-08",
                       "2025-02-09"]
    assert show(due.steps[5], "vi") == "29/01/2025 — Tết Nguyên Đán (nghỉ lễ): không tính"
    assert due.steps[-1]["date"] == "2025-02-10"


def test_calendar_days_ending_on_a_rest_day_move_to_the_next_working_day(cal: Calendar) -> None:
    due = cal.add(date(2024, 6, 21), 15, "d")
    assert due.due_date == date(2024, 7, 8)          # 06/07 is a Saturday
    assert due.kind == "calendar_days"
    assert "08/07/2024" in show(due.steps[-1], "vi") and "Điều 148" in show(due.steps[-1], "vi")


def test_calendar_days_counted_back_move_to_the_working_day_before(cal: Calendar) -> None:
    assert cal.add_date(date(2024, 7, 21), -14, "d") == date(2024, 7, 5)   # 07/07 Sunday → Fri 05/07


def test_months_end_on_the_last_day_of_a_shorter_month(cal: Calendar) -> None:
    assert cal.add_date(date(2024, 1, 31), 1, "m") == date(2024, 2, 29)
    assert cal.add_date(date(2024, 8, 31), 1, "m") == date(2024, 9, 30)
    assert cal.add_date(date(2024, 3, 30), 1, "m") == date(2024, 5, 2)     # 30/4, 1/5 off


def test_counting_back_from_a_rest_day_starts_the_day_before(cal: Calendar) -> None:
    # departure Sunday 01/09/2024; 31/08 and 02-03/09 are off: 15th working day back is 12/08
    assert cal.add_date(date(2024, 9, 1), -15, "wd") == date(2024, 8, 12)
    assert cal.add_date(date(2024, 8, 30), -1, "wd") == date(2024, 8, 29)


def test_working_days_between_is_signed(cal: Calendar) -> None:
    assert cal.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1
    assert cal.working_days_between(date(2025, 2, 3), date(2025, 1, 24)) == -1
    assert cal.working_days_between(date(2024, 7, 1), date(2024, 7, 1)) == 0


def test_an_off_day_override_moves_a_projection() -> None:
    start = date(2024, 6, 21)
    assert load().add_date(start, 10, "wd") == date(2024, 7, 5)
    storm = [{"day": "2024-07-03", "kind": "off", "reason": "Nghỉ do bão", "source": "QĐ UBND"}]
    changed = load(overrides=storm)
    assert changed.add_date(start, 10, "wd") == date(2024, 7, 8)
    assert changed.day_info(date(2024, 7, 3)).describe("vi") == "Nghỉ do bão (điều chỉnh của quản trị)"


def test_a_working_saturday_override_counts() -> None:
    cal = load(overrides=[{"day": date(2024, 7, 6), "kind": "working", "reason": "Làm bù",
                           "source": "test"}])
    assert cal.add_date(date(2024, 7, 5), 1, "wd") == date(2024, 7, 6)


def test_load_is_cached_per_override_list() -> None:
    rows = [{"day": "2024-07-03", "kind": "off", "reason": "x", "source": "y"}]
    assert load() is load()
    assert load(overrides=rows) is load(overrides=list(rows))
    assert load(overrides=rows) is not load()


def test_a_bad_data_file_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "calendar.yaml"
    bad.write_text("version: 1\nextra: 1\nyears:\n  2024:\n"
                   "    - {date: '2025-01-01', kind: off, reason_vi: a, reason_en: a, source: s, confirmed: true}\n"
                   "    - {date: '2024-02-30', kind: off, reason_vi: a, reason_en: a, source: s, confirmed: true}\n"
                   "    - {date: '2024-03-02', kind: holiday, reason_vi: a, reason_en: a, source: s, confirmed: yes}\n"
                   "    - {date: '2024-03-03', kind: off}\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load(data_path=bad)
    text = caught.value.render("en")
    assert "unknown key 'extra'" in text
    assert "years.2024[0]: date 2025-01-01 is not in 2024" in text
    assert "years.2024[1]: date '2024-02-30' is not YYYY-MM-DD" in text
    assert "years.2024[2]: kind must be off or working, not 'holiday'" in text
    assert "years.2024[2]: confirmed must be true or false" in text
    assert "years.2024[3]: missing key(s) reason_vi, reason_en, source, confirmed" in text


def test_the_shipped_file_keeps_off_as_a_word() -> None:
    kinds = {e.kind for e in read_data_file(DATA_PATH).entries}
    assert kinds == {"off", "working"}


def test_due_json_has_iso_dates_and_utc_end_of_local_day(cal: Calendar) -> None:
    due = cal.add(date(2024, 6, 21), 10, "wd")
    data = due.to_json()
    assert data["due_date"] == "2024-07-05"
    assert data["due_at"] == "2024-07-05T17:00:00Z"
    assert due.due_at == datetime(2024, 7, 5, 17, 0, tzinfo=UTC)
    assert set(data) == {"phrase", "kind", "due_date", "due_at", "recurring", "pending_event",
                         "offset_n", "offset_unit", "steps"}
    assert Due.from_json(data) == due


def test_next_occurrence_of_recurring_deadlines(cal: Calendar) -> None:
    from agreeflow.engine.legaltime.calendar import parse_phrase
    yearly = parse_phrase("Hàng năm", date(2024, 3, 1), cal)
    following = next_occurrence(yearly, cal)
    assert following is not None and following.due_date == date(2025, 12, 31)
    quarterly = parse_phrase("hàng quý", date(2024, 8, 1), cal)
    assert quarterly.due_date == date(2024, 9, 30)
    assert next_occurrence(quarterly, cal).due_date == date(2024, 12, 31)  # type: ignore[union-attr]
    dated = parse_phrase("chậm nhất ngày 15/12 hằng năm", date(2024, 12, 16), cal)
    assert dated.due_date == date(2025, 12, 15)
    assert next_occurrence(dated, cal).due_date == date(2026, 12, 15)  # type: ignore[union-attr]
    assert next_occurrence(cal.add(date(2024, 1, 2), 3, "wd"), cal) is None


def test_threads_loading_new_years_at_once_agree_with_one_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor
    starts = [date(year, 3, 1) for year in range(2031, 2071)]
    expected = [Calendar().add_date(s, 20, "wd") for s in starts]
    shared = Calendar()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda s: shared.add_date(s, 20, "wd"), starts))
    assert got == expected
