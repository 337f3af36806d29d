"""The handover's documents: the 移交清单 a district receives with the file, and its 签收回执.

Templates are the .docx files here (edit them in Word); `python -m workflows.settlement_handover.documents`
writes the first versions from TEXTS (it overwrites them).
"""
from __future__ import annotations

from pathlib import Path

from engine.documents.catalogue import DocumentRule, DocumentSet, DocumentType

TYPES = {t.key: t for t in (
    DocumentType("handover_list", "退役士兵档案移交清单", "安移"),
    DocumentType("handover_receipt", "退役士兵档案移交签收回执", "安回"),
)}
RULES = (DocumentRule("handover", "handover_list"),
         DocumentRule("district_receipt", "handover_receipt", {"signed": True}))
DOCUMENTS = DocumentSet(Path(__file__).resolve().parent, TYPES, RULES)

_SOLDIER = [["姓名", "{{ soldier_name }}", "身份证号", "{{ id_number }}"],
            ["原部队", "{{ army_unit }}", "服役年限", "{{ service_years }}年"],
            ["安置类别", "{{ category }}", "批准退出现役日期", "{{ discharge_approved_on|cn_date }}"],
            ["批次号", "{{ batch_no }}", "案件编号", "{{ case_no }}"]]
TEXTS = {
    "handover_list": ["> {{ doc_number }}", "{{ receiving_unit_name }}：",
                      "现将下列退役士兵档案移交你单位，请按规定接收、核对并在签收回执上签字盖章后退回。", _SOLDIER,
                      "移交日期：{{ handover_on|cn_date }}　　移交清单编号：{{ transfer_list_no }}",
                      ">> {{ issuer_name }}", ">> {{ issued_on }}"],
    "handover_receipt": ["> {{ doc_number }}",
                         "今收到{{ issuer_name }}移交的下列退役士兵档案，经核对{% if files_intact %}完整无缺{% else %}"
                         "存在缺失（另附说明）{% endif %}。", _SOLDIER,
                         "签收日期：{{ received_on|cn_date }}　　回执编号：{{ receipt_no }}",
                         ">> 接收单位（盖章）：{{ issuer_name }}", ">> 经办人：{{ actor_name }}"],
}
