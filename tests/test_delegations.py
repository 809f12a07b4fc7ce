"""Outbound and inbound delegations through the CLI: the five criteria, the submission lead time (an
UNCONFIRMED limit that refuses with a remedy), the Police's security opinion, approval, the trip and its
report, and the engine's flag on delegations that start without approval (seed 003)."""

from __future__ import annotations

from tests.conftest import APPROVER, COORD, OFFICER_CA
from tests.test_agreement_province import doc

OFFICER_SVH = "chuyenvien.svhttdl@bacgiang.example"
CRITERIA = ["criterion_necessity", "criterion_composition", "criterion_duration", "criterion_budget",
            "criterion_results"]


def open_outbound(af, now: str = "2024-05-02T09:00", start: str = "2024-06-10", met: int = 5) -> str:
    args = ["case", "open", "delegation-outbound", "--title", "Đoàn công tác tỉnh Chiba (Nhật Bản)",
            "--field", "host_unit=SVHTTDL", "--field", "purpose=Xúc tiến hợp tác du lịch", "--field", "partner=Tỉnh Chiba",
            "--field", "country=Nhật Bản", "--field", "members=Ông A (Giám đốc), Bà B (chuyên viên)",
            "--field", f"start_date={start}", "--field", "end_date=2024-06-17", "--field", "budget_source=Ngân sách tỉnh"]
    for i, name in enumerate(CRITERIA):
        args += ["--field", f"{name}={'true' if i < met else 'false'}"]
    return af(*args, user=OFFICER_SVH, now=now, ok=True).stdout.strip()


def open_inbound(af, start: str, now: str = "2024-05-02T09:00", end: str = "2024-06-30") -> str:
    # The visit ends after it starts (the workflow refuses an end date before the start date).
    return af("case", "open", "delegation-inbound", "--title", "Đoàn huyện Seo (Daejeon, Hàn Quốc)",
              "--field", "host_unit=SVHTTDL", "--field", "purpose=Trao đổi văn hóa", "--field", "partner=Quận Seo",
              "--field", "country=Hàn Quốc", "--field", "members=Ông Kim (Quận trưởng)", "--field", f"start_date={start}",
              "--field", f"end_date={end}", "--field", "budget_source=Đối tác tự chi",
              user=OFFICER_SVH, now=now, ok=True).stdout.strip()


def test_outbound_trip_from_proposal_to_report(af, tmp_path):
    ref = open_outbound(af)
    shown = af.json("case", "show", ref)
    lead = next(d for d in shown["deadlines"] if d["key"] == "timer:proposal:submission")
    assert lead["due_date"] == "2024-05-20" and lead["confirmed"] is False  # 15 working days before 10/06
    af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", user=OFFICER_SVH,
       now="2024-05-06T09:00", ok=True)
    af("case", "fire", ref, "submit_for_approval", "--field", "appraisal_doc=TĐ 4/SNgV", now="2024-05-08T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 500/QĐ-UBND", user=APPROVER,
       now="2024-05-10T09:00", ok=True)
    af("case", "fire", ref, "depart", user=OFFICER_SVH, now="2024-06-10T06:00", ok=True)
    af("case", "fire", ref, "return_home", user=OFFICER_SVH, now="2024-06-17T22:00", ok=True)
    report = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:report_due:report")
    assert report["due_date"] == "2024-07-02" and report["confirmed"] is False
    res = af("case", "fire", ref, "submit_report", "--field", "report_doc=BC 9/SVHTTDL", "--lang", "en",
             user=OFFICER_SVH, now="2024-06-25T09:00")
    assert res.exit_code == 2 and "--attach report=" in res.stderr
    af("case", "fire", ref, "submit_report", "--field", "report_doc=BC 9/SVHTTDL", "--attach",
       f"report={doc(tmp_path, 'bc.pdf')}", user=OFFICER_SVH, now="2024-06-25T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "closed"


def test_outbound_refused_until_the_five_criteria_are_met(af, tmp_path):
    ref = open_outbound(af, met=3)
    res = af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", "--lang", "en",
             user=OFFICER_SVH, now="2024-05-06T09:00")
    assert res.exit_code == 3 and "letter 102/VPCP-QHQT" in res.stderr
    assert "--field criterion_budget=true --field criterion_results=true" in res.stderr
    af("case", "fire", ref, "submit", "--field", "criterion_budget=true", "--field", "criterion_results=true",
       "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", user=OFFICER_SVH, now="2024-05-06T09:00", ok=True)


def test_submission_after_the_lead_time_is_refused_unless_a_reason_is_given(af, tmp_path):
    ref = open_outbound(af)
    res = af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", "--lang", "en",
             user=OFFICER_SVH, now="2024-05-21T09:00")
    assert res.exit_code == 3 and "the last day was 20/05/2024" in res.stderr and "UNCONFIRMED" in res.stderr
    assert "--field late_reason=" in res.stderr
    af("case", "fire", ref, "submit", "--field", "late_reason=Đối tác gửi thư mời muộn", "--attach",
       f"proposal={doc(tmp_path, 'tt.pdf')}", user=OFFICER_SVH, now="2024-05-21T09:00", ok=True)


def test_inbound_visit_needs_the_police_opinion_and_the_chairman(af, tmp_path):
    ref = open_inbound(af, "2024-05-20")
    af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", user=OFFICER_SVH,
       now="2024-05-03T09:00", ok=True)
    res = af("case", "fire", ref, "approve", "--field", "decision_no=x", now="2024-05-03T10:00")
    assert res.exit_code == 3  # no path around the security opinion
    af("case", "fire", ref, "request_opinions", now="2024-05-03T10:00", ok=True)
    police = af.json("case", "show", ref)["children"]
    assert [c["unit"] for c in police] == ["CA"]
    af("case", "fire", police[0]["id"], "agree", user=OFFICER_CA, now="2024-05-06T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "awaiting_approval"
    res = af("case", "fire", ref, "approve", "--field", "decision_no=x", "--lang", "en", user=OFFICER_CA,
             now="2024-05-06T10:00")
    assert res.exit_code == 3 and "may not do 'approve'" in res.stderr
    af("case", "fire", ref, "approve", "--field", "decision_no=CV 88/UBND", user=APPROVER, now="2024-05-07T09:00", ok=True)
    af("case", "fire", ref, "arrive", user=OFFICER_SVH, now="2024-05-20T09:00", ok=True)
    af("case", "fire", ref, "leave", user=OFFICER_SVH, now="2024-05-31T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "report_due"


def test_a_delegation_whose_start_date_arrives_without_approval_is_flagged_once(af, tmp_path):
    waiting = open_inbound(af, "2024-05-10")
    approved = open_inbound(af, "2024-05-10")
    later = open_inbound(af, "2024-06-20")
    for ref in (waiting, approved):
        af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}", user=OFFICER_SVH,
           now="2024-05-02T09:00", ok=True)
    af("case", "fire", approved, "request_opinions", now="2024-05-02T10:00", ok=True)
    child = af.json("case", "show", approved)["children"][0]["id"]
    af("case", "fire", child, "agree", user=OFFICER_CA, now="2024-05-03T09:00", ok=True)
    af("case", "fire", approved, "approve", "--field", "decision_no=CV 1", user=APPROVER, now="2024-05-06T09:00", ok=True)

    assert af.json("case", "flags", now="2024-05-09T09:00")["newly_flagged"] == []
    first = af.json("case", "flags", now="2024-05-10T08:00")
    assert first["newly_flagged"] == [waiting]
    assert af.json("case", "flags", now="2024-05-11T08:00")["newly_flagged"] == []
    listed = {c["id"]: c["flags"] for c in af.json("case", "list", "--workflow", "delegation-inbound")}
    assert listed == {waiting: ["unapproved"], approved: [], later: []}
    flagged = [e for e in af.json("case", "history", waiting) if e["kind"] == "flagged"]
    assert len(flagged) == 1 and flagged[0]["payload"]["state"] == "appraisal"
    text = af("case", "list", now="2024-05-11T08:00", ok=True).stdout
    assert "unapproved" in text
    assert af("case", "flags", user="thanhtra@bacgiang.example").exit_code == 3  # auditors change nothing
    af("audit", "verify", user=COORD, ok=True)
