"""Workflow files are data: validated on load, every problem reported at once with file:line."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from pathlib import Path

import pytest

from agreeflow.engine.core import definitions
from agreeflow.engine.core.errors import DefinitionError
from agreeflow.engine.core.guards import GuardContext, exclusive_pairs, register_exclusive, registered_guards
from agreeflow.engine.core.yamlio import load_checked, load_text
from agreeflow.workflows import guards as workflow_guards

FIXTURE = Path(__file__).parent / "fixtures" / "broken-workflow.yaml"
TRAP = FIXTURE.with_name("trap-workflow.yaml")
OVERLAP = FIXTURE.with_name("overlap-workflow.yaml")
EXCLUSIVE = FIXTURE.with_name("exclusive-workflow.yaml")

EXPECTED = [
    ":5: field 'partner': unknown key 'requird' — did you mean 'required'?",
    ":6: field 'kind': unknown type 'choise' — did you mean 'choice'?",
    ":16: transition 'submit': unknown state 'reveiw' — did you mean 'review'?",
    ":18: transition 'approve': no roles",
    ":21: transition 'approve': unknown guard 'dossier_complet'",
    ":22: transition 'approve': requires unknown field 'partnr' — did you mean 'partner'?",
    ":24: transition 'reopen': leaves terminal state 'done'",
    ":30: transition 'switch': unknown role 'coordinater' — did you mean 'coordinator'?",
    ":10: state 'orphan' is a dead end",
    ":10: state 'orphan' cannot be reached from the initial state 'draft'",
    ":11: state 'on' is a dead end",  # 'on' stayed a state name, not a boolean
]


def test_a_broken_file_gets_all_its_errors_in_one_lint_run_with_line_numbers(af):
    res = af("workflows", "lint", str(FIXTURE), "--lang", "en")
    assert res.exit_code == 2
    for fragment in EXPECTED:
        assert fragment in res.stderr, f"missing: {fragment}\n{res.stderr}"
    assert "problem(s)" in res.stderr



def test_a_workflow_naming_an_unknown_position_fails_lint_with_the_line_and_the_known_positions(af, tmp_path):
    """Issue 15 point 10: 'who' names positions of the directory's vocabulary; a misspelt one is a lint error."""
    shipped = (Path(__file__).parents[1] / "workflows" / "agreement-province.yaml").read_text(encoding="utf-8")
    assert "{position: chairman, unit: UBND" in shipped
    bad = tmp_path / "agreement-province.yaml"
    bad.write_text(shipped.replace("{position: chairman, unit: UBND", "{position: chairmen, unit: UBND"), encoding="utf-8")
    res = af("workflows", "lint", str(bad), "--lang", "en")
    assert res.exit_code == 2
    assert "transition 'approve': who: unknown position 'chairmen' — did you mean 'chairman'?" in res.stderr
    assert "positions: chairman, vice_chairman, director" in res.stderr

def test_a_round_copying_a_field_the_workflow_does_not_have_fails_lint_with_the_line(af, tmp_path):
    """A spawn's ``field:``/``given:`` value must name a field of the parent workflow: a misspelt one would open
    every reply case of the round without the request letter's number, silently."""
    shipped = (Path(__file__).parents[1] / "workflows" / "agreement-province.yaml").read_text(encoding="utf-8")
    assert "letter_no: given:request_letter_no" in shipped
    bad = tmp_path / "agreement-province.yaml"
    bad.write_text(shipped.replace("letter_no: given:request_letter_no", "letter_no: given:request_leter_no"),
                   encoding="utf-8")
    line = next(i for i, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "request_leter_no" in text)
    res = af("workflows", "lint", str(bad), "--lang", "en")
    assert res.exit_code == 2
    assert f":{line}: transition 'send_for_opinions': spawn field letter_no: given:request_leter_no names no field" \
        in res.stderr


def test_initial_and_terminal_must_be_true_or_false(af, tmp_path):
    """'initial: yes' (YAML 1.2: the text "yes") or 'initial: khong_co' was taken as true; it is a lint error."""
    shipped = (Path(__file__).parents[1] / "workflows" / "task.yaml").read_text(encoding="utf-8")
    assert "    initial: true\n" in shipped
    bad = tmp_path / "task.yaml"
    bad.write_text(shipped.replace("    initial: true\n", "    initial: khong_co\n", 1), encoding="utf-8")
    res = af("workflows", "lint", str(bad))
    assert res.exit_code == 2 and "initial phải là true hoặc false, không phải 'khong_co'" in res.stderr
    res = af("workflows", "lint", str(bad), "--lang", "en")
    assert "state 'assigned': initial must be true or false, not 'khong_co'" in res.stderr


def test_yes_no_on_off_stay_text():
    doc = load_text("states: {on: 1, off: 2}\nvalues: [yes, no, On, true]\n")
    assert list(doc["states"]) == ["on", "off"]
    assert doc["values"] == ["yes", "no", "On", True]


def test_every_shipped_workflow_loads_and_lints_clean(af):
    res = af.json("workflows", "lint")
    assert res["problems"] == []
    assert set(res["ok"]) == {f"{d.id} v{d.version}" for d in definitions.newest()}


def test_graph_draws_mermaid_with_the_current_state_highlighted(af):
    out = af("workflows", "graph", "task", "--lang", "en", ok=True).stdout
    assert out.startswith("stateDiagram-v2")
    assert 'state "Assigned" as assigned' in out and "assigned --> in_progress: start" in out


def test_states_that_only_lead_to_each_other_are_traps_listed_with_their_lines_and_the_other_problems():
    with pytest.raises(DefinitionError) as caught:
        definitions.read(TRAP)
    assert [p.render("en") for p in caught.value.problems] == [
        f"{TRAP}:21: transition 'ask': unknown role 'coordinater' — did you mean 'coordinator'?",
        f"{TRAP}:11: state 'stuck' is a dead end: not terminal and no transition leaves it",
        f"{TRAP}:9: state 'waiting' is a trap: no terminal state can be reached from it (it only leads to "
        "'chasing', 'stuck') — add a transition from it, or from a state it leads to, towards a terminal state "
        "('done')",
        f"{TRAP}:10: state 'chasing' is a trap: no terminal state can be reached from it (it only leads to "
        "'waiting', 'stuck') — add a transition from it, or from a state it leads to, towards a terminal state "
        "('done')",
    ]


def test_two_transitions_on_one_trigger_whose_guards_may_both_pass_are_reported_with_both_lines():
    with pytest.raises(DefinitionError) as caught:
        definitions.read(OVERLAP)
    assert [p.render("en") for p in caught.value.problems] == [  # the two 'close' transitions (term_ended / term_not_ended) are not here
        f"{OVERLAP}:18: transition 'decide': from 'review' it overlaps the transition at line 13 — guards "
        "[no_disagreement] and [term_ended] are not declared exclusive, so whichever comes first in the file fires "
        "when both pass; if they never both pass, declare them with register_exclusive() in workflows/guards.py "
        "— did you mean to guard this transition with 'has_disagreement' (exclusive with 'no_disagreement')?",
    ]


def test_one_trigger_from_one_state_passes_lint_when_the_guards_are_declared_exclusive():
    good, problems = definitions.lint([EXCLUSIVE])
    assert problems == [] and [d.id for d in good] == ["exclusive"]
    with pytest.raises(DefinitionError) as caught:  # the declaration, not the guard names, is what lets it pass
        definitions.parse(load_checked(EXCLUSIVE, DefinitionError), str(EXCLUSIVE), exclusive=set())
    problems = [p.render("en") for p in caught.value.problems]
    assert [p.split(": ", 1)[0] for p in problems] == [f"{EXCLUSIVE}:16"]
    assert "overlaps the transition at line 11" in problems[0]


def test_a_declared_exclusive_pair_must_name_registered_guards():
    with pytest.raises(ValueError) as caught:
        register_exclusive("term_ended", "term_not_endd")
    assert "term_not_endd" in str(caught.value)
    assert frozenset(("term_ended", "term_not_endd")) not in exclusive_pairs()


# A guard whose decision needs the directory (a real case) cannot be judged from fields alone; the district pair
# is exercised on real cases in test_agreement_local.py (a border commune must ask its district, others submit).
NEEDS_A_CASE = {frozenset(("needs_district_opinion", "no_district_opinion_needed"))}
SAMPLE_FIELDS = {
    "party_policy_required": (True, False, "true", None),
    "disagreement": (True, False, None),
    "term_end": ("2024-12-31", "2025-03-01", "2025-03-02", None),  # before, on and after the day of NOW
    "change_kind": (*workflow_guards.AMENDMENTS, *workflow_guards.ENDINGS, "other", None),
}
NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def test_guards_declared_exclusive_never_both_pass_on_the_same_fields():
    guards = registered_guards()
    checked = exclusive_pairs() - NEEDS_A_CASE
    assert len(checked) >= 7  # the shipped declarations are loaded: this test is not vacuous
    for values in product(*SAMPLE_FIELDS.values()):
        fields = dict(zip(SAMPLE_FIELDS, values, strict=True))
        ctx = GuardContext(case=None, definition=None, trigger="t", fields=fields, actor=None, now=NOW,
                           session=None)
        passing = {name for pair in checked for name in pair if guards[name](ctx) is None}
        assert [sorted(pair) for pair in checked if pair <= passing] == [], fields


SAME_DESTINATION = """\
id: same-destination
version: 1
title: {vi: "Hai đường tới một bước", en: "Two ways to one step"}
states:
  draft: {initial: true, label: {vi: Nháp, en: Draft}}
  review: {terminal: true, label: {vi: Thẩm định, en: Review}}
transitions:
  - trigger: submit
    from: draft
    to: review
    roles: [officer]
    guards: [party_policy_required]
    citation: "FIRST"
  - trigger: submit
    from: draft
    to: review
    roles: [officer]
    guards: [party_policy_not_required]
    citation: "SECOND"
"""


@pytest.mark.parametrize(("required", "citation"), [(True, "FIRST"), (False, "SECOND")])
def test_the_step_fired_is_the_transition_whose_guards_passed_even_when_both_lead_to_the_same_state(
        required, citation):
    """Issue 12: the fire path keeps the transition ``transitions`` fired. Two transitions of one trigger to one
    state cannot be told apart by their destination; each has its own citation, and the log must carry the
    right one."""
    from agreeflow.engine.core import machine

    defn = definitions.parse(load_text(SAME_DESTINATION, "same-destination.yaml"), "same-destination.yaml")
    ctx = GuardContext(case=None, definition=defn, trigger="submit", fields={"party_policy_required": required},
                       actor=None, now=NOW, session=None)
    fired = machine.advance(defn, "draft", "submit", ctx)
    assert fired is not None and fired.dest == "review" and fired.citation == citation
