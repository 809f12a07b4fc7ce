"""Who writes to whom decides the wording: derived from the directory, worded in an operator's file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.service import base
from agreeflow.notifications import compose, render


@pytest.mark.parametrize(("unit", "person", "relation"), [
    ("BNG", False, "superior"),        # MOFA: a ministry
    ("BNG-CNV", False, "superior"),    # a department of MOFA
    ("TTG", False, "superior"),        # the Prime Minister
    ("UBND", False, "superior"),       # the Provincial People's Committee: DOFA's parent
    ("TTTU", False, "superior"),       # the Party committee's standing board
    ("CA", False, "peer"),             # another provincial department
    ("LNG", False, "peer"),            # a district People's Committee
    ("LHHN", False, "peer"),           # a provincial organisation
    ("SNGV-HTQT", False, "subordinate"),  # a division of DOFA
    ("SNGV", True, "internal"),        # DOFA's own staff
    ("SNGV", False, "internal"),       # DOFA's own mailbox
    ("CA", True, "peer"),              # an officer of the Police: their unit's relation
])
def test_relation_comes_from_unit_kinds_and_parents(af: Any, unit: str, person: bool, relation: str) -> None:
    settings = Settings(data_dir=af.home, db_url=af.url)
    with base.reading(settings) as s:
        book = compose.Book(s, reminders.load())
        who = compose.Recipient("x@example.org", "X", "vi", unit, "Ông" if person else "", person)
        assert book.relation(who) == relation


def test_the_case_contact_is_who_opened_it_at_dofa(af: Any) -> None:
    ref = af("case", "open", "task", "--title", "Nhiệm vụ", "--field", "lead_unit=CA",
             "--field", "due_phrase=hoàn thành trong tháng 7/2024", "--field", "assigned_on=2024-06-21",
             user="chuyenvien.sngv@bacgiang.example", now="2024-06-21T09:00:00+07:00", ok=True).stdout.strip()
    settings = Settings(data_dir=af.home, db_url=af.url)
    with base.reading(settings) as s:
        case = s.exec(select(Case).where(Case.ref == ref)).one()
        contact = compose.Book(s, reminders.load()).contact(case)
    assert contact == {"name": "Ông Trần Văn Hùng", "phone": "0204 000 0211", "email": "chuyenvien.sngv@bacgiang.example"}


def test_an_operator_edits_the_wording_and_a_broken_file_names_every_problem(tmp_path: Path) -> None:
    text = render.REGISTER_FILE.read_text(encoding="utf-8")
    edited = tmp_path / "register.yaml"
    edited.write_text(text.replace("kính mong {you} quan tâm, sớm cho ý kiến", "kính đề nghị {you} sớm cho ý kiến"),
                      encoding="utf-8")
    assert "kính đề nghị {you} sớm cho ý kiến" in render.register_file(edited)["phrases"]["vi"]["superior"]["overdue"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("    closing: \"Trân trọng cảm ơn sự phối hợp của {you}.\"\n", "")
                      .replace("{sender} trân trọng kính báo {you}: thời hạn", "{sender} kính báo {ban}: thời hạn"),
                      encoding="utf-8")
    with pytest.raises(render.RegisterFileError) as caught:
        render.register_file(broken)
    assert "vi.peer: missing closing" in str(caught.value) and "vi.superior.reminder" in str(caught.value)
