"""A provincial agreement (Law 70/2020 arts. 18–19, 27, 33, 34) through the CLI: dossier, completion with
the clock stopped, opinions as child cases (silence is not consent), the Prime Minister on disagreement,
decision, signing, report, implementation, amendment, termination, expiry — and every refusal."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import APPROVER, COORD, OFFICER_CA, OFFICER_SNGV

T0 = "2024-03-01T09:00:00+07:00"
OFFICER_STC = "chuyenvien.stc@bacgiang.example"


def doc(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"%PDF " + name.encode())
    return str(path)


def open_agreement(af, tmp_path: Path, consulted: str = "BNG,CA,STP", **extra: str) -> str:
    args = ["case", "open", "agreement-province", "--title", "Bản ghi nhớ hợp tác với tỉnh Gifu (Nhật Bản)",
            "--field", "proposing_unit=SNGV", "--field", "partner=Tỉnh Gifu", "--field", "partner_country=Nhật Bản",
            "--field", f"consulted_units={consulted}", "--field", "subject=Hợp tác nông nghiệp, giáo dục"]
    for k, v in extra.items():
        args += ["--field", f"{k}={v}"]
    return af(*args, now=T0, ok=True).stdout.strip()


def to_opinions(af, tmp_path: Path, ref: str, now: str = "2024-03-04T09:00:00+07:00") -> None:
    af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'to-trinh.pdf')}",
       "--attach", f"draft_agreement={doc(tmp_path, 'du-thao.pdf')}", user=OFFICER_SNGV, now=now, ok=True)
    af("case", "fire", ref, "send_for_opinions", now=now, ok=True)


def replies(af, ref: str) -> dict[str, str]:
    shown = af.json("case", "show", ref)
    return {c["unit"]: c["id"] for c in shown["children"] if c["id"] in shown["fields"]["_round"]}


def all_agree(af, ref: str, now: str) -> None:
    for child in replies(af, ref).values():
        af("case", "fire", child, "agree", now=now, ok=True)


def to_in_force(af, tmp_path: Path, ref: str) -> None:
    to_opinions(af, tmp_path, ref)
    all_agree(af, ref, "2024-03-08T09:00:00+07:00")
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 15/SNgV", now="2024-03-11T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 300/UBND", user=APPROVER, now="2024-03-12T09:00", ok=True)
    af("case", "fire", ref, "sign", "--field", "signed_on=2024-03-20", "--field", "sign_mode=in_person",
       "--field", "term_end=2029-03-20", "--attach", f"signed_copy={doc(tmp_path, 'mou.pdf')}",
       now="2024-03-20T15:00", ok=True)
    af("case", "fire", ref, "report_signing", "--field", "report_no=BC 40/UBND", now="2024-03-25T09:00", ok=True)


def test_signing_happy_path_with_completion_opinions_decision_report_and_implementation(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    assert ref == "TTQT-2024-0001"
    af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'a.pdf')}",
       "--attach", f"draft_agreement={doc(tmp_path, 'b.pdf')}", user=OFFICER_SNGV, now=T0, ok=True)
    af("case", "fire", ref, "request_completion", "--field", "completion_request=Thiếu bản tiếng Nhật",
       now="2024-03-01T10:00", ok=True)
    assert af.json("case", "show", ref)["suspended_since"]
    af("case", "fire", ref, "complete_dossier", user=OFFICER_SNGV, now="2024-03-05T09:00", ok=True)
    assert af.json("case", "show", ref)["suspended_since"] is None
    af("case", "fire", ref, "send_for_opinions", now="2024-03-05T10:00", ok=True)

    shown = af.json("case", "show", ref)
    assert shown["state"] == "opinions"
    opinions = next(d for d in shown["deadlines"] if d["key"] == "timer:opinions:opinions")
    assert opinions["due_date"] == "2024-03-14" and opinions["citation"] == "Luật 70/2020/QH14, Điều 19(2)"
    assert opinions["confirmed"] is True
    kids = replies(af, ref)
    assert sorted(kids) == ["BNG", "CA", "STP"]
    assert af.json("case", "show", kids["BNG"])["deadlines"][0]["due_date"] == "2024-03-14"  # one limit, written once

    af("case", "fire", kids["CA"], "agree", user=OFFICER_CA, now="2024-03-07T09:00", ok=True)
    af("case", "fire", kids["BNG"], "agree", "--field", "reply_no=1234/BNG-CNV", now="2024-03-08T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "opinions"
    af("case", "fire", kids["STP"], "comment", "--field", "comment=Sửa điều 5", "--attach",
       f"reply={doc(tmp_path, 'stp.pdf')}", now="2024-03-11T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "synthesis"  # fan-in fired by the engine
    fan_in = [e for e in af.json("case", "history", ref) if e["trigger"] == "opinions_in"][0]
    assert fan_in["actor"] == "system"

    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 15/SNgV", now="2024-03-11T10:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 300/UBND", user=APPROVER, now="2024-03-12T09:00", ok=True)
    af("case", "fire", ref, "sign", "--field", "signed_on=2024-03-20", "--field", "sign_mode=online",
       "--field", "term_end=2029-03-20", "--attach", f"signed_copy={doc(tmp_path, 'mou.pdf')}",
       now="2024-03-20T15:00", ok=True)
    report = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:signed:report")
    assert report["due_date"] == "2024-04-04" and report["citation"] == "Luật 70/2020/QH14, Điều 19(5)"
    af("case", "fire", ref, "report_signing", "--field", "report_no=BC 40/UBND", now="2024-03-25T09:00", ok=True)

    shown = af.json("case", "show", ref, now="2024-03-25T10:00")
    assert shown["state"] == "in_force" and shown["fields"]["sign_mode"] == "online"
    renewal = next(d for d in shown["deadlines"] if d["key"] == "timer:in_force:renewal_decision")
    assert renewal["due_date"] == "2028-12-20" and renewal["confirmed"] is False  # 90 days before 20/03/2029
    annual = next(d for d in shown["deadlines"] if d["key"] == "timer:in_force:annual_report")
    assert annual["due_date"] == "2024-12-15"
    af("case", "fire", ref, "record_plan", "--field", "implementation_plan=KH 55/KH-UBND", now="2024-04-10T09:00", ok=True)
    af("case", "fire", ref, "report_progress", "--field", "progress_report=BC 200/SNgV", now="2024-12-10T09:00", ok=True)
    annual = [d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:in_force:annual_report"]
    assert [(d["status"], d["due_date"]) for d in annual] == [("met", "2024-12-15"), ("open", "2025-12-15")]
    assert shown["unconfirmed"]  # case show says some limits are UNCONFIRMED
    af("audit", "verify", ok=True)


def test_disagreement_goes_to_the_prime_minister_before_the_chairman(af, tmp_path):
    ref = open_agreement(af, tmp_path, consulted="BNG,BCA")
    to_opinions(af, tmp_path, ref)
    kids = replies(af, ref)
    af("case", "fire", kids["BNG"], "agree", now="2024-03-05T09:00", ok=True)
    af("case", "fire", kids["BCA"], "disagree", "--field", "comment=Ảnh hưởng an ninh", "--attach",
       f"reply={doc(tmp_path, 'bca.pdf')}", now="2024-03-06T09:00", ok=True)
    res = af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC", "--lang", "en", now="2024-03-07T09:00")
    assert res.exit_code == 3 and "Prime Minister's opinion comes first" in res.stderr
    af("case", "fire", ref, "ask_pm", "--field", "pm_request_no=TTr 20/UBND", now="2024-03-07T09:00", ok=True)
    pm = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:pm_opinion:pm")
    assert pm["due_date"] == "2024-03-18" and pm["unit"] == "TTG"
    af("case", "fire", ref, "pm_consents", "--field", "pm_opinion_doc=CV 99/VPCP", now="2024-03-15T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "chairman_decision"


def test_silence_is_not_consent_overdue_then_escalated_then_decided_on_the_record(af, tmp_path):
    ref = open_agreement(af, tmp_path, consulted="BNG,STP")
    to_opinions(af, tmp_path, ref)  # due 13/03/2024
    kids = replies(af, ref)
    af("case", "fire", kids["STP"], "agree", now="2024-03-05T09:00", ok=True)
    res = af("case", "fire", ref, "escalate", "--lang", "en", now="2024-03-13T09:00")
    assert res.exit_code == 3 and "has not run out: it ends on 13/03/2024" in res.stderr
    af("consultation", "close-round", ref, now="2024-03-14T09:00", ok=True)
    assert af.json("case", "show", kids["BNG"])["state"] == "awaiting"  # not deemed: the Law has no such rule
    summary = af.json("consultation", "summary", ref, now="2024-03-14T09:00")
    assert {r["unit"]: r["status"] for r in summary["replies"]} == {"BNG": "overdue", "STP": "agreed"}
    af("case", "fire", ref, "escalate", now="2024-03-14T09:00", ok=True)
    af("case", "fire", ref, "proceed_on_record", "--field", "proceed_reason=Đã đôn đốc hai lần",
       now="2024-03-20T09:00", ok=True)
    assert af.json("case", "show", kids["BNG"])["state"] == "no_reply"
    shown = af.json("case", "show", ref)
    assert shown["state"] == "synthesis"


def test_extension_and_termination_each_go_back_through_opinions(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_in_force(af, tmp_path, ref)
    af("case", "fire", ref, "propose_amendment", "--field", "change_kind=extend", "--field",
       "change_summary=Gia hạn 5 năm", now="2028-10-01T09:00", ok=True)
    af("case", "fire", ref, "send_for_opinions", now="2028-10-02T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "change_opinions"
    all_agree(af, ref, "2028-10-05T09:00")
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 2", now="2028-10-06T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 9", user=APPROVER, now="2028-10-09T09:00", ok=True)
    af("case", "fire", ref, "sign", "--field", "amended_on=2028-10-20", "--field", "sign_mode=online", "--field",
       "term_end=2034-03-20", "--attach", f"signed_amendment={doc(tmp_path, 'gia-han.pdf')}", now="2028-10-20T09:00", ok=True)
    report = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:change_signed:report")
    assert report["due_date"] == "2028-11-06" and report["confirmed"] is False  # 04/11 is a Saturday → next working day
    af("case", "fire", ref, "report_signing", "--field", "report_no=BC 7", now="2028-10-25T09:00", ok=True)
    renewal = [d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:in_force:renewal_decision"]
    assert renewal[-1]["due_date"] == "2033-12-20"

    af("case", "fire", ref, "propose_termination", "--field", "change_kind=terminate", "--field",
       "change_summary=Đối tác đề nghị chấm dứt", now="2030-01-06T09:00", ok=True)
    af("case", "fire", ref, "send_for_opinions", now="2030-01-07T09:00", ok=True)
    all_agree(af, ref, "2030-01-08T09:00")
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 3", now="2030-01-09T09:00", ok=True)
    res = af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 1", "--lang", "en", user=APPROVER,
             now="2030-01-10T09:00")
    assert res.exit_code == 3 and "is not an amendment" in res.stderr
    af("case", "fire", ref, "approve_termination", "--field", "decision_no=QĐ 10", "--field",
       "end_effective_on=2030-02-01", user=APPROVER, now="2030-01-10T09:00", ok=True)
    notify = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:termination_notice:notify")
    assert notify["due_date"] == "2030-02-18" and notify["citation"] == "Luật 70/2020/QH14, Điều 34"
    af("case", "fire", ref, "notify_mofa", "--field", "mofa_notice_no=CV 5/UBND", now="2030-02-05T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "terminated"
    af("audit", "verify", ok=True)


def test_refusals_wrong_role_missing_document_wrong_state_and_term_already_ended(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    res = af("case", "fire", ref, "submit", "--lang", "en", user=OFFICER_SNGV, now=T0)
    assert res.exit_code == 2 and "--attach proposal=" in res.stderr and "--attach draft_agreement=" in res.stderr
    res = af("case", "fire", ref, "sign", "--lang", "en", now=T0)
    assert res.exit_code == 3 and "'sign' is not possible" in res.stderr and "submit" in res.stderr
    res = af("case", "fire", ref, "submit", "--lang", "en", user=OFFICER_STC, now=T0)
    assert res.exit_code == 3 and "may not do 'submit'" in res.stderr  # Finance is not a party to this case
    to_in_force(af, tmp_path, ref)
    res = af("case", "fire", ref, "expire", "--lang", "en", now="2025-01-01T09:00")
    assert res.exit_code == 3 and "in force until 20/03/2029" in res.stderr
    res = af("case", "fire", ref, "propose_amendment", "--field", "change_kind=extend", "--field", "change_summary=x",
             "--lang", "en", now="2029-04-01T09:00")
    assert res.exit_code == 3 and "expired on 20/03/2029" in res.stderr
    af("case", "fire", ref, "expire", now="2029-04-01T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "expired"
    refused = [e for e in af.json("case", "history", ref) if e["kind"] == "refused"]
    assert len(refused) == 4


def test_the_party_policy_step_is_configurable(af, tmp_path):
    ref = open_agreement(af, tmp_path, party_policy_required="true")
    res = af("case", "fire", ref, "submit", "--attach", f"proposal={doc(tmp_path, 'a.pdf')}", "--attach",
             f"draft_agreement={doc(tmp_path, 'b.pdf')}", "--lang", "en", user=OFFICER_SNGV, now=T0)
    assert res.exit_code == 3 and "request_party_policy" in res.stderr
    af("case", "fire", ref, "request_party_policy", user=OFFICER_SNGV, now=T0, ok=True)
    af("case", "fire", ref, "party_policy_approved", "--field", "party_policy_doc=TB 120-TB/TU",
       "--attach", f"proposal={doc(tmp_path, 'a.pdf')}", "--attach", f"draft_agreement={doc(tmp_path, 'b.pdf')}",
       user=COORD, now="2024-03-15T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "completeness_check"


def test_an_agreement_in_force_offers_amendment_and_termination_whose_kind_the_form_asks_for(af, tmp_path):
    """The guards judge change_kind, a choice the step's form asks for: the steps are offered, not greyed out
    with "'None' is not an amendment" (issue 15 point 8, issue 16's case page)."""
    ref = open_agreement(af, tmp_path)
    to_in_force(af, tmp_path, ref)
    actions = {a["trigger"]: a for a in af.json("case", "show", ref, now="2028-10-01T09:00")["actions"]}
    assert actions["propose_amendment"]["allowed"] and actions["propose_termination"]["allowed"]
    shown = af("case", "show", ref, now="2028-10-01T09:00", ok=True).stdout
    assert f"case fire {ref} propose_amendment" in shown and "'None'" not in shown
    wrong = af("case", "fire", ref, "propose_amendment", "--field", "change_kind=terminate", "--field",
               "change_summary=x", now="2028-10-01T09:00")
    assert wrong.exit_code == 3 and "Điều 33" in wrong.stderr


def test_a_step_no_choice_can_open_shows_only_the_reason_no_choice_removes(af, tmp_path):
    """An agreement whose term is over: propose_amendment is refused for the law's reason alone, not also for
    the empty change_kind the form would ask for (issue 15; seen on TTQT-2021-0001 of the demo)."""
    ref = open_agreement(af, tmp_path)
    to_in_force(af, tmp_path, ref)
    for lang, law, empty in (("vi", "Điều 33", "đề xuất ''"), ("en", "art. 33", "'' is not")):
        actions = {a["trigger"]: a for a in af.json("case", "show", ref, "--lang", lang,
                                                     now="2029-04-01T09:00")["actions"]}
        amend = actions["propose_amendment"]
        assert not amend["allowed"] and law in amend["reason"] and "20/03/2029" in amend["reason"]
        assert empty not in amend["reason"] and "'None'" not in amend["reason"]
        assert actions["propose_termination"]["allowed"]
