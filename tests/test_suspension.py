"""The suspension ledger: a stopped legal clock shows in case show and history, and moves deadlines exactly."""

from __future__ import annotations

import re
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreeflow.engine import service
from agreeflow.engine.core import clock, db
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import calendar as legal_calendar
from tests.conftest import COORD, OFFICER_CA

WORKFLOWS = Path(__file__).parent / "fixtures" / "calendar-workflows"
CAL = legal_calendar.load()


def test_suspended_case_shows_since_when_and_why_then_the_new_due_dates_and_their_step(af):
    ref = af("case", "open", "task", "--title", "Dịch thỏa thuận", "--field", "lead_unit=SNGV",
             "--field", "due_phrase=trong vòng 10 ngày làm việc", "--field", "assigned_on=2025-01-20",
             now="2025-01-20T09:00:00+07:00", ok=True).stdout.strip()
    af("case", "suspend", ref, "--reason", "Hồ sơ chưa đủ bản dịch", now="2025-02-03T09:00:00+07:00", ok=True)

    shown = af.json("case", "show", ref, now="2025-02-05T09:00:00+07:00")
    assert shown["suspension"] == {"since": "2025-02-03", "since_at": "2025-02-03T02:00:00.000000Z",
                                   "reason": "Hồ sơ chưa đủ bản dịch", "working_days_so_far": 2}
    text = af("case", "show", ref, now="2025-02-05T09:00:00+07:00", ok=True).stdout
    assert "Đang tạm dừng tính hạn từ 03/02/2025 — lý do: Hồ sơ chưa đủ bản dịch; đã tạm dừng 2 ngày làm việc" in text

    af("case", "resume", ref, now="2025-02-06T09:00:00+07:00", ok=True)
    shown = af.json("case", "show", ref, lang="en", now="2025-02-06T09:00:00+07:00")
    assert shown["suspension"] is None and shown["suspended_since"] is None
    due = shown["deadlines"][0]
    assert due["due_date"] == "2025-02-13"
    assert due["explanation"][-1] == ("Suspended for 3 working days (03/02/2025 – 06/02/2025): "
                                      "due moved from 10/02/2025 to 13/02/2025")

    events = {e["kind"]: e for e in af.json("case", "history", ref)}
    assert events["suspended"]["note"] == "Hồ sơ chưa đủ bản dịch"
    assert events["deadline_moved"]["payload"].items() >= {
        "before": "2025-02-10", "after": "2025-02-13", "working_days": 3, "why": "suspension",
        "reason": "Hồ sơ chưa đủ bản dịch"}.items()
    resumed = events["resumed"]["payload"]
    assert (resumed["since"], resumed["until"], resumed["working_days"], resumed["reason"]) == (
        "2025-02-03", "2025-02-06", 3, "Hồ sơ chưa đủ bản dịch")
    assert [(d["before"], d["after"]) for d in resumed["deadlines"]] == [("2025-02-10", "2025-02-13")]
    vi = _cells(af("case", "history", ref, ok=True).stdout)
    en = _cells(af("case", "history", ref, "--lang", "en", ok=True).stdout)
    assert "Tạm dừng từ 03/02/2025: Hồ sơ chưa đủ bản dịch" in vi
    assert "Tiếp tục: đã tạm dừng 03/02/2025 – 06/02/2025 (3 ngày làm việc; lý do: Hồ sơ chưa đủ bản dịch)" in vi
    assert "Resumed: suspended 03/02/2025 – 06/02/2025 (3 working days" in en
    assert "10/02/2025 → 13/02/2025" in en
    af("audit", "verify", ok=True)


def _cells(table: str) -> str:
    """A rendered table's text with the borders gone, so a note wrapped over lines reads as one."""
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩┢┪└┘┌┐━─┳┻╇╈┼┴┬]", " ", table).split())


# ------------------------------------------------------------------ property, through the service
def _at(d: date, hour: int = 9) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=clock.VN)



def test_an_officer_of_another_unit_is_refused_suspend_and_resume_by_the_unit_scope_rule_and_it_is_logged(af):
    ref = af("case", "open", "task", "--title", "Dịch thỏa thuận", "--field", "lead_unit=SNGV",
             "--field", "due_phrase=trong vòng 10 ngày làm việc", "--field", "assigned_on=2025-01-20",
             now="2025-01-20T09:00:00+07:00", ok=True).stdout.strip()
    for action, extra in (("suspend", ("--reason", "Thiếu bản dịch")), ("resume", ())):
        vi = af("case", action, ref, *extra, user=OFFICER_CA, now="2025-02-03T09:00:00+07:00")
        assert vi.exit_code == 3
        assert "phạm vi đơn vị" in vi.stderr and "SNGV" in vi.stderr and "cần vai trò" not in vi.stderr
        en = af("case", action, ref, *extra, user=OFFICER_CA, lang="en", now="2025-02-03T09:00:00+07:00")
        assert en.exit_code == 3 and "unit-scope rule" in en.stderr
    refused = [e for e in af.json("case", "history", ref) if e["kind"] == "refused"]
    assert [(e["actor"], e["trigger"]) for e in refused] == [(OFFICER_CA, "suspend")] * 2 + [(OFFICER_CA, "resume")] * 2
    assert af.json("case", "show", ref)["suspension"] is None

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opened=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31)),
       after=st.integers(min_value=0, max_value=20), length=st.integers(min_value=0, max_value=30))
def test_suspending_for_k_working_days_moves_every_open_deadline_by_exactly_k(
        monkeypatch: pytest.MonkeyPatch, opened: date, after: int, length: int) -> None:
    monkeypatch.setenv("AGREEFLOW_WORKFLOWS", str(WORKFLOWS))
    stop, restart = opened + timedelta(days=after), opened + timedelta(days=after + length)
    k = CAL.working_days_between(stop, restart)
    with tempfile.TemporaryDirectory() as home:
        cfg = Settings(data_dir=Path(home), user=COORD)
        try:
            clock.set_now(_at(opened))
            service.init(cfg, simulation=True)
            ref = service.open_case(cfg, "timers", "Thuộc tính tạm dừng", {
                "lead_unit": "SNGV", "signed_on": opened.isoformat(), "assigned_on": opened.isoformat(),
                "due_phrase": "hoàn thành trong tháng 12/2026"})["id"]
            clock.set_now(_at(stop))
            before = {d["key"]: d["due_date"] for d in service.suspend(cfg, ref, "thiếu hồ sơ")["deadlines"]}
            clock.set_now(_at(restart, 10))
            after_ = {d["key"]: d["due_date"] for d in service.resume(cfg, ref)["deadlines"]}
        finally:
            clock.set_now(None)
            db.dispose_all()
    assert len(before) == 3 and before.keys() == after_.keys()
    for key, was in before.items():
        now = date.fromisoformat(after_[key])
        assert CAL.working_days_between(date.fromisoformat(was), now) == k, (key, was, now, k)
        assert k == 0 and now == date.fromisoformat(was) or CAL.is_working(now)
