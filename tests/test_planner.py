"""``agreeflow plan``: the fastest legal path, dated on the working-day calendar, with the statutory waits
that bind, their citations, UNCONFIRMED limits flagged — and the Pohang answer (seed 000): a decision asked
for within one week cannot lawfully be promised once MOFA must be consulted."""

from __future__ import annotations

import pytest

from agreeflow.engine.core import definitions

WORKFLOWS = ["agreement-province", "agreement-local", "delegation-outbound", "delegation-inbound",
             "consultation", "consultation-reply", "task"]


def test_pohang_one_week_is_infeasible_because_of_mofas_seven_working_days(af):
    r = af.json("plan", "agreement-province", "--start", "2017-05-02", "--by", "2017-05-09")
    assert r["feasible"] is False and r["latest"] == "2017-05-11" and r["missed_by_wd"] == 2
    assert r["binding"] == [{"state": "opinions", "label": "Lấy ý kiến Bộ Ngoại giao và cơ quan liên quan", "days": 7,
                             "unit": "wd", "citation": "Luật 70/2020/QH14, Điều 19(2)", "confirmed": True}]
    assert r["earliest"] == "2017-05-02" and r["feasible_if_all_reply_at_once"] is True
    assert [s["state"] for s in r["steps"]] == ["draft", "completeness_check", "opinions", "synthesis",
                                                "chairman_decision", "approved", "signed"]
    opinions = next(s for s in r["steps"] if s["state"] == "opinions")
    assert opinions["working_days"] == 7 and any("06/05/2017" in line for line in opinions["explanation"])
    assert r["warnings"]  # the Law was not yet in force in 2017: said, not hidden
    text = af("plan", "agreement-province", "--start", "2017-05-02", "--by", "2017-05-09", "--lang", "en", ok=True).stdout
    assert "INFEASIBLE by 09/05/2017: misses by 2 working days" in text
    assert "Earliest legal completion (full statutory periods): 11/05/2017" in text and "Điều 19(2)" in text
    vi = af("plan", "agreement-province", "--start", "2017-05-02", "--by", "2017-05-09", ok=True).stdout
    assert "KHÔNG KHẢ THI" in vi and "thiếu 2 ngày làm việc" in vi


def test_the_same_procedure_is_feasible_with_enough_time(af):
    r = af.json("plan", "agreement-province", "--start", "2017-05-02", "--by", "2017-05-11")
    assert r["feasible"] is True and r["missed_by_wd"] == 0


def test_a_disagreement_adds_the_prime_ministers_seven_working_days(af):
    r = af.json("plan", "agreement-province", "--start", "2024-03-01", "--field", "disagreement=true")
    assert [b["state"] for b in r["binding"]] == ["opinions", "pm_opinion"]
    assert r["latest"] == "2024-03-21" and r["working_days"] == 14
    assert "pm_opinion" in [s["state"] for s in r["steps"]]


def test_unconfirmed_limits_on_the_path_are_flagged(af):
    r = af.json("plan", "agreement-province", "--start", "2024-03-01", "--field", "party_policy_required=true")
    assert r["steps"][1]["state"] == "party_policy" and r["steps"][1]["wait"]["confirmed"] is False
    assert any("Không có thời hạn luật định" in u for u in r["unconfirmed"])
    local = af.json("plan", "agreement-local", "--start", "2024-03-01")
    assert all(not b["confirmed"] for b in local["binding"]) and len(local["unconfirmed"]) >= 3
    text = af("plan", "agreement-local", "--start", "2024-03-01", "--lang", "en", ok=True).stdout
    assert "UNCONFIRMED" in text


def test_plan_to_a_chosen_state_and_for_a_delegation(af):
    r = af.json("plan", "agreement-province", "--start", "2024-03-01", "--to", "chairman_decision")
    assert r["goal"] == "chairman_decision" and r["steps"][-1]["state"] == "chairman_decision"
    d = af.json("plan", "delegation-inbound", "--start", "2024-05-02", "--by", "2024-05-03")
    assert d["goal"] == "approved" and d["feasible"] is False and d["missed_by_wd"] == 2
    assert d["latest"] == "2024-05-06"  # Saturday 04/05/2024 was a make-up working day


@pytest.mark.parametrize("args, message", [
    (["plan", "agreement-provinse", "--start", "2024-03-01"], "Did you mean 'agreement-province'?"),
    (["plan", "agreement-province", "--start", "31/13/2024"], "is not a date"),
    (["plan", "agreement-province", "--start", "2024-03-01", "--field", "disagrement=true"], "did you mean 'disagreement'?"),
    (["plan", "agreement-province", "--start", "2024-03-01", "--to", "signd"], "(signed?)"),
])
def test_bad_plan_input_exits_2_and_says_what_to_fix(af, args, message):
    res = af(*args, "--lang", "en")
    assert res.exit_code == 2 and message in res.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_shipped_workflow_lints_and_draws_its_graph(af, workflow):
    assert f"{workflow} v1" in af.json("workflows", "lint")["ok"]
    out = af("workflows", "graph", workflow, ok=True).stdout
    assert out.startswith("stateDiagram-v2") and f"[*] --> {definitions.get(workflow).initial}" in out
    shown = af.json("workflows", "show", workflow)
    assert all(t["citation"] for t in shown["transitions"])  # every transition carries its legal basis
