"""The law enforced, not only recorded (issue 15): MOFA is consulted, every body answers for its own
deadline, consultation is complete or explicitly overridden, children end with an outcome, dates that
cannot be are refused, and a refusal names the rule — through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import APPROVER, COORD, OFFICER_CA, OFFICER_SNGV
from tests.test_agreement_province import T0, doc, open_agreement, replies, to_opinions

OFFICER_STP = "chuyenvien.stp@bacgiang.example"
OFFICER_BNG = "chuyenvien.bng@mofa.example"       # MOFA's Department of External Relations (BNG-CNV, under BNG)
SENT = "2024-03-04T09:00:00+07:00"                # 7 working days → due 13/03/2024


def test_a_provincial_agreement_cannot_go_for_opinions_without_mofa(af, tmp_path: Path):
    refused = af("case", "open", "agreement-province", "--title", "Bản ghi nhớ với tỉnh Gifu", "--field",
                 "proposing_unit=SNGV", "--field", "partner=Tỉnh Gifu", "--field", "consulted_units=CA,STP", now=T0)
    assert refused.exit_code == 2 and "BNG" in refused.stderr
    ref = af("case", "open", "agreement-province", "--title", "Bản ghi nhớ với tỉnh Gifu", "--field",
             "proposing_unit=SNGV", "--field", "partner=Tỉnh Gifu", now=T0, ok=True).stdout.strip()
    af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'a.pdf')}",
       "--attach", f"draft_agreement={doc(tmp_path, 'b.pdf')}", user=OFFICER_SNGV, now=T0, ok=True)
    before = af.snapshot()
    result = af("case", "fire", ref, "send_for_opinions", "--field", "consulted_units=CA,STP", now=T0)
    assert result.exit_code == 2
    assert "consulted_units" in result.stderr and "BNG" in result.stderr and "Điều 19(1)" in result.stderr
    assert af.snapshot() == before
    af("case", "fire", ref, "send_for_opinions", "--field", "consulted_units=BNG,CA,STP", now=T0, ok=True)
    assert sorted(replies(af, ref)) == ["BNG", "CA", "STP"]


def test_all_opinions_received_is_refused_while_a_body_is_silent_then_escalate_and_proceed_on_record(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    kids = replies(af, ref)
    af("case", "fire", kids["BNG"], "agree", user=OFFICER_BNG, now="2024-03-06T09:00:00+07:00", ok=True)
    af("case", "fire", kids["CA"], "agree", user=OFFICER_CA, now="2024-03-07T09:00:00+07:00", ok=True)

    early = af("case", "fire", ref, "opinions_in", now="2024-03-08T09:00:00+07:00")
    assert early.exit_code == 3
    assert "STP" in early.stderr and "escalate" in early.stderr and "proceed_on_record" in early.stderr
    assert af.json("case", "history", ref)[-1]["kind"] == "refused"

    af("case", "fire", ref, "escalate", now="2024-03-14T09:00:00+07:00", ok=True)
    no_reason = af("case", "fire", ref, "proceed_on_record", now="2024-03-15T09:00:00+07:00")
    assert no_reason.exit_code == 2 and "proceed_reason" in no_reason.stderr
    af("case", "fire", ref, "proceed_on_record", "--field",
       "proceed_reason=Sở Tư pháp quá hạn, đã đôn đốc; trình trên cơ sở ý kiến đã nhận",
       now="2024-03-15T09:00:00+07:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "synthesis"
    assert af.json("case", "show", kids["STP"])["state"] == "no_reply"

    rows = af.json("report", "compliance", "--from", "2024-03-01", "--to", "2024-03-31",
                   now="2024-04-01T09:00:00+07:00")["rows"]
    per_body = {r["unit"]: r["outcome"] for r in rows if r["case"] in kids.values()}
    assert per_body == {"BNG": "on_time", "CA": "on_time", "STP": "no_reply"}  # never "late", never "agreed"


def test_a_body_that_replied_gets_no_more_reminders_and_the_silent_one_does(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    kids = replies(af, ref)
    af("case", "fire", kids["BNG"], "agree", user=OFFICER_BNG, now="2024-03-06T09:00:00+07:00", ok=True)
    af("case", "fire", kids["CA"], "agree", user=OFFICER_CA, now="2024-03-07T09:00:00+07:00", ok=True)
    af("tick", now="2024-03-13T08:00:00+07:00", ok=True)            # the due day of every reply
    af("tick", now="2024-03-14T08:30:00+07:00", ok=True)            # overdue
    with af.raw_connection() as con:
        sent = [r[0] for r in con.execute("SELECT recipient FROM outbox ORDER BY id").fetchall()]
    assert sent, "the silent body was reminded"
    assert not any("mofa.example" in r or r.startswith("congan@") or r.startswith("chuyenvien.ca@") for r in sent)
    assert any("sotuphap@" in r or "chuyenvien.stp@" in r for r in sent)


def test_children_end_with_an_outcome_when_the_parent_gives_up(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    kids = replies(af, ref)
    af("case", "fire", kids["BNG"], "agree", user=OFFICER_BNG, now="2024-03-06T09:00:00+07:00", ok=True)
    af("case", "fire", ref, "abandon", "--field", "abandon_reason=Đối tác rút đề xuất",
       now="2024-03-07T09:00:00+07:00", ok=True)
    states = {u: af.json("case", "show", c)["state"] for u, c in kids.items()}
    assert states == {"BNG": "agreed", "CA": "superseded", "STP": "superseded"}
    for unit in ("CA", "STP"):
        reply = af.json("case", "show", kids[unit])["deadlines"][0]
        assert reply["status"] == "cancelled"
        assert af.json("case", "show", kids[unit])["available_triggers"] == []


def test_the_mofa_officer_records_mofas_own_reply(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    kids = replies(af, ref)
    af("case", "fire", kids["BNG"], "agree", "--field", "reply_no=123/BNG-CNV", user=OFFICER_BNG,
       now="2024-03-06T09:00:00+07:00", ok=True)
    assert af.json("case", "show", kids["BNG"])["state"] == "agreed"


def test_a_refusal_names_the_unit_scope_rule_not_a_role(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    kids = replies(af, ref)
    result = af("case", "fire", kids["STP"], "agree", user=OFFICER_CA, now="2024-03-06T09:00:00+07:00")
    assert result.exit_code == 3
    assert "phạm vi đơn vị" in result.stderr and "STP" in result.stderr and "cần vai trò" not in result.stderr
    en = af("case", "fire", kids["STP"], "agree", user=OFFICER_CA, lang="en", now="2024-03-06T09:00:00+07:00")
    assert "unit-scope rule" in en.stderr


def test_dates_that_cannot_be_are_refused_with_the_rule_and_nothing_is_written(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    for child in replies(af, ref).values():
        af("case", "fire", child, "agree", now="2024-03-08T09:00:00+07:00", ok=True)
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 15/SNgV", now="2024-03-11T09:00",
       ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 300/UBND", user=APPROVER, now="2024-07-17T09:00",
       ok=True)
    signed = ["--field", "sign_mode=in_person", "--attach", f"signed_copy={doc(tmp_path, 'mou.pdf')}"]
    before = af.snapshot()
    early = af("case", "fire", ref, "sign", "--field", "signed_on=2024-07-10", *signed, now="2024-07-20T09:00")
    assert early.exit_code == 2 and "10/07/2024" in early.stderr and "17/07/2024" in early.stderr
    future = af("case", "fire", ref, "sign", "--field", "signed_on=2024-08-01", *signed, now="2024-07-20T09:00")
    assert future.exit_code == 2 and "01/08/2024" in future.stderr
    into_force = af("case", "fire", ref, "sign", "--field", "signed_on=2024-07-18", "--field",
                    "effective_on=2024-07-01", *signed, now="2024-07-20T09:00")
    assert into_force.exit_code == 2 and "effective_on" in into_force.stderr
    term = af("case", "fire", ref, "sign", "--field", "signed_on=2024-07-18", "--field", "effective_on=2024-07-18",
              "--field", "term_end=2024-07-18", *signed, now="2024-07-20T09:00")
    assert term.exit_code == 2 and "term_end" in term.stderr
    assert af.snapshot() == before
    af("case", "fire", ref, "sign", "--field", "signed_on=2024-07-18", "--field", "effective_on=2024-07-18",
       "--field", "term_end=2029-07-18", *signed, now="2024-07-20T09:00", ok=True)


def test_case_show_offers_only_what_the_reader_may_do_and_greys_the_rest_with_the_rule(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    officer = af.json("case", "show", ref, user=OFFICER_SNGV)
    assert [a["trigger"] for a in officer["available_triggers"]] == ["submit", "abandon"]
    actions = {a["trigger"]: a for a in officer["actions"]}
    assert actions["submit"]["allowed"] is True
    assert actions["request_party_policy"]["allowed"] is False and actions["request_party_policy"]["rule"] == "guard"
    assert "xin chủ trương" in actions["request_party_policy"]["reason"]
    chairman = {a["trigger"]: a for a in af.json("case", "show", ref, user=APPROVER)["actions"]}
    assert chairman["submit"]["allowed"] is False and chairman["submit"]["rule"] == "role"
    outsider = af.json("case", "show", ref, user=OFFICER_CA)
    assert outsider["available_triggers"] == []
    assert {a["rule"] for a in outsider["actions"] if a["trigger"] == "submit"} == {"unit"}
    assert af.json("case", "show", ref, user=COORD)["available_triggers"]


DIRECTOR = "giamdoc.sngv@bacgiang.example"          # Director of DOFA: role approver, not the Chairman
PARTY_CLERK = "tinhuy.vp@bacgiang.example"          # the Party Committee office: role approver
VICE_DELEGATED = "phochutich1@bacgiang.example"     # vice-chairman, delegation of 'approve' recorded for 2024
VICE_PLAIN = "phochutich2@bacgiang.example"         # vice-chairman without a delegation


def at_chairman_decision(af, tmp_path: Path) -> str:
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref, now=SENT)
    for child in replies(af, ref).values():
        af("case", "fire", child, "agree", now="2024-03-08T09:00:00+07:00", ok=True)
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 15/SNgV", now="2024-03-11T09:00",
       ok=True)
    return ref


def test_only_the_chairman_or_a_delegated_vice_chairman_approves(af, tmp_path):
    ref = at_chairman_decision(af, tmp_path)
    for who in (DIRECTOR, PARTY_CLERK, VICE_PLAIN):
        refused = af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 1", user=who, now="2024-03-12T09:00")
        assert refused.exit_code == 3, who
        assert "quy tắc chức vụ" in refused.stderr and "Chủ tịch Ủy ban nhân dân tỉnh Bắc Giang" in refused.stderr
        assert "Điều 18" in refused.stderr
    en = af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 1", user=DIRECTOR, lang="en",
            now="2024-03-12T09:00")
    assert "position rule" in en.stderr and "Chairman of" in en.stderr
    assert [e["kind"] for e in af.json("case", "history", ref)][-4:] == ["refused"] * 4
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 300/UBND", user=VICE_DELEGATED,
       now="2024-03-12T09:00", ok=True)
    approval = [e for e in af.json("case", "history", ref) if e["trigger"] == "approve" and e["kind"] == "transition"]
    assert approval[0]["actor"] == VICE_DELEGATED
    assert approval[0]["payload"]["delegation"]["principal"] == APPROVER
    assert "05/QĐ-UBND" in approval[0]["payload"]["delegation"]["document"]


def test_a_delegation_outside_its_dates_does_not_count(af, tmp_path):
    ref = at_chairman_decision(af, tmp_path)
    late = af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 1", user=VICE_DELEGATED,
              now="2025-01-05T09:00")  # the delegation ran to 31/12/2024
    assert late.exit_code == 3 and "quy tắc chức vụ" in late.stderr


def open_trip(af, leader: str, now: str = "2024-04-01T09:00") -> str:
    args = ["case", "open", "delegation-outbound", "--title", "Đoàn công tác tỉnh Gifu", "--field", "host_unit=SNGV",
            "--field", "purpose=Ký bản ghi nhớ", "--field", "partner=Tỉnh Gifu", "--field", "country=Nhật Bản",
            "--field", "members=Lãnh đạo tỉnh và Sở Ngoại vụ", "--field", "start_date=2024-06-03",
            "--field", "end_date=2024-06-07", "--field", "budget_source=Ngân sách tỉnh", "--field", f"leader={leader}",
            "--field", "in_annual_plan=true"]
    for name in ("criterion_necessity", "criterion_composition", "criterion_duration", "criterion_budget",
                 "criterion_results"):
        args += ["--field", f"{name}=true"]
    ref = af(*args, user=OFFICER_SNGV, now=now, ok=True).stdout.strip()
    af("case", "fire", ref, "submit", "--attach", f"proposal={_doc(af)}", user=OFFICER_SNGV, now=now, ok=True)
    af("case", "fire", ref, "submit_for_approval", "--field", "appraisal_doc=TĐ 5/SNgV", now="2024-04-02T09:00",
       ok=True)
    return ref


def _doc(af) -> str:
    path = af.home / "to-trinh-doan-ra.pdf"
    path.write_bytes(b"%PDF trip")
    return str(path)


def test_nobody_approves_their_own_trip_and_a_leaders_trip_is_decided_from_above(af):
    own = open_trip(af, APPROVER)
    refused = af("case", "fire", own, "approve", "--field", "decision_no=QĐ 7", user=APPROVER, now="2024-04-03T09:00")
    assert refused.exit_code == 3 and "không ai tự phê duyệt" in refused.stderr
    af("case", "fire", own, "record_central_approval", "--field", "central_approval_doc=CV 123/VPCP-QHQT",
       now="2024-04-10T09:00", ok=True)
    assert af.json("case", "show", own)["state"] == "approved"

    vice_led = open_trip(af, VICE_PLAIN)
    peer = af("case", "fire", vice_led, "approve", "--field", "decision_no=QĐ 8", user=VICE_DELEGATED,
              now="2024-04-03T09:00")
    assert peer.exit_code == 3 and "cao hơn trưởng đoàn" in peer.stderr
    af("case", "fire", vice_led, "approve", "--field", "decision_no=QĐ 8", user=APPROVER, now="2024-04-03T09:00",
       ok=True)
    assert af.json("case", "show", vice_led)["state"] == "approved"
