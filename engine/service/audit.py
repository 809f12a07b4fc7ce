"""The log for auditors: verify the chains, query, export, checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from agreeflow.engine.core import audit, cases
from agreeflow.engine.core.errors import TamperingError
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.reports import auditlog, checkpoint
from agreeflow.engine.reports import common as reports
from agreeflow.engine.service.base import now, reading


def verify(settings: Settings, case_ref: str | None = None, checkpoint_file: Path | None = None) -> dict[str, Any]:
    """Recompute every chain; TamperingError (exit 4) names the first broken event of each case.

    With a checkpoint file (``audit checkpoint``), also require every head it
    recorded to still be there with the same hash — which catches a rewrite
    whose author recomputed all the hashes in the database.
    """
    cp = checkpoint.read(checkpoint_file) if checkpoint_file else None
    with reading(settings) as s:
        case_id = cases.find(s, case_ref).id if case_ref else None
        n_events, n_cases, breaks = audit.verify_log(s, case_id)
        if cp is not None:
            broken = {b.case for b in breaks}
            heads = [h for h in cp["heads"] if case_ref in (None, h["case"])]
            breaks += [b for b in checkpoint.breaks(s, {**cp, "heads": heads}) if b.case not in broken]
    result: dict[str, Any] = {"events": n_events, "cases": n_cases, "broken": [b.to_json() for b in breaks]}
    if cp is not None:
        result["checkpoint"] = {"root": cp["root"], "taken_at": cp.get("taken_at"), "heads": len(cp["heads"])}
    if breaks:
        raise TamperingError(listing="\n".join(f"  - {b.case} seq {b.seq}: {b.problem}" for b in breaks),
                             broken=result["broken"], events=n_events, cases=n_cases)
    return result


def audit_log(settings: Settings, start: str | None = None, end: str | None = None, **filters: str | None
              ) -> list[dict[str, Any]]:
    """Events matching ``case``/``actor``/``unit``/``kind`` in the period, oldest first."""
    w = reports.window(start, end)
    with reading(settings) as s:
        return auditlog.query(s, w, **filters)


def audit_export(settings: Settings, fmt: str, out: TextIO, start: str | None = None, end: str | None = None
                 ) -> dict[str, Any]:
    """Write every chain field of every event (in the period) to ``out`` as jsonl or csv."""
    w = reports.window(start, end)
    with reading(settings) as s:
        return {"format": fmt, **auditlog.write(auditlog.export_rows(s, w), out, fmt)}


def audit_checkpoint(settings: Settings) -> dict[str, Any]:
    """Verify the log, then pin every chain's head and their Merkle root (exit 4 if already broken)."""
    with reading(settings) as s:
        return checkpoint.take(s, now())


def checkpoint_text(cp: dict[str, Any]) -> str:
    """A checkpoint as the file that is kept outside the database."""
    return checkpoint.dumps(cp)
