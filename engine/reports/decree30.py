"""Administrative documents laid out as Decree 30/2020/NĐ-CP, Appendix I asks, written as DOCX.

A :class:`Document` says what a letter or report holds — who issues it, its
number and symbol, place and date, type and summary, addressees, body,
recipients and signature — and :func:`write_docx` puts it on the page:

* A4 portrait, margins 20 mm top and bottom, 30 mm left, 15 mm right (the
  decree allows 20–25 / 30–35 / 15–20); Times New Roman, 14 pt body,
  justified, first line indented 1.27 cm, 6 pt between paragraphs.
* The heading is a borderless table of two columns and two rows, so that
  the number and the place and date stand on one line (Appendix I, II.4):
  the parent body (12 pt) and the issuing body (12 pt bold) on the left,
  a short rule under them; the national name (12 pt bold) and the motto
  (13 pt bold) on the right, ruled as long as the motto; then "Số: 05/…"
  (13 pt) left and the place and date (13 pt italic) right.  A công văn
  (no type name) carries its summary, "V/v …", under the number (12 pt).
* A document with a type name ("TỜ TRÌNH", "BÁO CÁO") has the type (14 pt
  bold) and the summary (14 pt bold, a rule below) centred under the heading.
* "Kính gửi: X." on one line, or "Kính gửi:" with one addressee a line,
  each "- …;" lined up after the colon, the last ending ".".
* The signature block is a borderless table that never splits across a
  page: "Nơi nhận:" (12 pt bold italic) and its lines (11 pt, "- …;", the
  last ".") on the left; the authority and title (14 pt bold capitals,
  "TM. …", "KT. …") with room to sign, then the name (14 pt bold) on the right.
* Page numbers in the top margin, centred, from page 2 on.

Rules under the heading lines are empty paragraphs with a bottom border and
indents, as Word users draw them, so an official can lengthen one in Word.
The words of the layout ("Số", "Kính gửi", "Nơi nhận", the national name…)
come from the catalogue in the document's language; the document's own
text comes from its template (engine.reports.letters).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

from agreeflow.engine.core.clock import fmt_day
from agreeflow.engine.core.i18n import LANGUAGE_TAGS, N_, t

PAGE_MM = (210, 297)
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
HEAD_COLUMNS_MM = (68, 97)
"""The heading's columns: together the width between the margins (165 mm)."""
SIGN_COLUMNS_MM = (80, 85)
BODY_PT = 14
NATION = N_("SOCIALIST REPUBLIC OF VIET NAM")
_AFTER_BORDER = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
                 "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
                 "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                 "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
                 "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
"""What may follow ``w:pBdr`` in a paragraph's properties (ECMA-376 order; Word refuses another order)."""
MOTTO = N_("Independence - Freedom - Happiness")


@dataclass
class Paragraph:
    """One paragraph of the body: ``body`` (justified, indented), ``heading`` (bold) or ``note`` (italic)."""

    text: str
    style: str = "body"


@dataclass
class Grid:
    """A table in the body (the annual report's numbers): a title above, a header row, then rows."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Signature:
    """The right-hand block: authority and title lines ("TM. …", "KT. …", "PHÓ CHỦ TỊCH"), then the name."""

    lines: list[str]
    name: str


@dataclass
class Document:
    """Everything a Decree 30 document shows, as plain values (see the module docstring for where)."""

    lang: str
    issuer: list[str]
    """The issuing body, in capitals, one item a line ("SỞ NGOẠI VỤ"; "ỦY BAN NHÂN DÂN", "TỈNH BẮC GIANG")."""
    parent: str
    """The governing body above it in capitals ("UBND TỈNH BẮC GIANG"), or ""."""
    symbol: str
    """The symbol after the number: "TTr-SNgV", "SNgV-HTQT"."""
    place: str
    day: date
    summary: str
    """Trích yếu: "Về việc …" under a type name; for a công văn the "V/v …" under the number."""
    signature: Signature
    number: int | None = None
    """The registry's number; None leaves room for the clerk to write it."""
    doc_type: str = ""
    """"TỜ TRÌNH", "BÁO CÁO"; "" for a công văn."""
    to: list[str] = field(default_factory=list)
    body: list[Paragraph | Grid] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    title: str = ""
    """The file's title property (shown by document managers)."""


def number_line(number: int | None, symbol: str, lang: str) -> str:
    """"Số: 05/TTr-SNgV" — numbers below 10 take a leading zero; no number leaves room for the clerk."""
    shown = f"{number:02d}" if number is not None else " " * 8
    return t("No. {number}/{symbol}", lang, number=shown, symbol=symbol)


def place_and_date(place: str, d: date, lang: str) -> str:
    """"Bắc Giang, ngày 05 tháng 01 năm 2025": a leading zero for days 1–9 and months 1–2 only (Decree 30)."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return t("{place}, day {day} month {month} year {year}", lang, place=place, day=f"{d.day:02d}", month=month,
             year=d.year).lstrip(", ")


def listed(items: list[str]) -> list[str]:
    """Lines of a list as the decree writes them: "- A;", "- B;", "- C." (the items' own end marks dropped)."""
    clean = [i.strip().removeprefix("- ").rstrip(" ;.") for i in items if i.strip()]
    return [f"- {item}{'.' if n == len(clean) - 1 else ';'}" for n, item in enumerate(clean)]


def _em_width(text: str) -> float:
    """Roughly how wide ``text`` is in Times New Roman, in ems (capitals wider, spaces narrower)."""
    width = 0.0
    for ch in unicodedata.normalize("NFC", text):
        base = unicodedata.normalize("NFD", ch)[0]
        width += 0.25 if base.isspace() else 0.72 if base.isupper() else 0.5
    return width


def _mm(points: float) -> float:
    return points * 25.4 / 72


# ------------------------------------------------------------------ writing
def write_docx(out: BinaryIO, doc: Document) -> None:
    """Write ``doc`` as a .docx file to ``out``."""
    from docx import Document as new_document

    word = new_document()
    _page(word, doc.lang)
    _heading(word, doc)
    if doc.doc_type:
        _para(word, doc.doc_type, bold=True, size=14, center=True, before=12)
        _para(word, doc.summary, bold=True, size=14, center=True)
        room = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]
        _rule(word, min(_mm(14) * _em_width(doc.summary), room) * 0.4, room, before=0)
    _addressees(word, doc)
    for part in doc.body:
        if isinstance(part, Grid):
            _grid(word, part, doc.lang)
        elif part.style == "heading":
            _para(word, part.text, bold=True, justify=True, after=6, indent=True)
        elif part.style == "note":
            _para(word, part.text, italic=True, justify=True, after=6, indent=True)
        else:
            _para(word, part.text, justify=True, after=6, indent=True)
    _signature(word, doc)
    word.core_properties.title = doc.title or doc.summary
    word.core_properties.author = " ".join(doc.issuer).title()
    word.core_properties.language = LANGUAGE_TAGS.get(doc.lang, "vi-VN")
    word.save(out)


def _page(word: Any, lang: str) -> None:
    """A4, the decree's margins and font, and page numbers from page 2 in the top margin."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    normal = word.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), "Times New Roman")
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), LANGUAGE_TAGS.get(lang, "vi-VN"))
    normal.element.get_or_add_rPr().append(language)
    normal.paragraph_format.space_after = Pt(0)
    section = word.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance = Mm(10)
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page = OxmlElement("w:fldSimple")
    page.set(qn("w:instr"), "PAGE")
    run = number.add_run("2")
    run.font.size = Pt(BODY_PT)
    page.append(run._r)
    number._p.append(page)


def _para(where: Any, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None,
          center: bool = False, justify: bool = False, indent: bool = False, before: float = 0,
          after: float = 0, first: bool = False) -> Any:
    """One paragraph (in a cell with ``first``: the cell's own first paragraph), single-spaced unless body."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    p = where.paragraphs[0] if first else where.add_paragraph()
    if text:
        run = p.add_run(text)
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = 1.15 if justify else 1.0
    if indent:
        fmt.first_line_indent = Cm(1.27)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif justify:
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    return p


def _rule(where: Any, length_mm: float, room_mm: float, before: float = 0) -> None:
    """A solid line ``length_mm`` long, centred in ``room_mm``: an empty paragraph with a bottom border."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    p = _para(where, "", before=before)
    length = min(max(length_mm, 12.0), room_mm)
    side = (room_mm - length) / 2
    p.paragraph_format.left_indent, p.paragraph_format.right_indent = Mm(side), Mm(side)
    p.paragraph_format.line_spacing = Pt(2)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    p._p.get_or_add_pPr().insert_element_before(border, *_AFTER_BORDER)


def _fixed(table: Any, widths_mm: tuple[float, ...]) -> None:
    """Fixed column widths that Word and LibreOffice both keep (fixed layout, the grid, every cell)."""
    from docx.oxml.ns import qn
    from docx.shared import Mm

    table.autofit = False  # python-docx writes <w:tblLayout w:type="fixed"/>
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm):
        col.set(qn("w:w"), str(int(Mm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)


def _no_split(table: Any) -> None:
    from docx.oxml import OxmlElement

    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _heading(word: Any, doc: Document) -> None:
    left_mm, right_mm = HEAD_COLUMNS_MM
    head = word.add_table(rows=2, cols=2)
    _fixed(head, HEAD_COLUMNS_MM)
    _no_split(head)
    (body, nation), (number, dated) = head.rows[0].cells, head.rows[1].cells
    first = True
    if doc.parent:
        _para(body, doc.parent, size=12, center=True, first=True)
        first = False
    for line in doc.issuer:
        _para(body, line, bold=True, size=12, center=True, first=first)
        first = False
    _rule(body, _mm(12) * _em_width(doc.issuer[-1] if doc.issuer else "") * 0.45, left_mm, before=1)
    motto = t(MOTTO, doc.lang)
    _para(nation, t(NATION, doc.lang), bold=True, size=12, center=True, first=True)
    _para(nation, motto, bold=True, size=13, center=True)
    _rule(nation, _mm(13) * _em_width(motto), right_mm, before=1)
    _para(number, number_line(doc.number, doc.symbol, doc.lang), size=13, center=True, first=True, before=6)
    if not doc.doc_type and doc.summary:
        _para(number, doc.summary, size=12, center=True, before=6)
    _para(dated, place_and_date(doc.place, doc.day, doc.lang), italic=True, size=13, center=True, first=True,
          before=6)


def _addressees(word: Any, doc: Document) -> None:
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.shared import Cm

    if not doc.to:
        return
    label = t("To:", doc.lang)
    lines = listed(doc.to)
    if len(lines) == 1:
        _para(word, f"{label} {lines[0][2:]}", size=14, center=True, before=12, after=6)
        return
    hang = Cm(2.4)
    for n, line in enumerate(lines):
        p = _para(word, f"{label}\t{line}" if n == 0 else line, size=14, before=12 if n == 0 else 0,
                  after=6 if n == len(lines) - 1 else 0)
        p.paragraph_format.left_indent = Cm(5.0)
        if n == 0:
            p.paragraph_format.first_line_indent = -hang
            p.paragraph_format.tab_stops.add_tab_stop(Cm(5.0), WD_TAB_ALIGNMENT.LEFT)


def _grid(word: Any, grid: Grid, lang: str) -> None:
    from docx.shared import Pt

    _para(word, grid.title, italic=True, justify=True, before=6, after=3)
    if not grid.rows:
        _para(word, t("none", lang), size=12, after=6, indent=True)
        return
    table = word.add_table(rows=1, cols=len(grid.columns))
    table.style = "Table Grid"
    _fixed(table, _grid_widths(grid))
    for cell, name in zip(table.rows[0].cells, grid.columns):
        _para(cell, name, bold=True, size=12, center=True, first=True)
    for row in grid.rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            shown = fmt_day(value) if isinstance(value, date) else ("" if value is None else str(value))
            p = _para(cell, shown, size=12, first=True)
            p.paragraph_format.space_after = Pt(0)
    _para(word, "", after=3)


def _grid_widths(grid: Grid) -> tuple[float, ...]:
    """Column widths across the text width, each by how much its cells hold (bounded, so none starves)."""
    def longest(n: int) -> int:
        cells = [grid.columns[n], *(fmt_day(r[n]) if isinstance(r[n], date) else str(r[n] or "")
                                    for r in grid.rows if n < len(r))]
        return max(len(c) for c in cells)
    weights = [min(max(longest(n), 8), 48) for n in range(len(grid.columns))]
    room = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]
    return tuple(room * w / sum(weights) for w in weights)


def _signature(word: Any, doc: Document) -> None:
    from docx.shared import Pt

    block = word.add_table(rows=1, cols=2)
    _fixed(block, SIGN_COLUMNS_MM)
    _no_split(block)
    left, right = block.rows[0].cells
    _para(left, t("Recipients:", doc.lang), bold=True, italic=True, size=12, first=True, before=12)
    for line in listed(doc.recipients):
        _para(left, line, size=11)
    first = True
    for line in doc.signature.lines:
        _para(right, line, bold=True, size=14, center=True, first=first, before=12 if first else 0)
        first = False
    for _ in range(4):
        _para(right, "", size=14)
    name = _para(right, doc.signature.name, bold=True, size=14, center=True, first=first)
    name.paragraph_format.space_after = Pt(0)
