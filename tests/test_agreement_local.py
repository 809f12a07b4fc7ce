"""Agreements of provincial units (Decree 64/2021) through the CLI: who may propose is data checked against
the directory (districts are gone from 01/07/2025), border communes ask their district first while one
exists, DOFA reviews with the clock stopped for completion, the Chairman decides, limits are UNCONFIRMED."""

from __future__ import annotations

from pathlib import Path

from agreeflow.engine.core import directory
from tests.conftest import ADMIN, APPROVER, COORD
from tests.test_agreement_province import doc

OFFICER_SVH = "chuyenvien.svhttdl@bacgiang.example"
OFFICER_LNG = "chuyenvien.lng@bacgiang.example"
OFFICER_XA = "chuyenvien.xabg@bacgiang.example"


def open_local(af, unit: str, now: str, consulted: str = "SNGV,STP", user: str = COORD) -> str:
    return af("case", "open", "agreement-local", "--title", f"Thỏa thuận hợp tác của {unit}",
              "--field", f"proposing_unit={unit}", "--field", "partner=Huyện Hà Khẩu (Vân Nam, Trung Quốc)",
              "--field", f"consulted_units={consulted}", now=now, user=user, ok=True).stdout.strip()


def submit(af, tmp_path: Path, ref: str, now: str, user: str, trigger: str = "submit", ok: bool | None = True):
    return af("case", "fire", ref, trigger, "--attach", f"proposal={doc(tmp_path, 'tt.pdf')}",
              "--attach", f"draft_agreement={doc(tmp_path, 'dt.pdf')}", "--lang", "en", user=user, now=now, ok=ok)


def test_department_agreement_from_consultation_to_copy_sent_with_unconfirmed_limits(af, tmp_path):
    ref = open_local(af, "SVHTTDL", "2024-04-01T09:00", user=OFFICER_SVH)
    assert ref == "TTQT-DV-2024-0001"
    submit(af, tmp_path, ref, "2024-04-01T09:00", OFFICER_SVH)
    shown = af.json("case", "show", ref)
    assert shown["state"] == "opinions"
    opinions = next(d for d in shown["deadlines"] if d["key"] == "timer:opinions:opinions")
    assert opinions["due_date"] == "2024-04-10" and opinions["confirmed"] is False
    for child in (c["id"] for c in shown["children"]):
        af("case", "fire", child, "agree", now="2024-04-03T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "synthesis"
    af("case", "fire", ref, "submit_to_dofa", "--field", "synthesis_doc=BC 3/SVHTTDL", user=OFFICER_SVH,
       now="2024-04-04T09:00", ok=True)
    af("case", "fire", ref, "request_completion", "--field", "completion_request=Thiếu bản dịch",
       now="2024-04-05T09:00", ok=True)
    af("case", "fire", ref, "complete_dossier", user=OFFICER_SVH, now="2024-04-10T09:00", ok=True)
    resumed = [e for e in af.json("case", "history", ref) if e["kind"] == "resumed"]
    assert resumed and resumed[0]["payload"]["working_days"] == 3
    af("case", "fire", ref, "submit_to_chairman", "--field", "review_doc=TTr 9/SNgV", now="2024-04-11T09:00", ok=True)
    af("case", "fire", ref, "approve", "--field", "decision_no=CV 77/UBND", user=APPROVER, now="2024-04-12T09:00", ok=True)
    af("case", "fire", ref, "sign", "--field", "signed_on=2024-04-20", "--field", "sign_mode=in_person",
       "--attach", f"signed_copy={doc(tmp_path, 'tt-ky.pdf')}", user=OFFICER_SVH, now="2024-04-22T09:00", ok=True)
    copy = next(d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:signed:copy")
    assert copy["due_date"] == "2024-05-06" and copy["confirmed"] is False  # 05/05 is a Sunday
    af("case", "fire", ref, "send_copy", "--field", "copy_no=CV 12/SVHTTDL", user=OFFICER_SVH,
       now="2024-04-25T09:00", ok=True)
    assert af.json("case", "show", ref)["state"] == "in_force"
    lint = af.json("workflows", "lint")
    assert any("Nghị định 64/2021/NĐ-CP, Điều 5 (Bước 2)" in item for item in lint["unconfirmed"]["agreement-local v1"])


def test_only_the_unit_kinds_listed_in_the_workflow_may_propose(af, tmp_path):
    ref = open_local(af, "BNG", "2024-04-01T09:00")  # the Ministry is not a unit under the province
    res = submit(af, tmp_path, ref, "2024-04-01T09:00", COORD, ok=None)
    assert res.exit_code == 3 and "not a kind of unit that may propose" in res.stderr
    assert "department, district, commune, organisation" in res.stderr
    ok = open_local(af, "LHHN", "2024-04-01T09:00")  # a provincial body of an organisation may
    submit(af, tmp_path, ok, "2024-04-01T09:00", COORD)


def test_districts_propose_until_30_06_2025_and_not_after(af, tmp_path):
    ref = open_local(af, "LNG", "2025-06-20T09:00", user=OFFICER_LNG)
    late = open_local(af, "LNG", "2025-06-27T09:00", user=OFFICER_LNG)
    submit(af, tmp_path, ref, "2025-06-30T16:00", OFFICER_LNG)
    res = submit(af, tmp_path, late, "2025-07-01T08:00", COORD, ok=None)
    assert res.exit_code == 3 and "ceased to exist after 30/06/2025" in res.stderr and "Decree 177/2025" in res.stderr
    res = af("case", "open", "agreement-local", "--title", "x", "--field", "proposing_unit=LNG", "--field",
             "partner=y", "--lang", "en", now="2025-07-01T09:00")
    assert res.exit_code == 2 and "No active unit 'LNG'" in res.stderr  # the directory already says so


def test_a_border_commune_asks_its_district_first_while_districts_exist(af, tmp_path):
    sample = directory.SAMPLE.read_text(encoding="utf-8")
    extra = sample.replace("people:\n", "  - {code: XABG, name_vi: \"UBND xã biên giới (mẫu)\", parent: LNG, kind: commune}\n"
                                        "people:\n  - {email: chuyenvien.xabg@bacgiang.example, name: \"Cán bộ xã\", "
                                        "unit: XABG, roles: [officer]}\n")
    path = tmp_path / "directory.yaml"
    path.write_text(extra, encoding="utf-8")
    af("directory", "load", str(path), user=ADMIN, now="2024-05-01T09:00", ok=True)
    ref = open_local(af, "XABG", "2024-05-02T09:00", consulted="CA,BCHQS,BDBP", user=OFFICER_XA)
    res = submit(af, tmp_path, ref, "2024-05-02T09:00", OFFICER_XA, ok=None)
    assert res.exit_code == 3 and "asks its district first" in res.stderr
    submit(af, tmp_path, ref, "2024-05-02T09:00", OFFICER_XA, trigger="ask_district_opinion")
    af("case", "fire", ref, "district_forwards", "--field", "district_opinion_doc=CV 5/UBND-LNG",
       user=COORD, now="2024-05-06T09:00", ok=True)  # DOFA receives the district's opinion and the dossier
    shown = af.json("case", "show", ref)
    assert shown["state"] == "opinions" and sorted(c["unit"] for c in shown["children"]) == ["BCHQS", "BDBP", "CA"]
    after = open_local(af, "XABG", "2025-07-02T09:00", consulted="CA", user=OFFICER_XA)
    submit(af, tmp_path, after, "2025-07-02T09:00", OFFICER_XA)  # no district any more: straight to opinions
    assert af.json("case", "show", after)["state"] == "opinions"
