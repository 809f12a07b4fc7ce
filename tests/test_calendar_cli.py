"""The calendar commands: counts across the holiday seasons, phrases, days, and bad input."""

from __future__ import annotations

import pytest

from agreeflow.engine.core.i18n import show
from tests.conftest import ADMIN

# Counting does not depend on the database (it only supplies the overrides): read-only
# commands run on SQLite alone; writes and "nothing written" checks run on both databases.
sqlite_only = pytest.mark.parametrize("af", ["sqlite"], indirect=True)


@sqlite_only
@pytest.mark.parametrize("start, n, due, listed", [
    # Tết 2025: Mon 27 – Fri 31/01 off (with the weekends around them)
    ("2025-01-20", 10, "2025-02-10", ["2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31"]),
    # Tết 2026 (Bính Ngọ): Sat 14 – Sun 22/02, weekdays 16–20/02 lost
    ("2026-02-10", 5, "2026-02-24", ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"]),
    # 30/4–1/5 2024: Mon 29/04 swapped with Sat 04/05, which counts
    ("2024-04-25", 4, "2024-05-04", ["2024-04-29", "2024-04-30", "2024-05-01", "2024-05-04"]),
    # 30/4–1/5 2025: Fri 02/05 swapped with Sat 26/04
    ("2025-04-24", 2, "2025-04-26", ["2025-04-26"]),
    ("2025-04-28", 3, "2025-05-06", ["2025-04-30", "2025-05-01", "2025-05-02"]),
    # 30/4–1/5 2026: Thu–Fri
    ("2026-04-28", 3, "2026-05-05", ["2026-04-30", "2026-05-01"]),
    # 2/9 2024: Mon 02 – Tue 03/09
    ("2024-08-29", 3, "2024-09-05", ["2024-09-02", "2024-09-03"]),
    # 2/9 2025: Mon 01 – Tue 02/09
    ("2025-08-28", 3, "2025-09-04", ["2025-09-01", "2025-09-02"]),
    # 2/9 2026: Mon 31/08 swapped with Sat 22/08 (UNCONFIRMED in the data, still counted)
    ("2026-08-27", 3, "2026-09-04", ["2026-08-31", "2026-09-01", "2026-09-02"]),
    ("2026-08-20", 2, "2026-08-22", ["2026-08-22"]),
])
def test_calendar_add_lands_after_the_season_and_lists_each_day_skipped(af, start, n, due, listed):
    r = af.json("calendar", "add", start, str(n), "--working")
    assert r["due_date"] == due and r["kind"] == "working_days" and r["start"] == start
    dated = {s["date"]: s for s in r["steps"] if "date" in s}
    for day in listed:
        assert day in dated, f"{day} missing from the explanation of {start} + {n}"
        assert show(dated[day], "vi") and show(dated[day], "en")
    text = af("calendar", "add", start, str(n), ok=True).stdout
    d = due.split("-")
    assert f"Hạn: {d[2]}/{d[1]}/{d[0]}" in text


@sqlite_only
def test_tet_2025_explanation_names_the_tet_days_and_why_they_do_not_count(af):
    vi = af("calendar", "add", "2025-01-20", "10", "--working", ok=True).stdout
    en = af("calendar", "add", "2025-01-20", "10", "--working", "--lang", "en", ok=True).stdout
    assert "29/01/2025 — Tết Nguyên Đán (nghỉ lễ): không tính" in vi
    assert "Hạn: 10/02/2025 (thứ Hai), hết ngày (24:00 giờ Việt Nam)" in vi and "2025-02-10T" not in vi
    assert "29/01/2025 — Lunar New Year (public holiday): not counted" in en
    assert "Due: 10/02/2025 (Monday), at the end of the day (24:00 Vietnam time)" in en


@sqlite_only
def test_calendar_days_move_off_a_rest_day_and_say_why(af):
    r = af.json("calendar", "add", "2025-01-30", "3", "--calendar", lang="en")
    assert r["due_date"] == "2025-02-03" and r["kind"] == "calendar_days"
    assert "02/02/2025 is a day off" in r["explanation"][-1]


@sqlite_only
def test_calendar_due_reads_a_phrase_verbatim_with_kind_and_utc_moment(af):
    r = af.json("calendar", "due", "trong vòng 10 ngày làm việc", "--from", "2025-01-20")
    assert (r["phrase"], r["kind"], r["due_date"], r["due_at"], r["from"]) == (
        "trong vòng 10 ngày làm việc", "working_days", "2025-02-10", "2025-02-10T17:00:00Z", "2025-01-20")
    assert show(r["steps"][0], "en").startswith("Start (day 0")
    text = af("calendar", "due", "Quý III/2024", "--from", "2024-06-01", ok=True).stdout
    assert "«Quý III/2024» — loại: một quý" in text and "Hạn: 30/09/2024" in text


@sqlite_only
def test_calendar_due_defaults_to_today_on_the_clock(af):
    r = af.json("calendar", "due", "within", "30", "days", now="2024-07-01T09:00:00+07:00")
    assert r["from"] == "2024-07-01" and r["due_date"] == "2024-07-31"


@sqlite_only
def test_holidays_lists_weekdays_off_and_weekends_worked_with_reason_and_source(af):
    r = af.json("calendar", "holidays", "2025")
    by_day = {d["date"]: d for d in r["days"]}
    assert by_day["2025-04-26"]["working"] and by_day["2025-04-26"]["weekday"] == "thứ Bảy"
    # A public holiday cites the law that sets it; the package that computed it is named for a maintainer only.
    assert not by_day["2025-05-02"]["working"] and by_day["2025-05-02"]["source"] == "Bộ luật Lao động 2019, Điều 112"
    assert by_day["2025-01-29"]["source"] == "Bộ luật Lao động 2019, Điều 112"
    assert by_day["2025-01-29"]["computed_by"].startswith("holidays ")
    assert "Thông báo 6150" in by_day["2025-04-26"]["source"] and by_day["2025-04-26"]["computed_by"] is None
    assert all(d["weekday"] not in ("thứ Bảy", "Chủ nhật") or d["working"] for d in r["days"])
    text = af("calendar", "holidays", "2026", lang="en", ok=True).stdout
    assert "Weekdays off and weekend days worked in 2026" in text and "12729/VPCP-KGVX" in text
    assert "Labour Code 2019, Article 112" in text
    vi = af("calendar", "holidays", "2025", ok=True).stdout
    assert "Bộ luật Lao động 2019, Điều 112" in vi and "holidays 0" not in vi


@sqlite_only
def test_is_working_says_why_and_on_whose_decision(af):
    off = af.json("calendar", "is-working", "2026-01-02")
    assert (off["working"], off["kind"], off["source"]) == (False, "off", "Công văn 12729/VPCP-KGVX ngày 25/12/2025")
    text = af("calendar", "is-working", "2026-01-10", lang="en", ok=True).stdout
    assert text.startswith("10/01/2026 (Saturday) is a working day") and "12729/VPCP-KGVX" in text


@pytest.mark.parametrize("args, vi, en", [
    (["calendar", "add", "2025-02-30", "3"], "Ngày '2025-02-30' không hợp lệ", "'2025-02-30' is not a valid date"),
    (["calendar", "is-working", "20-01-2025"], "Viết ngày theo dạng YYYY-MM-DD", "Write dates as YYYY-MM-DD"),
    (["calendar", "holidays", "1900"], "ngoài phạm vi của lịch", "outside the calendar's years"),
    (["calendar", "due", "sớm nhất có thể"], "Không hiểu thời hạn 'sớm nhất có thể'. Các dạng được chấp nhận:",
     "Cannot read the time phrase 'sớm nhất có thể'. Accepted forms:"),
    (["calendar", "due", "trong vòng 10 ngày làm việc", "--from", "hôm qua"], "Ngày 'hôm qua' không hợp lệ",
     "'hôm qua' is not a valid date"),
    (["calendar", "set-off", "2025-13-01", "--reason", "x", "--source", "y"], "Ngày '2025-13-01' không hợp lệ",
     "'2025-13-01' is not a valid date"),
    (["calendar", "set-working", "2025-03-15", "--reason", " ", "--source", "QĐ 1"], "cần các trường: --reason",
     "needs the fields: --reason"),
])
def test_bad_calendar_input_exits_2_in_both_languages_and_writes_nothing(af, args, vi, en):
    before = af.snapshot()
    res_vi, res_en = af(*args, user=ADMIN), af(*args, "--lang", "en", user=ADMIN)
    assert (res_vi.exit_code, res_en.exit_code) == (2, 2)
    assert vi in res_vi.stderr and en in res_en.stderr
    assert af.snapshot() == before


@sqlite_only
def test_unparseable_phrase_lists_every_accepted_form_with_examples(af):
    res = af("calendar", "due", "khi nào xong thì thôi", "--json")
    assert res.exit_code == 2
    import json
    err = json.loads(res.stdout)
    assert err["error"] == "PhraseError" and len(err["details"]["accepted"]) >= 10
    assert any("trong vòng 10 ngày làm việc" in form for form in err["details"]["accepted"])
    assert "Quý III năm 2024" in err["message"]
