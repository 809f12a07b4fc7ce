"""Calendar data edited by an admin: stored, logged, and every open deadline it touches re-projected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from agreeflow.engine.core import db
from agreeflow.engine.core.i18n import show
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import CalendarDay, Deadline
from tests.conftest import ADMIN, AUDITOR, COORD

WORKFLOWS = Path(__file__).parent / "fixtures" / "calendar-workflows"
OPENED = "2025-03-03T09:00:00+07:00"   # Monday
LATER = "2025-03-04T10:00:00+07:00"
STORM = ("--reason", "Nghỉ do bão số 3", "--source", "Quyết định 123/QĐ-UBND ngày 04/03/2025")


@pytest.fixture
def probe(af: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``af`` with the test workflow ``timers``: a 7 wd limit, a 15 d limit and a due phrase at once."""
    monkeypatch.setenv("AGREEFLOW_WORKFLOWS", str(WORKFLOWS))
    return af


def open_probe(af: Any, now: str = OPENED, start: str = "2025-03-03") -> str:
    return af("case", "open", "timers", "--title", "Thử lịch", "--field", "lead_unit=SNGV",
              "--field", f"signed_on={start}", "--field", "due_phrase=trong vòng 10 ngày làm việc",
              "--field", f"assigned_on={start}", now=now, ok=True).stdout.strip()


def dues(af: Any, ref: str, **kw: Any) -> dict[str, str]:
    return {d["key"].split(":")[-1]: d["due_date"] for d in af.json("case", "show", ref, **kw)["deadlines"]}


def rows(af: Any) -> dict[str, Deadline]:
    with db.read(Settings(db_url=af.url)) as s:
        return {d.key.split(":")[-1]: d for d in s.exec(select(Deadline)).all()}


def test_day_off_added_later_reprojects_open_deadlines_and_logs_each_move(probe):
    ref = open_probe(probe)
    assert dues(probe, ref) == {"opinions": "2025-03-12", "report": "2025-03-18", "due": "2025-03-17"}
    before = rows(probe)

    res = probe.json("calendar", "set-off", "2025-03-11", *STORM, user=ADMIN, now=LATER)

    assert res["changed"] and res["not_reprojected"] == []
    assert {(m["case"], m["deadline"].split(":")[-1], m["before"], m["after"]) for m in res["moved"]} == {
        (ref, "opinions", "2025-03-12", "2025-03-13"), (ref, "due", "2025-03-17", "2025-03-18")}
    # 15 calendar days land on 18/03 either way: not touched, not logged
    assert dues(probe, ref) == {"opinions": "2025-03-13", "report": "2025-03-18", "due": "2025-03-18"}

    moved = [e for e in probe.json("case", "history", ref) if e["kind"] == "deadline_moved"]
    assert [(e["payload"]["before"], e["payload"]["after"]) for e in moved] == [
        ("2025-03-12", "2025-03-13"), ("2025-03-17", "2025-03-18")]
    assert all(e["payload"]["why"] == "calendar" and e["payload"]["calendar_day"] == "2025-03-11"
               and e["payload"]["source"] == STORM[3] and e["actor"] == ADMIN for e in moved)
    system = probe.json("case", "history", "HE-THONG")[-1]
    assert system["kind"] == "calendar_changed" and system["payload"]["kind"] == "off"
    assert system["payload"]["source"] == STORM[3] and len(system["payload"]["moved"]) == 2
    assert system["payload"]["before"]["kind"] == "working"

    shown = probe.json("case", "show", ref, lang="en", now=LATER)
    opinions = next(d for d in shown["deadlines"] if d["key"].endswith("opinions"))
    assert any("11/03/2025 — Nghỉ do bão số 3" in step for step in opinions["explanation"])
    assert opinions["explanation"][-1].startswith("Calendar changed: 11/03/2025 is a day off")
    assert opinions["due_at"] == "2025-03-13T17:00:00Z"
    text = probe("case", "history", ref, ok=True).stdout
    assert "lịch thay đổi: 11/03/2025" in text

    after = rows(probe)
    assert after["opinions"].next_action_at is not None
    assert after["opinions"].next_action_at > before["opinions"].next_action_at   # ladder follows the due date
    assert after["report"].next_action_at == before["report"].next_action_at
    assert after["opinions"].extra["source"] == {"start": "2025-03-03", "n": 7, "unit": "wd"}
    assert after["due"].extra["source"] == {"phrase": "trong vòng 10 ngày làm việc", "ref": "2025-03-03"}
    probe("audit", "verify", ok=True)


def test_make_up_saturday_added_as_data_counts_as_a_working_day(probe):
    ref = open_probe(probe, now="2025-03-10T09:00:00+07:00", start="2025-03-10")
    assert dues(probe, ref)["opinions"] == "2025-03-19"
    assert probe.json("calendar", "add", "2025-03-13", "2")["due_date"] == "2025-03-17"

    probe("calendar", "set-working", "2025-03-15", "--reason", "Thứ Bảy làm bù cho ngày 31/03/2025",
          "--source", "Công văn 99/UBND-VP", user=ADMIN, now="2025-03-11T09:00:00+07:00", ok=True)

    r = probe.json("calendar", "add", "2025-03-13", "2")
    assert r["due_date"] == "2025-03-15"
    assert any(s.get("date") == "2025-03-15" and "làm bù cho ngày 31/03/2025" in show(s, "vi") for s in r["steps"])
    day = probe.json("calendar", "is-working", "2025-03-15")
    assert day["working"] and day["source"] == "Công văn 99/UBND-VP" and day["category"] == "override"
    assert "2025-03-15" in [d["date"] for d in probe.json("calendar", "holidays", "2025")["days"]]
    assert dues(probe, ref)["opinions"] == "2025-03-18"    # the open deadline came one working day earlier
    moved = [e["payload"] for e in probe.json("case", "history", ref) if e["kind"] == "deadline_moved"]
    assert ("opinions", "2025-03-19", "2025-03-18", -1) in [
        (p["deadline"].split(":")[-1], p["before"], p["after"], p["working_days"]) for p in moved]


def test_day_off_inside_a_past_suspension_is_counted_once(probe):
    ref = open_probe(probe)
    probe("case", "suspend", ref, "--reason", "Hồ sơ thiếu bản dịch", now="2025-03-05T09:00:00+07:00", ok=True)
    probe("case", "resume", ref, now="2025-03-07T09:00:00+07:00", ok=True)     # 06, 07/03: 2 working days
    assert dues(probe, ref) == {"opinions": "2025-03-14", "report": "2025-03-20", "due": "2025-03-19"}

    res = probe.json("calendar", "set-off", "2025-03-06", *STORM, user=ADMIN, now="2025-03-07T10:00:00+07:00")

    # Working-day counts lose 06/03 from the count and from the suspension: unchanged.  The
    # 15-day report keeps 18/03 but the suspension is now 1 working day: one day earlier.
    assert [(m["deadline"].split(":")[-1], m["before"], m["after"]) for m in res["moved"]] == [
        ("report", "2025-03-20", "2025-03-19")]
    assert dues(probe, ref) == {"opinions": "2025-03-14", "report": "2025-03-19", "due": "2025-03-19"}
    report = next(d for d in probe.json("case", "show", ref)["deadlines"] if d["key"].endswith("report"))
    assert any(s.startswith("Tạm dừng 1 ngày làm việc (05/03/2025 – 07/03/2025)") for s in report["explanation"])


def test_deadlines_of_a_suspended_case_move_but_their_reminders_wait_for_resume(probe):
    ref = open_probe(probe)
    probe("case", "suspend", ref, "--reason", "Chờ ý kiến Bộ Ngoại giao", now=LATER, ok=True)
    probe("calendar", "set-off", "2025-03-11", *STORM, user=ADMIN, now=LATER, ok=True)
    assert dues(probe, ref)["opinions"] == "2025-03-13"
    assert rows(probe)["opinions"].next_action_at is None
    probe("case", "resume", ref, now="2025-03-06T09:00:00+07:00", ok=True)  # 05, 06/03
    assert dues(probe, ref)["opinions"] == "2025-03-17"
    assert rows(probe)["opinions"].next_action_at is not None


def test_closed_deadlines_and_deadlines_due_before_the_day_stay_as_they_were(probe):
    done = open_probe(probe)
    probe("case", "fire", done, "finish", now=LATER, ok=True)
    running = open_probe(probe)
    res = probe.json("calendar", "set-off", "2025-03-14", *STORM, user=ADMIN, now=LATER)
    assert {m["case"] for m in res["moved"]} == {running}
    assert dues(probe, done) == {"opinions": "2025-03-12", "report": "2025-03-18", "due": "2025-03-17"}
    assert dues(probe, running)["opinions"] == "2025-03-12"   # due before 14/03: not touched


def test_setting_a_day_to_what_it_already_is_writes_nothing(probe):
    open_probe(probe)
    probe("calendar", "set-off", "2025-03-11", *STORM, user=ADMIN, now=LATER, ok=True)
    before = probe.snapshot()
    res = probe("calendar", "set-off", "2025-03-11", *STORM, user=ADMIN, now=LATER, ok=True)
    assert "không thay đổi gì" in res.stdout
    assert probe.snapshot() == before


@pytest.mark.parametrize("user, vi, en", [
    (COORD, "không có quyền thực hiện 'calendar set-off' trên hồ sơ HE-THONG (cần vai trò: admin",
     "may not do 'calendar set-off' on case HE-THONG (needs role: admin"),
    (AUDITOR, "chỉ được xem, không được thay đổi dữ liệu", "auditors read everything and change nothing"),
])
def test_only_an_admin_changes_the_calendar_others_are_refused_and_logged(probe, user, vi, en):
    ref = open_probe(probe)
    res_vi = probe("calendar", "set-off", "2025-03-11", *STORM, user=user, now=LATER)
    res_en = probe("calendar", "set-off", "2025-03-11", *STORM, "--lang", "en", user=user, now=LATER)
    assert (res_vi.exit_code, res_en.exit_code) == (3, 3)
    assert vi in res_vi.stderr and en in res_en.stderr
    refused = [e for e in probe.json("case", "history", "HE-THONG") if e["kind"] == "refused"]
    assert len(refused) == 2 and refused[0]["actor"] == user and refused[0]["trigger"] == "calendar set-off"
    with db.read(Settings(db_url=probe.url)) as s:
        assert s.exec(select(CalendarDay)).all() == []
    assert dues(probe, ref)["opinions"] == "2025-03-12"
    assert probe.json("calendar", "is-working", "2025-03-11")["working"]


def test_a_moved_deadline_reads_in_the_readers_language_in_history_and_log(probe):
    """The CLI's history and audit log word an event as the engine does (one wording, ``notes.describe``): a
    deadline moved by a day off is named by its label in the reader's language, with the days dd/mm/yyyy."""
    ref = open_probe(probe)
    probe("calendar", "set-off", "2025-03-11", *STORM, user=ADMIN, now=LATER, ok=True)

    for command in (("case", "history", ref), ("audit", "log", "--case", ref)):
        texts = [e["text"] for e in probe.json(*command, lang="en", now=LATER) if e["kind"] == "deadline_moved"]
        assert texts[0] == ("Opinions: 12/03/2025 → 13/03/2025 (calendar change: 11/03/2025 Nghỉ do bão số 3; "
                            f"source {STORM[3]})"), texts
        english = probe(*command, lang="en", now=LATER, ok=True).stdout
        assert "Opinions" in english and "Góp ý" not in english, english
        vietnamese = probe(*command, now=LATER, ok=True).stdout
        assert "Góp ý" in vietnamese and "Opinions" not in vietnamese, vietnamese
