"""Reports count what happened in the period: by the day each step took effect, never the day a sweep wrote it.

July 2021 and July–August 2024 have no public holiday in Vietnam, so the working days below are the
weekdays, counted by hand.
"""

from __future__ import annotations

import shutil

from tests.conftest import APPROVER, OFFICER_SNGV, ROOT
from tests.test_agreement_province import all_agree, doc, open_agreement, to_opinions

FIXTURES = ROOT / "tests" / "fixtures"
SILENT_ROUND = "Xin ý kiến dự thảo Kế hoạch hợp tác quốc tế năm 2022"


def test_a_2021_round_settled_by_a_2024_sweep_counts_in_2021(af):
    ref = af("case", "open", "consultation", "--title", SILENT_ROUND, "--field", "lead_unit=SNGV",
             "--field", "document=Dự thảo Kế hoạch năm 2022", "--field", "letter_no=Văn bản 150/SNgV-HTQT",
             "--field", "units=SD,LG,YD", "--field", "reply_by=trước ngày 15/07/2021", "--field", "on_silence=deemed_agreed",
             "--field", "silence_rule=Sau thời hạn trên, nếu không có ý kiến được coi như nhất trí",
             now="2021-07-01T09:00", ok=True).stdout.strip()
    af("case", "fire", ref, "send", "--field", "sent_on=2021-07-01", now="2021-07-01T09:30", ok=True)
    kids = {c["unit"]: c["id"] for c in af.json("case", "show", ref)["children"]}
    af("case", "fire", kids["SD"], "agree", now="2021-07-05T09:00", ok=True)
    af("case", "fire", kids["YD"], "comment", "--field", "comment=Bổ sung hợp tác nông nghiệp", "--attach",
       f"reply={doc(af.home, 'yd.pdf')}", now="2021-07-16T09:00", ok=True)  # after the deadline: late
    # Lục Ngạn never replies; nobody runs the sweep until March 2024.
    af("tick", "--no-dispatch", now="2024-03-01T08:00:00+07:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "closed"
    fan_in = next(e for e in af.json("case", "history", ref) if e["trigger"] == "close")
    assert fan_in["at"].startswith("2024-03-01")  # written by the 2024 sweep ...

    in_2021 = af.json("report", "annual", "--year", "2021", now="2024-03-02T09:00")["consultations"]
    assert (in_2021["opened"], in_2021["closed"]) == (1, 1)  # ... but the round ended in 2021
    assert in_2021["replies"] == {"agreed": 1, "commented": 1, "disagreed": 0, "deemed_agreed": 1, "no_reply": 0}
    assert [(c["case"], c["opened"], c["closed"]) for c in in_2021["cases"]] == [(ref, "2021-07-01", "2021-07-16")]
    in_2024 = af.json("report", "annual", "--year", "2024", now="2024-03-02T09:00")["consultations"]
    assert (in_2024["opened"], in_2024["closed"], sum(in_2024["replies"].values()), in_2024["cases"]) == (0, 0, 0, [])

    rep = af.json("report", "compliance", "--from", "2021-01-01", "--to", "2021-12-31", now="2024-03-02T09:00")
    rows = {r["unit"]: (r["outcome"], r["working_days"], r["done_on"]) for r in rep["rows"] if r["case"] in kids.values()}
    assert rows == {"SD": ("on_time", 7, "2021-07-05"),          # 6–9 and 12–14 July to spare (due 14/07)
                    "YD": ("late", 2, "2021-07-16"),             # 15, 16 July
                    "LG": ("deemed_agreed", None, "2021-07-14")}  # at its deadline, never late
    screen = af("report", "compliance", "--from", "2021-01-01", "--to", "2021-12-31", now="2024-03-02T09:00",
                ok=True).stdout
    assert "Coi như nhất trí" in screen and "150/SNgV-HTQT)" in screen and "Trễ hạn" in screen  # table cells wrap
    english = af("report", "compliance", "--from", "2021-07-01", "--to", "2021-07-31", "--lang", "en",
                 now="2024-03-02T09:00", ok=True).stdout
    assert "Deemed agreed" in english and "Done late (2 working days)" in english


def test_signing_and_entry_into_force_count_on_their_own_dates(af, tmp_path):
    ref = open_agreement(af, tmp_path)
    to_opinions(af, tmp_path, ref)
    all_agree(af, ref, "2024-03-08T09:00:00+07:00")
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC 15/SNgV", now="2024-03-11T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ 300/UBND", user=APPROVER, now="2024-03-12T09:00", ok=True)
    # Signed on 28/12/2024, in force from 30/12 — both recorded in January 2025.
    af("case", "fire", ref, "sign", "--field", "signed_on=2024-12-28", "--field", "sign_mode=in_person",
       "--field", "effective_on=2024-12-30", "--field", "term_end=2029-12-30",
       "--attach", f"signed_copy={doc(tmp_path, 'mou.pdf')}", now="2025-01-03T15:00", ok=True)
    af("case", "fire", ref, "report_signing", "--field", "report_no=BC 4/UBND", now="2025-01-06T09:00", ok=True)

    counts = af.json("report", "annual", "--year", "2024", now="2025-01-10T09:00")["agreements"]
    assert (counts["counts"]["signed"]["province"], counts["counts"]["in_force"]["province"]) == (1, 1)
    assert [(c["measure"], c["date"]) for c in counts["cases"] if c["case"] == ref] == [("signed", "2024-12-28"),
                                                                                     ("in_force", None)]
    later = af.json("report", "annual", "--year", "2025", now="2025-01-10T09:00")["agreements"]["counts"]
    assert (later["signed"]["province"], later["in_force"]["province"]) == (0, 1)


def test_a_late_entry_that_made_a_step_on_time_is_listed_on_its_own(af, workflows_copy, tmp_path):
    shutil.copy(FIXTURES / "report-workflows" / "t_agreement.yaml", workflows_copy / "t_agreement.yaml")
    mapping = str(FIXTURES / "report-map.yaml")
    steps = {}
    for name in ("paper", "late_anyway", "in_time"):  # STP's opinions are due Wed 10/07/2024
        steps[name] = af("case", "open", "t_agreement", "--title", f"Dự thảo {name}", "--field", "proposer=SNGV",
                         "--field", "signing_level=province", now="2024-07-01T10:00", ok=True).stdout.strip()
    af("case", "fire", steps["paper"], "sign", "--effective", "2024-07-09", "--reason",
       "Văn bản ký ngày 09/07, nhận bản giấy ngày 15/07", now="2024-07-15T09:00", ok=True)
    af("case", "fire", steps["late_anyway"], "sign", "--effective", "2024-07-11", "--reason", "Nhận bản giấy muộn",
       now="2024-07-15T09:00", ok=True)
    af("case", "fire", steps["in_time"], "sign", now="2024-07-09T09:00", ok=True)
    task = af("case", "open", "task", "--title", "Ban hành hướng dẫn", "--field", "lead_unit=SNGV",
              "--field", "due_phrase=hoàn thành trong tháng 7/2024", "--field", "assigned_on=2024-06-21",
              now="2024-06-21T09:00", ok=True).stdout.strip()
    af("case", "fire", task, "report", "--field", "result_document=Hướng dẫn 15/HD-SNgV", "--attach",
       f"result={doc(tmp_path, 'hd.pdf')}", "--effective", "2024-07-30", "--reason", "Ban hành 30/07, cập nhật muộn",
       user=OFFICER_SNGV, now="2024-08-05T09:00", ok=True)

    rep = af.json("report", "compliance", "--map", mapping, now="2024-08-06T09:00")
    got = {r["case"]: (r["outcome"], r["working_days"], r["done_on"]) for r in rep["rows"]}
    assert got == {steps["paper"]: ("on_time", 1, "2024-07-09"),      # 10 July to spare, by its effective date
                   steps["late_anyway"]: ("late", 1, "2024-07-11"),   # late either way: not an outcome changed
                   steps["in_time"]: ("on_time", 1, "2024-07-09"),    # recorded in time
                   task: ("on_time", 1, "2024-07-30")}                # 31 July to spare
    listed = {r["case"]: r["recorded_late"] for r in rep["late_recorded"]}
    assert sorted(listed) == sorted([steps["paper"], task])
    assert listed[steps["paper"]]["reason"] == "Văn bản ký ngày 09/07, nhận bản giấy ngày 15/07"
    assert listed[task]["by"] == OFFICER_SNGV and listed[task]["recorded_on"] > "2024-07-31"
    screen = af("report", "compliance", "--map", mapping, now="2024-08-06T09:00", ok=True).stdout
    assert "Ghi nhận muộn: đúng hạn theo ngày có hiệu lực, ghi nhận sau hạn" in screen
    assert "Ban hành 30/07" in screen  # the reason, in the section's last column


def test_a_body_that_never_replied_is_no_reply_not_late(af):
    ref = af("case", "open", "consultation", "--title", "Xin ý kiến về đoàn vào", "--field", "lead_unit=SNGV",
             "--field", "document=Kế hoạch đón đoàn", "--field", "units=CA,STP",
             "--field", "reply_by=trước ngày 12/07/2024", now="2024-07-01T09:00", ok=True).stdout.strip()
    af("case", "fire", ref, "send", now="2024-07-01T09:30", ok=True)
    kids = {c["unit"]: c["id"] for c in af.json("case", "show", ref)["children"]}
    af("case", "fire", kids["CA"], "agree", now="2024-07-08T09:00", ok=True)
    af("case", "fire", ref, "close", now="2024-07-17T09:00", ok=True)  # the Justice Department never answered
    assert af.json("case", "show", kids["STP"])["state"] == "no_reply"
    rep = af.json("report", "compliance", now="2024-07-18T09:00")
    rows = {r["unit"]: (r["outcome"], r["working_days"], r["done_on"]) for r in rep["rows"] if r["case"] in kids.values()}
    assert rows == {"CA": ("on_time", 3, "2024-07-08"),   # 9, 10, 11 July to spare (due 11/07)
                    "STP": ("no_reply", None, None)}      # no completion date, never "late"
    assert "Không trả lời" in af("report", "compliance", now="2024-07-18T09:00", ok=True).stdout
