"""Office files of a report: XLSX (one sheet per section) and DOCX (a plain official report).

Both take the report's sections of tables (``engine.annual.sections``), so
the numbers in the files are the numbers on the screen.  Dates stay dates:
real date cells in XLSX, dd/mm/yyyy in DOCX.  The DOCX follows the layout of
Vietnamese administrative documents (Decree 30/2020/NĐ-CP): issuing body top
left, national motto top right, place and date, then the title.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, BinaryIO

from agreeflow.engine.core import clock
from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.i18n import t
from agreeflow.engine.reports.annual import Section, title_of

MOTTO = {"vi": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
         "en": ("SOCIALIST REPUBLIC OF VIET NAM", "Independence - Freedom - Happiness")}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


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
    subtitle = " — ".join(x for x in (rep.get("province"), rep.get("issuer"), rep.get("generated_at")) if x)
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


def place_and_date(place: str, d: date, lang: str) -> str:
    """"Bắc Giang, ngày 05 tháng 01 năm 2025" — a leading zero for days below 10 and months 1–2 (Decree 30)."""
    if lang == "en":
        return f"{place}, {d.day} {d:%B %Y}".lstrip(", ")
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{place}, ngày {d.day:02d} tháng {month} năm {d.year}".lstrip(", ")


def write_docx(out: BinaryIO, rep: dict[str, Any], sections: list[Section], lang: str) -> None:
    """A plain official-looking report: heading block, national motto, sections with tables."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(13)
    for s in doc.sections:
        s.top_margin, s.bottom_margin, s.left_margin, s.right_margin = Cm(2), Cm(2), Cm(3), Cm(2)

    def para(cell_or_doc: Any, text: str, bold: bool = False, italic: bool = False, center: bool = False,
             right: bool = False, size: int | None = None, first: bool = False) -> Any:
        p = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if center or right:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.RIGHT
        return p

    province = rep.get("province") or ""
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    body = f"UBND TỈNH {province.upper()}" if lang == "vi" else f"{province.upper()} PROVINCIAL PEOPLE'S COMMITTEE"
    para(left, body.strip(), center=True, size=12, first=True)
    para(left, (rep.get("issuer") or "").upper(), bold=True, center=True, size=12)
    para(right, MOTTO[lang][0], bold=True, center=True, size=12, first=True)
    para(right, MOTTO[lang][1], bold=True, center=True, size=13)
    issued = clock.to_local(clock.parse_instant(rep["generated_at"])).date()
    para(doc, place_and_date(province, issued, lang), italic=True, right=True)
    para(doc, "BÁO CÁO" if lang == "vi" else "REPORT", bold=True, center=True, size=14)
    para(doc, title_of(rep, lang), bold=True, center=True)
    for i, sec in enumerate(sections):
        para(doc, f"{ROMAN[i] if i < len(ROMAN) else i + 1}. {sec.title.upper()}", bold=True)
        for tbl in sec.tables:
            para(doc, tbl.title, italic=True)
            if not tbl.rows:
                para(doc, t("none", lang))
                continue
            grid = doc.add_table(rows=1, cols=len(tbl.columns))
            grid.style = "Table Grid"
            for cell, name in zip(grid.rows[0].cells, tbl.columns):
                cell.paragraphs[0].add_run(name).bold = True
            for row in tbl.rows:
                cells = grid.add_row().cells
                for cell, value in zip(cells, row):
                    cell.text = fmt_day(value) if _is_day(value) else ("" if value is None else str(value))
    cp = rep.get("log_checkpoint")
    if cp:
        para(doc, ("Mốc kiểm tra nhật ký (gốc Merkle SHA-256, xem docs/audit.md): " if lang == "vi" else
                   "Log checkpoint (SHA-256 Merkle root, see docs/audit.md): ")
             + f"{cp['root']} — {cp['cases']} {'chuỗi' if lang == 'vi' else 'chains'}, {cp['events']} "
             + f"{'sự kiện' if lang == 'vi' else 'events'}, {cp['taken_at']}", italic=True, size=10)
    doc.save(out)
