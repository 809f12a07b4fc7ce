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


def both(af, *args: str, user: str | None = ADMIN) -> tuple[str, str]:
    """stderr of the command in Vietnamese (the default) and in English; each must exit 2 without a traceback."""
    out = []
    for lang in (None, "en"):
        res = af(*args, *(["--lang", lang] if lang else []), user=user, now=NOW)
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
