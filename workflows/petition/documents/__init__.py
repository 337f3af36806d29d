"""The petition's documents: 告知书, 交办单, 意见书, 督办单 and the petitioner's 回执.

The .docx files here are the templates (edit them in Word; tags like {{ case_no }} are filled from
the case). `python -m workflows.petition.documents` writes the first versions from TEXTS; it
overwrites the files, so run it only to start again from these texts.
"""
from __future__ import annotations

from pathlib import Path

from engine.documents.catalogue import DocumentRule, DocumentSet, DocumentType

HERE = Path(__file__).resolve().parent

TYPES = {t.key: t for t in (
    DocumentType("receipt", "信访事项登记回执"),
    DocumentType("acceptance_notice", "受理告知书", "信受"),
    DocumentType("refusal_notice", "不予受理告知书", "信不受"),
    DocumentType("assignment_sheet", "信访事项交办单", "信交"),
    DocumentType("transfer_notice", "转送告知书", "信转"),
    DocumentType("extension_notice", "延期办理告知书", "信延"),
    DocumentType("handling_opinion", "信访处理意见书", "信处"),
    DocumentType("first_review_opinion", "信访复查意见书", "信复查"),
    DocumentType("second_review_opinion", "信访复核意见书", "信复核"),
    DocumentType("supervision_sheet", "信访事项督办单", "信督"),
)}

RULES = (
    DocumentRule("intake", "acceptance_notice", {"intake_outcome": "受理"}),
    DocumentRule("intake", "assignment_sheet", {"intake_outcome": "交办"}),
    DocumentRule("intake", "transfer_notice", {"intake_outcome": "转送"}),
    DocumentRule("approve_refusal", "refusal_notice", {"refusal_decision": "同意"}),
    DocumentRule("approve_extension", "extension_notice", {"extension_decision": "同意"}),
    DocumentRule("approve", "handling_opinion", {"approval_decision": "同意"}),
    DocumentRule("first_review", "first_review_opinion"),
    DocumentRule("second_review", "second_review_opinion", {"second_review_action": "作出复核意见"}),
    *(DocumentRule(f"supervise_{clock}", "supervision_sheet", {f"{clock}_supervision_measure": "书面督办"})
      for clock in ("intake", "handling", "first_review", "second_review")),
)

DOCUMENTS = DocumentSet(HERE, TYPES, RULES)
