"""Days around Tết are named by their real lunar date, and weekdays are written one way."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from holidays.calendars.chinese import VIETNAMESE_CALENDAR, _ChineseLunisolar

from agreeflow.engine.legaltime import calendar
from agreeflow.engine.legaltime.calendar import lunar


def test_the_day_two_before_tet_2025_is_28_chap_because_that_chap_had_29_days() -> None:
    info = calendar.load().day_info(date(2025, 1, 27))
    assert (info.reason_vi, info.reason_en) == ("28 tháng Chạp", "day 28 of the 12th lunar month")
    assert lunar.lunar_date(date(2025, 1, 28)) == (29, 12, False)  # Giao thừa: the last day of a short Chạp


def test_the_day_two_before_tet_2024_is_29_chap_because_that_chap_had_30_days() -> None:
    assert calendar.load().day_info(date(2024, 2, 8)).reason_vi == "29 tháng Chạp"
    assert lunar.lunar_date(date(2024, 2, 9)) == (30, 12, False)


@pytest.mark.parametrize("year", range(1950, 2100))
def test_lunar_new_year_is_day_1_of_month_1_for_every_year_the_holidays_package_knows(year: int) -> None:
    new_year, _ = _ChineseLunisolar(VIETNAMESE_CALENDAR).lunar_new_year_date(year)
    assert lunar.lunar_date(new_year)[:2] == (1, 1)
    assert lunar.lunar_date(new_year - timedelta(days=1))[1] == 12


def test_a_leap_month_is_recognised() -> None:
    assert lunar.lunar_date(date(2023, 3, 22)) == (1, 2, True)  # tháng 2 nhuận, Quý Mão
    assert lunar.lunar_date(date(2026, 2, 14)) == (27, 12, False)  # legal-basis §9: "27 Chạp Ất Tỵ"


def test_sunday_is_written_chu_nhat_in_the_calendar_as_in_mail() -> None:
    assert calendar.weekday_name(date(2025, 1, 26)) == "Chủ nhật"
    assert calendar.load().day_info(date(2025, 1, 26)).reason_vi == "Chủ nhật"
