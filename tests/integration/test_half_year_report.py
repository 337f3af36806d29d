"""The half-year report of the demo city (its 120 days) says exactly what 统计指标 says, figure by
figure, in the Word document and in the companion table; each section's cases are listed there;
a period without any event is reported as having no data, not as zeros. The demo city is the
suite's one build (the session fixture `demo_city`, on SQLite, as `rongflow demo` builds it)."""
from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from engine.calendar import to_local_date
from engine.errors import PermissionDenied
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskStatus, User
from workflows.half_year import (FIGURE_HEADERS, NO_CASES, NO_DATA, NOT_BY_CASE, build, period_label,
                                 to_docx, to_xlsx)
from workflows.indicators import period, report



@pytest.fixture(scope="module")
def demo(demo_city):
    """The suite's one demo city (tests/integration/conftest.py), built as `rongflow demo` does."""
    return demo_city.env


def user_id(env, username: str) -> int:
    with env.db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def the_120_days(env):
    today = to_local_date(env.clock.now())
    return today - timedelta(days=120), today


def tables_by_heading(data: bytes) -> list[tuple[str, list[tuple[str, ...]]]]:
    """(the section heading before it, its rows without the header) for each table of the report."""
    doc = Document(io.BytesIO(data))
    out, heading = [], ""
    for block in doc.iter_inner_content():
        if hasattr(block, "rows"):
            rows = [tuple(c.text for c in r.cells) for r in block.rows]
            out.append((heading, rows[1:]))
        elif block.style is not None and block.style.name == "Heading 2":
            heading = block.text
    return out


def test_the_report_of_the_demo_city_matches_the_indicators_figure_by_figure(demo):
    date_from, date_to = the_120_days(demo)
    leader = user_id(demo, "city_lead1")
    figures = report(demo, leader, None, date_from, date_to)
    found = build(demo, leader, None, date_from, date_to)
    assert found.has_data and len(figures.sections) >= 4
    tables = tables_by_heading(to_docx(found))
    assert [h.split("）", 1)[1] for h, _ in tables] == [s.title for s in figures.sections]
    compared = 0
    for (_, rows), section in zip(tables, figures.sections):
        assert rows == [(r.label, r.value, r.basis) for r in section.rows], section.title
        compared += len(rows)
    assert compared >= 20

    book = load_workbook(io.BytesIO(to_xlsx(found)))
    sheet = [tuple(c or "" for c in row) for row in book["指标"].iter_rows(min_row=2, values_only=True)]
    assert sheet == [(figures.unit_name, period_label(date_from, date_to), s.title, r.label, r.value, r.basis,
                      r.note) for s in figures.sections for r in s.rows]
    listing = list(book["案件清单"].iter_rows(min_row=2, values_only=True))
    petition = next(s for s in figures.sections if s.key == "petition")
    registered = next(r for r in petition.rows if r.label == "登记件数")
    in_period = [c for c in listing if c[0] == petition.title and date_from.isoformat() <= c[4] <= date_to.isoformat()]
    assert int(registered.value) == len(in_period) > 0  # the count traces to the cases listed


def test_a_district_report_covers_the_district_only(demo):
    date_from, date_to = the_120_days(demo)
    lead = user_id(demo, "d1_lead")
    found = build(demo, lead, None, date_from, date_to)
    assert found.figures.unit_name.startswith("海安")
    city = build(demo, user_id(demo, "city_lead1"), None, date_from, date_to)
    assert 0 < len(found.cases) < len(city.cases)
    assert {c.case_no for c in found.cases} <= {c.case_no for c in city.cases}


def test_a_period_without_events_says_so_instead_of_showing_zeros(demo):
    leader = user_id(demo, "city_lead1")
    found = build(demo, leader, None, to_local_date(demo.clock.now()).replace(year=2020, month=1, day=1),
                  to_local_date(demo.clock.now()).replace(year=2020, month=6, day=30))
    assert not found.has_data and found.title.endswith("2020年上半年工作完成情况")
    data = to_docx(found)
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert NO_DATA in text and tables_by_heading(data) == []
    listing = list(load_workbook(io.BytesIO(to_xlsx(found)))["案件清单"].iter_rows(min_row=2, values_only=True))
    assert listing[0][0] == NO_DATA


def test_a_caseworker_gets_no_report(demo):
    with pytest.raises(PermissionDenied):
        build(demo, user_id(demo, "d1_cw1"), None, None, None)


def figure_sheet(found) -> dict[tuple[str, str], list[tuple]]:
    """The 指标明细 sheet by (section, figure): its case lines."""
    book = load_workbook(io.BytesIO(to_xlsx(found)))
    assert [c.value for c in book["指标明细"][1]] == FIGURE_HEADERS
    out: dict[tuple[str, str], list[tuple]] = {}
    for line in book["指标明细"].iter_rows(min_row=2, values_only=True):
        out.setdefault((line[0], line[1]), []).append(line)
    return out


def listed(lines) -> dict[str, int]:
    return {line[4]: line[9] for line in lines if line[4] not in (NO_CASES, NOT_BY_CASE)}


def test_each_figure_lists_exactly_the_cases_it_counted(demo):
    """Every figure's lines add up to the figure (a count, a rate's two terms, a sum's or a
    duration's cases); picked figures are recounted from the database on their own."""
    date_from, date_to = the_120_days(demo)
    found = build(demo, user_id(demo, "city_lead1"), None, date_from, date_to)
    sheet = figure_sheet(found)
    checked = 0
    for section in found.figures.sections:
        for row in section.rows:
            lines = sheet[(section.title, row.label)]
            if row.cases is None:
                assert lines[0][4] == NOT_BY_CASE
                continue
            times = sum(line[9] for line in lines if line[4] != NO_CASES)
            if row.counted is not None:  # a rate: "num/den"
                num, den = (int(x) for x in row.basis.split("/"))
                assert (sum(line[10] or 0 for line in lines if line[4] != NO_CASES), times) == (num, den)
            elif row.value.isdigit():
                assert times == int(row.value), (section.title, row.label)
            else:  # a sum or a duration: "N 户"
                assert len(listed(lines)) == int(row.basis.split()[0]), (section.title, row.label)
            checked += 1
    assert checked >= 25

    since, until = period(date_from, date_to)
    with demo.db.read() as s:
        registered = set(s.scalars(select(ProcessInstance.case_no).where(
            ProcessInstance.process_key == "petition", ProcessInstance.created_at >= since,
            ProcessInstance.created_at < until)))
        handed_over = list(s.scalars(select(ProcessInstance.case_no).join(
            HumanTask, HumanTask.instance_id == ProcessInstance.id).where(
            HumanTask.step_id == "district_receipt", HumanTask.status == TaskStatus.completed,
            HumanTask.completed_at >= since, HumanTask.completed_at < until)))
        approved = {i.case_no for i in s.scalars(select(ProcessInstance).where(
            ProcessInstance.process_key == "home_renovation", ProcessInstance.created_at >= since,
            ProcessInstance.created_at < until)) if any("approved_budget" in (e.data or {}) and e.action == "complete"
                                                      for e in s.scalars(select(HistoryEvent).where(
                                                          HistoryEvent.instance_id == i.id)))}
    titles = {sec.key: sec.title for sec in found.figures.sections}
    assert set(listed(sheet[(titles["petition"], "登记件数")])) == registered and registered
    assert listed(sheet[(titles["settlement_handover"], "移交区县（已签收）")]) == dict(Counter(handed_over))
    assert set(listed(sheet[(titles["home_renovation"], "批准资金")])) == approved and approved
    timely = sheet[(titles["petition"], "及时受理率")]
    assert {line[4] for line in timely if line[10]} < {line[4] for line in timely}  # some late, some in time
