"""What one event of the log says (engine.core.notes.describe), as every reader shows it: the CLI's history and
audit log, the case page and the log page."""

from __future__ import annotations

from agreeflow.engine import service
from agreeflow.engine.core import notes


def queued(rung: str, due: str | None = "2024-12-15") -> dict[str, object]:
    return {"kind": "reminder_queued", "payload": {"kind": "reminder", "rung": rung, "due_date": due,
                                                   "recipients": ["congan@bacgiang.example"]}}


def words(e: dict[str, object], lang: str = "vi") -> str:
    return notes.describe(e, lang, rungs=lambda rung: service.words.rung_word(rung, lang))


def test_a_reminder_names_its_rung_from_the_policy_file_and_the_due_date_it_is_about():
    assert words(queued("before_3wd")) == ("nhắc trước hạn 3 ngày làm việc gửi congan@bacgiang.example "
                                           "(hạn 15/12/2024)")
    assert words(queued("before_3wd"), "en") == ("reminder 3 working days before the due date to "
                                                 "congan@bacgiang.example (due 15/12/2024)")


def test_a_rung_the_policy_file_no_longer_knows_reads_as_its_kind_of_mail_not_as_an_id():
    text = words(queued("before_14d_old", due=None))
    assert "before_14d_old" not in text and text == "thư nhắc gửi congan@bacgiang.example", text


def test_a_text_field_reads_as_typed_even_when_it_is_also_a_choice_code():
    changed = {"kind": "field_changed", "payload": {"field": "partner", "after": "other"}, "field_label": "Đối tác"}
    assert notes.describe(changed | {"field_type": "text"}, "vi") == "Đối tác: other"
    assert notes.describe(changed | {"field_type": "choice"}, "vi") == "Đối tác: Khác"


def test_a_rung_never_sent_says_to_whom_and_why_in_the_readers_language():
    def skipped(why: str) -> dict[str, object]:
        return {"kind": "reminder_skipped", "payload": {"kind": "due_today", "rung": "due_day", "why": why,
                                                        "due_date": "2024-12-15",
                                                        "recipients": ["congan@bacgiang.example"]}}

    assert words(skipped("stale")) == ("thư ngày đến hạn gửi congan@bacgiang.example (hạn 15/12/2024) — không gửi: lời thư "
                              "không còn hợp với ngày gửi (thư gửi bù sau thời gian ngừng)")
    assert words(skipped("overtaken"), "en") == ("mail on the due day to congan@bacgiang.example (due 15/12/2024) — not sent: "
                                      "a later reminder of the same deadline went instead")


def test_every_kind_of_event_has_a_name_in_the_catalogue():
    from agreeflow.engine.core.i18n import show
    from agreeflow.engine.core.kinds import EventKind
    from agreeflow.engine.core.vocabulary import EVENT_KINDS, word

    assert set(EVENT_KINDS) == {k.value for k in EventKind}
    assert show(word(EVENT_KINDS, "reminder_skipped"), "vi") == "Bỏ qua thư nhắc hạn"
