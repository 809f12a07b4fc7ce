"""What officials read: rendered reminder mails, checked against golden files.

Regenerate the golden files after a deliberate wording change with
``UPDATE_GOLDEN=1 pytest tests/test_mail_render.py`` and read the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from agreeflow.notifications.render import (
    CONTEXT_KEYS,
    KINDS,
    LANGS,
    SUBJECT_LIMIT,
    RenderContextError,
    RenderedMessage,
    render_message,
    vn_date,
    working_days,
)

GOLDEN = Path(__file__).parent / "golden" / "mail"

TITLE = ("Kế hoạch triển khai thỏa thuận hợp tác giữa thành phố Bắc Giang và "
         "quận Seo, thành phố Daejeon (Hàn Quốc)")


def deadline_context(lang: str, **changes: Any) -> dict[str, Any]:
    """A reminder for seed 004: Bắc Giang city's implementation plan, due in Q3 2024."""
    vi = lang == "vi"
    ctx: dict[str, Any] = {
        "recipient_name": "UBND thành phố Bắc Giang" if vi else "Bắc Giang City People's Committee",
        "case_ref": "NV-2024-0003",
        "case_title": TITLE,
        "workflow_title": "Nhiệm vụ theo thông báo kết luận" if vi
        else "Task from a notice of conclusions",
        "deadline_label": "Ban hành kế hoạch triển khai thỏa thuận" if vi
        else "Issue the plan to implement the agreement",
        "unit_name": "UBND thành phố Bắc Giang" if vi else "Bắc Giang City People's Committee",
        "due_date": date(2024, 9, 30),
        "working_days_left": 3,
        "phrase": "trong Quý III năm 2024",
        "citation": "Thông báo kết luận cuộc họp ngày 21/06/2024; Bộ luật Dân sự 2015, Điều 146",
        "confirmed": True,
        "explanation": [
            {"vi": "“Quý III năm 2024” là một khoảng thời gian: thời hạn là ngày cuối của khoảng đó.",
             "en": "“Quý III năm 2024” (Q3 2024) names a period: the deadline is its last day."},
            {"vi": "Ngày cuối Quý III năm 2024 là thứ Hai, 30/09/2024 — ngày làm việc.",
             "en": "The last day of Q3 2024 is Monday, 30/09/2024 — a working day."},
        ],
        "letter": "Thông báo kết luận cuộc họp Ban Chỉ đạo ngày 21/06/2024" if vi
        else "Notice of conclusions of the steering committee's meeting of 21/06/2024",
        "silence": "", "waiting_for": [],
        "late": "UBND thành phố Bắc Giang" if vi else "Bắc Giang City People's Committee",
        "relation": "peer", "you": "", "sender_name": "Sở Ngoại vụ" if vi else "Department of Foreign Affairs",
        "contact": {"name": "Bà Nguyễn Thị Lan", "phone": "0204 000 0210", "email": "dieuphoi@bacgiang.example"},
        "internal": False,
    }
    ctx.update(changes)
    return ctx


def escalation_context(lang: str) -> dict[str, Any]:
    """The Police's July 2024 guidance, two working days late, reported upwards."""
    vi = lang == "vi"
    return deadline_context(
        lang,
        recipient_name="Văn phòng UBND tỉnh Bắc Giang" if vi
        else "Office of the Bắc Giang Provincial People's Committee",
        case_ref="NV-2024-0002",
        case_title="Hướng dẫn bảo đảm an ninh, bảo mật trong hoạt động hợp tác quốc tế",
        deadline_label="Ban hành văn bản hướng dẫn" if vi else "Issue the guidance",
        unit_name="Công an tỉnh" if vi else "Provincial Police",
        due_date=date(2024, 7, 31),
        working_days_left=-2,
        phrase="hoàn thành trong tháng 7/2024",
        explanation=["Tháng 7/2024 kết thúc thứ Tư, 31/07/2024." if vi
                     else "July 2024 ends on Wednesday, 31/07/2024."],
        late="Công an tỉnh" if vi else "Provincial Police",
        relation="superior",
        reminders_sent=3,
    )


def digest_context(lang: str) -> dict[str, Any]:
    """Two overdue items of one unit."""
    return {
        "recipient_name": "Công an tỉnh", "relation": "peer", "you": "",
        "sender_name": "Sở Ngoại vụ", "internal": False,
        "contact": {"name": "Bà Nguyễn Thị Lan", "phone": "0204 000 0210", "email": "dieuphoi@bacgiang.example"},
        "unit_name": "Công an tỉnh",
        "as_of": date(2024, 8, 5),
        "items": [
            {"case_ref": "NV-2024-0002", "case_title": "Hướng dẫn bảo đảm an ninh",
             "deadline_label": "Ban hành văn bản hướng dẫn", "due_date": date(2024, 7, 31),
             "working_days_left": -3, "link": "https://agreeflow.example/cases/NV-2024-0002"},
            {"case_ref": "NV-2024-0007", "case_title": "Báo cáo <đột xuất>",
             "deadline_label": "Gửi báo cáo", "due_date": date(2024, 8, 2),
             "working_days_left": -1, "link": ""},
        ],
    }


_ADDRESS = ("recipient_name", "relation", "you", "sender_name", "contact", "internal")


def bundle_context(lang: str) -> dict[str, Any]:
    """A reminder and an overdue item for one unit, in one mail."""
    one = deadline_context(lang)
    two = deadline_context(lang, case_ref="NV-2024-0007", due_date=date(2024, 9, 25), working_days_left=-2)
    items = [{k: v for k, v in c.items() if k not in _ADDRESS} | {"kind": kind}
             for c, kind in ((one, "reminder"), (two, "overdue"))]
    return {k: one[k] for k in _ADDRESS} | {"items": items}


def context_for(kind: str, lang: str) -> dict[str, Any]:
    """A complete context for any kind."""
    if kind == "escalation":
        return escalation_context(lang)
    if kind == "digest":
        return digest_context(lang)
    if kind == "bundle":
        return bundle_context(lang)
    if kind == "sign_in_link":
        return {"recipient_name": "Nguyễn Thị Lan", "link": "https://agreeflow.example/login/link/abc",
                "valid_minutes": 60}
    return deadline_context(lang, working_days_left={"reminder": 3, "due_today": 0,
                                                     "overdue": -2}[kind])


def as_golden_text(message: RenderedMessage) -> str:
    return f"Subject: {message.subject}\n\n{message.text}"


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/mail/<name>, or rewrite it when UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; create it with UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is meant, "
        f"rerun with UPDATE_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["reminder", "escalation"])
def test_rendered_mail_matches_golden_file(kind: str, lang: str) -> None:
    message = render_message(kind, lang, context_for(kind, lang))
    check_golden(f"{kind}.{lang}.txt", as_golden_text(message))
    check_golden(f"{kind}.{lang}.html", message.html)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_language(kind: str, lang: str) -> None:
    message = render_message(kind, lang, context_for(kind, lang))
    assert "\n" not in message.subject and len(message.subject) <= SUBJECT_LIMIT
    assert message.text.strip() and message.html.startswith("<!DOCTYPE html>")
    signature = "Hệ thống agreeflow — Sở Ngoại vụ" if lang == "vi" else "agreeflow — Department"
    assert signature in message.text and signature in message.html


@pytest.mark.parametrize(("kind", "lang", "prefix"), [
    ("reminder", "vi", "[Nhắc hạn] NV-2024-0003: "),
    ("reminder", "en", "[Reminder] NV-2024-0003: "),
    ("due_today", "vi", "[Đến hạn hôm nay] NV-2024-0003: "),
    ("due_today", "en", "[Due today] NV-2024-0003: "),
    ("overdue", "vi", "[Quá hạn] NV-2024-0003: "),
    ("overdue", "en", "[Overdue] NV-2024-0003: "),
    ("escalation", "vi", "[Báo cáo quá hạn] NV-2024-0002: "),
    ("escalation", "en", "[Escalation] NV-2024-0002: "),
    ("digest", "vi", "[Tổng hợp hằng tuần] Công an tỉnh: 2 việc đang mở, 2 việc quá hạn"),
    ("digest", "en", "[Weekly digest] Công an tỉnh: 2 open, 2 overdue"),
    ("bundle", "vi", "[Quá hạn] 2 thời hạn — NV-2024-0003, NV-2024-0007"),
    ("bundle", "en", "[Overdue] 2 time limits — NV-2024-0003, NV-2024-0007"),
])
def test_subject_starts_with_the_kind_tag(kind: str, lang: str, prefix: str) -> None:
    assert render_message(kind, lang, context_for(kind, lang)).subject.startswith(prefix)


def test_long_title_is_shortened_in_the_subject_but_whole_in_the_body() -> None:
    long_title = TITLE + " giai đoạn 2024–2026, " + "bổ sung nội dung hợp tác " * 5
    message = render_message("reminder", "vi", deadline_context("vi", case_title=long_title))
    assert len(message.subject) <= SUBJECT_LIMIT
    assert message.subject.startswith("[Nhắc hạn] NV-2024-0003: Kế hoạch triển khai thỏa thuận")
    assert message.subject.endswith("… — hạn 30/09/2024")
    assert " ".join(long_title.split()) in message.text


def test_line_breaks_in_a_title_do_not_reach_the_subject() -> None:
    message = render_message("reminder", "en", deadline_context("en", case_title="Plan\r\nBcc: x@y"))
    assert message.subject == "[Reminder] NV-2024-0003: Plan Bcc: x@y — due 30/09/2024"


def test_html_escapes_markup_in_a_case_title_and_text_keeps_it() -> None:
    title = "Kế hoạch <script>alert('x')</script> & phụ lục"
    message = render_message("reminder", "vi", deadline_context("vi", case_title=title))
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; phụ lục" in message.html
    assert title in message.text


def test_digest_html_escapes_item_titles() -> None:
    message = render_message("digest", "vi", digest_context("vi"))
    assert "Báo cáo &lt;đột xuất&gt;" in message.html
    assert "Báo cáo <đột xuất>" in message.text


@pytest.mark.parametrize(("kind", "key"),
                         [(k, key) for k in KINDS for key in sorted(CONTEXT_KEYS[k])])
def test_missing_context_key_raises_and_names_it(kind: str, key: str) -> None:
    context = context_for(kind, "vi")
    del context[key]
    with pytest.raises(RenderContextError) as caught:
        render_message(kind, "vi", context)
    assert caught.value.missing == [key]
    assert key in str(caught.value)


def test_unknown_context_key_raises() -> None:
    with pytest.raises(RenderContextError) as caught:
        render_message("reminder", "vi", deadline_context("vi", due_dat=date(2024, 9, 30)))
    assert caught.value.unknown == ["due_dat"]


def test_digest_item_missing_a_key_raises() -> None:
    context = digest_context("en")
    del context["items"][1]["due_date"]
    with pytest.raises(RenderContextError) as caught:
        render_message("digest", "en", context)
    assert caught.value.missing == ["items[1].due_date"]


def test_unknown_kind_or_language_raises() -> None:
    with pytest.raises(ValueError, match="reminder"):
        render_message("remind", "vi", deadline_context("vi"))
    with pytest.raises(ValueError, match="vi, en"):
        render_message("reminder", "fr", deadline_context("vi"))


def test_unconfirmed_limit_is_flagged_and_empty_phrase_and_citation_are_left_out() -> None:
    context = deadline_context("vi", confirmed=False, phrase="", citation="", explanation=[])
    message = render_message("reminder", "vi", context)
    assert "chưa được xác nhận theo văn bản pháp luật" in message.text
    assert "Căn cứ pháp lý" not in message.text and "xác định theo" not in message.text
    assert "Cách tính thời hạn" not in message.html


@pytest.mark.parametrize(("day", "vi", "en"), [
    (date(2024, 9, 30), "thứ Hai, 30/09/2024", "Monday, 30/09/2024"),
    (date(2024, 10, 1), "thứ Ba, 01/10/2024", "Tuesday, 01/10/2024"),
    (date(2024, 10, 2), "thứ Tư, 02/10/2024", "Wednesday, 02/10/2024"),
    (date(2024, 10, 3), "thứ Năm, 03/10/2024", "Thursday, 03/10/2024"),
    (date(2024, 10, 4), "thứ Sáu, 04/10/2024", "Friday, 04/10/2024"),
    (date(2024, 10, 5), "thứ Bảy, 05/10/2024", "Saturday, 05/10/2024"),
    (date(2024, 10, 6), "Chủ nhật, 06/10/2024", "Sunday, 06/10/2024"),
])
def test_vn_date_names_the_weekday(day: date, vi: str, en: str) -> None:
    assert vn_date(day, "vi") == vi
    assert vn_date(day, "en") == en


def test_vn_date_reads_an_instant_in_vietnam_time() -> None:
    # 18:00 UTC on Sunday is 01:00 on Monday in Hanoi.
    assert vn_date(datetime(2024, 9, 29, 18, 0, tzinfo=UTC), "vi") == "thứ Hai, 30/09/2024"


@pytest.mark.parametrize(("n", "vi", "en"), [
    (3, "còn 3 ngày làm việc", "3 working days left"),
    (1, "còn 1 ngày làm việc", "1 working day left"),
    (0, "hạn là hôm nay", "due today"),
    (-1, "quá hạn 1 ngày làm việc", "1 working day overdue"),
    (-2, "quá hạn 2 ngày làm việc", "2 working days overdue"),
])
def test_working_days_phrase(n: int, vi: str, en: str) -> None:
    assert working_days(n, "vi") == vi
    assert working_days(n, "en") == en


@pytest.mark.parametrize("lang", LANGS)
def test_a_reply_link_is_given_to_the_addressee_else_the_case_page(lang: str) -> None:
    link = "https://agreeflow.example/reply/eyJjIjoiWUstMjAyNC0wMDAxIn0.sig"
    message = render_message("reminder", lang, deadline_context(lang, reply_link=link,
                                                                case_link="https://agreeflow.example/cases/X"))
    assert link in message.text and f'href="{link}"' in message.html
    assert "cases/X" not in message.text
    message = render_message("reminder", lang, deadline_context(lang, case_link="https://agreeflow.example/cases/X"))
    assert "https://agreeflow.example/cases/X" in message.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_mail_names_a_command(kind: str, lang: str) -> None:
    message = render_message(kind, lang, context_for(kind, lang))
    for body in (message.text, message.html):
        assert "agreeflow case" not in body and "--field" not in body and "--attach" not in body


@pytest.mark.parametrize(("relation", "wanted", "unwanted"), [
    ("superior", "kính mong Quý cơ quan quan tâm", "khẩn trương"),
    ("peer", "đề nghị Quý cơ quan sớm hoàn thành", "khẩn trương"),
    ("subordinate", "Yêu cầu đơn vị khẩn trương hoàn thành", "kính mong"),
])
def test_the_register_follows_who_writes_to_whom(relation: str, wanted: str, unwanted: str) -> None:
    message = render_message("overdue", "vi", deadline_context("vi", relation=relation, working_days_left=-2))
    assert wanted in message.text and unwanted not in message.text


def test_a_person_is_addressed_with_the_title_and_called_by_it() -> None:
    message = render_message("reminder", "vi", deadline_context("vi", recipient_name="Bà Hà Thị Ngạn", you="Bà"))
    assert message.text.startswith("Kính gửi: Bà Hà Thị Ngạn\n")
    assert "trân trọng thông báo Bà:" in message.text and "Quý cơ quan" not in message.text


def test_the_contact_the_request_letter_and_the_silence_rule_are_said() -> None:
    silence = "nếu đến hết ngày 18/07/2024 không có ý kiến trả lời thì được coi là nhất trí với nội dung xin ý kiến."
    message = render_message("reminder", "vi", deadline_context("vi", silence=silence))
    assert "Đầu mối liên hệ tại Sở Ngoại vụ: Bà Nguyễn Thị Lan, điện thoại 0204 000 0210" in message.text
    assert "Văn bản đề nghị: Thông báo kết luận cuộc họp Ban Chỉ đạo ngày 21/06/2024" in message.text
    assert "Lưu ý: " + silence in message.text and silence in message.html
