"""Headers survive the trip: a long Vietnamese subject folded over lines keeps every space."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from agreeflow.notifications.mailer import MAIL_POLICY, build_email
from agreeflow.notifications.render import RenderedMessage

SUBJECTS = [
    "[Reminder] NV-2024-0001: Ban hành hướng dẫn bảo đảm an ninh trong hợp tác quốc tế — due 31/07/2024",
    "[Nhắc hạn] NV-2024-0003: Kế hoạch triển khai thỏa thuận hợp tác giữa thành phố Bắc Giang và quận Seo, "
    "thành phố Daejeon (Hàn Quốc) — hạn 30/09/2024",
    "[Reminder] NV-2024-0002: plain ASCII title — due 31/07/2024",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_long_vietnamese_subject_reads_back_word_for_word(subject: str) -> None:
    msg = build_email(RenderedMessage(subject, "x\n", "<p>x</p>\n"), "agreeflow <a@b.example>", "c@d.example",
                      "<1@agreeflow.local>")
    raw = msg.as_bytes(policy=MAIL_POLICY)
    headers = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert max(len(line) for line in headers) <= 78  # folded, each encoded word within RFC 2047's limit
    assert BytesParser(policy=policy.default).parsebytes(raw)["Subject"] == subject


def test_a_subject_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError):
        build_email(RenderedMessage("a\nBcc: x@y.example", "x", "x"), "a@b.example", "c@d.example", "<1@x.y>")
