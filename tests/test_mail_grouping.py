"""One mail per reader per sweep, listing every rung due for it; exactly once, even across a crash."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from smtp_server import SmtpSink  # pytest puts tests/ on sys.path: it has no __init__.py

from agreeflow.engine.core import clock, db
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.legaltime.deadlines import calendar_for
from agreeflow.engine.procedures import sweep as sweeping
from agreeflow.engine.service import base

OPENED = "2024-06-21T09:00:00+07:00"
WEEK_BEFORE = "2024-07-24T08:00:00+07:00"  # 7 days before 31/07/2024


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def open_task(af: Any, title: str, unit: str = "CA", phrase: str = "hoàn thành trong tháng 7/2024") -> str:
    return af("case", "open", "task", "--title", title, "--field", f"lead_unit={unit}",
              "--field", f"due_phrase={phrase}", "--field", "assigned_on=2024-06-21",
              "--field", "source_document=Thông báo kết luận số 12/TB-UBND ngày 21/06/2024",
              now=OPENED, ok=True).stdout.strip()


def statuses(af: Any) -> list[tuple[str, str, str]]:
    with db.get_engine(af.url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT recipient, rung, status FROM outbox ORDER BY recipient, id")).all()]


def test_two_deadlines_of_one_unit_make_one_mail_naming_both(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    first, second = open_task(af, "Hướng dẫn bảo đảm an ninh"), open_task(af, "Báo cáo tình hình người nước ngoài")
    counts = af.json("tick", now=WEEK_BEFORE)
    assert counts["queued"] == 4 and counts["messages"] == 2 and counts["sent"] == 2
    mails = {m.rcpt_tos[0]: m.message() for m in smtp.received}
    assert sorted(mails) == ["chuyenvien.ca@bacgiang.example", "congan@bacgiang.example"]
    unit = mails["congan@bacgiang.example"]
    assert str(unit["Subject"]) == f"[Nhắc hạn] 2 thời hạn — {first}, {second}"
    text = unit.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Kính gửi: Công an tỉnh" in text and f"hồ sơ {first}" in text and f"hồ sơ {second}" in text
    assert "Văn bản đề nghị: Thông báo kết luận số 12/TB-UBND ngày 21/06/2024" in text
    person = mails["chuyenvien.ca@bacgiang.example"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert person.startswith("Kính gửi: Ông Ngô Đức Anh")
    assert sorted(s for _, _, s in statuses(af)) == ["bundled"] * 4 + ["sent"] * 2
    for ref in (first, second):  # each case's chain says the reminder went, and in which mail
        sent = [e for e in af.json("case", "history", ref) if e["kind"] == "reminder_sent"]
        assert len(sent) == 2 and all(e["payload"]["message"].startswith("m") for e in sent)
    assert af.json("tick", now=WEEK_BEFORE)["queued"] == 0 and len(smtp.received) == 2
    assert af("audit", "verify", ok=True).exit_code == 0


def test_rungs_a_crashed_sweep_left_held_go_out_with_the_next_sweep_once(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    open_task(af, "Hướng dẫn bảo đảm an ninh")
    open_task(af, "Báo cáo tình hình người nước ngoài")
    settings = Settings(data_dir=af.home, db_url=af.url)
    at = clock.parse_instant(WEEK_BEFORE)
    policies = reminders.load()
    with base.reading(settings) as s:  # a sweep that handled the deadlines and died before folding
        cal = calendar_for(s)
        ids = sweeping.due_ids(s, at)
    for deadline_id in ids:
        with base.writing(settings) as s:
            sweeping.handle(s, deadline_id, at, cal, policies)
    assert {s for _, _, s in statuses(af)} == {"held"}
    later = af.json("tick", now="2024-07-24T08:05:00+07:00")
    assert later["queued"] == 0 and later["messages"] == 2 and later["sent"] == 2
    assert len(smtp.received) == 2 and af.json("tick", now="2024-07-24T08:10:00+07:00")["sent"] == 0


def test_the_weekly_digest_lists_what_is_open_less_what_the_days_mail_said(af: Any, smtp: SmtpSink) -> None:
    af.env["AGREEFLOW_SMTP"] = smtp.url()
    late = open_task(af, "Hướng dẫn bảo đảm an ninh")  # due 31/07: overdue by Monday 05/08
    later = open_task(af, "Kế hoạch tháng 8", phrase="hoàn thành trước ngày 31/08/2024")  # nothing on 05/08
    today = open_task(af, "Báo cáo nhanh", phrase="hoàn thành trước ngày 13/08/2024")  # its 7-day mail is 05/08
    for day in ("2024-07-24", "2024-07-26", "2024-07-31", "2024-08-01", "2024-08-05"):
        af("tick", now=f"{day}T08:00:00+07:00", ok=True)
    monday = [m.message() for m in smtp.received if "05 Aug 2024" in str(m.message()["Date"])
              and m.rcpt_tos == ["congan@bacgiang.example"]]
    digest = next(m for m in monday if str(m["Subject"]).startswith("[Tổng hợp hằng tuần]"))
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert str(digest["Subject"]).startswith("[Tổng hợp hằng tuần] Công an tỉnh: 2 việc đang mở, 1 việc quá hạn")
    assert late in text and later in text and today not in text
    assert re.search(r"quá hạn \d+ ngày làm việc", text) and "còn " in text
    reminder = next(m for m in monday if today in str(m["Subject"]))  # told once that day, by its own mail
    assert str(reminder["Subject"]).startswith("[Nhắc hạn]")
