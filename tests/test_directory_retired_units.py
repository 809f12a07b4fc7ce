"""A retired unit is named as retired, with its date — never "did you mean" another body — and units are checked
on the day a task was assigned: the 2024 seed plan imports today (issue 15, point 9)."""

from __future__ import annotations

from datetime import date

from tests.conftest import ROOT
from tests.test_tasks_import import SEED_004, write_csv

SEED_004_FILE = ROOT / "engine" / "data" / "plans" / "seed-004-ket-luan-ban-chi-dao-2024.yaml"


def test_the_2024_plan_imports_without_now_because_its_units_are_checked_on_21_06_2024(af):
    assert date.today() > date(2025, 6, 30)  # the districts it names have ceased by the real clock
    res = af.json("tasks", "import", str(SEED_004_FILE))
    assert len(res["tasks"]) == 11
    seen: dict[str, list] = {}
    for task in res["tasks"]:
        seen.setdefault(task["row"].split("STT ")[1].rstrip(")"), []).append(
            date.fromisoformat(task["due_date"]) if task["due_date"] else None)
    assert seen == {stt: due if isinstance(due, list) else [due] for stt, due in SEED_004.items()}
    lucngan = [t for t in res["tasks"] if t["lead_unit"] == "LNG"]
    assert len(lucngan) == 2 and all(t["assigned_on"] == "2024-06-21" for t in lucngan)
    shown = af.json("case", "show", lucngan[0]["id"])
    assert shown["unit"] == "LNG" and shown["fields"]["lead_unit"] == "LNG"
    assert shown["deadlines"][0]["due_date"] == "2024-09-30" and shown["deadlines"][0]["unit"] == "LNG"


def test_a_plan_naming_a_district_after_30_06_2025_names_it_as_retired(af, tmp_path):
    plan = write_csv(tmp_path / "plan.csv", [
        "1,Kế hoạch thực hiện thỏa thuận,LNG,,Quý III năm 2025,2025-07-15",
        "2,Kế hoạch thực hiện thỏa thuận,UBND huyện Lục Ngạn,BNG;TPBG,Quý III năm 2025,2025-07-15",
        "3,Kế hoạch thực hiện thỏa thuận,LNG,,Quý II năm 2025,2025-06-21",
        "4,Kế hoạch năm,kind:district,,Năm 2025,2025-07-15",
    ])
    before = af.snapshot()
    res = af("tasks", "import", str(plan), "--lang", "en", now="2025-07-20T09:00:00+07:00")
    assert res.exit_code == 2
    retired = ("UBND huyện Lục Ngạn (LNG) is no longer active from 01/07/2025 — "
               "the task is assigned on 15/07/2025 (assigned_on, else the day of import)")
    assert f"row 2 (STT 1): {retired}" in res.stderr
    assert f"row 3 (STT 2): {retired}" in res.stderr
    assert "row 3 (STT 2): UBND thành phố Bắc Giang (TPBG) is no longer active from 01/07/2025" in res.stderr
    assert "row 4 (STT 3)" not in res.stderr  # assigned on 21/06/2025: Lục Ngạn still existed
    assert "row 5 (STT 4): no active unit of kind 'district' on 15/07/2025" in res.stderr
    assert "did you mean" not in res.stderr and "4 problem(s)" in res.stderr
    assert af.snapshot() == before


def test_a_unit_field_names_a_retired_unit_with_its_date_and_suggests_only_active_units(af):
    args = ("case", "open", "task", "--title", "Kế hoạch", "--field", "due_phrase=Năm 2025", "--lang", "en")
    res = af(*args, "--field", "lead_unit=LNG", now="2025-07-02T09:00")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        "No active unit 'LNG' on 02/07/2025: Luc Ngan District People's Committee (LNG) is no longer active from "
        "01/07/2025. Name the unit that took over its work (see: agreeflow directory show); its open work moves to "
        "that unit with: agreeflow directory transfer LNG NEW --from 01/07/2025")
    vi = af(*args[:-2], "--field", "lead_unit=LNG", now="2025-07-02T09:00")
    assert vi.stderr.startswith("Không có đơn vị 'LNG' đang hoạt động ngày 02/07/2025: UBND huyện Lục Ngạn (LNG) "
                                "thôi hoạt động từ 01/07/2025.")
    res = af(*args, "--field", "lead_unit=SNGV", "--field", "cooperating_units=STP,SKHDT", now="2025-07-02T09:00")
    assert res.exit_code == 2 and "Department of Planning and Investment (SKHDT) is no longer active from 01/03/2025" \
        in res.stderr
    res = af(*args, "--field", "lead_unit=LNGV", now="2025-07-02T09:00")
    assert res.exit_code == 2 and "Unknown unit" not in res.stderr and "'LNG'" not in res.stderr
    # Assigned before the reorganisation: the unit is checked on that day, and the task opens.
    opened = af(*args, "--field", "lead_unit=LNG", "--field", "assigned_on=2025-06-20", now="2025-07-02T09:00", ok=True)
    assert af.json("case", "show", opened.stdout.strip())["fields"]["lead_unit"] == "LNG"


def test_a_unit_not_yet_active_says_from_when(af, tmp_path):
    path = tmp_path / "directory.yaml"
    text = (ROOT / "engine" / "data" / "directory-bac-giang-2024.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("people:\n", "  - {code: XNEW, name_vi: \"UBND xã mới\", parent: UBND, kind: commune, "
                                              "active_from: 2025-07-01}\npeople:\n"), encoding="utf-8")
    af("directory", "load", str(path), user="quantri@bacgiang.example", now="2024-05-01T09:00", ok=True)
    res = af("case", "open", "task", "--title", "x", "--field", "lead_unit=XNEW", "--field", "due_phrase=Năm 2024",
             "--lang", "en", now="2024-05-02T09:00")
    assert res.exit_code == 2 and "No active unit 'XNEW' on 02/05/2024: UBND xã mới (XNEW) is active only from " \
                                  "01/07/2025. See: agreeflow directory show" in res.stderr
