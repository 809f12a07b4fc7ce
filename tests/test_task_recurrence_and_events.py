"""Tasks from notices and plans (seeds 000, 004): period due dates, yearly tasks that open next year's task
when they close, and tasks "after the MOU is signed" whose clock starts when the linked agreement is signed."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import APPROVER, COORD, OFFICER_SNGV
from tests.test_agreement_province import all_agree, doc, open_agreement, to_opinions

NOTICE = "2024-06-21T09:00:00+07:00"   # steering committees' meeting, seed 004


def open_task(af, title: str, unit: str, phrase: str, now: str = NOTICE, **extra: str) -> str:
    args = ["case", "open", "task", "--title", title, "--field", f"lead_unit={unit}", "--field", f"due_phrase={phrase}"]
    for k, v in extra.items():
        args += ["--field", f"{k}={v}"]
    return af(*args, now=now, ok=True).stdout.strip()


def due_of(af, ref: str) -> dict:
    return next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"].endswith(":due"))


def test_seed_004_assignments_with_their_due_dates_lead_units_and_agreements(af):
    agreements = {}
    for unit, partner in (("TPBG", "Quận Seo (Daejeon, Hàn Quốc)"), ("TPBG", "Thành phố Nam Ninh (Quảng Tây, Trung Quốc)"),
                          ("LNG", "Huyện Hà Khẩu (Vân Nam, Trung Quốc)"), ("LNG", "Huyện Anouvong (Xay Som Boun, Lào)")):
        ref = af("case", "open", "agreement-local", "--title", f"Thỏa thuận {unit} – {partner}", "--field",
                 f"proposing_unit={unit}", "--field", f"partner={partner}", now=NOTICE, ok=True).stdout.strip()
        agreements[ref] = unit
    guidance = open_task(af, "Ban hành hướng dẫn trình tự, thủ tục đàm phán, ký kết, thực hiện TTQT", "SNGV",
                         "hoàn thành trong tháng 7/2024", assigned_on="2024-06-21")
    security = open_task(af, "Ban hành hướng dẫn bảo đảm an ninh, bí mật trong hợp tác quốc tế", "CA",
                         "hoàn thành trong tháng 7/2024", assigned_on="2024-06-21")
    plans = [open_task(af, "Xây dựng kế hoạch triển khai thỏa thuận", unit, "trong Quý III năm 2024",
                       assigned_on="2024-06-21", related_case=ref) for ref, unit in agreements.items()]
    for ref, unit in ((guidance, "SNGV"), (security, "CA")):
        shown = af.json("case", "show", ref)
        assert shown["unit"] == unit and due_of(af, ref)["due_date"] == "2024-07-31"
    for ref, (agreement, unit) in zip(plans, agreements.items()):
        shown = af.json("case", "show", ref)
        assert shown["unit"] == unit and shown["fields"]["related_case"] == agreement
        assert due_of(af, ref)["due_date"] == "2024-09-30"
    assert {c["unit"] for c in af.json("case", "list", "--workflow", "task", "--unit", "LNG")} == {"LNG"}


def test_a_yearly_task_opens_next_years_task_when_it_is_accepted(af, tmp_path):
    ref = open_task(af, "Đưa nội dung hợp tác vào kế hoạch đối ngoại hằng năm", "SNGV", "Hàng năm",
                    now="2022-01-05T09:00", assigned_on="2022-01-05")
    assert due_of(af, ref)["due_date"] == "2022-12-31"
    af("case", "fire", ref, "report", "--field", "result_document=KH 3/KH-SNgV", "--attach",
       f"result={doc(tmp_path, 'kh.pdf')}", user=OFFICER_SNGV, now="2022-12-20T09:00", ok=True)
    af("case", "fire", ref, "accept", user=APPROVER, now="2022-12-22T09:00", ok=True)
    nxt = [c for c in af.json("case", "list", "--workflow", "task") if c["id"] != ref]
    assert len(nxt) == 1
    shown = af.json("case", "show", nxt[0]["id"])
    assert shown["state"] == "assigned" and shown["fields"]["previous_occurrence"] == ref
    assert shown["fields"]["assigned_on"] == "2023-01-01" and "result_document" not in shown["fields"]
    assert due_of(af, nxt[0]["id"])["due_date"] == "2023-12-31"
    opened = [e for e in af.json("case", "history", ref) if e["kind"] == "occurrence_opened"]
    assert opened[0]["payload"]["next"] == nxt[0]["id"]

    once = open_task(af, "Nhiệm vụ một lần", "SNGV", "Năm 2022", now="2022-01-05T09:00")
    af("case", "fire", once, "report", "--field", "result_document=x", "--attach", f"result={doc(tmp_path, 'x.pdf')}",
       user=OFFICER_SNGV, now="2022-06-01T09:00", ok=True)
    af("case", "fire", once, "accept", user=APPROVER, now="2022-06-02T09:00", ok=True)
    assert len(af.json("case", "list", "--workflow", "task")) == 3  # no next occurrence for a one-off task


def sign(af, tmp_path: Path, ref: str, signed_on: str, now: str) -> None:
    to_opinions(af, tmp_path, ref, now="2024-08-01T09:00")
    all_agree(af, ref, "2024-08-05T09:00")
    af("case", "fire", ref, "submit_to_chairman", "--field", "synthesis_doc=BC", now="2024-08-06T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=QĐ", user=APPROVER, now="2024-08-07T09:00", ok=True)
    af("case", "fire", ref, "sign", "--field", f"signed_on={signed_on}", "--field", "sign_mode=in_person", "--attach",
       f"signed_copy={doc(tmp_path, 'mou.pdf')}", now=now, ok=True)


def test_a_task_due_after_the_mou_is_signed_starts_its_clock_at_the_signing_date(af, tmp_path):
    mou = open_agreement(af, tmp_path)
    task = open_task(af, "Xây dựng kế hoạch triển khai MOU", "SNGV", "Sau khi MOU được ký kết",
                     now="2024-07-01T09:00", related_case=mou)
    pending = due_of(af, task)
    assert pending["status"] == "pending" and pending["due_date"] is None
    assert pending["pending_event"] == "MOU được ký kết"
    counted = open_task(af, "Báo cáo kết quả ký kết", "SNGV", "trong vòng 10 ngày làm việc sau khi MOU được ký kết",
                        now="2024-07-01T09:00", related_case=mou)
    sign(af, tmp_path, mou, signed_on="2024-08-15", now="2024-08-16T09:00")
    started = due_of(af, task)
    assert started["status"] == "open" and started["due_date"] == "2024-09-16"  # 15/08 + 30 days = Sat 14/09 → Mon
    assert any("MOU được ký kết" in step and mou in step for step in started["explanation"])
    assert due_of(af, counted)["due_date"] == "2024-08-29"  # the phrase's own count: 10 working days
    history = af.json("case", "history", task)
    assert history[-1]["kind"] == "deadline_set" and history[-1]["payload"]["started_by"] == mou

    late = open_task(af, "Nhiệm vụ giao sau khi đã ký", "SNGV", "Sau khi MOU được ký kết",
                     now="2024-08-20T09:00", related_case=mou, after_event_days="20")
    assert due_of(af, late)["due_date"] == "2024-09-04"  # 15/08 + 20 = 04/09, a working day
    af("audit", "verify", user=COORD, ok=True)
