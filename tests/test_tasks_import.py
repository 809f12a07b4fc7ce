"""Plans become tracked tasks: every shipped seed table imports, and one bad row rejects the whole file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.conftest import AUDITOR, ROOT

PLANS = ROOT / "engine" / "data" / "plans"
D = date.fromisoformat

# What each row's time phrase means, worked out by hand from the seed texts (STT → due date; None = no date).
SEED_000 = {"1": D("2021-12-31"), "2": D("2021-12-31"), "3": D("2022-12-31"),
            "4": D("2021-12-31"),  # "Hàng năm": the end of the current year, then yearly
            "5": None, "6": None,  # "Sau khi … được ban hành / ký kết": waits for the event
            "7": D("2022-12-31"), "8": D("2021-12-31")}
SEED_002 = {"I.1": D("2017-02-28"), "I.2": D("2017-05-31"), "I.3": D("2017-04-30"), "I.4": D("2017-05-31"),
            "I.5": D("2017-04-30"), "I.6": D("2017-04-30"), "I.7": D("2017-05-31"), "I.8": D("2017-06-30"),
            "II.1": D("2017-06-30"), "II.2": None, "II.3": D("2017-10-31"), "II.4": D("2017-08-31"),
            "II.5": D("2017-10-31"), "II.6": D("2017-12-31"), "II.7": D("2017-12-31"), "II.8": None, "II.9": None,
            "III.1": D("2018-05-31"), "III.2": D("2018-06-30"), "III.3": D("2018-07-31"), "III.4": D("2018-07-31"),
            "III.5": D("2018-07-31"), "III.6": D("2018-08-31")}
SEED_004 = {"2.4": [None, D("2024-07-31"), None], "2.5": [D("2024-07-31")], "2.6": [None],
            "2.7": [D("2024-09-30")] * 4, "2.8": [None], "2.9": [None]}


@pytest.mark.parametrize("plan, now, expected, tasks", [
    ("seed-000-de-an-hop-tac-quoc-te-2021.yaml", "2021-09-01T09:00:00+07:00", SEED_000, 11),
    ("seed-002-lo-trinh-nhat-ban-han-quoc-2017.yaml", "2017-04-05T09:00:00+07:00", SEED_002, 23),
    ("seed-004-ket-luan-ban-chi-dao-2024.yaml", "2024-06-21T09:00:00+07:00", SEED_004, 11),
])
def test_each_shipped_seed_table_opens_its_tasks_due_when_its_phrases_say(af, plan, now, expected, tasks):
    res = af.json("tasks", "import", str(PLANS / plan), now=now)
    assert len(res["tasks"]) == tasks and not res["dry_run"]
    seen: dict[str, list] = {}
    for task in res["tasks"]:
        shown = af.json("case", "show", task["id"], now=now)
        assert shown["workflow"] == "task" and shown["state"] == "assigned"
        due = shown["deadlines"][0]["due_date"]
        assert due == task["due_date"]  # the import's preview is what the engine then computed
        assert shown["fields"]["due_phrase"] == task["due_phrase"]
        seen.setdefault(task["row"].split("STT ")[1].rstrip(")"), []).append(D(due) if due else None)
    for stt, due in expected.items():
        assert seen[stt] == (due if isinstance(due, list) else [due] * len(seen[stt])), stt
    assert af.json("case", "list", "--workflow", "task", now=now).__len__() == tasks


def test_a_row_with_several_lead_units_becomes_one_task_each_and_groups_expand(af):
    res = af.json("tasks", "import", str(PLANS / "seed-000-de-an-hop-tac-quoc-te-2021.yaml"),
                  now="2021-09-01T09:00:00+07:00")
    row8 = [t for t in res["tasks"] if t["row"].endswith("(STT 8)")]
    assert [t["lead_unit"] for t in row8] == ["TPBG", "LNG", "YD", "VY"]
    assert all(t["cooperating_units"] == ["SNGV"] for t in row8)
    row1 = af.json("case", "show", res["tasks"][0]["id"])["fields"]
    assert row1["lead_unit"] == "SNGV" and "SNGV" not in row1["cooperating_units"]
    assert {"STP", "CA", "STC", "TPBG", "HH", "SD"} <= set(row1["cooperating_units"])  # sở, ngành + huyện


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["STT,Nhiệm vụ,Đơn vị chủ trì,Đơn vị phối hợp,Thời gian thực hiện,Ngày giao"] + rows)
                    + "\n", encoding="utf-8")
    return path


def test_a_plan_with_bad_rows_writes_nothing_and_lists_every_bad_row(af, tmp_path):
    plan = write_csv(tmp_path / "plan.csv", [
        '1,Ban hành hướng dẫn,Sở Ngoại vụ,Công an tỉnh,hoàn thành trong tháng 7/2024,2024-06-21',
        '2,Kế hoạch thực hiện thỏa thuận,SNGVV,,Quý III năm 2024,2024-06-21',
        '3,Báo cáo sơ kết,CA,,trong Quý V/2024,2024-06-21',
        '4,Kế hoạch năm,TPBG,kind:nowhere,Năm 2024,31/02/2024',
    ])
    before = af.snapshot()
    res = af("tasks", "import", str(plan), "--lang", "en", now="2024-06-21T09:00:00+07:00")
    assert res.exit_code == 2
    assert "4 problem(s) — nothing was written" in res.stderr
    assert "row 3 (STT 2): unknown unit 'SNGVV' — did you mean 'SNGV'?" in res.stderr
    assert "row 4 (STT 3): the time phrase 'trong Quý V/2024' cannot be read" in res.stderr
    assert "row 5 (STT 4): no active unit of kind 'nowhere'" in res.stderr
    assert "row 5 (STT 4): assigned_on '31/02/2024' is not a date" in res.stderr
    assert "row 2" not in res.stderr and "Accepted time phrases:\n  · " in res.stderr
    assert af.snapshot() == before


def test_csv_and_xlsx_plans_take_vietnamese_headers_unit_names_and_real_date_cells(af, tmp_path):
    plan = write_csv(tmp_path / "plan.csv", [
        '1,Ban hành hướng dẫn,Sở Ngoại vụ,"Sở Văn hóa, Thể thao và Du lịch; Công an tỉnh",tháng 7/2024,21/06/2024',
        '2,Kế hoạch thông tin,STTTT,"SD,LG",Quý III năm 2024,',
    ])
    res = af.json("tasks", "import", str(plan), now="2024-06-21T09:00:00+07:00")
    assert [(t["lead_unit"], t["cooperating_units"], t["due_date"]) for t in res["tasks"]] == [
        ("SNGV", ["SVHTTDL", "CA"], "2024-07-31"), ("STTTT", ["SD", "LG"], "2024-09-30")]
    wb = Workbook()
    ws = wb.active
    ws.append(["title", "lead_unit", "cooperating_units", "due_phrase", "assigned_on", "source_document"])
    ws.append(["Kế hoạch quảng bá văn hóa", "SVHTTDL", "SNGV", "trong vòng 10 ngày làm việc", D("2024-07-01"),
               "Thông báo 123/TB-UBND"])
    wb.save(tmp_path / "plan.xlsx")
    res = af.json("tasks", "import", str(tmp_path / "plan.xlsx"), now="2024-07-01T09:00:00+07:00")
    (task,) = res["tasks"]
    assert task["due_date"] == "2024-07-15" and task["assigned_on"] == "2024-07-01"  # 10 working days from 01/07
    shown = af.json("case", "show", task["id"])
    assert shown["fields"]["source_document"] == "Thông báo 123/TB-UBND"


def test_dry_run_checks_without_writing_and_a_second_import_is_refused(af):
    plan = str(PLANS / "seed-004-ket-luan-ban-chi-dao-2024.yaml")
    before = af.snapshot()
    dry = af.json("tasks", "import", plan, "--dry-run", now="2024-06-21T09:00:00+07:00")
    assert dry["dry_run"] and len(dry["tasks"]) == 11 and all(t["id"] is None for t in dry["tasks"])
    assert af.snapshot() == before
    without_log = af.snapshot(but=("security_log",))
    res = af("tasks", "import", plan, user=AUDITOR, now="2024-06-21T09:00:00+07:00")
    assert res.exit_code == 3 and af.snapshot(but=("security_log",)) == without_log  # only the refusal is logged
    af("tasks", "import", plan, now="2024-06-21T09:00:00+07:00", ok=True)
    again = af("tasks", "import", plan, "--lang", "en", now="2024-06-22T09:00:00+07:00")
    assert again.exit_code == 2 and again.stderr.count("already imported as NV-2024-") == 11


def test_unreadable_plans_exit_2_with_the_reason(af, tmp_path):
    (tmp_path / "plan.txt").write_text("x", encoding="utf-8")
    (tmp_path / "plan.xlsx").write_bytes(b"not a zip")
    (tmp_path / "cols.csv").write_text("Nhiệm vụ,Hạn chót gì đó\nA,B\n", encoding="utf-8")
    for name, text in (("plan.txt", ".csv, .xlsx"), ("plan.xlsx", "không đọc được"), ("missing.csv", "không tìm thấy"),
                       ("cols.csv", "Hạn chót gì đó")):
        res = af("tasks", "import", str(tmp_path / name))
        assert res.exit_code == 2 and text in res.stderr, res.stderr
