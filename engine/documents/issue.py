"""Issue a document for a case inside the caller's transaction: number, fill, store, record.

The .docx and its PDF are stored like any attachment (by content hash under the upload directory)
and listed as a `CaseDocument`; one `document` history event carries both hashes. A step that
issues documents does so in its own transaction, so its numbers, files' rows and events commit or
roll back with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import to_local_date
from engine.documents.catalogue import DocumentSet, DocumentType
from engine.documents.numbers import format_number, next_number
from engine.documents.render import cn_date, docx_to_pdf, fill_docx
from engine.errors import EngineError
from engine.filestore import store_bytes
from engine.history import ACTION_LABELS, append_event
from engine.models import Attachment, CaseDocument, HistoryEvent, OrgUnit, ProcessInstance

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"


class DocumentFailed(EngineError):
    code = "document_failed"
    http_status = 500


@dataclass(frozen=True)
class Issuer:
    """Who issues: the acting user (None: 系统), the organ whose 文号 it bears, the step (None: on demand)."""
    actor_id: int | None
    actor_name: str
    unit_id: int
    step_id: str | None = None
    step_name: str | None = None
    task_id: int | None = None


def _history(session: Session, instance_id: int) -> list[dict[str, Any]]:
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                             .order_by(HistoryEvent.seq)).all()
    return [{"on": cn_date(to_local_date(e.at)), "action": ACTION_LABELS.get(e.action, e.action),
             "actor": e.actor_name, "step": e.step_name or "", "opinion": e.opinion or ""}
            for e in events]


def context(session: Session, instance: ProcessInstance, data: dict[str, Any], doc: DocumentType,
            issuer: Issuer, number: str | None, now: datetime) -> dict[str, Any]:
    """What a template may use: the case data, the case's facts and history, the document's own."""
    organ = session.get(OrgUnit, issuer.unit_id)
    units = {f"{k[:-3]}_name": u.name for k, v in data.items()  # receiving_unit_id -> receiving_unit_name
             if k.endswith("_unit_id") and isinstance(v, int) and (u := session.get(OrgUnit, v)) is not None}
    unit = session.get(OrgUnit, instance.org_unit_id)
    return {**data, **units, "case_no": instance.case_no, "query_code": instance.query_code,
            "case_title": instance.title, "doc_title": doc.title, "doc_number": number or "（草稿）",
            "draft": number is None and doc.word is not None, "issued_on": cn_date(to_local_date(now)),
            "issuer_name": organ.name if organ else "", "unit_name": unit.name if unit else "",
            "actor_name": issuer.actor_name, "history": _history(session, instance.id)}


def _attach(session: Session, instance: ProcessInstance, issuer: Issuer, name: str, content_type: str,
            data: bytes, directory: Path, now: datetime) -> Attachment:
    att = Attachment(instance_id=instance.id, task_id=issuer.task_id, filename=name,
                     content_type=content_type, size=len(data), sha256=store_bytes(directory, data),
                     uploaded_by_id=issuer.actor_id, uploaded_at=now)
    session.add(att)
    return att


def issue_document(session: Session, instance: ProcessInstance, docs: DocumentSet, doc: DocumentType,
                   data: dict[str, Any], issuer: Issuer, directory: Path, now: datetime,
                   numbered: bool = True) -> CaseDocument:
    """Number (when `numbered` and the type has a 文号), fill, render, store and record one document."""
    number = None
    if numbered and doc.word:
        year = to_local_date(now).year
        number = format_number(session, issuer.unit_id, year, doc.word,
                               next_number(session, issuer.unit_id, year, doc.key))
    try:
        docx = fill_docx(docs.template(doc.key), context(session, instance, data, doc, issuer, number, now))
        pdf = docx_to_pdf(docx, doc.title)
    except Exception as exc:  # a template the bureau broke in Word: refuse the step, lose nothing
        raise DocumentFailed(f"document {doc.key} of {instance.case_no} could not be generated: {exc}",
                             f"{doc.title}生成失败，请联系管理员检查文书模板") from exc
    stem = f"{doc.title}-{instance.case_no}" + ("" if number or not doc.word else "-草稿")
    docx_att = _attach(session, instance, issuer, f"{stem}.docx", DOCX, docx, directory, now)
    pdf_att = _attach(session, instance, issuer, f"{stem}.pdf", PDF, pdf, directory, now)
    session.flush()
    row = CaseDocument(instance_id=instance.id, doc_type=doc.key, title=doc.title, number=number,
                       issuer_unit_id=issuer.unit_id, step_id=issuer.step_id,
                       docx_attachment_id=docx_att.id, pdf_attachment_id=pdf_att.id,
                       created_by_id=issuer.actor_id, created_at=now)
    session.add(row)
    session.flush()
    append_event(session, instance, at=now, action="document", actor_id=issuer.actor_id,
                 actor_name=issuer.actor_name, step_id=issuer.step_id, step_name=issuer.step_name,
                 task_id=issuer.task_id, org_unit_id=issuer.unit_id,
                 data={"document_id": row.id, "doc_type": doc.key, "title": doc.title, "number": number,
                       "docx": {"attachment_id": docx_att.id, "sha256": docx_att.sha256},
                       "pdf": {"attachment_id": pdf_att.id, "sha256": pdf_att.sha256}})
    return row
