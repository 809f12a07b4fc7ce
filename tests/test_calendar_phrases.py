"""Time phrases of the seed documents (and their English forms) read into due dates."""

from __future__ import annotations

from datetime import date

import pytest

from agreeflow.engine.core.errors import PhraseError, UserInputError
from agreeflow.engine.core.i18n import show
from agreeflow.engine.legaltime.calendar import Calendar, load, parse_phrase
from agreeflow.engine.legaltime.calendar.phrases import accepted_forms, fold

SEED_000 = date(2021, 8, 16)   # Decision + Scheme, August 2021
SEED_001 = date(2021, 8, 2)    # request for comments, round 2
SEED_002 = date(2017, 4, 5)    # Plan 41/KH-SNgV
SEED_004 = date(2024, 6, 21)   # notice of conclusions, meeting of 21/06/2024

# phrase, reference day, kind, due date (None: no fixed date)
GOLDEN: list[tuple[str, date, str, date | None]] = [
    # seed 000 — task table and text
    ("Năm 2021", SEED_000, "year", date(2021, 12, 31)),
    ("Năm 2022", SEED_000, "year", date(2022, 12, 31)),
    ("Hàng năm", SEED_000, "recurring", date(2021, 12, 31)),
    ("Sau khi Chiến lược được ban hành", SEED_000, "event_relative", None),
    ("Sau khi MOU được ký kết", SEED_000, "event_relative", None),
    ("Hằng năm, kể từ năm 2022", SEED_000, "recurring", date(2022, 12, 31)),
    ("Xây dựng Kế hoạch triển khai thực hiện Đề án xong trong năm 2021", SEED_000, "year", date(2021, 12, 31)),
    ("Trong năm 2021", SEED_000, "year", date(2021, 12, 31)),
    ("In 2021", SEED_000, "year", date(2021, 12, 31)),
    ("2022", SEED_000, "year", date(2022, 12, 31)),
    ("Every year", SEED_000, "recurring", date(2021, 12, 31)),
    ("Every year from 2022", SEED_000, "recurring", date(2022, 12, 31)),
    ("After the Strategy is issued", SEED_000, "event_relative", None),
    ("After the MOU is signed", SEED_000, "event_relative", None),
    ("giai đoạn 2021-2025", SEED_000, "year", date(2025, 12, 31)),
    # seed 001 — reply deadline
    ("trước ngày 09/08/2021", SEED_001, "before_date", date(2021, 8, 8)),
    ("trước ngày 09/8/2021", SEED_001, "before_date", date(2021, 8, 8)),
    ("before 9 August 2021", SEED_001, "before_date", date(2021, 8, 8)),
    # seed 002 — roadmap table
    ("Tháng 2/2017", SEED_002, "month", date(2017, 2, 28)),
    ("Tháng 5/2017", SEED_002, "month", date(2017, 5, 31)),
    ("Tháng 4/2017", SEED_002, "month", date(2017, 4, 30)),
    ("Tháng 3,4/2017", SEED_002, "months", date(2017, 4, 30)),
    ("Tháng 6/2017", SEED_002, "month", date(2017, 6, 30)),
    ("thường xuyên", SEED_002, "ongoing", None),
    ("Tháng 10/2017", SEED_002, "month", date(2017, 10, 31)),
    ("Tháng 6-8/2017", SEED_002, "months", date(2017, 8, 31)),
    ("Từ tháng 6/2017 đến tháng 12/2017", SEED_002, "months", date(2017, 12, 31)),
    ("từ tháng 6/2017 đến 12/2017", SEED_002, "months", date(2017, 12, 31)),
    ("Thường xuyên", SEED_002, "ongoing", None),
    ("5/2018", SEED_002, "month", date(2018, 5, 31)),
    ("sau khi 2 bên đã ký kết", SEED_002, "event_relative", None),
    ("hàng năm", SEED_002, "recurring", date(2017, 12, 31)),
    ("February 2017", SEED_002, "month", date(2017, 2, 28)),
    ("March and April 2017", SEED_002, "months", date(2017, 4, 30)),
    ("June-August 2017", SEED_002, "months", date(2017, 8, 31)),
    ("June–August 2017", SEED_002, "months", date(2017, 8, 31)),
    ("from June 2017 to December 2017", SEED_002, "months", date(2017, 12, 31)),
    ("ongoing", SEED_002, "ongoing", None),
    ("May 2018", SEED_002, "month", date(2018, 5, 31)),
    ("trong vòng 01 tuần", SEED_002, "calendar_days", date(2017, 4, 12)),    # Pohang's one week
    # seed 004 — assignments
    ("hoàn thành trong tháng 7/2024.", SEED_004, "month", date(2024, 7, 31)),
    ("ban hành kế hoạch trong Quý III năm 2024.", SEED_004, "quarter", date(2024, 9, 30)),
    ("complete in July 2024", SEED_004, "month", date(2024, 7, 31)),
    ("issue the plans in Q3 2024", SEED_004, "quarter", date(2024, 9, 30)),
    ("third quarter of 2024", SEED_004, "quarter", date(2024, 9, 30)),
    # the other forms officials write
    ("tháng 7 năm 2024", SEED_004, "month", date(2024, 7, 31)),
    ("THANG 7/2024", SEED_004, "month", date(2024, 7, 31)),
    ("quý 3/2024", SEED_004, "quarter", date(2024, 9, 30)),
    ("QUÝ III NĂM 2024", SEED_004, "quarter", date(2024, 9, 30)),
    ("quy iii nam 2024", SEED_004, "quarter", date(2024, 9, 30)),
    ("6 tháng đầu năm 2024", SEED_004, "half_year", date(2024, 6, 30)),
    ("6 tháng cuối năm 2024", SEED_004, "half_year", date(2024, 12, 31)),
    ("H1 2024", SEED_004, "half_year", date(2024, 6, 30)),
    ("first half of 2024", SEED_004, "half_year", date(2024, 6, 30)),
    ("chậm nhất ngày 15/12/2024", SEED_004, "date", date(2024, 12, 15)),
    ("ngày 15/12/2024", SEED_004, "date", date(2024, 12, 15)),
    ("by 2024-07-31", SEED_004, "date", date(2024, 7, 31)),
    ("no later than 15 December 2024", SEED_004, "date", date(2024, 12, 15)),
    ("trong vòng 10 ngày làm việc", SEED_004, "working_days", date(2024, 7, 5)),
    ("10 working days", SEED_004, "working_days", date(2024, 7, 5)),
    ("trong thời hạn 15 ngày", SEED_004, "calendar_days", date(2024, 7, 8)),
    ("within 30 days", SEED_004, "calendar_days", date(2024, 7, 22)),
    ("trong vòng 3 tháng", SEED_004, "months", date(2024, 9, 23)),
    ("trong vòng 10 ngày làm việc kể từ ngày 01/07/2024", SEED_004, "working_days", date(2024, 7, 15)),
    ("15 ngày làm việc trước ngày 01/09/2024", SEED_004, "working_days", date(2024, 8, 12)),
    ("hằng năm", SEED_004, "recurring", date(2024, 12, 31)),
    ("hàng quý", SEED_004, "recurring", date(2024, 6, 30)),
    ("quarterly", SEED_004, "recurring", date(2024, 6, 30)),
    ("hàng tháng", SEED_004, "recurring", date(2024, 6, 30)),
    ("monthly", SEED_004, "recurring", date(2024, 6, 30)),
    ("chậm nhất ngày 15/12 hằng năm", SEED_004, "recurring", date(2024, 12, 15)),
    ("trước ngày 15/12", SEED_004, "before_date", date(2024, 12, 14)),
    ("continuous", SEED_004, "ongoing", None),
    ("trong vòng 30 ngày kể từ khi ký", SEED_004, "event_relative", None),
    ("within 30 days of signing", SEED_004, "event_relative", None),
]


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load()


@pytest.mark.parametrize(("phrase", "ref", "kind", "due"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_phrase_gives_its_due_date(cal: Calendar, phrase: str, ref: date, kind: str,
                                          due: date | None) -> None:
    result = parse_phrase(phrase, ref, cal)
    assert (result.kind, result.due_date) == (kind, due)
    assert result.phrase == phrase
    assert result.steps, "every due date carries its explanation"


def test_golden_table_is_large_enough() -> None:
    assert len(GOLDEN) >= 40


@pytest.mark.parametrize("variant", ["Quý III năm 2024", "quý iii năm 2024", "QUY III NAM 2024",
                                     "trong Quý III năm 2024", "  quý   III\tnăm 2024 "])
def test_case_and_diacritics_do_not_matter(cal: Calendar, variant: str) -> None:
    assert parse_phrase(variant, SEED_004, cal).due_date == date(2024, 9, 30)


def test_folding_keeps_one_character_per_character() -> None:
    text = "Sau khi MOU được ký kết – Đợt 2"
    assert fold(text) == "sau khi mou duoc ky ket - dot 2"
    assert len(fold(text)) == len(text)


def test_period_end_is_explained_in_both_languages(cal: Calendar) -> None:
    due = parse_phrase("ban hành kế hoạch trong Quý III năm 2024", SEED_004, cal)
    assert [(s["date"], show(s, "vi"), show(s, "en")) for s in due.steps] == [
        ("2024-09-30", "Hạn là hết ngày cuối của kỳ (Quý III/2024): 30/09/2024",
         "Due at the end of the last day of the period (Q3 2024): 30/09/2024")]


def test_a_period_ending_on_a_day_off_is_not_moved_but_names_the_last_working_day(cal: Calendar) -> None:
    due = parse_phrase("Tháng 3,4/2017", SEED_002, cal)
    assert due.due_date == date(2017, 4, 30)      # Sunday and Victory Day
    assert due.steps[-1]["date"] == "2017-04-28"
    assert "không dời" in show(due.steps[-1], "vi") and "28/04/2017" in show(due.steps[-1], "vi")
    assert "Ngày Chiến thắng" in show(due.steps[-1], "vi")


def test_before_a_date_means_the_end_of_the_day_before(cal: Calendar) -> None:
    due = parse_phrase("trước ngày 09/08/2021", SEED_001, cal)
    assert show(due.steps[0], "vi") == ("“Trước ngày 09/08/2021” nghĩa là hạn là hết ngày liền trước: "
                                  "08/08/2021")
    assert due.steps[1]["date"] == "2021-08-06"   # 08/08/2021 is a Sunday
    assert due.to_json()["due_at"] == "2021-08-08T17:00:00Z"


def test_event_relative_phrase_keeps_the_event_verbatim_and_the_offset(cal: Calendar) -> None:
    plain = parse_phrase("Sau khi MOU được ký kết", SEED_000, cal)
    assert (plain.pending_event, plain.offset_n, plain.due_at) == ("MOU được ký kết", None, None)
    counted = parse_phrase("trong vòng 30 ngày kể từ khi ký", SEED_004, cal)
    assert (counted.pending_event, counted.offset_n, counted.offset_unit) == ("ký", 30, "d")
    english = parse_phrase("within 10 working days after the MOU is signed", SEED_004, cal)
    assert (english.pending_event, english.offset_n, english.offset_unit) == ("the MOU is signed", 10, "wd")
    assert english.to_json()["due_date"] is None


def test_recurring_phrase_says_how_it_repeats(cal: Calendar) -> None:
    due = parse_phrase("chậm nhất ngày 15/12 hằng năm", date(2024, 12, 20), cal)
    assert (due.recurring, due.due_date) == ("yearly:12-15", date(2025, 12, 15))
    assert parse_phrase("Hàng năm", SEED_000, cal).recurring == "yearly"


def test_ongoing_phrase_has_no_date_and_asks_for_periodic_review(cal: Calendar) -> None:
    due = parse_phrase("Thường xuyên", SEED_002, cal)
    assert due.due_date is None and due.recurring is None
    assert "rà soát định kỳ" in show(due.steps[0], "vi") and "review periodically" in show(due.steps[0], "en")


def test_working_day_phrase_lists_the_days_it_skips(cal: Calendar) -> None:
    due = parse_phrase("trong vòng 10 ngày làm việc", date(2025, 1, 20), cal)
    assert due.due_date == date(2025, 2, 10)
    assert any(show(s, "vi") == "29/01/2025 — Tết Nguyên Đán (nghỉ lễ): không tính" for s in due.steps)


@pytest.mark.parametrize("phrase", ["sớm nhất có thể", "ASAP", "", "next Tuesday", "ngày 31/02/2024",
                                    "Tháng 13/2024"])
def test_an_unreadable_phrase_is_refused_with_the_accepted_forms(cal: Calendar, phrase: str) -> None:
    with pytest.raises(PhraseError) as caught:
        parse_phrase(phrase, SEED_004, cal)
    error = caught.value
    assert isinstance(error, UserInputError) and error.exit_code == 2
    text = error.render("vi")
    assert text.startswith(f"Không hiểu thời hạn '{phrase}")
    assert "  - quý: Quý III năm 2024; quý 3/2024; Q3 2024" in text
    assert error.to_json()["details"]["accepted"] == accepted_forms()


def test_every_example_in_the_accepted_forms_is_readable(cal: Calendar) -> None:
    examples = [e for form in accepted_forms() for e in form.split(": ", 1)[1].split("; ")]
    assert len(examples) > 30
    for example in examples:
        parse_phrase(example, SEED_004, cal)
