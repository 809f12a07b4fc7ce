"""The words for stored values, one function each for the command line and the pages (engine.service.words):
a field value (a day written in ISO in a text field too), the engine's own actors, every rung of the outbox."""

from __future__ import annotations

from agreeflow.engine.core import definitions
from agreeflow.engine.service import words

TEXT = {"name": "reply_by", "type": "text", "choices": []}
CHOICE = {"name": "change_kind", "type": "choice", "choices": ["terminate", "withdraw"]}


def test_a_day_reads_dd_mm_yyyy_whatever_the_fields_type() -> None:
    assert words.field_value(TEXT, "2024-07-24", "vi") == "24/07/2024"
    assert words.field_value({"type": "date"}, "2024-07-24", "en") == "24/07/2024"
    assert words.field_value(None, "2024-07-24", "vi") == "24/07/2024"  # a field the workflow no longer declares
    assert words.field_value(TEXT, "trước ngày 19/07/2024", "vi") == "trước ngày 19/07/2024"
    assert words.field_value(TEXT, "2024-13-45", "vi") == "2024-13-45"  # not a day: as written
    assert words.field_value(TEXT, "Văn bản 2024-07-24/SNgV", "vi") == "Văn bản 2024-07-24/SNgV"


def test_choices_yes_no_units_and_lists_in_words() -> None:
    assert words.field_value(CHOICE, "terminate", "vi") == "Chấm dứt"
    assert words.field_value({"type": "bool"}, False, "vi") == "Không"
    assert words.field_value({"type": "units"}, ["CA", "STP"], "vi", {"CA": "Công an tỉnh"}) == "Công an tỉnh, STP"
    assert words.field_value({"type": "units"}, ["CA", "STP"], "vi") == "CA, STP"  # no names given: the codes
    assert words.field_value(TEXT, None, "vi") == words.field_value(TEXT, [], "vi") == ""


def test_the_engines_own_steps_read_as_the_system_whoever_wrote_them() -> None:
    from agreeflow.engine.core.kinds import SYSTEM_ACTOR
    from agreeflow.engine.procedures import sweep
    from agreeflow.notifications import outbox
    assert {SYSTEM_ACTOR, sweep.ACTOR, outbox.SENDER_ACTOR} <= words.ENGINE_ACTORS
    assert {words.actor_word(a, "vi") for a in words.ENGINE_ACTORS} == {"Hệ thống (tự động)"}
    assert words.actor_word("dieuphoi@bacgiang.example", "vi") == "dieuphoi@bacgiang.example"


def test_every_rung_of_the_outbox_has_words() -> None:
    from agreeflow.engine.legaltime import reminders
    rungs = {r.id for p in reminders.load().policies.values() for r in p.rungs} | set(words.RUNGS)
    assert {r: words.rung_word(r, "vi") for r in rungs if words.rung_word(r, "vi") == r} == {}
    assert words.rung_word("bundle", "vi") == "thư gộp nhiều lời nhắc"


def test_a_workflow_by_its_title_and_an_unknown_one_by_its_id() -> None:
    assert definitions.title_of("consultation-reply", "vi") == "Ý kiến của đơn vị được hỏi"
    assert definitions.title_of("no-such-workflow", "vi") == "no-such-workflow"
