"""The placement's documents: the 介绍信 each placed veteran takes to the receiving employer.

Templates are the .docx files here (edit them in Word); `python -m workflows.job_placement.documents`
writes the first versions from TEXTS (it overwrites them).
"""
from __future__ import annotations

from pathlib import Path

from engine.documents.catalogue import DocumentRule, DocumentSet, DocumentType

TYPES = {t.key: t for t in (DocumentType("introduction_letter", "退役士兵安置介绍信", "安介"),)}
RULES = (DocumentRule("issue_letter", "introduction_letter"),)
DOCUMENTS = DocumentSet(Path(__file__).resolve().parent, TYPES, RULES)

TEXTS = {
    "introduction_letter": [
        "> {{ doc_number }}", "{{ alloc.employer }}：",
        "兹介绍退役士兵{{ alloc.name }}同志（身份证号{{ alloc.id_number }}）到你单位{{ alloc.post_name }}岗位报到。"
        "根据《退役军人安置条例》和{{ plan_year }}年度安置计划（{{ plan_doc_no }}），请你单位自开具之日起30日内"
        "安排其上岗，并签订无固定期限劳动合同或者期限不少于3年的劳动合同。",
        "本介绍信编号：{{ letter_no }}，开具日期：{{ letter_date|cn_date }}。",
        ">> {{ issuer_name }}", ">> {{ issued_on }}"],
}
