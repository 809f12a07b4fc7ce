"""Assigned tasks opened from a plan file (CSV, XLSX or YAML), all rows or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from agreeflow.engine.core import cases, clock, definitions
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.procedures import plans
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, reading

Items = Callable[[Session], list[tuple[str, dict[str, str], str | None]]]


def open_cases(settings: Settings, workflow: str, items: Items) -> list[str]:
    """Open many cases of one workflow in ONE transaction: all of them, or — on any error — none.

    ``items(session)`` returns (title, fields as text, note) per case; it runs
    inside the transaction so its checks see what the writes will see.
    """
    defn = definitions.get(workflow)
    at = now()
    def work(s: Session) -> list[str]:
        actor = base.writer(s, settings)
        return [cases.open_case(s, defn, title, raw, actor, at, note=note).ref for title, raw, note in items(s)]
    return base.refused(settings, f"open {workflow}", work)


def import_tasks(settings: Settings, path: Path, dry_run: bool = False) -> dict[str, Any]:
    """Open one task case per row of a plan file; every bad row is listed and nothing is written."""
    rows = plans.read_rows(path)
    checked: list[Any] = []
    today = clock.to_local(now()).date()

    def items(s: Session) -> list[tuple[str, dict[str, str], str | None]]:
        checked.extend(plans.prepare(s, rows, deadlines.calendar_for(s), today))
        return [(i.title, i.fields, f"{path.name}, {i.where}") for i in checked]
    if dry_run:
        with reading(settings) as s:
            items(s)
        refs: list[str | None] = [None] * len(checked)
    else:
        refs = list(open_cases(settings, plans.WORKFLOW, items))
    return {"file": str(path), "rows": len(rows), "dry_run": dry_run,
            "tasks": [{"id": ref, **i.to_json()} for ref, i in zip(refs, checked)]}
