"""文书 in the browser: the petitioner's 回执 printed at registration (a draft, no 文号), the
numbered 受理告知书 on the case page and in the auditor's case view, both downloadable; only the
initiator or a current handler may draft, and nobody outside the case sees its documents."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from engine.documents.drafts import case_documents
from engine.models import ProcessInstance
from tests.factories import act, register_petition, setup_petition
from tests.web.conftest import login


@pytest.fixture
def org(env):
    return setup_petition(env)


def _pdf_text(data: bytes) -> str:
    return re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def test_caseworker_prints_the_receipt_and_the_auditor_sees_the_numbered_notice(env, org, client):
    case_id = register_petition(env, org)
    login(client, "t1_cw")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "暂无文书" in page and "信访事项登记回执" in page and "生成草稿" in page
    done = client.post(f"/cases/{case_id}/documents/receipt")
    assert done.status_code == 302
    [receipt] = case_documents(env, org.actor("t1_cw").id, case_id)
    assert (receipt.title, receipt.number) == ("信访事项登记回执", None)
    pdf = client.get(f"/attachments/{receipt.pdf_attachment_id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    with env.db.read() as s:
        case = s.get(ProcessInstance, case_id)
        case_no, query_code = case.case_no, case.query_code
    assert case_no in text and query_code in text and "王建国" in text
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "信访事项登记回执" in page and "未编号" in page
    assert "文书：信访事项登记回执（未编号）" in page  # the timeline names the document

    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    client.get("/logout")
    login(client, "city_audit")
    audit_page = client.get(f"/audit/cases/{case_id}").get_data(as_text=True)
    assert "受理告知书" in audit_page and "XX退役信受〔2026〕1号" in audit_page
    assert "生成草稿" not in audit_page  # the auditor reads, never drafts
    # the timeline names the document, its 文号, its files and their hashes (shortened), no keys
    lines = re.findall(r'document-lines">(.*?)</div>', audit_page)
    assert len(lines) == 2 and lines[0].startswith("文书：信访事项登记回执；文号：无")
    notice_line = lines[1]
    assert "文书：受理告知书；文号：XX退役信受〔2026〕1号；Word 文件：受理告知书-" in notice_line
    assert re.search(r"\.docx（哈希 [0-9a-f]{12}…）；PDF 文件：受理告知书-.*\.pdf（哈希 [0-9a-f]{12}…）", notice_line)
    for key in ("doc_type", "document_id", "attachment_id", "sha256", "docx：", "pdf："):
        assert key not in notice_line
    notice = [d for d in case_documents(env, org.actor("city_audit").id, case_id) if d.number][0]
    word = client.get(f"/attachments/{notice.docx_attachment_id}")
    assert word.status_code == 200 and word.data.startswith(b"PK")
    assert client.post(f"/cases/{case_id}/documents/receipt").status_code == 403


def test_outsiders_neither_draft_nor_see_documents(env, org, client):
    case_id = register_petition(env, org)  # at t1, in district d1
    login(client, "d2_cw")
    assert client.post(f"/cases/{case_id}/documents/receipt").status_code == 404
    client.get("/logout")
    login(client, "city_rev")  # sees the case, holds no task of it and did not register it
    assert client.post(f"/cases/{case_id}/documents/receipt").status_code == 403
    assert "生成草稿" not in client.get(f"/cases/{case_id}").get_data(as_text=True)
    client.get("/logout")
    login(client, "t1_cw")
    assert client.post(f"/cases/{case_id}/documents/no_such").status_code == 404
    assert case_documents(env, org.actor("t1_cw").id, case_id) == []


def test_a_leader_downloads_the_half_year_report_and_its_table_from_the_indicators_page(env, org, client):
    from docx import Document
    from openpyxl import load_workbook
    register_petition(env, org)
    login(client, "city_lead")
    page = client.get("/stats/?date_from=2026-01-01&date_to=2026-06-30").get_data(as_text=True)
    assert "工作总结（Word）" in page and "数据明细（Excel）" in page
    word = client.get("/stats/half-year.docx?date_from=2026-01-01&date_to=2026-06-30")
    assert word.status_code == 200 and word.data.startswith(b"PK")
    text = "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)
    assert "XX市退役军人事务局2026年上半年工作完成情况" in text and "涉军信访事项办理" in text
    table = client.get("/stats/half-year.xlsx?date_from=2026-01-01&date_to=2026-06-30")
    listing = list(load_workbook(io.BytesIO(table.data))["案件清单"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in listing] == ["涉军信访事项办理"]
    bad = client.get("/stats/half-year.docx?date_from=2026-13-01")
    assert bad.status_code == 422 and "日期格式" in bad.get_data(as_text=True)
    client.get("/logout")
    login(client, "t1_cw")
    assert client.get("/stats/half-year.docx").status_code == 403
