"""Reports computed from the log: compliance, the annual report (XLSX, DOCX), calendar to-dos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agreeflow.engine.core.settings import Settings
from agreeflow.engine.reports import annual, checkpoint, compliance, decree30, ics, letters, office
from agreeflow.engine.reports import common as reports
from agreeflow.engine.reports.common import Table
from agreeflow.engine.service.base import now, reading_for
from agreeflow.engine.service.present import check_output, output_file


def report_compliance(settings: Settings, start: str | None = None, end: str | None = None,
                      unit: str | None = None, map_file: Path | None = None) -> dict[str, Any]:
    """Every statutory step and assigned task of the period: on time, late by N working days, or overdue."""
    w, m = reports.window(start, end), reports.load_map(map_file)
    with reading_for(settings, "report compliance", start=start, end=end, unit=unit) as s:
        return compliance.report(s, m, w, unit, settings.lang, now())


def compliance_tables(rep: dict[str, Any], lang: str) -> list[Table]:
    """The compliance report as titled tables."""
    return compliance.tables(rep, lang)


def report_annual(settings: Settings, year: int, map_file: Path | None = None,
                  checkpoint_file: Path | None = None, xlsx: Path | None = None,
                  docx: Path | None = None) -> dict[str, Any]:
    """The annual report; a checkpoint file's root is printed in it; optionally written as XLSX and DOCX.

    The DOCX is a report in Decree 30/2020 form (engine.reports.decree30), its words from the letter
    template ``annual_report``, signed by the head of the report map's issuing body.
    """
    for target in (xlsx, docx):
        if target is not None:
            check_output(target)
    m = reports.load_map(map_file)
    cp = checkpoint.read(checkpoint_file) if checkpoint_file else None
    pinned = {k: cp[k] for k in ("root", "taken_at", "events", "cases")} if cp else None
    with reading_for(settings, "report annual", year=year) as s:
        at = now()
        rep = annual.report(s, m, year, settings.lang, at, pinned)
        parts = annual.sections(rep, settings.lang)
        doc = letters.annual_document(s, rep, parts, m.issuer, at, settings.letter_templates, settings.lang) \
            if docx else None
    if xlsx:
        output_file(xlsx, lambda fh: office.write_xlsx(fh, rep, parts, settings.lang), binary=True)
    if docx and doc is not None:
        output_file(docx, lambda fh: decree30.write_docx(fh, doc), binary=True)
    return rep


def annual_title(rep: dict[str, Any], lang: str) -> str:
    """The annual report's title line."""
    return annual.title_of(rep, lang)


def annual_sections(rep: dict[str, Any], lang: str) -> list[annual.Section]:
    """The annual report as titled sections of tables."""
    return annual.sections(rep, lang)


def export_ics(settings: Settings, unit: str | None = None, person: str | None = None) -> tuple[bytes, int]:
    """Open deadlines as calendar to-dos (stable UIDs) and how many."""
    with reading_for(settings, "export ics", unit=unit, person=person) as s:
        return ics.build(s, unit, person, settings.lang, now())
