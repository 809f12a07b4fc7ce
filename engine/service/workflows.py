"""The workflow definitions: list, show (versions with their open cases), graph, lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from agreeflow.engine.core import cases, definitions, machine
from agreeflow.engine.core.errors import AgreeflowError
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, WorkflowVersion
from agreeflow.engine.service.base import iso, reading


def workflows_list(settings: Settings) -> list[dict[str, Any]]:
    """The newest version of each workflow."""
    return [{"id": d.id, "version": d.version, "title": d.title.get(settings.lang, d.id),
             "states": len(d.states), "transitions": len(d.transitions), "unconfirmed": len(d.unconfirmed())}
            for d in definitions.newest()]


def workflow_show(settings: Settings, workflow: str) -> dict[str, Any]:
    """Versions of a workflow with how many open cases run on each."""
    vers = definitions.versions(workflow)
    counts: dict[int, int] = {}
    stored: list[int] = []
    try:
        with reading(settings) as s:
            rows = s.exec(select(Case.version, sa.func.count()).where(Case.workflow == workflow,
                                                                      col(Case.closed_at).is_(None))
                          .group_by(col(Case.version))).all()
            counts = {v: n for v, n in rows}
            stored = list(s.exec(select(WorkflowVersion.version).where(WorkflowVersion.workflow == workflow)).all())
    except AgreeflowError:
        pass  # no database yet: show the files only
    newest = vers[-1]
    seen = {d.version for d in vers}
    versions_out = [{"version": d.version, "path": d.path, "open_cases": counts.get(d.version, 0),
                     "effective_from": iso(d.effective_from)} for d in vers]
    versions_out += [{"version": v, "path": "(stored copy)", "open_cases": counts.get(v, 0), "effective_from": None}
                     for v in stored if v not in seen]
    return {"id": newest.id, "title": newest.title, "legal_basis": list(newest.legal_basis),
            "versions": sorted(versions_out, key=lambda v: v["version"]),
            "states": [{"name": n, "label": st.label, "terminal": st.terminal, "initial": st.initial,
                        "timers": [{"id": t.id, "limit": t.limit, "unit": t.unit, "phrase_field": t.phrase_field,
                                    "citation": t.citation, "confirmed": t.confirmed} for t in st.timers]}
                       for n, st in newest.states.items()],
            "transitions": [{"trigger": t.trigger, "label": t.label, "from": list(t.sources), "to": t.dest,
                             "roles": list(t.roles),
                             "guards": list(t.guards), "requires": list(t.requires), "citation": t.citation,
                             "confirmed": t.confirmed} for t in newest.transitions],
            "unconfirmed": newest.unconfirmed()}


def workflow_graph(settings: Settings, workflow: str, case_ref: str | None = None) -> str:
    """A Mermaid state diagram, the case's state marked when ``case_ref`` is given."""
    if case_ref:
        with reading(settings) as s:
            case = cases.find(s, case_ref)
            defn = cases.definition_of(s, case.workflow, case.version)
            return machine.mermaid(defn, settings.lang, case.state)
    return machine.mermaid(definitions.get(workflow), settings.lang)


def lint(paths: list[Path]) -> dict[str, Any]:
    """Check workflow files: the good ones, every problem of every file, and the unconfirmed items."""
    good, problems = definitions.lint(paths or [Path(definitions.folder())])
    return {"ok": [f"{d.id} v{d.version}" for d in good], "problems": problems,
            "unconfirmed": {f"{d.id} v{d.version}": d.unconfirmed() for d in good if d.unconfirmed()}}
