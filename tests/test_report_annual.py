"""A year of activity gives the annual report's numbers — on screen, in JSON, in XLSX and in DOCX.

The workflows are test fixtures with their own ids and the report map that
gives them meaning, so the report is shown to depend on the map only.  The
expected numbers are worked out here from the scenario itself.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
MAP = str(FIXTURES / "report-map.yaml")
YEAR = 2024
REPORT_AT = "2025-01-10T09:00:00+07:00"

# name, signing level, partner, opened, [(day, trigger)]
AGREEMENTS = [
    ("A1", "province", "Tỉnh Xay Sôm Bun (Lào)", "2023-11-01",
     [("2023-12-20", "sign"), ("2024-01-10", "enter_into_force"), ("2024-05-15", "amend")]),
    ("A2", "province", "Tỉnh Gifu (Nhật Bản)", "2024-02-01",
     [("2024-03-15", "sign"), ("2024-04-01", "enter_into_force"), ("2024-12-31", "expire")]),
    ("A3", "district", "Quận Seo, Daejeon (Hàn Quốc)", "2024-03-01", [("2024-06-10", "sign"), ("2024-06-20", "enter_into_force")]),
    ("A4", "agency", "Thành phố Nam Ninh (Trung Quốc)", "2024-04-01", [("2024-08-01", "sign"), ("2024-10-01", "terminate")]),
    ("A5", "district", "Huyện Hà Khẩu (Trung Quốc)", "2024-09-02", [("2025-01-05", "sign")]),
    ("A6", "province", "Tỉnh Chi Ba (Nhật Bản)", "2024-10-01", [("2024-10-05", "reject")]),
]
STATE_AFTER = {"sign": "signed", "enter_into_force": "in_force", "amend": "in_force", "expire": "expired",
               "terminate": "terminated", "reject": "rejected"}
# name, direction, country, purpose, opened, [(day, trigger)], flag
DELEGATIONS = [
    ("D1", "out", "Nhật Bản", "học tập", "2024-02-01", [("2024-03-01", "approve")], ""),
    ("D2", "out", "Hàn Quốc", "công tác", "2024-04-01", [("2024-05-10", "approve"), ("2024-05-30", "close")], ""),
    ("D3", "out", "Nhật Bản", "công tác", "2023-12-01", [("2023-12-20", "approve")], ""),
    ("D4", "in", "Lào", "công tác", "2024-06-01", [("2024-07-01", "approve")], ""),
    ("D5", "in", "Trung Quốc", "thương mại", "2024-07-15", [("2024-08-01", "refuse")], ""),
    ("D6", "in", "Hàn Quốc", "thương mại", "2024-09-15", [], "unapproved"),
    ("D7", "out", "Nhật Bản", "học tập", "2024-12-20", [("2025-01-03", "approve")], ""),
]
# name, opened, [(day, trigger, answering unit)]: "agree"/"comment" are answers in a child case
CONSULTATIONS = [
    ("C1", "2024-03-29", [("2024-04-02", "agree", "SD"), ("2024-04-05", "comment", "LG"), ("2024-08-09", "close", "")]),
    ("C2", "2023-12-01", [("2023-12-10", "agree", "YD"), ("2024-01-15", "close", "")]),
    ("C3", "2024-11-01", [("2024-11-05", "agree", "VY")]),
]
# name, lead unit, phrase, assigned on, [(day, trigger)]
TASKS = [
    ("T1", "SNGV", "hoàn thành trong tháng 7/2024", "2024-06-21", [("2024-07-25", "report")]),
    ("T2", "CA", "hoàn thành trong tháng 7/2024", "2024-06-21", [("2024-08-05", "report")]),
    ("T3", "TPBG", "ban hành kế hoạch trong Quý III năm 2024", "2024-06-21", []),
    ("T4", "LNG", "Năm 2025", "2024-06-21", []),
    ("T5", "LHHN", "Thường xuyên", "2024-06-21", []),
    ("T6", "SNGV", "trong tháng 12/2024", "2024-06-21", [("2024-07-01", "cancel")]),
    ("T7", "SNGV", "Năm 2023", "2023-03-01", [("2023-06-01", "report")]),
]
PHRASE_DUE = {"hoàn thành trong tháng 7/2024": "2024-07-31", "ban hành kế hoạch trong Quý III năm 2024": "2024-09-30",
              "Năm 2025": "2025-12-31", "Thường xuyên": None, "trong tháng 12/2024": "2024-12-31", "Năm 2023": "2023-12-31"}


def at(day: str) -> str:
    return f"{day}T10:00:00+07:00"


def in_year(day: str | None) -> bool:
    return day is not None and day.startswith(str(YEAR))


@pytest.fixture
def year_of_activity(af, workflows_copy):
    for f in (FIXTURES / "report-workflows").glob("*.yaml"):
        shutil.copy(f, workflows_copy / f.name)
    af.home.mkdir(parents=True, exist_ok=True)
    result = af.home / "ket-qua.pdf"
    result.write_bytes(b"%PDF-1.4 result")

    def open_case(workflow: str, title: str, opened: str, **fields: str) -> str:
        args = [a for k, v in fields.items() for a in ("--field", f"{k}={v}")]
        return af("case", "open", workflow, "--title", title, *args, now=at(opened), ok=True).stdout.strip()

    for name, level, partner, opened, steps in AGREEMENTS:
        ref = open_case("t_agreement", f"Thỏa thuận {name} với {partner}", opened, proposer="SNGV",
                        signing_level=level, partner=partner)
        for day, trigger in steps:
            af("case", "fire", ref, trigger, now=at(day), ok=True)
    for name, direction, country, purpose, opened, steps, flag in DELEGATIONS:
        ref = open_case("t_delegation", f"Đoàn {name} — {country}", opened, host_unit="SNGV", direction=direction,
                        country=country, purpose=purpose, **({"_flags": flag} if flag else {}))
        for day, trigger in steps:
            af("case", "fire", ref, trigger, now=at(day), ok=True)
    for name, opened, steps in CONSULTATIONS:
        ref = open_case("t_consultation", f"Lấy ý kiến {name}", opened, owner="SNGV")
        for day, trigger, unit in steps:
            if unit:
                answer = af("case", "open", "t_reply", "--title", f"{name}: {unit}", "--parent", ref, "--field",
                            f"addressee={unit}", now=at(opened), ok=True).stdout.strip()
                af("case", "fire", answer, trigger, now=at(day), ok=True)
            else:
                af("case", "fire", ref, trigger, now=at(day), ok=True)
    for name, unit, phrase, assigned, steps in TASKS:
        ref = open_case("task", f"Nhiệm vụ {name}", assigned, lead_unit=unit, due_phrase=phrase, assigned_on=assigned)
        for day, trigger in steps:
            extra = ["--field", "result_document=Văn bản kết quả", "--attach", f"result={result}"] \
                if trigger == "report" else []
            af("case", "fire", ref, trigger, *extra, now=at(day), ok=True)
    return af


def expected_numbers() -> dict:
    """The report's numbers, worked out from the scenario tables above."""
    def level(lv: str) -> str:
        return "province" if lv == "province" else "local"

    ag = {m: {"province": 0, "local": 0} for m in ("signed", "in_force", "amended", "expired", "terminated")}
    for _, lv, _, _, steps in AGREEMENTS:
        for measure, trigger in (("signed", "sign"), ("amended", "amend"), ("expired", "expire"),
                                 ("terminated", "terminate")):
            ag[measure][level(lv)] += any(t == trigger and in_year(d) for d, t in steps)
        state = "drafting"
        for d, t in steps:
            if d <= f"{YEAR}-12-31":
                state = STATE_AFTER[t]
        ag["in_force"][level(lv)] += state == "in_force"
    for row in ag.values():
        row["total"] = row["province"] + row["local"]
    approved = [(dr, c, p) for _, dr, c, p, _, steps, _ in DELEGATIONS
                if any(t == "approve" and in_year(d) for d, t in steps)]
    tasks = {"on_time": 0, "late": 0, "overdue": 0, "open": 0, "no_due_date": 0}
    for _, _, phrase, assigned, steps in TASKS:
        due = PHRASE_DUE[phrase]
        if any(t == "cancel" for _, t in steps) or not (in_year(due) or (due is None and in_year(assigned))):
            continue
        done = next((d for d, t in steps if t == "report"), None)
        tasks["no_due_date" if due is None else ("on_time" if done <= due else "late") if done else
              ("overdue" if due < REPORT_AT[:10] else "open")] += 1
    return {
        "agreements": ag,
        "outbound": sum(1 for a in approved if a[0] == "out"), "inbound": sum(1 for a in approved if a[0] == "in"),
        "unapproved": sum(1 for *_, opened, _, flag in DELEGATIONS if flag and in_year(opened)),
        "by_country": sorted({(dr, c, sum(1 for a in approved if a[:2] == (dr, c))) for dr, c, _ in approved}),
        "opened": sum(1 for _, opened, _ in CONSULTATIONS if in_year(opened)),
        "closed": sum(1 for *_, steps in CONSULTATIONS for d, t, _ in steps if t == "close" and in_year(d)),
        "replies": {s: sum(1 for *_, steps in CONSULTATIONS for d, t, _ in steps if t == a and in_year(d))
                    for s, a in (("agreed", "agree"), ("commented", "comment"))},
        "tasks": tasks,
    }


def test_annual_report_counts_what_happened_in_the_year(year_of_activity):
    af, want = year_of_activity, expected_numbers()
    rep = af.json("report", "annual", "--year", str(YEAR), "--map", MAP, now=REPORT_AT)
    assert rep["province"] == "Bắc Giang" and rep["issuer"] == "Sở Ngoại vụ" and rep["warnings"] == []
    assert rep["agreements"]["counts"] == want["agreements"]
    assert want["agreements"]["signed"] == {"province": 1, "local": 2, "total": 3}  # the scenario is not trivial
    de = rep["delegations"]
    assert (de["approved"]["outbound"], de["approved"]["inbound"], de["unapproved_count"]) == \
        (want["outbound"], want["inbound"], want["unapproved"]) == (2, 1, 1)
    short = {"outbound": "out", "inbound": "in"}
    assert sorted((short[r["direction"]], r["country"], r["count"]) for r in de["by_country"]) == want["by_country"]
    assert [r["country"] for r in de["unapproved"]] == ["Hàn Quốc"]
    co = rep["consultations"]
    assert (co["opened"], co["closed"], co["replies"]) == \
        (want["opened"], want["closed"], want["replies"]) == (2, 2, {"agreed": 2, "commented": 1})
    assert rep["tasks"]["counts"] == want["tasks"] == {"on_time": 1, "late": 1, "overdue": 1, "open": 0, "no_due_date": 1}
    late = next(r for r in rep["tasks"]["rows"] if r["outcome"] == "late")
    assert late["working_days"] == 3  # due Wed 31/07, done Mon 05/08: 1, 2 and 5 August
    screen = af("report", "annual", "--year", str(YEAR), "--map", MAP, now=REPORT_AT, ok=True).stdout
    assert "Báo cáo kết quả công tác đối ngoại năm 2024" in screen and "Ký kết trong năm" in screen
    assert "Đoàn hoạt động không xin phép" in screen and "Ý kiến trả lời: Nhất trí" in screen


def sheet_numbers(ws) -> dict[str, list]:
    """Rows whose first cell is text and whose other cells are numbers: indicator → numbers."""
    out = {}
    for row in ws.iter_rows(values_only=True):
        cells = [c for c in row if c is not None]
        if len(cells) > 1 and isinstance(cells[0], str) and all(isinstance(c, int) for c in cells[1:]):
            out[cells[0]] = cells[1:]
    return out


def test_xlsx_and_docx_hold_the_same_numbers(year_of_activity, tmp_path):
    af, want = year_of_activity, expected_numbers()
    cp = tmp_path / "checkpoint.json"
    af("audit", "checkpoint", "-o", str(cp), now=REPORT_AT, ok=True)
    xlsx, docx = tmp_path / "bao-cao-2024.xlsx", tmp_path / "bao-cao-2024.docx"
    rep = af.json("report", "annual", "--year", str(YEAR), "--map", MAP, "--xlsx", str(xlsx), "--docx", str(docx),
                  "--checkpoint", str(cp), now=REPORT_AT)
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Thỏa thuận quốc tế", "Đoàn ra, đoàn vào", "Lấy ý kiến", "Nhiệm vụ được giao"]
    agreements = sheet_numbers(wb["Thỏa thuận quốc tế"])
    ag = want["agreements"]
    assert agreements["Ký kết trong năm"] == [ag["signed"]["province"], ag["signed"]["local"], ag["signed"]["total"]]
    assert agreements["Còn hiệu lực đến 31/12"] == [ag["in_force"]["province"], ag["in_force"]["local"],
                                                   ag["in_force"]["total"]]
    assert agreements["Chấm dứt"] == [0, 1, 1] and agreements["Hết hiệu lực"] == [1, 0, 1]
    delegations = sheet_numbers(wb["Đoàn ra, đoàn vào"])
    assert delegations["Đoàn ra được phê duyệt"] == [want["outbound"]]
    assert delegations["Đoàn hoạt động không xin phép"] == [want["unapproved"]]
    assert sheet_numbers(wb["Nhiệm vụ được giao"])["Trễ hạn"] == [want["tasks"]["late"]]
    ws = wb["Thỏa thuận quốc tế"]
    assert ws["A4"].font.bold and ws["A5"].font.bold and ws.column_dimensions["A"].width > 8
    dated = [c for row in ws.iter_rows() for c in row if c.is_date]
    assert dated and all(isinstance(c.value, datetime) and c.number_format == "DD/MM/YYYY" for c in dated)
    assert date(2024, 3, 15) in {c.value.date() for c in dated}  # A2 signed

    doc = Document(str(docx))
    head = doc.tables[0]
    assert head.cell(0, 0).text.splitlines() == ["UBND TỈNH BẮC GIANG", "SỞ NGOẠI VỤ"]
    assert head.cell(0, 1).text.splitlines() == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert (head.cell(1, 0).text, head.cell(1, 1).text) == ("Số:         /BC-SNgV", "Bắc Giang, ngày 10 tháng 01 năm 2025")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "BÁO CÁO" in text and "Kính gửi: Ủy ban nhân dân tỉnh Bắc Giang." in text
    assert "I. THỎA THUẬN QUỐC TẾ" in text and "IV. NHIỆM VỤ ĐƯỢC GIAO" in text
    assert rep["log_checkpoint"]["root"] in text
    summary = next(t for t in doc.tables[1:] if t.cell(0, 0).text == "Chỉ tiêu" and len(t.columns) == 4)
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in summary.rows}
    assert rows["Ký kết trong năm"] == [str(ag["signed"]["province"]), str(ag["signed"]["local"]),
                                        str(ag["signed"]["total"])]


def test_annual_report_in_english(year_of_activity, tmp_path):
    af = year_of_activity
    docx = tmp_path / "report.docx"
    screen = af("report", "annual", "--year", str(YEAR), "--map", MAP, "--lang", "en", "--docx", str(docx),
                now=REPORT_AT, ok=True).stdout
    assert "Foreign affairs report for 2024" in screen and "Signed during the year" in screen
    doc = Document(str(docx))
    assert doc.tables[0].cell(0, 1).text.splitlines() == ["SOCIALIST REPUBLIC OF VIET NAM",
                                                         "Independence - Freedom - Happiness"]


def test_a_map_that_names_what_no_workflow_has_warns_and_a_broken_map_exits_2(af, workflows_copy, tmp_path):
    for f in (FIXTURES / "report-workflows").glob("*.yaml"):
        shutil.copy(f, workflows_copy / f.name)
    text = (FIXTURES / "report-map.yaml").read_text(encoding="utf-8")
    drifted = tmp_path / "drifted.yaml"
    drifted.write_text(text.replace("states: [expired]", "states: [expird]").replace("[t_consultation]", "[t_consult]"),
                       encoding="utf-8")
    res = af("report", "annual", "--year", "2024", "--map", str(drifted), ok=True)  # Vietnamese by default
    assert "không có bước 'expird' trong t_agreement" in res.stderr and "không có quy trình 't_consult'" in res.stderr
    res = af("report", "annual", "--year", "2024", "--map", str(drifted), "--lang", "en", ok=True)
    assert "no state 'expird' in t_agreement" in res.stderr and "no workflow 't_consult'" in res.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("  done: [reported, accepted]\n", ""), encoding="utf-8")
    for args in (["--map", str(broken)], ["--year", "24"], ["--map", str(tmp_path / "missing.yaml")]):
        full = ["report", "annual", "--year", "2024", *args] if args[0] == "--map" else ["report", "annual", *args]
        res = af(*full)
        assert res.exit_code == 2, res.stderr
    assert "'tasks' cần có done: [...]" in af("report", "annual", "--year", "2024", "--map", str(broken)).stderr
    assert "'tasks' needs done: [...]" in af("report", "annual", "--year", "2024", "--map", str(broken), "--lang",
                                             "en").stderr
