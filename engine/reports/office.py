"""The XLSX file of a report: one sheet per section.

It takes the report's sections of tables (``engine.annual.sections``), so
the numbers in the file are the numbers on the screen, and dates stay dates
(real date cells).  The DOCX of a report is a Decree 30/2020 document:
engine.reports.letters and engine.reports.decree30.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, BinaryIO

from agreeflow.engine.core import clock
from agreeflow.engine.core.i18n import t
from agreeflow.engine.reports.annual import Section, title_of


def _is_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def write_xlsx(out: BinaryIO, rep: dict[str, Any], sections: list[Section], lang: str) -> None:
    """One sheet per section: bold headers, widths fitted to the text, real date cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    title = title_of(rep, lang)
    made = rep.get("generated_at")  # a stored instant: shown as a day and time in Vietnam, never as ISO text
    when = t("made on {at}", lang, at=clock.fmt_local(clock.parse_instant(made))) if made else None
    subtitle = " — ".join(x for x in (rep.get("province"), rep.get("issuer"), when) if x)
    for sec in sections:
        ws = wb.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", sec.title)[:31])
        ws.cell(1, 1, title).font = Font(bold=True, size=14)
        ws.cell(2, 1, subtitle).font = Font(italic=True)
        widths: dict[int, int] = {}
        r = 4
        for tbl in sec.tables:
            ws.cell(r, 1, tbl.title).font = Font(bold=True, size=12)
            r += 1
            for j, name in enumerate(tbl.columns, 1):
                cell = ws.cell(r, j, name)
                cell.font, cell.fill = Font(bold=True), header_fill
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                widths[j] = max(widths.get(j, 0), len(name))
            r += 1
            for row in tbl.rows:
                for j, value in enumerate(row, 1):
                    cell = ws.cell(r, j, value)
                    if _is_day(value):
                        cell.number_format = "DD/MM/YYYY"
                    widths[j] = max(widths.get(j, 0), 10 if _is_day(value) else len(str(value or "")))
                r += 1
            if not tbl.rows:
                ws.cell(r, 1, t("none", lang)).font = Font(italic=True)
                r += 1
            r += 1
        for j, width in widths.items():
            ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8) + 2, 60)
    wb.save(out)
