"""A case moves through a YAML workflow from the CLI; bad input and refusals behave as promised."""

from __future__ import annotations

import pytest

from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_CA, OFFICER_SNGV

NOW = "2024-06-21T09:00:00+07:00"


def open_task(af, unit="SNGV", phrase="hoàn thành trong tháng 7/2024"):
    res = af("case", "open", "task", "--title", "Ban hành hướng dẫn trình tự ký kết TTQT",
             "--field", f"lead_unit={unit}", "--field", f"due_phrase={phrase}",
             "--field", "assigned_on=2024-06-21", now=NOW, ok=True)
    return res.stdout.strip()


def test_task_advances_through_its_workflow_and_history_is_chained(af, tmp_path):
    ref = open_task(af)
    assert ref == "NV-2024-0001"
    shown = af.json("case", "show", ref, user=OFFICER_SNGV, now=NOW)
    assert shown["state"] == "assigned" and shown["version"] == 1 and shown["workflow"] == "task"
    assert {t["trigger"] for t in shown["available_triggers"]} == {"start", "report", "cancel"}  # also a coordinator
    assert shown["deadlines"][0]["due_date"] == "2024-07-31"
    assert shown["deadlines"][0]["phrase"] == "hoàn thành trong tháng 7/2024"

    af("case", "fire", ref, "start", user=OFFICER_SNGV, now="2024-07-01T08:00:00+07:00", ok=True)
    doc = tmp_path / "huong-dan.pdf"
    doc.write_bytes(b"%PDF-1.4 guidance")
    af("case", "fire", ref, "report", "--field", "result_document=Hướng dẫn 12/HD-SNgV",
       "--attach", f"result={doc}", user=OFFICER_SNGV, now="2024-07-25T10:00:00+07:00", ok=True)
    af("case", "fire", ref, "accept", user=APPROVER, now="2024-07-26T10:00:00+07:00", ok=True)

    final = af.json("case", "show", ref, now="2024-07-26T11:00:00+07:00")
    assert final["state"] == "accepted" and final["terminal"] and final["available_triggers"] == []
    assert final["documents"]["result"][0]["name"] == "huong-dan.pdf"
    met = [d for d in final["deadlines"] if d["status"] == "met"]
    assert met and met[0]["margin_wd"] > 0

    events = af.json("case", "history", ref)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "opened" and "attached" in kinds and kinds.count("transition") == 3
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(events, events[1:]))
    attached = next(e for e in events if e["kind"] == "attached")
    assert attached["payload"]["size"] == len(b"%PDF-1.4 guidance") and len(attached["payload"]["sha256"]) == 64
    assert (af.home / "files" / attached["payload"]["sha256"][:2] / attached["payload"]["sha256"]).read_bytes() \
        == b"%PDF-1.4 guidance"
    assert af("audit", "verify", ok=True).exit_code == 0


def test_a_step_reports_the_new_state_and_with_json_the_whole_case_view(af, tmp_path, monkeypatch):
    from agreeflow.engine import service
    from agreeflow.engine.core import clock
    from agreeflow.engine.core.settings import Settings

    ref = open_task(af)
    # A step taken without the view (the web's, the text answer's) says where the case now is, in the reader's
    # language, as the case view says it...
    monkeypatch.setenv("AGREEFLOW_HOME", str(af.home))
    settings = Settings.from_env(db_url=af.url, user=OFFICER_SNGV, lang="en")
    service.set_clock("2024-07-01T08:00:00+07:00")
    try:
        moved = service.fire(settings, ref, "start", view=False)
    finally:
        clock.set_now(None)
    shown = af.json("case", "show", ref, user=OFFICER_SNGV, now="2024-07-01T08:00:00+07:00", lang="en")
    assert moved == {"id": ref, "state": "in_progress", "state_label": "In progress",
                     "lock_version": shown["lock_version"]}
    assert shown["state_label"] == "In progress"
    # ... and the command line's text answer names it (the command builds no case view for it).
    out = af("case", "fire", ref, "report", "--field", "result_document=Hướng dẫn 12/HD-SNgV",
             "--attach", f"result={_document(tmp_path)}", user=OFFICER_SNGV, now="2024-07-25T09:00:00+07:00",
             ok=True).stdout
    shown = af.json("case", "show", ref, user=OFFICER_SNGV, now="2024-07-25T09:00:00+07:00")
    assert shown["state"] == "reported" and out.strip() == f"{ref}: {shown['state_label']}"
    af("case", "fire", ref, "return", "--field", "return_reason=Thiếu phụ lục", user=APPROVER,
       now="2024-07-25T09:30:00+07:00", ok=True)
    # ... --json gives the whole view, as case show gives it, built in the step's own transaction.
    fired = af.json("case", "fire", ref, "report", "--field", "result_document=Hướng dẫn 12/HD-SNgV",
                    "--attach", f"result={_document(tmp_path)}", user=OFFICER_SNGV, now="2024-07-25T10:00:00+07:00")
    again = af.json("case", "show", ref, user=OFFICER_SNGV, now="2024-07-25T10:00:00+07:00")
    assert fired["state"] == "reported" and fired["lock_version"] == again["lock_version"]
    assert fired["available_triggers"] == again["available_triggers"] and fired["deadlines"] == again["deadlines"]


def _document(folder):
    doc = folder / "huong-dan.pdf"
    doc.write_bytes(b"%PDF-1.4 guidance")
    return doc


@pytest.mark.parametrize("args, code, vi, en", [
    (["case", "fire", "{ref}", "strat"], 2, "không có thao tác 'strat'. Có phải 'start'?",
     "has no trigger 'strat'. Did you mean 'start'?"),
    (["case", "fire", "NV-2024-0009", "start"], 2, "Không tìm thấy hồ sơ 'NV-2024-0009'. Có phải 'NV-2024-0001'?",
     "No case 'NV-2024-0009'. Did you mean 'NV-2024-0001'?"),
    (["case", "fire", "{ref}", "start", "--field", "lead_unitSNGV"], 2, "không đúng dạng TÊN=GIÁ_TRỊ",
     "not of the form NAME=VALUE"),
    (["case", "fire", "{ref}", "report"], 2, "cần các trường: result_document", "needs the fields: result_document"),
    (["case", "fire", "{ref}", "start", "--field", "assigned_on=31/13/2024"], 2, "Cần một ngày dạng YYYY-MM-DD",
     "Give a date as YYYY-MM-DD"),
    (["case", "open", "task", "--title", "x", "--field", "lead_unit=SNGVV", "--field", "due_phrase=Năm 2024"], 2,
     "Không có đơn vị 'SNGVV'", "No active unit 'SNGVV'"),
    (["case", "open", "taks", "--title", "x"], 2, "Có phải 'task'?", "Did you mean 'task'?"),
])
def test_bad_input_exits_2_with_a_clear_message_and_leaves_the_database_unchanged(af, args, code, vi, en):
    ref = open_task(af)
    args = [a.replace("{ref}", ref) for a in args]
    before = af.snapshot()
    res_vi = af(*args, user=OFFICER_SNGV, now=NOW)
    res_en = af(*args, "--lang", "en", user=OFFICER_SNGV, now=NOW)
    assert (res_vi.exit_code, res_en.exit_code) == (code, code)
    assert vi in res_vi.stderr
    assert en in res_en.stderr
    assert af.snapshot() == before


def test_wrong_state_and_wrong_role_are_refused_with_exit_3_and_logged(af):
    ref = open_task(af)
    res = af("case", "fire", ref, "accept", user=COORD, now=NOW)
    assert res.exit_code == 3
    assert "đang ở bước 'Đã giao': không thể 'accept'" in res.stderr
    assert "start" in res.stderr  # names what the user may do instead
    res = af("case", "fire", ref, "start", "--lang", "en", user=OFFICER_CA, now=NOW)
    assert res.exit_code == 3
    assert "may not do 'start'" in res.stderr and "officer" in res.stderr
    refused = [e for e in af.json("case", "history", ref) if e["kind"] == "refused"]
    assert [e["actor"] for e in refused] == [COORD, OFFICER_CA]
    af("audit", "verify", ok=True)


def test_auditor_reads_everything_and_changes_nothing(af):
    ref = open_task(af)
    assert af.json("case", "show", ref, user=AUDITOR)["available_triggers"] == []
    assert af.json("case", "history", ref, user=AUDITOR)
    assert af.json("case", "list", user=AUDITOR)[0]["id"] == ref
    af("audit", "verify", user=AUDITOR, ok=True)
    res = af("case", "fire", ref, "start", user=AUDITOR, now=NOW)
    assert res.exit_code == 3 and "chỉ được xem" in res.stderr
    cases_before = len(af.json("case", "list", user=AUDITOR))
    res = af("case", "open", "task", "--title", "x", "--field", "lead_unit=SNGV", "--field", "due_phrase=Năm 2024",
             user=AUDITOR, now=NOW)
    assert res.exit_code == 3
    # Nothing is opened; the refusal itself is the one thing written — to the security log (no case holds it).
    assert len(af.json("case", "list", user=AUDITOR)) == cases_before
    with af.raw_connection() as con:
        kinds = [r[0] for r in con.execute("SELECT kind FROM security_log ORDER BY seq").fetchall()]
    assert kinds[-1] == "refused"
    res = af("directory", "load", "engine/data/directory-bac-giang-2024.yaml", user=AUDITOR)
    assert res.exit_code == 3
    assert af.json("case", "show", ref)["state"] == "assigned"


def test_update_of_events_is_refused_by_the_database(af):
    open_task(af)
    statements = ["UPDATE events SET note = 'rewritten' WHERE seq = 1", "DELETE FROM events"]
    if af.dialect == "postgresql":
        statements.append("TRUNCATE events CASCADE")
    with af.raw_connection() as con:
        for statement in statements:
            with pytest.raises(Exception, match="append-only") as raised:
                con.execute(statement)
            assert type(raised.value).__name__ in ("DatabaseError", "IntegrityError", "RaiseException"), statement
    af("audit", "verify", ok=True)


def test_tampering_with_trigger_dropped_is_found_and_named(af):
    ref = open_task(af)
    af("case", "fire", ref, "start", user=OFFICER_SNGV, now=NOW, ok=True)
    other = open_task(af, unit="CA")
    drop_trigger = {"sqlite": "DROP TRIGGER events_no_update",
                    "postgresql": "DROP TRIGGER events_no_update_delete ON events"}[af.dialect]
    with af.raw_connection() as con:  # sqlite3 or psycopg: whoever owns the database file or schema
        con.execute(drop_trigger)
        con.execute("UPDATE events SET actor = 'someone.else@bacgiang.example' "
                    f"WHERE seq = 2 AND case_id = (SELECT id FROM cases WHERE ref = '{ref}')")
    res = af("audit", "verify", "--lang", "en")
    assert res.exit_code == 4
    assert f"{ref} seq 2" in res.stderr and other not in res.stderr
    assert af("audit", "verify", "--case", other).exit_code == 0


def test_two_processes_firing_on_one_case_exactly_one_wins(af):
    ref = open_task(af)
    version = af.json("case", "show", ref)["lock_version"]
    procs = [af.popen("case", "fire", ref, "start", "--expect-version", str(version), user=OFFICER_SNGV, now=NOW)
             for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    errs = [p.stderr.read() for p in procs]
    assert codes == [0, 3], errs
    assert any("đã thay đổi kể từ khi bạn xem" in e or "không thể 'start'" in e for e in errs)
    events = af.json("case", "history", ref)
    assert [e["kind"] for e in events].count("transition") == 1
    af("audit", "verify", ok=True)


def test_running_case_keeps_its_version_when_the_yaml_is_bumped(af, workflows_copy):
    from agreeflow.engine.core import definitions
    ref = open_task(af)
    text = (workflows_copy / "task.yaml").read_text(encoding="utf-8")
    (workflows_copy / "task.yaml").write_text(
        text.replace("version: 1", "version: 2").replace('vi: "Đã nghiệm thu"', 'vi: "Đã nghiệm thu (v2)"'),
        encoding="utf-8")  # edited in place: v1 survives only as the stored copy
    definitions._registry.cache_clear()
    new = open_task(af)
    assert af.json("case", "show", ref)["version"] == 1
    assert af.json("case", "show", new)["version"] == 2
    shown = af.json("workflows", "show", "task")
    assert [(v["version"], v["open_cases"]) for v in shown["versions"]] == [(1, 1), (2, 1)]
    af("case", "fire", ref, "start", user=OFFICER_SNGV, now=NOW, ok=True)
    assert af.json("case", "show", ref)["state"] == "in_progress"
