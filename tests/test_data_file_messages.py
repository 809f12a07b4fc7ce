"""A data file an operator edits is wrong: the real command exits 2 and names the problem in Vietnamese by default,
in English with ``--lang en`` — reminder ladders, the calendar, the report map, the directory, a workflow file.

The reminder policies and the calendar are read from their installed place (engine/data): the test points the
loader's module-level path at a broken copy in tmp_path (the command itself is run unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.legaltime.calendar import sources
from tests.conftest import ADMIN

NOW = "2024-06-03T09:00:00+07:00"


def both(af, *args: str, user: str | None = ADMIN, now: str = NOW) -> tuple[str, str]:
    """stderr of the command in Vietnamese (the default) and in English; each must exit 2 without a traceback."""
    out = []
    for lang in (None, "en"):
        res = af(*args, *(["--lang", lang] if lang else []), user=user, now=now)
        text = res.stderr if res.stderr_bytes else res.output
        assert res.exit_code == 2, (res.exit_code, res.output)
        assert "Traceback" not in res.output and "Traceback" not in text
        out.append(text)
    return out[0], out[1]


def test_a_broken_reminder_ladder_is_named_in_vietnamese_then_english(af, tmp_path: Path, monkeypatch) -> None:
    policy = yaml.safe_load(reminders.POLICY_FILE.read_text(encoding="utf-8"))
    policy["catch_up_after_working_days"] = -1
    policy["policies"]["default"]["rungs"][0]["colour"] = "red"
    broken = tmp_path / "reminder-policies.yaml"
    broken.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(reminders, "POLICY_FILE", broken)
    vi, en = both(af, "tick")
    assert "catch_up_after_working_days: số ngày làm việc nguyên, từ 0 trở lên" in vi
    assert "policies.default: rung: khóa lạ 'colour'" in vi
    assert "catch_up_after_working_days: a whole number of working days, 0 or more" in en
    assert "policies.default: rung: unknown key 'colour'" in en
    assert "a whole number of working days" not in vi


def test_a_broken_calendar_file_is_named_in_vietnamese_then_english(af, tmp_path: Path, monkeypatch) -> None:
    text = sources.DATA_PATH.read_text(encoding="utf-8")
    assert "      kind: working\n" in text
    broken = tmp_path / "calendar-vn.yaml"
    broken.write_text(text.replace("      kind: working\n", "      kind: holiday\n", 1), encoding="utf-8")
    monkeypatch.setattr(sources, "DATA_PATH", broken)
    vi, en = both(af, "calendar", "due", "trong vòng 5 ngày làm việc", "--from", "2024-06-03")
    assert "kind phải là off hoặc working, không được là 'holiday'" in vi
    assert "kind must be off or working, not 'holiday'" in en
    assert "must be" not in vi


def test_a_broken_report_map_is_named_in_vietnamese_then_english(af, tmp_path: Path) -> None:
    shipped = yaml.safe_load((DATA_DIR / "report-map.yaml").read_text(encoding="utf-8"))
    del shipped["tasks"]
    broken = tmp_path / "report-map.yaml"
    broken.write_text(yaml.safe_dump(shipped, allow_unicode=True, sort_keys=False), encoding="utf-8")
    vi, en = both(af, "report", "annual", "--year", "2024", "--map", str(broken))
    assert f"{broken}: cần có mục 'tasks'" in vi
    assert f"{broken}: needs a 'tasks' section" in en
    assert "needs" not in vi


DIRECTORY = """\
province: Mẫu
units:
  - {code: SNGV, name_vi: "Sở Ngoại vụ"}
  - {code: SNGV, name_vi: "Sở Ngoại vụ (lần hai)"}
people:
  - {email: a@x.example, name: "Người A", unit: SNGVV}
"""


def test_a_broken_directory_is_named_in_vietnamese_then_english(af, tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(DIRECTORY, encoding="utf-8")
    vi, en = both(af, "directory", "check", str(path), user=None)
    assert f"{path}:4: đơn vị 'SNGV': mã này đã được dùng ở dòng 3" in vi
    assert f"{path}:6: người 'a@x.example': đơn vị 'SNGVV' không có trong tệp — có phải là 'SNGV'?" in vi
    assert f"{path}:4: unit 'SNGV': the code is already used at line 3" in en
    assert f"{path}:6: person 'a@x.example': unit 'SNGVV' is unknown — did you mean 'SNGV'?" in en


WORKFLOW = """\
id: broken
version: 1
states:
  start: {initial: true}
  waiting: {}
  done: {terminal: true}
transitions:
  - {trigger: wait, from: start, to: waiting, roles: [officer]}
  - {trigger: back, from: waiting, to: start, roles: [officer]}
  - {trigger: finish, from: start, to: done, roles: [oficer]}
"""


def test_a_broken_workflow_file_is_named_in_vietnamese_then_english(af, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    vi, en = both(af, "workflows", "lint", str(path), user=None)
    assert f"{path}:10: bước chuyển 'finish': không có vai trò 'oficer' — có phải là 'officer'?" in vi
    assert vi.splitlines()[0] == "Tệp quy trình có 1 lỗi:"
    assert f"{path}:10: transition 'finish': unknown role 'oficer' — did you mean 'officer'?" in en


def test_lint_lists_an_unreachable_state_and_a_trap_in_the_readers_language(af, tmp_path: Path) -> None:
    path = tmp_path / "trap.yaml"
    path.write_text(WORKFLOW.replace("roles: [oficer]", "roles: [officer]").replace(
        "  done: {terminal: true}\n", "  done: {terminal: true}\n  lost: {terminal: true}\n"), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - {trigger: finish, from: start, to: done, roles: [officer]}\n", ""), encoding="utf-8")
    vi, en = both(af, "workflows", "lint", str(path), user=None)
    assert "không thể tới bước 'done' từ bước khởi đầu 'start'" in vi
    assert "bước 'start' là bước bẫy: từ bước này không thể tới bước kết thúc nào" in vi
    assert "state 'done' cannot be reached from the initial state 'start'" in en
    assert "state 'start' is a trap: no terminal state can be reached from it (it only leads to 'waiting')" in en


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_lint_json_gives_the_problems_in_the_chosen_language(af, tmp_path: Path, lang: str) -> None:
    import json
    path = tmp_path / "broken.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    res = af("workflows", "lint", str(path), "--json", "--lang", lang, user=None)
    assert res.exit_code == 2
    problems = json.JSONDecoder().raw_decode(res.stdout)[0]["problems"]  # then the error, as JSON too
    word = {"vi": "không có vai trò 'oficer'", "en": "unknown role 'oficer'"}[lang]
    assert len(problems) == 1 and word in problems[0]


PLAN = """\
STT,Nhiệm vụ,Đơn vị chủ trì,Đơn vị phối hợp,Thời gian thực hiện,Ngày giao,Hồ sơ liên quan
1,,SNGV,,Quý III năm 2024,2024-06-21,
2,Kế hoạch thực hiện thỏa thuận,,,Quý III năm 2024,2024-06-21,
3,Báo cáo sơ kết,SNGVV,kind:nowhere,trong Quý V/2024,31/02/2024,
4,Tổng kết,SNGV,,Năm 2024,2024-06-21,QT-2024-999
"""


def test_a_broken_plan_file_is_named_row_by_row_in_vietnamese_then_english(af, tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(PLAN, encoding="utf-8")
    before = af.snapshot()
    vi, en = both(af, "tasks", "import", str(path), "--dry-run")
    assert vi.startswith("Tệp kế hoạch có 7 lỗi — chưa ghi gì")
    assert "hàng 2 (STT 1): không có tên nhiệm vụ (title)" in vi
    assert "hàng 3 (STT 2): không có đơn vị chủ trì (lead_unit)" in vi
    assert "hàng 4 (STT 3): không có đơn vị 'SNGVV' — có phải là 'SNGV'? (không đơn vị nào có mã hoặc tên này " \
           "đang hoạt động ngày 03/06/2024" in vi
    assert "hàng 4 (STT 3): không có đơn vị loại 'nowhere' nào đang hoạt động ngày 03/06/2024" in vi
    assert "hàng 4 (STT 3): không hiểu thời gian thực hiện 'trong Quý V/2024': không có quý “V”" in vi
    assert "hàng 4 (STT 3): assigned_on '31/02/2024' không phải là ngày" in vi
    assert "hàng 5 (STT 4): không có hồ sơ liên quan 'QT-2024-999'" in vi
    assert "Các cách ghi thời gian được chấp nhận:\n  · " in vi
    assert "row " not in vi and "unknown" not in vi and "cannot be read" not in vi
    assert "row 2 (STT 1): no title (task)" in en
    assert "row 3 (STT 2): no lead unit" in en
    assert "row 4 (STT 3): unknown unit 'SNGVV' — did you mean 'SNGV'? (no unit with this code or name is active on " \
           "03/06/2024" in en
    assert "row 4 (STT 3): the time phrase 'trong Quý V/2024' cannot be read: there is no quarter “V”" in en
    assert "row 5 (STT 4): related case 'QT-2024-999' does not exist" in en
    assert "Accepted time phrases:\n  · " in en
    assert af.snapshot() == before


def test_a_plan_naming_a_retired_district_says_so_in_vietnamese_then_english(af, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("assigned_on: 2025-07-15\ntasks:\n  - {title: Kế hoạch, lead_unit: LNG, due_phrase: Năm 2025}\n"
                    "  - {title: Báo cáo, lead_unit: SNGV, due_phrase: Năm 2025, deadline: x}\n", encoding="utf-8")
    vi, en = both(af, "tasks", "import", str(path), now="2025-07-20T09:00:00+07:00")
    assert "dòng 3: UBND huyện Lục Ngạn (LNG) thôi hoạt động từ 01/07/2025 — nhiệm vụ được giao ngày 15/07/2025" in vi
    assert "dòng 4: khóa lạ deadline (được dùng: no, title," in vi
    assert "line 3: UBND huyện Lục Ngạn (LNG) is no longer active from 01/07/2025 — the task is assigned on " \
           "15/07/2025" in en
    assert "line 4: unknown keys deadline (allowed: no, title," in en


def test_a_broken_letter_template_header_is_named_in_vietnamese_then_english(af, tmp_path: Path, monkeypatch) -> None:
    from agreeflow.engine.core.paths import LETTER_TEMPLATES_DIR
    own = tmp_path / "mau-van-ban"
    (own / "vi").mkdir(parents=True)
    shipped = (LETTER_TEMPLATES_DIR / "vi" / "submission.txt").read_text(encoding="utf-8")
    assert "symbol: TTr-SNgV\n" in shipped and "signer: {position: director}\n" in shipped
    (own / "vi" / "submission.txt").write_text(shipped.replace("symbol: TTr-SNgV\n", "symbl: TTr-SNgV\n").replace(
        "signer: {position: director}\n", "signer: {position: secretary}\n"), encoding="utf-8")
    monkeypatch.setenv("AGREEFLOW_LETTER_TEMPLATES", str(own))
    vi, en = both(af, "letter", "QT-2024-001", "submission", "--out", str(tmp_path / "x.docx"))
    assert vi.startswith(f"Không dùng được mẫu văn bản {own / 'vi' / 'submission.txt'}:")
    assert "khóa lạ 'symbl' — có phải là 'symbol'? — các khóa được dùng: label, workflows," in vi
    assert "signer: position phải là một trong chairman, director, head (người đứng đầu cơ quan ban hành)" in vi
    assert "thiếu 'symbol': ký hiệu sau số văn bản, ví dụ TTr-SNgV (Số: …/TTr-SNgV)" in vi
    assert "unknown" not in vi and "is missing" not in vi
    assert "unknown key 'symbl' — did you mean 'symbol'? — the keys are: label, workflows," in en
    assert "signer: position must be one of chairman, director, head (the head of the issuing body)" in en
    assert "'symbol' is missing: the symbol after the number, e.g. TTr-SNgV (Số: …/TTr-SNgV)" in en
    assert not (tmp_path / "x.docx").exists()


def test_a_broken_mail_register_file_stops_tick_in_vietnamese_then_english(af, tmp_path: Path, monkeypatch) -> None:
    from agreeflow.notifications import render
    text = render.REGISTER_FILE.read_text(encoding="utf-8")
    closing = '    closing: "Trân trọng cảm ơn sự phối hợp của {you}."\n'
    assert closing in text and "{sender} trân trọng kính báo {you}: thời hạn" in text
    broken = tmp_path / "register.yaml"
    broken.write_text(text.replace(closing, "").replace("{sender} trân trọng kính báo {you}: thời hạn",
                                                       "{sender} kính báo {ban}: thời hạn"), encoding="utf-8")
    monkeypatch.setattr(render, "REGISTER_FILE", broken)
    before = af.snapshot(but=("security_log",))
    vi, en = both(af, "tick", "--no-dispatch")
    assert vi.startswith(f"Tệp '{broken}': \n  - ")
    assert "vi.peer: thiếu closing" in vi
    assert "vi.superior.reminder: chỗ điền {…} không hợp lệ: 'ban'" in vi
    assert "vi.peer: missing closing" in en
    assert "vi.superior.reminder: {placeholder} not known: 'ban'" in en
    assert af.snapshot(but=("security_log",)) == before  # nothing swept, nothing queued
