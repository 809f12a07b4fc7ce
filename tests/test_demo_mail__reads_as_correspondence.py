"""The demo's mail folder reads as real correspondence: every .eml parsed and checked.

No shell command, no trigger of anybody's workflow; "today is the last day" only on that day; one mail
per reader per morning; the right body on each deadline (the register of who writes to whom, the late
body named in an escalation); a consulted body's reply link; the named DOFA contact for an outside body;
people addressed with their title.
"""

from __future__ import annotations

import email
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from agreeflow.engine.core import clock
from agreeflow.engine.core.directory import SAMPLE
from agreeflow.engine.core.yamlio import load_file
from agreeflow.engine.service import demo
from tests.test_weekday_spelling import other_weekday_forms

COMMAND_WORDS = re.compile(r"agreeflow [a-z]|case fire|case show|--field|--attach")
TRIGGERS = ("abandon", "comment", "agree", "disagree", "report", "submit", "escalate", "opinions_in")
DOFA = {"songoaivu@bacgiang.example"} | {p["email"] for p in load_file(SAMPLE)["people"] if p["unit"] == "SNGV"}


@dataclass(frozen=True)
class Mail:
    path: Path
    to: str
    subject: str
    sent: datetime
    text: str
    html: str


@pytest.fixture(scope="module")
def mails() -> Iterator[list[Mail]]:
    result = demo.run()
    try:
        out = []
        for path in sorted((result.data_dir / "mail").glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
            html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
            out.append(Mail(path, str(msg["To"]), str(msg["Subject"]), parsedate_to_datetime(str(msg["Date"])),
                            text, html))
        yield out
    finally:
        demo.discard_database(result)
        shutil.rmtree(result.data_dir, ignore_errors=True)


def local_day(m: Mail) -> date:
    return clock.to_local(m.sent).date()


def test_the_demo_leaves_a_folder_of_mail(mails: list[Mail]) -> None:
    assert len(mails) > 50


def test_no_mail_contains_a_shell_command_or_a_trigger(mails: list[Mail]) -> None:
    for m in mails:
        for body in (m.text, m.html):
            assert not COMMAND_WORDS.search(body), (m.subject, m.to)
            # a trigger would show as a bare identifier; the words of the mail are Vietnamese
            assert not re.search(r"\b(" + "|".join(TRIGGERS) + r")\b", body.replace("mailto:", "")), m.subject


def test_today_is_the_last_day_is_only_said_on_that_day(mails: list[Mail]) -> None:
    today_mails = [m for m in mails if m.subject.startswith("[Đến hạn hôm nay]")]
    assert today_mails
    for m in today_mails:
        said = re.search(r"Hôm nay, \w+ \w+, (\d\d/\d\d/\d{4})", m.text) or re.search(
            r"hôm nay, [^,]+, (\d\d/\d\d/\d{4})", m.text)
        assert said, m.text[:300]
        assert said.group(1) == clock.fmt_day(local_day(m)), (m.subject, m.to)


def test_no_mail_is_older_than_the_catch_up_allows(mails: list[Mail]) -> None:
    """The first sweep (21/06/2024) finds 2021's yearly report of TTQT-2021-0001 years late: one overdue mail
    per reader (the latest rung), not the whole ladder."""
    first = [m for m in mails if local_day(m) == date(2024, 6, 21)]
    assert first and all(m.subject.startswith(("[Quá hạn]", "[Báo cáo quá hạn]")) for m in first)


def test_each_reader_gets_at_most_one_mail_a_morning(mails: list[Mail]) -> None:
    per_day = Counter((m.to, local_day(m)) for m in mails if "[Tổng hợp" not in m.subject)
    assert max(per_day.values()) == 1, [k for k, n in per_day.items() if n > 1]
    grouped = [m for m in mails if re.match(r"\[[^]]+\] \d+ thời hạn — ", m.subject)]
    assert grouped  # DOFA had two deadlines on 24/07/2024: one mail names both
    for m in grouped:
        assert m.text.count("\n1. ") == 1 and "\n2. " in m.text


def test_a_consulted_body_gets_its_own_reply_link_and_the_dofa_contact(mails: list[Mail]) -> None:
    to_mofa = [m for m in mails if m.to == "bongoaigiao@mofa.example"]
    assert to_mofa
    for m in to_mofa:
        assert re.search(r"http://127\.0\.0\.1:8080/reply/[\w-]+\.[\w-]+", m.text), m.subject
        assert "Đầu mối liên hệ tại Sở Ngoại vụ: " in m.text and "điện thoại 0204" in m.text
        assert "@bacgiang.example" in m.text.split("Đầu mối liên hệ")[1]
        assert "Văn bản đề nghị: văn bản số 412/SNgV-HTQT ngày 15/07/2024" in m.text  # the round's request letter


def test_internal_readers_get_the_case_page_and_no_contact(mails: list[Mail]) -> None:
    internal = [m for m in mails if m.to in DOFA]
    assert internal
    for m in internal:
        assert "http://127.0.0.1:8080/cases/" in m.text and "/reply/" not in m.text, m.subject
        assert "Đầu mối liên hệ" not in m.text


def test_people_are_addressed_with_their_title(mails: list[Mail]) -> None:
    people = {p["email"]: f"{p['title']} {p['name']}" for p in load_file(SAMPLE)["people"]}
    to_people = [m for m in mails if m.to in people]
    assert to_people
    for m in to_people:
        assert m.text.startswith(f"Kính gửi: {people[m.to]}\n"), m.text[:80]


def test_the_register_follows_who_writes_to_whom(mails: list[Mail]) -> None:
    mofa = next(m for m in mails if m.to == "bongoaigiao@mofa.example")
    assert "kính báo Quý cơ quan" in mofa.text and "khẩn trương" not in mofa.text
    for m in (m for m in mails if m.to in ("bongoaigiao@mofa.example", "ubnd@bacgiang.example")):
        assert "khẩn trương" not in m.text and "Yêu cầu" not in m.text, m.subject  # never to a superior
    district = next(m for m in mails if m.to == "lucngan@bacgiang.example" and m.subject.startswith("[Quá hạn]"))
    assert "Sở Ngoại vụ đề nghị Quý cơ quan sớm hoàn thành" in district.text


def test_the_silence_convention_of_the_round_is_said_plainly(mails: list[Mail]) -> None:
    round_mails = [m for m in mails if "Kế hoạch hợp tác quốc tế cấp địa phương năm 2025" in m.subject]
    assert round_mails
    for m in round_mails:
        assert "không có ý kiến trả lời thì được coi là nhất trí" in m.text, m.to
        assert "Văn bản đề nghị: Văn bản 412/SNgV-HTQT ngày 08/07/2024" in m.text


def test_an_escalation_names_the_body_that_is_late(mails: list[Mail]) -> None:
    up = [m for m in mails if m.to == "ubnd@bacgiang.example" and "TTQT-2024-0001" in m.subject
          and local_day(m) == date(2024, 7, 25)]
    assert len(up) == 1
    assert "chưa nhận được kết quả “Hạn trả lời ý kiến (07 ngày làm việc)” của Bộ Ngoại giao" in up[0].text
    assert "Chưa nhận được ý kiến của: Bộ Ngoại giao" in up[0].text


def test_weekday_and_dates_are_written_the_vietnamese_way(mails: list[Mail]) -> None:
    for m in mails:
        assert "Tết" not in m.text.split("Cách tính thời hạn")[0]
        assert other_weekday_forms(m.subject + m.text + m.html) == [], m.subject  # "thứ Bảy", "Chủ nhật" only
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", m.text), m.subject  # no ISO date in what officials read


def test_an_escalation_counts_the_reminders_the_late_body_had(mails: list[Mail]) -> None:
    """MOFA is silent on the Gifu round: the escalation says how many reminders MOFA itself was sent (the mails
    in its mailbox before it), not how many DOFA had about its own deadline; DOFA is never said to have
    reminded itself."""
    said = re.compile(r"(?P<who>[^\n.]+?) đã gửi (?P<n>\d+) thư nhắc tới (?P<late>[^\n]+?)\.")
    to_mofa = [m for m in mails if m.to == "bongoaigiao@mofa.example"]
    checked = 0
    for m in mails:
        for hit in said.finditer(m.text):
            assert hit["late"] != hit["who"], m.subject
            if hit["late"] == "Bộ Ngoại giao":
                before = [r for r in to_mofa if r.sent < m.sent]
                assert int(hit["n"]) == len(before) > 0, (m.subject, [r.subject for r in before])
                checked += 1
    assert checked  # the escalation about MOFA is in the folder


def test_yearly_reports_missed_before_the_first_sweep_are_each_in_its_overdue_mail(mails: list[Mail]) -> None:
    """TTQT-2021-0001's yearly reports for 2021, 2022 and 2023 were all missed when agreeflow first swept
    (21/06/2024): the periods it opened while catching up are not dropped silently — DOFA's one mail that
    morning names each of them."""
    first = [m for m in mails if m.to == "songoaivu@bacgiang.example" and local_day(m) == date(2024, 6, 21)
             and "TTQT-2021-0001" in m.subject]
    assert len(first) == 1
    for year in (2021, 2022, 2023):
        assert f"15/12/{year}, đến nay đã quá hạn" in first[0].text, year
