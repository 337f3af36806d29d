"""Documents and the half-year report downloaded in Chromium: the city leader clicks 工作总结（Word）
and 数据明细（Excel） on 统计指标 and gets the report and its per-figure table; the auditor opens a
case and downloads its numbered 受理告知书 (Word and PDF), whose timeline names the document."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.factories import act, register_petition
from tests.web.browser_support import sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_leader_downloads_the_report_and_the_auditor_a_notice(env, petition_org, pages, tmp_path):
    org = petition_org
    case_id = register_petition(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})

    page, _problems = pages()
    sign_in(page, "city_lead")
    page.goto("/stats/?date_from=2026-01-01&date_to=2026-06-30")
    with page.expect_download() as got:
        page.get_by_role("link", name="工作总结（Word）").click()
    word = Path(got.value.path()).read_bytes()
    assert got.value.suggested_filename.endswith("2026年上半年工作完成情况.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(word)).paragraphs)
    assert "涉军信访事项办理" in text and "指标明细" in text
    with page.expect_download() as got:
        page.get_by_role("link", name="数据明细（Excel）").click()
    book = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    assert book.sheetnames == ["指标", "指标明细", "案件清单"]
    registered = [r for r in book["指标明细"].iter_rows(min_row=2, values_only=True) if r[1] == "登记件数"]
    assert len(registered) == 1 and registered[0][4].startswith("XF2026-")

    auditor, _problems = pages()
    sign_in(auditor, "city_audit")
    auditor.goto(f"/audit/cases/{case_id}")
    notice = auditor.locator("#documents li", has_text="受理告知书")
    with auditor.expect_download() as got:
        notice.get_by_role("link", name="Word").click()
    assert Path(got.value.path()).read_bytes().startswith(b"PK")
    pdf = auditor.context.request.get(notice.get_by_role("link", name="PDF").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    line = auditor.locator(".document-lines", has_text="受理告知书").inner_text()
    assert "文号：XX退役信受〔2026〕1号" in line and "doc_type" not in line
