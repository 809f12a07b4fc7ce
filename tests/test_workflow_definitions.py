"""Workflow files are data: validated on load, every problem reported at once with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreeflow.engine.core import definitions
from agreeflow.engine.core.errors import DefinitionError
from agreeflow.engine.core.yamlio import load_text

FIXTURE = Path(__file__).parent / "fixtures" / "broken-workflow.yaml"
TRAP = FIXTURE.with_name("trap-workflow.yaml")

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
    assert caught.value.problems == [
        f"{TRAP}:21: transition 'ask': unknown role 'coordinater' — did you mean 'coordinator'?",
        f"{TRAP}:11: state 'stuck' is a dead end: not terminal and no transition leaves it",
        f"{TRAP}:9: state 'waiting' is a trap: no terminal state can be reached from it (it only leads to "
        "'chasing', 'stuck') — add a transition from it, or from a state it leads to, towards a terminal state "
        "('done')",
        f"{TRAP}:10: state 'chasing' is a trap: no terminal state can be reached from it (it only leads to "
        "'waiting', 'stuck') — add a transition from it, or from a state it leads to, towards a terminal state "
        "('done')",
    ]
