"""The dispatcher's fast message builder writes what the email package would: same headers, same bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from agreeflow.notifications.mailer import build_bytes, build_email, message_id_for
from agreeflow.notifications.render import RenderedMessage

SENDER = "agreeflow - Sở Ngoại vụ Bắc Giang <agreeflow@bacgiang.example>"
WHEN = datetime(2024, 7, 24, 1, 0, tzinfo=UTC)
SUBJECTS = [
    "[Nhắc hạn] NV-2024-0003: Kế hoạch triển khai thỏa thuận hợp tác giữa thành phố Bắc Giang và quận Seo, "
    "thành phố Daejeon (Hàn Quốc) — hạn 30/09/2024",
    "[Reminder] NV-2024-0003: Plan — due 30/09/2024",
]


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize("subject", SUBJECTS)
def test_fast_bytes_parse_to_the_same_message_as_build_email(subject: str) -> None:
    rendered = RenderedMessage(subject, "Kính gửi: Bà Hà Thị Ngạn\n\nThời hạn: thứ Tư, 24/07/2024.\n",
                               "<!DOCTYPE html>\n<p>Kính gửi: <strong>Bà Hà Thị Ngạn</strong></p>\n")
    mid = message_id_for("d1:before_7d:lucngan@bacgiang.example", "agreeflow.bacgiang.example")
    headers = {"X-Agreeflow-Key": "d1:before_7d:lucngan@bacgiang.example", "X-Agreeflow-Case": "NV-2024-0003"}
    slow = parse(build_email(rendered, SENDER, "lucngan@bacgiang.example", mid, headers, WHEN).as_bytes())
    out = build_bytes(rendered, SENDER, "lucngan@bacgiang.example", mid, headers, WHEN)
    fast = parse(out.data)
    assert (out.sender, out.recipient, out.message_id) == ("agreeflow@bacgiang.example", "lucngan@bacgiang.example",
                                                           mid)
    for name in ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Agreeflow-Key",
                 "X-Agreeflow-Case"):
        assert str(fast[name]) == str(slow[name]), name
    assert fast.get_content_type() == slow.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        assert fast.get_body((kind,)).get_content() == slow.get_body((kind,)).get_content()  # type: ignore[union-attr]
    assert max(len(line) for line in out.data.split(b"\r\n")) <= 78
    assert b"\n" not in out.data.replace(b"\r\n", b"")  # CRLF only, 7-bit
    assert out.data.isascii()


def test_a_header_with_a_line_break_is_refused() -> None:
    rendered = RenderedMessage("Plan\nBcc: x@y", "a", "<p>a</p>")
    with pytest.raises(ValueError, match="one line"):
        build_bytes(rendered, SENDER, "a@b.example", "<1@b.example>")
    with pytest.raises(ValueError, match="cannot be overridden"):
        build_bytes(RenderedMessage("s", "a", "b"), SENDER, "a@b.example", "<1@b.example>", {"Subject": "x"})
