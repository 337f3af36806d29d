"""半年工作总结: the bureau's half-year report for a unit and a period, in the shape of its own
(shared/seed): a Word document with a section per line of work carrying the 统计指标 figures of
that period (the very rows of workflows.indicators.report, so the two never disagree), editable
narrative placeholders for what no system knows, and a companion .xlsx listing every figure, the
cases behind each figure (the very cases the figure counted: engine.indicators.Row.cases) and the
cases of each section, so each figure can be traced to its cases.

A period in which no case of the unit's subtree saw any event is reported as such, not as zeros.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import exists, select

from engine.calendar import to_local_date
from engine.env import Env
from engine.models import HistoryEvent, InstanceStatus, OrgUnit, ProcessInstance
from workflows.indicators import Report, period, report

NUMERALS = "一二三四五六七八九十"
STATUS = {InstanceStatus.running: "办理中", InstanceStatus.completed: "已办结",
          InstanceStatus.cancelled: "已撤销", InstanceStatus.terminated: "已终止",
          InstanceStatus.suspended: "已挂起", InstanceStatus.error: "运行出错"}
NO_DATA = "本期间内本单位及下级单位没有办理记录，以下各项不作统计。"
PLACEHOLDER = "【请在此补充本项工作的主要做法、成效和典型事例（系统无法统计的内容）】"
PLAN = "【请填写下半年本项工作的打算】"


@dataclass(frozen=True)
class CaseLine:
    """A case behind a section's figures: it saw at least one event in the period."""
    process_key: str
    case_no: str
    title: str
    unit: str
    registered_on: date
    status: str
    closed_on: date | None
    id: int = 0


FIGURE_HEADERS = ["工作事项", "指标", "数值", "计算基数", "案件编号", "案件名称", "登记单位", "登记日期",
                  "状态", "计入次数", "其中计入分子"]
NO_CASES = "（本期没有计入该指标的案件）"
NOT_BY_CASE = "（该指标由其他指标计算得出，不直接对应案件，见其所依据的指标）"


@dataclass(frozen=True)
class HalfYear:
    figures: Report        # exactly 统计指标 for the unit and period
    cases: list[CaseLine]  # every case of the subtree that saw an event in the period
    behind: dict[int, CaseLine] = field(default_factory=dict)  # every case a figure counted, by id

    @property
    def has_data(self) -> bool:
        return bool(self.cases)

    @property
    def title(self) -> str:
        return f"{self.figures.unit_name}{period_label(self.figures.date_from, self.figures.date_to)}工作完成情况"


def period_label(date_from: date | None, date_to: date | None) -> str:
    """2026年上半年 for 1 January – 30 June, else the two days in full."""
    if date_from and date_to and date_from.year == date_to.year and (date_from.month, date_from.day) == (1, 1):
        if (date_to.month, date_to.day) == (6, 30):
            return f"{date_from.year}年上半年"
        if (date_to.month, date_to.day) == (12, 31):
            return f"{date_from.year}年"
    def day(d: date | None) -> str:
        return f"{d.year}年{d.month}月{d.day}日" if d else "……"
    return f"{day(date_from)}至{day(date_to)}"


def build(env: Env, user_id: int, unit_id: int | None, date_from: date | None, date_to: date | None) -> HalfYear:
    """The report's figures (统计指标, with its access rule) and the cases behind them."""
    figures = report(env, user_id, unit_id, date_from, date_to)
    since, until = period(date_from, date_to)
    with env.db.read() as session:
        root = session.get(OrgUnit, figures.unit_id)
        assert root is not None
        in_period = select(HistoryEvent.id).where(HistoryEvent.instance_id == ProcessInstance.id)
        if since is not None:
            in_period = in_period.where(HistoryEvent.at >= since)
        if until is not None:
            in_period = in_period.where(HistoryEvent.at < until)
        lines = select(ProcessInstance, OrgUnit.name).join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id)
        rows = session.execute(lines.where(OrgUnit.path.startswith(root.path), exists(in_period))
                               .order_by(ProcessInstance.process_key, ProcessInstance.case_no)).all()
        cases = [_line(i, unit) for i, unit in rows]
        counted = sorted({c for s in figures.sections for r in s.rows for c in (r.cases or ())})
        behind = {i.id: _line(i, unit) for i, unit in
                  session.execute(lines.where(ProcessInstance.id.in_(counted))).all()} if counted else {}
    return HalfYear(figures, cases, behind)


def _line(i: ProcessInstance, unit: str) -> CaseLine:
    return CaseLine(i.process_key, i.case_no, i.title, unit, to_local_date(i.created_at),
                    STATUS.get(i.status, i.status.value), to_local_date(i.closed_at) if i.closed_at else None,
                    i.id)


def _doc() -> Document:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")
    return doc


def _placeholder(doc: Document, text: str) -> None:
    doc.add_paragraph().add_run(text).font.highlight_color = WD_COLOR_INDEX.YELLOW


def to_docx(found: HalfYear) -> bytes:
    """The Word report: title, preface placeholder, 一、 the period's work per line with its
    figures, 二、 next half's plans; every narrative is a highlighted placeholder."""
    doc = _doc()
    doc.add_heading(found.title + "和下一阶段工作计划", 0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    _placeholder(doc, "【总体情况：请填写本期工作的总体评价】")
    doc.add_heading("一、工作开展情况", 1)
    if not found.has_data:
        doc.add_paragraph(NO_DATA)
    counts = {s.key: sum(1 for c in found.cases if c.process_key == s.key) for s in found.figures.sections}
    for n, section in enumerate(found.figures.sections if found.has_data else []):
        doc.add_heading(f"（{NUMERALS[n % 10]}）{section.title}", 2)
        doc.add_paragraph(f"本期（{section.period}）涉及案件{counts.get(section.key, 0)}件，"
                          "主要数据如下（每项指标所计入的案件见配套表格“指标明细”）：")
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, head in zip(table.rows[0].cells, ("指标", "数值", "计算基数")):
            cell.text = head
        for row in section.rows:
            cells = table.add_row().cells
            cells[0].text, cells[1].text, cells[2].text = row.label, row.value, row.basis
        _placeholder(doc, PLACEHOLDER)
    doc.add_heading("二、下一阶段工作打算", 1)
    for n, section in enumerate(found.figures.sections):
        doc.add_paragraph(f"（{NUMERALS[n % 10]}）{section.title}。")
        _placeholder(doc, PLAN)
    as_of = to_local_date(found.figures.as_of)
    doc.add_paragraph(f"数据截至{as_of.year}年{as_of.month}月{as_of.day}日，来源：RongFlow 办理记录（统计指标）。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def figure_lines(found: HalfYear) -> list[list[Any]]:
    """The 指标明细 sheet's rows: per figure, each case it counted (how many times, and how many
    of those in a rate's numerator), in case-number order; a line saying so where none."""
    out: list[list[Any]] = []
    for section in found.figures.sections:
        for row in section.rows:
            head = [section.title, row.label, row.value, row.basis]
            if row.cases is None:
                out.append(head + [NOT_BY_CASE])
                continue
            times, hits = Counter(row.cases), Counter(row.counted or ())
            lines = sorted((found.behind[c] for c in set(times) | set(hits)), key=lambda c: c.case_no)
            out += [head + [c.case_no, c.title, c.unit, c.registered_on.isoformat(), c.status, times[c.id],
                            hits[c.id] if row.counted is not None else ""] for c in lines]
            if not lines:
                out.append(head + [NO_CASES])
    return out


def to_xlsx(found: HalfYear) -> bytes:
    """Three sheets: 指标 (every figure of the report), 指标明细 (the cases behind each figure) and
    案件清单 (the cases of each section)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "指标"
    sheet.append(["单位", "统计期间", "工作事项", "指标", "数值", "计算基数", "说明"])
    for section in found.figures.sections:
        for row in section.rows:
            sheet.append([found.figures.unit_name, period_label(found.figures.date_from, found.figures.date_to),
                          section.title, row.label, row.value, row.basis, row.note])
    detail = book.create_sheet("指标明细")
    detail.append(FIGURE_HEADERS)
    for line in figure_lines(found):
        detail.append(line)
    listing = book.create_sheet("案件清单")
    listing.append(["工作事项", "案件编号", "案件名称", "登记单位", "登记日期", "状态", "办结日期"])
    titles = {s.key: s.title for s in found.figures.sections}
    for c in found.cases:
        listing.append([titles.get(c.process_key, c.process_key), c.case_no, c.title, c.unit,
                        c.registered_on.isoformat(), c.status, c.closed_on.isoformat() if c.closed_on else ""])
    if not found.cases:
        listing.append([NO_DATA])
    for ws in (sheet, detail, listing):
        for cell in ws[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
