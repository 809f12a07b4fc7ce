"""Recurring deadlines roll: one row (or one task) per period, each period closed once, the next always opens.

An agreement in force reports every year "chậm nhất ngày 15/12 hằng năm" (Decree 64/2021, art. 16);
a yearly task ("Hàng năm") is a new task each year.  December 2024–2027 has no public holiday,
so the working days below are the weekdays, counted by hand.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from agreeflow import cli
from tests.conftest import APPROVER, OFFICER_SNGV
from tests.test_agreement_province import doc, open_agreement, to_in_force
from tests.test_audit_verify__tables_and_truncation import sql
from tests.test_task_recurrence_and_events import open_task

ANNUAL = "timer:in_force:annual_report"


def periods(af, ref: str, now: str) -> list[tuple[str, str, int | None]]:
    return [(d["status"], d["due_date"], d["margin_wd"]) for d in af.json("case", "show", ref, now=now)["deadlines"]
            if d["key"] == ANNUAL]


def report(af, ref: str, now: str) -> None:
    af("case", "fire", ref, "report_progress", "--field", "progress_report=BC kết quả thực hiện",
       user=OFFICER_SNGV, now=now, ok=True)


def test_years_of_silence_leave_one_missed_period_per_year_and_the_current_one_open(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_in_force(af, tmp_path, ref)  # in force 25/03/2024: first report due 15/12/2024
    af("tick", "--no-dispatch", now="2027-06-01T08:00:00+07:00", ok=True)
    assert periods(af, ref, "2027-06-01T09:00") == [("missed", "2024-12-15", None), ("missed", "2025-12-15", None),
                                                   ("missed", "2026-12-15", None), ("open", "2027-12-15", None)]
    history = af.json("case", "history", ref)
    ended = [e["payload"] for e in history if e["kind"] == "deadline_missed"]
    assert [(p["occurrence"], p["final"]) for p in ended] == [("2024-12-15", True), ("2025-12-15", True),
                                                              ("2026-12-15", True)]
    opened = [e["payload"] for e in history if e["kind"] == "deadline_set" and e["payload"]["deadline"] == ANNUAL]
    assert [(p["due_date"], p.get("occurrence_after")) for p in opened] == [
        ("2024-12-15", None), ("2025-12-15", "2024-12-15"), ("2026-12-15", "2025-12-15"), ("2027-12-15", "2026-12-15")]
    assert af.json("tick", "--no-dispatch", now="2027-06-01T08:00:00+07:00")["missed"] == 0  # a second sweep: nothing
    assert len(af.json("case", "history", ref)) == len(history)

    rep = af.json("report", "compliance", "--from", "2024-12-01", "--to", "2027-12-31", now="2027-06-01T09:00")
    rows = [(r["due_date"], r["outcome"], r["working_days"], r["done_on"]) for r in rep["rows"] if r["case"] == ref
            and r["step"] == "Báo cáo định kỳ kết quả thực hiện"]
    assert rows == [("2024-12-15", "not_done", None, None), ("2025-12-15", "not_done", None, None),
                    ("2026-12-15", "not_done", None, None), ("2027-12-15", "open", 138, None)]
    # 138: the 141 weekdays from 02/06 to 15/12/2027 less 2 and 3 September and 24 November (Culture Day)
    af("audit", "verify", ok=True)


def test_a_report_closes_the_period_it_reports_and_a_late_one_stays_missed(af, tmp_path):
    on_time, late = open_agreement(af, tmp_path), open_agreement(af, tmp_path)
    for ref in (on_time, late):
        to_in_force(af, tmp_path, ref)
        report(af, ref, "2024-12-10T09:00")  # Tuesday: 11, 12, 13 December to spare
    assert periods(af, on_time, "2024-12-10T10:00") == [("met", "2024-12-15", 3), ("open", "2025-12-15", None)]

    af("tick", now="2025-12-16T08:00:00+07:00", ok=True)  # Monday 15/12/2025 passed without a report
    for ref in (on_time, late):
        assert periods(af, ref, "2025-12-16T09:00")[1:] == [("missed", "2025-12-15", None), ("open", "2026-12-15", None)]
    escalated = [e for e in af.json("case", "history", late) if e["kind"] == "escalated"]
    assert [e["payload"]["due_date"] for e in escalated] == ["2025-12-15"]  # the missed period's ladder goes on ...
    outbox = af.json("outbox", "list", "--limit", "500")
    overdue = [m for m in outbox if m["rung"] == "overdue_1wd"]
    # ... and its mail leaves (a recipient told of both agreements gets one mail naming both): the report is owed
    assert overdue and {m["status"] for m in overdue} <= {"sent", "bundled"}
    assert all(m["status"] == "sent" for m in outbox if m["rung"] == "bundle")

    report(af, late, "2025-12-19T09:00")  # Friday: nearer 15/12/2025 than 15/12/2026 — the late 2025 report
    assert periods(af, late, "2025-12-19T10:00") == [("met", "2024-12-15", 3), ("missed", "2025-12-15", -4),
                                                   ("open", "2026-12-15", None)]
    report(af, on_time, "2026-11-25T09:00")  # the 2026 report (14 working days to spare); 2025 stays unreported
    assert periods(af, on_time, "2026-11-25T10:00") == [("met", "2024-12-15", 3), ("missed", "2025-12-15", None),
                                                      ("met", "2026-12-15", 14), ("open", "2027-12-15", None)]
    report(af, late, "2026-12-15T16:00")  # the last day: on time
    assert periods(af, late, "2026-12-15T17:00")[2:] == [("met", "2026-12-15", 0), ("open", "2027-12-15", None)]

    rep = af.json("report", "compliance", "--from", "2025-01-01", "--to", "2025-12-31", now="2026-12-16T09:00")
    rows = {r["case"]: (r["outcome"], r["working_days"], r["done_on"]) for r in rep["rows"] if r["case"] in (on_time, late)
            and r["due_date"] == "2025-12-15"}
    assert rows == {on_time: ("not_done", None, None), late: ("late", 4, "2025-12-19")}
    af("audit", "verify", ok=True)
    # The late report stays a missed period in the log: turning it into a met one in the table is tampering.
    sql(af, f"UPDATE deadlines SET status = 'met' WHERE status = 'missed' AND due_date = '2025-12-15' "
            f"AND case_id = (SELECT id FROM cases WHERE ref = '{late}')")
    res = af("audit", "verify", "--lang", "en")
    assert res.exit_code == 4 and f"{late}: deadlines 'timer:in_force:annual_report'" in res.stderr
    assert ".status is 'met' but the log says 'missed'" in res.stderr


def test_a_report_after_years_without_a_sweep_reports_the_current_period(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_in_force(af, tmp_path, ref)
    report(af, ref, "2027-12-01T09:00")  # no sweep since 2024: the periods are brought up to date first
    assert periods(af, ref, "2027-12-01T10:00") == [("missed", "2024-12-15", None), ("missed", "2025-12-15", None),
                                                   ("missed", "2026-12-15", None), ("met", "2027-12-15", 10),
                                                   ("open", "2028-12-15", None)]


def test_a_yearly_task_missed_still_opens_next_years_task_once(af, tmp_path):
    first = open_task(af, "Đưa nội dung hợp tác vào kế hoạch đối ngoại hằng năm", "SNGV", "Hàng năm",
                      now="2022-01-05T09:00", assigned_on="2022-01-05")
    af("tick", "--no-dispatch", now="2024-03-01T08:00:00+07:00", ok=True)  # nothing done in 2022 nor 2023
    tasks = {c["id"]: c for c in af.json("case", "list", "--workflow", "task")}
    assert len(tasks) == 3
    chain, ref = [], first
    while ref:
        shown = af.json("case", "show", ref, now="2024-03-01T09:00")
        due = next(d for d in shown["deadlines"] if d["key"].endswith(":due"))
        chain.append((shown["fields"].get("assigned_on"), due["due_date"], due["status"], shown["state"]))
        ref = next((c for c, v in tasks.items() if af.json("case", "show", c)["fields"].get("previous_occurrence") == ref),
                   None)
    assert chain == [("2022-01-05", "2022-12-31", "open", "assigned"),   # late, still to do
                     ("2023-01-01", "2023-12-31", "open", "assigned"),
                     ("2024-01-01", "2024-12-31", "open", "assigned")]
    missed = [e["payload"] for e in af.json("case", "history", first) if e["kind"] == "deadline_missed"]
    assert [(p["occurrence"], p["final"]) for p in missed] == [("2022-12-31", False)]
    for ref in tasks:  # each period's miss is marked once, also the one opened already over (2023's)
        kinds = [e["kind"] for e in af.json("case", "history", ref)]
        assert kinds.count("deadline_missed") <= 1, (ref, kinds)
    af("tick", "--no-dispatch", now="2024-03-01T08:05:00+07:00", ok=True)  # a second sweep adds no marker
    assert sum([e["kind"] for e in af.json("case", "history", r)].count("deadline_missed") for r in tasks) == 2

    af("case", "fire", first, "report", "--field", "result_document=KH 3/KH-SNgV", "--attach",
       f"result={doc(tmp_path, 'kh.pdf')}", user=OFFICER_SNGV, now="2024-03-05T09:00", ok=True)
    af("case", "fire", first, "accept", user=APPROVER, now="2024-03-06T09:00", ok=True)
    af("tick", "--no-dispatch", now="2024-03-07T08:00:00+07:00", ok=True)
    assert len(af.json("case", "list", "--workflow", "task")) == 3  # 2023's task was opened already: not twice
    assert [e["kind"] for e in af.json("case", "history", first)].count("occurrence_opened") == 1


def demo_deadlines(until: str | None, monkeypatch) -> list[tuple[str, str]]:
    """Run the demo (to ``until``), keep its database, and read the 2021 agreement's yearly report deadlines."""
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_DB", "AGREEFLOW_SMTP", "AGREEFLOW_WORKFLOWS"):
        monkeypatch.delenv(var, raising=False)
    res = CliRunner().invoke(cli.main, ["demo", "--keep", "--json", *(["--until", until] if until else [])],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    try:
        assert [s for s in summary["steps"] if not s["ok"]] == []
        env = {"AGREEFLOW_HOME": summary["data_dir"], "AGREEFLOW_USER": "dieuphoi@bacgiang.example",
               "AGREEFLOW_NOW": f"{summary['until']}T23:00:00+07:00"}
        shown = CliRunner().invoke(cli.main, ["case", "show", "TTQT-2021-0001", "--json"], env=env,
                                   catch_exceptions=False)
        assert shown.exit_code == 0, shown.output
        return [(d["due_date"], d["status"]) for d in json.loads(shown.stdout)["deadlines"] if d["key"] == ANNUAL]
    finally:
        shutil.rmtree(Path(summary["data_dir"]), ignore_errors=True)


def test_the_demo_agreement_of_2021_has_one_report_deadline_per_year(monkeypatch):
    assert demo_deadlines("2024-11-30", monkeypatch) == [
        ("2021-12-15", "missed"), ("2022-12-15", "missed"), ("2023-12-15", "missed"), ("2024-12-15", "open")]
    assert demo_deadlines(None, monkeypatch) == [  # the demo's own 2024 report, on 10/12/2024
        ("2021-12-15", "missed"), ("2022-12-15", "missed"), ("2023-12-15", "missed"), ("2024-12-15", "met"),
        ("2025-12-15", "open")]
