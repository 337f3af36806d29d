"""退役士兵档案接收、复核复审、移交 (domain.md §2.3 a): one case per soldier file.

Registered at the city 移交安置科 (a batch of files: workflows.settlement_handover.batch);
joint unsealing by 纪检, 人社 and 安置 (all sign) → first review → second review by another
person (four eyes) → queries to the army unit until resolved (message `army_reply`, registered
on the case page by a section caseworker, or a reminder/escalation every `query_wait_days`) →
the leader confirms the category → handover to a district, which signs a receipt → report-in
(自主就业: 30-day clock from the discharge approval, Art.51 determination when more than 30 days
late without good reason) → archive.
"""
from __future__ import annotations

from pathlib import Path

from engine.models import Role
from engine.process_api import ProcessConfig
from workflows.settlement_handover.assignment import SECTION_CODE, assign
from workflows.settlement_handover.demo import demo_start
from workflows.settlement_handover.documents import DOCUMENTS
from workflows.settlement_handover.stats import INDICATORS
from workflows.settlement_handover.rules import (SETTINGS, on_complete, on_start, summarize,
                                                 task_label)

KEY = "settlement_handover"

PROCESS = ProcessConfig(
    key=KEY,
    name="退役士兵档案接收移交",
    case_prefix="YA",
    forms_dir=Path(__file__).resolve().parent / "forms",
    start_roles=frozenset({Role.caseworker}),
    start_levels=frozenset({"city"}),
    start_units=frozenset({SECTION_CODE}),
    assign=assign,
    on_start=on_start,
    on_complete=on_complete,
    due_keys={"report_in": "report_due_at", "late_report": "forfeit_due_at"},  # report-in rolls (Art.51)
    lapse_labels={"report_in": "期满未报到"},
    summarize=summarize,
    task_label=task_label,
    four_eyes={"second_review": "first_review"},
    documents=DOCUMENTS,
    indicators=INDICATORS,
    # The army unit's reply to a query arrives by post; the section's caseworkers register it.
    message_roles={"army_reply": Role.caseworker},
    smoke_start={
        "batch_no": "2026-03-1", "soldier_name": "张三", "id_number": "110105199003070017",
        "army_unit": "某部", "service_years": 5, "category": "自主就业", "disability": "无",
        "discharge_approved_on": "2026-02-20",
    },
    smoke_answers={
        "joint_unsealing": {"seal_intact": True, "page_count": 56, "signed": True},
        "first_review": {"first_result": "通过"},
        "second_review": {"second_result": "通过"},
        "classify_confirm": {"confirmed_category": "自主就业", "classify_decision": "确认"},
        "handover": {"receiving_unit_id": 1, "handover_on": "2026-03-02",
                     "transfer_list_no": "YJ-2026-001"},
        "district_receipt": {"received_on": "2026-03-02", "receipt_no": "HZ-001",
                             "files_intact": True, "signed": True},
        "report_in": {"reported_on": "2026-03-02"},
        "archive": {"archive_no": "DA-2026-001", "archived_on": "2026-03-02"},
        # Steps the smoke run does not reach, answered for the demo city's driver.
        "send_query": {"letter_no": "YA函〔2026〕1号", "sent_on": "2026-03-02",
                       "query_points": "请核实入伍时间及立功受奖情况"},
        "chase_army": {"reminded_on": "2026-03-02", "method": "电话"},
        "escalate_query": {"escalated_on": "2026-03-02", "measure": "函请部队上级机关协调答复"},
        "late_report": {"reported_on": "2026-03-02", "good_reason": True,
                        "good_reason_text": "住院治疗，有医院证明"},
        "forfeit_confirm": {"forfeit_decision": "视为放弃安置待遇",
                            "forfeit_reason": "逾期未报到，经联系无正当理由"},
        "report_in_other": {"reported_on": "2026-03-02"},
    },
    settings={**SETTINGS, "demo_start": demo_start, "demo_variants": {
        "first_review": [{"first_result": "有疑点", "first_query": "入伍时间与档案记载不一致"}],
        "classify_confirm": [{"confirmed_category": "自主就业", "classify_decision": "退回复审",
                              "classify_note": "请核实伤残等级"}],
    }},
)
