"""Write a first .docx template (python-docx) from plain lines: a process's starting point, which
the bureau then edits in Word. Lines hold docxtpl/Jinja tags such as {{ case_no }}."""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

Block = str | list[list[str]]  # a paragraph ("> " centred, ">> " right-aligned) or a table's rows


def write_template(path: Path, title: str, blocks: list[Block]) -> None:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")
    doc.add_heading(title, 0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for block in blocks:
        if isinstance(block, list):
            table = doc.add_table(rows=len(block), cols=len(block[0]))
            table.style = "Table Grid"
            for r, row in enumerate(block):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
            continue
        align = WD_ALIGN_PARAGRAPH.RIGHT if block.startswith(">> ") else \
            WD_ALIGN_PARAGRAPH.CENTER if block.startswith("> ") else None
        para = doc.add_paragraph(block.removeprefix(">> ").removeprefix("> "))
        if align is not None:
            para.alignment = align
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
