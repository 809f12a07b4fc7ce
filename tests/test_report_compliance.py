"""Compliance: every statutory step and assigned task is on time, late by N working days, or open and overdue.

July–August 2024 has no public holiday in Vietnam, so the working days below
are the weekdays, counted by hand.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
MAP = str(FIXTURES / "report-map.yaml")
AS_OF = "2024-08-06T09:00:00+07:00"  # a Tuesday


def at(day: str) -> str:
    return f"{day}T10:00:00+07:00"


@pytest.fixture
def deadlines_kept_and_missed(af, workflows_copy):
    shutil.copy(FIXTURES / "report-workflows" / "t_agreement.yaml", workflows_copy / "t_agreement.yaml")
    refs = {}
    # Drafts: the Justice Department (STP) has 7 working days for its opinions.
    for name, opened, signed in (("kept", "2024-07-01", "2024-07-05"),     # due Wed 10/07, done Fri 05/07
                                 ("late", "2024-07-01", "2024-07-12"),     # due Wed 10/07, done Fri 12/07
                                 ("overdue", "2024-07-15", None)):         # due Wed 24/07, still drafting
        refs[name] = af("case", "open", "t_agreement", "--title", f"Dự thảo {name}", "--field", "proposer=SNGV",
                        "--field", "signing_level=province", now=at(opened), ok=True).stdout.strip()
        if signed:
            af("case", "fire", refs[name], "sign", now=at(signed), ok=True)
    af.home.mkdir(parents=True, exist_ok=True)
    (af.home / "kq.pdf").write_bytes(b"%PDF-1.4")
    for name, unit, phrase, done in (("task_on_time", "SNGV", "hoàn thành trong tháng 7/2024", "2024-07-25"),
                                     ("task_late", "CA", "hoàn thành trong tháng 7/2024", "2024-08-05"),
                                     ("task_open", "TPBG", "trong Quý III năm 2024", None)):
        refs[name] = af("case", "open", "task", "--title", name, "--field", f"lead_unit={unit}",
                        "--field", f"due_phrase={phrase}", "--field", "assigned_on=2024-06-21",
                        "--field", "source_document=Thông báo kết luận 21/6/2024", now=at("2024-06-21"),
                        ok=True).stdout.strip()
        if done:
            af("case", "fire", refs[name], "start", now=at("2024-07-01"), ok=True)
            af("case", "fire", refs[name], "report", "--field", "result_document=Văn bản",
               "--attach", f"result={af.home / 'kq.pdf'}", now=at(done), ok=True)
    return af, refs


def test_each_step_and_task_gets_its_outcome_and_working_days(deadlines_kept_and_missed):
    af, refs = deadlines_kept_and_missed
    rep = af.json("report", "compliance", "--map", MAP, now=AS_OF)
    rows = {r["case"]: r for r in rep["rows"]}
    assert set(rows) == set(refs.values())  # a task is judged once, not by its state timers
    got = {name: (rows[ref]["outcome"], rows[ref]["working_days"]) for name, ref in refs.items()}
    assert got == {"kept": ("on_time", 3),          # 08, 09, 10 July to spare
                   "late": ("late", 2),             # 11, 12 July
                   "overdue": ("overdue", 9),       # 25, 26, 29, 30, 31 July, 1, 2, 5, 6 August
                   "task_on_time": ("on_time", 4),  # 26, 29, 30, 31 July to spare
                   "task_late": ("late", 3),        # 1, 2, 5 August
                   "task_open": ("open", 37)}       # 18 in August after the 6th, 19 in September (2, 3 off)
    step = rows[refs["late"]]
    assert (step["unit"], step["step"], step["citation"]) == ("STP", "Góp ý dự thảo", "Luật 70/2020/QH14 (thử nghiệm)")
    assert rows[refs["task_late"]]["citation"] == "Thông báo kết luận 21/6/2024"
    by_unit = {g["unit"]: (g["on_time"], g["late"], g["overdue"], g["open"]) for g in rep["by_unit"]}
    assert by_unit == {"STP": (1, 1, 1, 0), "SNGV": (1, 0, 0, 0), "CA": (0, 1, 0, 0), "TPBG": (0, 0, 0, 1)}
    by_step = {(g["workflow"], g["step"]): g["total"] for g in rep["by_step"]}
    assert by_step == {("t_agreement", "Góp ý dự thảo"): 3, ("task", "Hạn hoàn thành nhiệm vụ"): 3}
    screen = af("report", "compliance", "--map", MAP, "--lang", "en", now=AS_OF, ok=True).stdout
    assert "Deadlines kept, by unit" in screen and "Done late (2 working days)" in screen
    assert "Open, overdue (9 working days)" in screen and "Luật 70/2020/QH14 (thử nghiệm)" in screen


def test_unit_and_period_narrow_the_report_and_bad_options_exit_2(deadlines_kept_and_missed):
    af, refs = deadlines_kept_and_missed
    stp = af.json("report", "compliance", "--map", MAP, "--unit", "STP", now=AS_OF)
    assert {r["unit"] for r in stp["rows"]} == {"STP"} and len(stp["rows"]) == 3
    july = af.json("report", "compliance", "--map", MAP, "--from", "2024-07-01", "--to", "2024-07-31", now=AS_OF)
    assert {r["case"] for r in july["rows"]} == set(refs.values()) - {refs["task_open"]}  # due 30/09
    for args, text in ((["--unit", "STPP"], "Có phải 'STP'?"), (["--from", "hôm qua"], "--from"),
                       (["--from", "2024-08-01", "--to", "2024-07-01"], "--to phải sau --from")):
        res = af("report", "compliance", "--map", MAP, *args, now=AS_OF)
        assert res.exit_code == 2 and text in res.stderr
