"""One spelling of the weekdays wherever agreeflow writes one (issue 17).

Vietnamese administrative usage: "thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật" —
the same inside a sentence, a parenthesis or a table cell — and "Monday" … "Sunday" in English, all from one
function, ``engine.legaltime.calendar.weekday_name`` (whose words are entries of the catalogue).  The mail, the
steps of a deadline's computation and the calendar commands once wrote them three ways ("thứ Tư", "Thứ Bảy",
"(Thứ Hai)"); each is checked here against :func:`other_weekday_forms`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from agreeflow.engine.core.i18n import show
from agreeflow.engine.legaltime.calendar import load, weekday_name
from agreeflow.engine.service import words
from agreeflow.notifications.render import render_message, vn_date
from tests.test_mail_render import deadline_context

VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
OTHER_FORMS = re.compile(r"\bThứ (?:Hai|Ba|Tư|Năm|Sáu|Bảy)\b"          # "Thứ Bảy": capital T
                         r"|\bthứ (?:hai|ba|tư|năm|sáu|bảy)(?=\)|, \d)"  # "(thứ bảy)", "thứ hai, 30/09": no capital
                         r"|\bChủ Nhật\b|\bchủ nhật\b|\bCHỦ NHẬT\b")
"""Any way of writing a weekday but the one.  (A lower-case "thứ hai" alone is the ordinal "second".)"""
MONDAY, SUNDAY = "27/01/2025", "26/01/2025"  # a Monday (a Tết day off) and the Sunday before it

sqlite_only = pytest.mark.parametrize("af", ["sqlite"], indirect=True)


def other_weekday_forms(text: str) -> list[str]:
    """Every weekday in ``text`` not written the one way (empty when all are)."""
    return OTHER_FORMS.findall(text)


def test_the_check_finds_each_other_form() -> None:
    assert other_weekday_forms("Thứ Bảy; (thứ bảy); thứ hai, 30/09/2024; Chủ Nhật; chủ nhật") == [
        "Thứ Bảy", "thứ bảy", "thứ hai", "Chủ Nhật", "chủ nhật"]
    assert other_weekday_forms(" ".join(VI) + "; lần nhắc thứ hai; Ngày làm việc thứ 10; cột Thứ") == []


@pytest.mark.parametrize("n", range(7))
def test_one_function_names_the_weekdays_for_mail_commands_and_pages(n: int) -> None:
    day = date(2025, 1, 27) + timedelta(days=n)  # Monday 27/01/2025 onwards
    assert (weekday_name(day, "vi"), weekday_name(day, "en")) == (VI[n], EN[n])
    assert (weekday_name(n, "vi"), weekday_name(n, "en")) == (VI[n], EN[n])
    assert (words.weekday(n, "vi"), words.weekday(n, "en")) == (VI[n], EN[n])  # the web's calendar
    assert (vn_date(day, "vi"), vn_date(day, "en")) == (f"{VI[n]}, {day:%d/%m/%Y}", f"{EN[n]}, {day:%d/%m/%Y}")


def test_a_rendered_mail_writes_each_weekday_one_way() -> None:
    """A reminder due on Monday 28/04/2025, its computation crossing a make-up Saturday and a Sunday."""
    due = load().add(date(2025, 4, 24), 3, "wd")
    assert due.due_date == date(2025, 4, 28)
    for lang, names in (("vi", VI), ("en", EN)):
        message = render_message("reminder", lang, deadline_context(
            lang, due_date=due.due_date, explanation=[show(s, lang) for s in due.steps]))
        body = "\n".join((message.subject, message.text, message.html))
        assert other_weekday_forms(body) == []
        assert f"{names[0]}, 28/04/2025" in message.text and f"{names[0]}, 28/04/2025" in message.html
        assert f"27/04/2025 — {names[6]} (" in message.text
        if lang == "vi":
            assert "26/04/2025 — thứ Bảy làm bù cho ngày 02/05/2025" in message.text


@sqlite_only
def test_a_deadline_explanation_across_a_weekend_writes_each_weekday_one_way(af) -> None:
    vi = af("calendar", "add", "2025-01-20", "10", ok=True).stdout
    assert "25/01/2025 — thứ Bảy (nghỉ hằng tuần): không tính" in vi
    assert "26/01/2025 — Chủ nhật (nghỉ hằng tuần): không tính" in vi
    assert "Hạn: 10/02/2025 (thứ Hai)" in vi and other_weekday_forms(vi) == []
    en = af("calendar", "add", "2025-01-20", "10", lang="en", ok=True).stdout
    assert "25/01/2025 — Saturday (weekly rest): not counted" in en and "Due: 10/02/2025 (Monday)" in en
    stored = af.json("calendar", "add", "2025-04-24", "3")
    explained = "\n".join([*stored["explanation"], *(show(s, "vi") for s in stored["steps"])])
    assert "27/04/2025 — Chủ nhật (nghỉ hằng tuần): không tính" in explained
    assert "26/04/2025 — thứ Bảy làm bù" in explained and other_weekday_forms(explained) == []


@sqlite_only
def test_the_calendar_commands_write_each_weekday_one_way(af) -> None:
    af.env["COLUMNS"] = "1000"  # the table one row a line: a reason is not cut across the lines of its cell
    monday = af("calendar", "is-working", MONDAY, ok=True).stdout
    sunday = af("calendar", "is-working", SUNDAY, ok=True).stdout
    table = af("calendar", "holidays", "2025", ok=True).stdout
    assert monday.startswith("27/01/2025 (thứ Hai) là ngày nghỉ — 28 tháng Chạp (nghỉ lễ).")
    assert sunday.startswith("26/01/2025 (Chủ nhật) là ngày nghỉ — Chủ nhật (nghỉ hằng tuần).")
    assert "Tuần làm việc 40 giờ (nghỉ thứ Bảy, Chủ nhật)" in sunday
    assert "│ thứ Bảy │ làm việc │ thứ Bảy làm bù" in table and "│ thứ Hai │ nghỉ" in table
    for text in (monday, sunday, table):
        assert other_weekday_forms(text) == [], text
    en = af("calendar", "is-working", MONDAY, lang="en", ok=True).stdout
    assert en.startswith("27/01/2025 (Monday) is a day off") and "(Sunday)" in af(
        "calendar", "is-working", SUNDAY, lang="en", ok=True).stdout


@sqlite_only
def test_a_public_holiday_cites_the_labour_code_not_the_package(af) -> None:
    """"Căn cứ:" names the law that sets the day; the package that computed it is for a maintainer (--json)."""
    vi = af("calendar", "is-working", MONDAY, ok=True).stdout
    en = af("calendar", "is-working", MONDAY, lang="en", ok=True).stdout
    assert vi.rstrip().endswith("Căn cứ: Bộ luật Lao động 2019, Điều 112")
    assert en.rstrip().endswith("Source: Labour Code 2019, Article 112")
    table = af("calendar", "holidays", "2025", ok=True).stdout
    assert "Bộ luật Lao động 2019, Điều 112" in table
    assert not re.search(r"holidays \d", vi + en + table)
    day = af.json("calendar", "is-working", MONDAY)
    assert day["source"] == "Bộ luật Lao động 2019, Điều 112" and re.fullmatch(r"holidays \S+ \(VN\)",
                                                                              day["computed_by"])
