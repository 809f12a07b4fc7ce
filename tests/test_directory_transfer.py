"""``directory transfer``: the open work of a district that ceased on 30/06/2025 passes to the provincial People's
Committee (Decree 177/2025), each move logged on its case; admins only, refusals logged, a dry run writes nothing."""

from __future__ import annotations

from agreeflow.engine.core import directory
from tests.conftest import ADMIN, AUDITOR, COORD
from tests.test_audit_verify__tables_and_truncation import sql

OFFICER_LNG = "chuyenvien.lng@bacgiang.example"
OFFICER_UBND = "vanphong@bacgiang.example"
JUNE_30 = "2025-06-30T09:00"
JULY_1 = "2025-07-01T09:00"


def open_task(af, lead: str, coop: str | None = None, title: str = "Kế hoạch thực hiện thỏa thuận") -> str:
    args = ["case", "open", "task", "--title", title, "--field", f"lead_unit={lead}",
            "--field", "due_phrase=trong Quý III năm 2025"]
    if coop:
        args += ["--field", f"cooperating_units={coop}"]
    return af(*args, now=JUNE_30, ok=True).stdout.strip()


def district_work(af) -> dict[str, str]:
    """Open on 30/06/2025: a Lục Ngạn agreement, a Lục Ngạn task, a DOFA task Lục Ngạn co-operates on, and a
    Lục Ngạn task already cancelled."""
    agreement = af("case", "open", "agreement-local", "--title", "Thỏa thuận hợp tác Lục Ngạn – Hà Khẩu",
                   "--field", "proposing_unit=LNG", "--field", "partner=Huyện Hà Khẩu (Vân Nam, Trung Quốc)",
                   "--field", "consulted_units=SNGV,STP", user=OFFICER_LNG, now=JUNE_30, ok=True).stdout.strip()
    work = {"agreement": agreement, "task": open_task(af, "LNG"), "coop": open_task(af, "SNGV", "LNG,TPBG"),
            "closed": open_task(af, "LNG", title="Nhiệm vụ đã hủy")}
    af("case", "fire", work["closed"], "cancel", now=JUNE_30, ok=True)
    return work


def test_a_district_agreement_and_task_open_on_30_06_2025_pass_to_the_provincial_committee(af):
    work = district_work(af)
    af("case", "fire", work["task"], "start", user=OFFICER_LNG, now=JUNE_30, ok=True)

    dry = af.json("directory", "transfer", "LNG", "UBND", "--from", "2025-07-01", "--dry-run", user=AUDITOR,
                  now=JULY_1)
    assert dry["dry_run"] is True and dry["deadlines"] == 1
    assert [c["id"] for c in dry["cases"]] == [work["agreement"], work["task"], work["coop"]]
    assert af.json("case", "show", work["task"])["unit"] == "LNG"  # nothing written

    before = af.snapshot()
    res = af("directory", "transfer", "LNG", "UBND", "--from", "2025-07-01", "--lang", "en", user=COORD, now=JULY_1)
    assert res.exit_code == 3 and "may not do 'directory transfer' on case HE-THONG" in res.stderr
    refused = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]
    assert refused["kind"] == "refused" and refused["actor"] == COORD and refused["trigger"] == "directory transfer"
    assert af.json("case", "show", work["task"])["unit"] == "LNG" and af.snapshot() != before  # only the refusal

    res = af("directory", "transfer", "LNG", "UBND", "--from", "01/07/2025", "--note",
             "Nghị định 177/2025/NĐ-CP", "--lang", "en", user=ADMIN, now=JULY_1, ok=True)
    assert res.stdout.splitlines()[0] == ("Moved the open work of LNG to UBND from 01/07/2025: 3 case(s), 1 open "
                                          "deadline(s); each move is logged on its case.")
    task = af.json("case", "show", work["task"])
    assert task["unit"] == "UBND" and task["fields"]["lead_unit"] == "UBND"
    assert [(d["key"], d["unit"]) for d in task["deadlines"]] == [("timer:assigned:due", "UBND")]
    event = af.json("case", "history", work["task"])[-1]
    assert event["kind"] == "unit_transferred" and event["actor"] == ADMIN and event["note"] == "Nghị định 177/2025/NĐ-CP"
    assert event["payload"]["from_unit"] == "LNG" and event["payload"]["to_unit"] == "UBND"
    assert event["payload"]["effective_from"] == "2025-07-01" and event["payload"]["unit"] == ["LNG", "UBND"]
    assert event["payload"]["fields"] == {"lead_unit": {"before": "LNG", "after": "UBND"}}
    assert [d["key"] for d in event["payload"]["deadlines"]] == ["timer:assigned:due"]
    label = task["words"]["fields"]["lead_unit"]["label"]  # the history names the field as the workflow does
    assert f"{label}: LNG → UBND" in event["text"] and "lead_unit" not in event["text"], event["text"]
    agreement = af.json("case", "show", work["agreement"])
    assert agreement["unit"] == "UBND" and agreement["fields"]["proposing_unit"] == "UBND"
    coop = af.json("case", "show", work["coop"])
    assert coop["unit"] == "SNGV" and coop["fields"]["cooperating_units"] == ["UBND", "TPBG"]
    assert [d["unit"] for d in coop["deadlines"]] == ["SNGV"]
    closed = af.json("case", "show", work["closed"])
    assert closed["unit"] == "LNG" and closed["fields"]["lead_unit"] == "LNG"  # what happened stays as it was
    summary = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]
    assert summary["kind"] == "unit_transferred" and summary["payload"]["cases"] == [
        work["agreement"], work["task"], work["coop"]] and summary["payload"]["deadlines"] == 1
    history = af("case", "history", work["task"], "--lang", "en", now=JULY_1, ok=True).stdout
    assert "LNG → UBND from 01/07/2025:" in history

    # The Committee's officer now acts on it; the district's officer no longer may.
    assert af("case", "fire", work["task"], "report", "--field", "result_document=KH 1/UBND", user=OFFICER_LNG,
              now="2025-07-02T09:00").exit_code == 3
    af("audit", "verify", user=AUDITOR, ok=True)
    again = af.json("directory", "transfer", "LNG", "UBND", "--from", "2025-07-01", user=ADMIN, now=JULY_1)
    assert again["cases"] == [] and again["deadlines"] == 0

    # The transfer is in the log: putting the old unit back into the task's fields is tampering.
    moved = "REPLACE(fields, '\"lead_unit\": \"UBND\"', '\"lead_unit\": \"LNG\"')" if af.dialect == "sqlite" \
        else "REPLACE(fields::text, '\"lead_unit\": \"UBND\"', '\"lead_unit\": \"LNG\"')::json"
    sql(af, f"UPDATE cases SET fields = {moved} WHERE ref = '{work['task']}'")
    assert af.json("case", "show", work["task"])["fields"]["lead_unit"] == "LNG"
    res = af("audit", "verify", "--lang", "en", user=AUDITOR)
    assert res.exit_code == 4
    assert f"{work['task']}: cases.fields['lead_unit'] is 'LNG' but the log says 'UBND'" in res.stderr


def test_a_transfer_that_cannot_be_is_refused_before_anything_is_written(af):
    district_work(af)
    before = af.snapshot()
    cases = {
        ("LNG", "UBND", "2025-06-30"): "Option --from: '30/06/2025' is not valid. The unit LNG is active until "
                                       "30/06/2025: only the work of a unit that has ceased is transferred.",
        ("SNGV", "UBND", "2025-07-01"): "Option --from: '01/07/2025' is not valid. The unit SNGV is active (no end "
                                        "date in the directory): only the work of a unit that has ceased",
        ("LNG", "TPBG", "2025-07-01"): "No active unit 'TPBG' on 01/07/2025: Bac Giang City People's Committee (TPBG) "
                                       "is no longer active from 01/07/2025.",
        ("LNGG", "UBND", "2025-07-01"): "No active unit 'LNGG' in the directory. Did you mean 'LNG'?",
        ("LNG", "LNG", "2025-07-01"): "Option NEW: 'LNG' is not valid.",
        ("LNG", "UBND", "2025-07-02"): "Option --from: '02/07/2025' is not valid. A transfer takes effect on a day "
                                       "that has come (today is 01/07/2025).",
        ("LNG", "UBND", "hôm qua"): "Option --from: 'hôm qua' is not valid. Give a date as YYYY-MM-DD or dd/mm/yyyy",
    }
    for (old, new, since), message in cases.items():
        res = af("directory", "transfer", old, new, "--from", since, "--lang", "en", user=ADMIN, now=JULY_1)
        assert res.exit_code == 2 and message in res.stderr, (old, new, since, res.stderr)
    assert af.snapshot() == before


def test_after_loading_the_merged_province_its_admin_transfers_every_district(af):
    work = district_work(af)
    af("directory", "load", str(directory.MERGED_SAMPLE), user=ADMIN, now=JULY_1, ok=True)
    admin = "quantri@bacninh.example"
    moved = {}
    for district in ("TPBG", "VY", "YD", "LG", "LN", "LNG", "SD", "YT", "TY", "HH"):
        res = af.json("directory", "transfer", district, "UBND", "--from", "2025-07-01", user=admin, now=JULY_1)
        moved[district] = [c["id"] for c in res["cases"]]
    assert moved["LNG"] == [work["agreement"], work["task"], work["coop"]]
    assert moved["TPBG"] == [work["coop"]] and all(not v for k, v in moved.items() if k not in ("LNG", "TPBG"))
    assert af.json("case", "show", work["coop"], user=admin)["fields"]["cooperating_units"] == ["UBND"]
    open_units = {c["unit"] for c in af.json("case", "list", user=admin) if c["state"] not in ("cancelled",)}
    assert open_units <= {"UBND", "SNGV"}
