"""A phrase that names what cannot be — a negative count, quarter V, month 13, a year off the calendar — is
refused with what was wrong and the accepted forms (exit 2), never read as another date.

Before: "trong vòng -5 ngày làm việc" gave +5 working days, "trong Quý IV năm 9999" gave 31/12/2024,
"Quý V năm 2024" gave 31/12/2024 and "trong Quý I năm 0" gave 31/03/2025 — each with exit 0."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agreeflow.engine.core.errors import PhraseError
from agreeflow.engine.legaltime.calendar import Calendar, load, parse_phrase
from agreeflow.engine.legaltime.calendar.days import FIRST_YEAR, LAST_YEAR

REF = date(2024, 6, 3)
ACCEPTED_QUARTER = "  - quý: Quý III năm 2024; quý 3/2024; Q3 2024"
ACCEPTED_QUARTER_EN = "  - quarter: Quý III năm 2024; quý 3/2024; Q3 2024"
OFF_CALENDAR_EN = "is outside the calendar (it covers 1995–2200)"
OFF_CALENDAR_VI = "nằm ngoài phạm vi của lịch (lịch có các năm 1995–2200)"

# phrase → what the English message must say was wrong, and the Vietnamese
REFUSED: list[tuple[str, str, str]] = [
    ("trong vòng -5 ngày làm việc", "a count cannot be negative (-5)", "số lượng không thể âm (-5)"),
    ("trong vòng −5 ngày", "a count cannot be negative (-5)", "số lượng không thể âm (-5)"),  # a minus sign
    ("within -3 days", "a count cannot be negative (-3)", "số lượng không thể âm (-3)"),
    ("trong vòng -30 ngày kể từ khi ký", "a count cannot be negative (-30)", "số lượng không thể âm (-30)"),
    ("trong Quý IV năm 9999", f"the year 9999 {OFF_CALENDAR_EN}", f"năm 9999 {OFF_CALENDAR_VI}"),
    ("trong Quý I năm 0", f"the year 0 {OFF_CALENDAR_EN}", f"năm 0 {OFF_CALENDAR_VI}"),
    ("Quý IV/2250", f"the year 2250 {OFF_CALENDAR_EN}", f"năm 2250 {OFF_CALENDAR_VI}"),
    ("Q3 9999", f"the year 9999 {OFF_CALENDAR_EN}", f"năm 9999 {OFF_CALENDAR_VI}"),
    ("trong tháng 7/2250", f"the year 2250 {OFF_CALENDAR_EN}", f"năm 2250 {OFF_CALENDAR_VI}"),
    ("Tháng 6-8/9999", f"the year 9999 {OFF_CALENDAR_EN}", f"năm 9999 {OFF_CALENDAR_VI}"),
    ("6 tháng đầu năm 0", f"the year 0 {OFF_CALENDAR_EN}", f"năm 0 {OFF_CALENDAR_VI}"),
    ("Hằng năm, kể từ năm 9999", f"the year 9999 {OFF_CALENDAR_EN}", f"năm 9999 {OFF_CALENDAR_VI}"),
    ("chậm nhất ngày 15/12/9999", f"the year 9999 {OFF_CALENDAR_EN}", f"năm 9999 {OFF_CALENDAR_VI}"),
    (f"Năm {FIRST_YEAR - 1}", f"the year {FIRST_YEAR - 1} {OFF_CALENDAR_EN}", f"năm {FIRST_YEAR - 1}"),
    (f"Năm {LAST_YEAR + 1}", f"the year {LAST_YEAR + 1} {OFF_CALENDAR_EN}", f"năm {LAST_YEAR + 1}"),
    ("Quý V", "there is no quarter “V” — quarters are I, II, III, IV (or 1–4)", "không có quý “V”"),
    ("Quý V năm 2024", "there is no quarter “V”", "không có quý “V” — quý là I, II, III, IV (hoặc 1–4)"),
    ("quý 0/2024", "there is no quarter “0”", "không có quý “0”"),
    ("Q5 2024", "there is no quarter “5”", "không có quý “5”"),
    ("fifth quarter of 2024", "there is no quarter “fifth”", "không có quý “fifth”"),
    ("tháng 13/2024", "there is no month 13 — months are 1 to 12", "không có tháng 13 — tháng từ 1 đến 12"),
    ("Tháng 0 năm 2024", "there is no month 0", "không có tháng 0"),
    ("13/2024", "there is no month 13", "không có tháng 13"),
    ("ngày 31/02/2024", "there is no day 31/02/2024", "không có ngày 31/02/2024"),
    ("trong vòng 99999999999999999999 ngày", "days run past the calendar (1995–2200)", "vượt quá phạm vi của lịch"),
    ("trong vòng 999999 ngày kể từ khi ký", "999999 days run past the calendar", "999999 ngày vượt quá"),
]


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load()


@pytest.mark.parametrize(("phrase", "problem_en", "problem_vi"), REFUSED, ids=[r[0] for r in REFUSED])
def test_an_impossible_value_is_refused_with_what_was_wrong_and_the_accepted_forms(cal, phrase, problem_en,
                                                                                   problem_vi):
    with pytest.raises(PhraseError) as caught:
        parse_phrase(phrase, REF, cal)
    error = caught.value
    assert error.exit_code == 2
    vi, en = error.render("vi"), error.render("en")
    assert vi.startswith(f"Không hiểu thời hạn '{phrase}': ") and problem_vi in vi
    assert en.startswith(f"Cannot read the time phrase '{phrase}': ") and problem_en in en
    assert ACCEPTED_QUARTER in vi and ACCEPTED_QUARTER_EN in en


@pytest.mark.parametrize(("phrase", "due"), [
    (f"Năm {FIRST_YEAR}", date(FIRST_YEAR, 12, 31)),
    (f"Quý IV năm {LAST_YEAR}", date(LAST_YEAR, 12, 31)),
    ("Năm 2150", date(2150, 12, 31)),             # inside the calendar, though past 2099
    ("Quý I năm 2150", date(2150, 3, 31)),
    ("Quý IV", date(2024, 12, 31)),                # no year: the nearest quarter IV
    ("tháng 12/2024", date(2024, 12, 31)),
    ("15 ngày làm việc trước ngày 01/09/2024", date(2024, 8, 12)),  # counting back is written in words
    ("quý vị trả lời trong năm 2024", date(2024, 12, 31)),          # "quý vị" (you) is not a quarter
    ("trong vòng 0 ngày", REF),
])
def test_the_values_at_the_edges_still_read(cal, phrase, due):
    assert parse_phrase(phrase, REF, cal).due_date == due


def test_a_range_of_counts_is_not_taken_for_a_negative_count(cal):
    assert parse_phrase("10-15 ngày", REF, cal).due_date is not None


@pytest.mark.parametrize("af", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize(("phrase", "problem_vi", "problem_en"), [
    ("trong vòng -5 ngày làm việc",
     "số lượng không thể âm (-5) — viết số dương, ví dụ trong vòng 5 ngày làm việc; "
     "đếm lùi thì viết “5 ngày làm việc trước ngày …”",
     "a count cannot be negative (-5) — write a positive number, e.g. within 5 working days; "
     "to count back write “5 working days before …”"),
    ("trong Quý IV năm 9999", f"năm 9999 {OFF_CALENDAR_VI}", f"the year 9999 {OFF_CALENDAR_EN}"),
    ("Quý V", "không có quý “V” — quý là I, II, III, IV (hoặc 1–4)",
     "there is no quarter “V” — quarters are I, II, III, IV (or 1–4)"),
    ("trong Quý I năm 0", f"năm 0 {OFF_CALENDAR_VI}", f"the year 0 {OFF_CALENDAR_EN}"),
])
def test_calendar_due_exits_2_naming_the_problem_and_gives_no_date(af, phrase, problem_vi, problem_en):
    before = af.snapshot()
    vi = af("calendar", "due", phrase, "--from", "2024-06-03")
    en = af("calendar", "due", phrase, "--from", "2024-06-03", "--lang", "en")
    assert (vi.exit_code, en.exit_code) == (2, 2)
    assert vi.stderr.startswith(f"Không hiểu thời hạn '{phrase}': {problem_vi}. Các dạng được chấp nhận:")
    assert en.stderr.startswith(f"Cannot read the time phrase '{phrase}': {problem_en}. Accepted forms:")
    assert ACCEPTED_QUARTER in vi.stderr and "Traceback" not in vi.output
    assert vi.stdout == "" and en.stdout == ""  # no due date printed
    assert af.snapshot() == before


def test_a_plan_row_with_an_impossible_phrase_says_what_is_wrong_and_nothing_is_written(af, tmp_path: Path):
    plan = tmp_path / "plan.csv"
    plan.write_text("STT,Nhiệm vụ,Đơn vị chủ trì,Thời gian thực hiện,Ngày giao\n"
                    "1,Báo cáo quý,SNGV,Quý V năm 2024,2024-06-21\n"
                    "2,Kế hoạch,SNGV,trong vòng -5 ngày làm việc,2024-06-21\n"
                    "3,Tổng kết,SNGV,trong Quý I năm 0,2024-06-21\n", encoding="utf-8")
    before = af.snapshot()
    res = af("tasks", "import", str(plan), "--lang", "en", now="2024-06-21T09:00:00+07:00")
    assert res.exit_code == 2
    assert "row 2 (STT 1): the time phrase 'Quý V năm 2024' cannot be read: there is no quarter “V”" in res.stderr
    assert ("row 3 (STT 2): the time phrase 'trong vòng -5 ngày làm việc' cannot be read: "
            "a count cannot be negative (-5)") in res.stderr
    assert f"row 4 (STT 3): the time phrase 'trong Quý I năm 0' cannot be read: the year 0 {OFF_CALENDAR_EN}" \
        in res.stderr
    assert af.snapshot() == before
