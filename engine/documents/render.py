"""Fill a .docx template (docxtpl, Jinja tags typed in Word) and render the result as a PDF.

The PDF is drawn from the filled document's own paragraphs and tables with fpdf2 and a Chinese
font shipped in fonts/ (embedded, subset per document), so no office suite, network or system
font is needed. Dates in the context render as 2026年3月2日 through the `cn_date` filter.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate
from fpdf import FPDF

FONT = Path(__file__).resolve().parent / "fonts" / "NotoSerifSC-GB2312.otf"


def cn_date(value: Any) -> str:
    """2026-03-02 (a date, datetime or ISO text) -> 2026年3月2日; anything else unchanged."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, (date, datetime)):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
    env.filters["cn_date"] = cn_date
    return env


def fill_docx(template: Path, context: dict[str, Any]) -> bytes:
    """The template filled with the context (an unknown tag renders empty)."""
    tpl = DocxTemplate(str(template))
    tpl.render(context, _jinja(), autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def _blocks(doc: Any) -> list[Paragraph | Table]:
    """The body's paragraphs and tables in document order."""
    return list(doc.iter_inner_content())


def _paragraph(pdf: FPDF, p: Paragraph) -> None:
    title = p.style is not None and p.style.name in ("Title", "Heading 1")
    centered = p.alignment == WD_ALIGN_PARAGRAPH.CENTER or title
    right = p.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    pdf.set_font("cjk", size=20 if title else 12)
    text = p.text.strip()
    if not text:
        pdf.ln(4)
        return
    pdf.multi_cell(0, 12 if title else 8, text, align="C" if centered else "R" if right else "J",
                   new_x="LMARGIN", new_y="NEXT")


def _table(pdf: FPDF, t: Table) -> None:
    pdf.set_font("cjk", size=11)
    with pdf.table(first_row_as_headings=False, line_height=7) as out:
        for row in t.rows:
            cells = out.row()
            for cell in row.cells:
                cells.cell(cell.text.strip())
    pdf.ln(3)


def docx_to_pdf(docx: bytes, title: str) -> bytes:
    """A PDF of the filled document's text, tables and alignment (A4, embedded CJK font)."""
    doc = Document(io.BytesIO(docx))
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("RongFlow")
    pdf.add_font("cjk", fname=str(FONT))
    # the subset keeps the font's glyph boxes: recomputing them from every CFF outline on save was
    # most of a document's rendering time
    pdf.fonts["cjk"].ttfont.recalcBBoxes = False
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    for block in _blocks(doc):
        if isinstance(block, Table):
            _table(pdf, block)
        else:
            _paragraph(pdf, block)
    return bytes(pdf.output())
