"""涉军信访事项办理 — military-related petitions (《信访工作条例》), from registration to 办结 or 终结.

BPMN: bpmn/petition/petition.bpmn. Steps (lane = role; unit: see assignment.py):
  registration records the 收到日期; every clock of the intake counts from it (Art.22)
  intake 受理审查 (caseworker; 越级/终结 checked against the petitioner's other cases, matters.py)
      -> 受理 -> [matter type]
      -> 交办 (with the 指定办理期限, Art.22(3)) -> receive_assignment 签收 (handling unit; its
               收到日期; 提出异议 within 5 working days of it -> intake; the window lapses by
               timer) -> assignment_notice 书面告知信访人 (15 days from receipt, Art.23 ¶3)
               -> [matter type]
      -> 转送 -> 结案 (the notice names the receiving organ)
      -> 不予受理 -> approve_refusal (leader; 不同意 -> intake) -> refusal_notice -> 结案
  [matter type]: 建议/检举 (Art.29–30) -> handle_matter -> 办结, no 60-day clock, no 复查/复核;
                 求决/投诉 (answered with a 信访处理意见书, Art.31(6)) -> handle
  handle 调查办理 -> [申请延期] approve_extension (leader; the notice to the petitioner) -> handle
      -> review 审核 (reviewer; 退回 -> handle) -> approve 审批 (leader; 退回 -> handle)
      -> reply 答复 (serving date) -> in parallel:
           evaluate 满意度评价 (caseworker's follow-up, or the petitioner online: message
               `petitioner_evaluation`, public.py)
           review_request 复查申请登记 (superior organ, 30 days rolled past holidays; lapses by
               timer -> 办结; a late request -> accept_late_first, the leader decides with a reason)
               -> first_review 复查 (30 days) -> second_request 复核申请登记 (30 days; lapses -> 办结;
               late -> accept_late_second)
               -> second_review 复核 (30 days, hearing days not counted: hearing 听证 -> second_review)
               -> 终结
  Every legal clock has a timer (deadlines.py); a missed answer clock opens supervise_* (reviewer),
  whose completion opens a 督办单 — the engine's 督办 (engine.verbs.supervision) that a leader, a
  reviewer above or the petition section opens at any time from the case page (supervision.py);
  the unit answers it in writing on the case page.
  领导包案: message `leader_ownership` (ownership.py). Indicators: indicators.py.
"""
from __future__ import annotations

from pathlib import Path

from engine.models import OrgLevel
from engine.process_api import ProcessConfig
from workflows.petition.labels import FIELD_LABELS
from workflows.petition.assignment import assign
from workflows.petition.deadlines import (ASSIGNMENT_NOTICE, FIRST_REQUEST, FIRST_REVIEW, HANDLING, INTAKE, OBJECTION,
                                          SECOND_REQUEST, SECOND_REVIEW, due_key, roll_settings)
from workflows.petition.demo import DEMO_SETTINGS
from workflows.petition.documents import DOCUMENTS
from workflows.petition.hooks import on_complete, on_start, summarize, task_label
from workflows.petition.indicators import DEFAULT_RESOLUTION_DAYS
from workflows.petition.supervision import SETTINGS as SUPERVISION_SETTINGS
from workflows.petition.supervision import LEGACY_ANSWERS, SUPERVISION_STEPS, order_unit
from workflows.petition.stats import INDICATORS

_INTAKE_DUE = due_key(INTAKE)
_HANDLING_DUE = due_key(HANDLING)

SMOKE_START = {
    "channel": "来访", "received_on": "2026-03-02", "petitioner_name": "测试信访人", "id_number": "11010519491231002X",
    "phone": "13800000000", "address": "测试地址", "identity": "退役军人", "headcount": 1,
    "category": "安置", "purpose": "求决", "facts": "冒烟测试事实", "requests": "冒烟测试诉求",
}

_OVERDUE_NOTE = "请于3个工作日内书面反馈办理进展"
SMOKE_ANSWERS = {
    "intake": {"intake_outcome": "受理"},
    "receive_assignment": {"assignment_decision": "签收", "assignment_received_on": "2026-03-02"},
    "assignment_notice": {"assignment_notice_on": "2026-03-02", "assignment_notice_method": "邮寄送达"},
    "handle_matter": {"matter_result": "建议已研究并书面反馈"},
    "accept_late_first": {"late_first_decision": "受理", "late_first_reason": "因住院耽误期限，有证明材料"},
    "accept_late_second": {"late_second_decision": "受理", "late_second_reason": "因住院耽误期限，有证明材料"},
    "approve_refusal": {"refusal_decision": "同意"},
    "refusal_notice": {"notice_served_on": "2026-03-02", "notice_service_method": "直接送达"},
    "handle": {"handling_action": "提交审核", "investigation": "已核实", "handling_result": "解释说明",
               "handling_basis": "《退役军人安置条例》", "handling_opinion": "依政策解释说明"},
    "approve_extension": {"extension_decision": "同意", "extension_notice_on": "2026-03-02",
                          "extension_notice_method": "书面告知"},
    "review": {"review_decision": "通过"},
    "approve": {"approval_decision": "同意"},
    "reply": {"service_method": "直接送达"},
    "evaluate": {"followup_on": "2026-03-02", "followup_method": "电话回访", "evaluated": True,
                 "intake_satisfaction": "满意", "handling_satisfaction": "基本满意"},
    "review_request": None,  # nobody asks for 复查: the window's timer closes the case (办结)
    "first_review": {"first_review_result": "维持原处理意见", "first_review_opinion": "维持原处理意见",
                     "first_review_organ": "省退役军人事务厅"},
    "second_request": None,
    "second_review": {"second_review_action": "作出复核意见", "second_review_result": "维持复查意见",
                      "second_review_opinion": "维持复查意见", "second_review_organ": "省退役军人事务厅"},
    "hearing": {"hearing_record": "听证会听取信访人及承办单位意见"},
    "supervise_intake": {"intake_supervision_measure": "书面督办", "intake_supervision_note": _OVERDUE_NOTE},
    "supervise_handling": {"handling_supervision_measure": "书面督办",
                           "handling_supervision_note": _OVERDUE_NOTE},
    "supervise_first_review": {"first_review_supervision_measure": "书面督办",
                               "first_review_supervision_note": _OVERDUE_NOTE},
    "supervise_second_review": {"second_review_supervision_measure": "书面督办",
                                "second_review_supervision_note": _OVERDUE_NOTE},
    **LEGACY_ANSWERS,  # cases on a definition from before the engine's 督办
}

PROCESS = ProcessConfig(
    key="petition",
    name="涉军信访事项办理",
    case_prefix="XF",
    forms_dir=Path(__file__).resolve().parent / "forms",
    start_levels=frozenset({OrgLevel.city.value, OrgLevel.district.value, OrgLevel.town.value}),
    assign=assign,
    on_start=on_start,
    on_complete=on_complete,
    due_keys={
        "intake": _INTAKE_DUE, "approve_refusal": _INTAKE_DUE, "refusal_notice": _INTAKE_DUE,
        "receive_assignment": due_key(OBJECTION), "assignment_notice": due_key(ASSIGNMENT_NOTICE),
        "handle_matter": _HANDLING_DUE,
        "handle": _HANDLING_DUE, "approve_extension": _HANDLING_DUE, "review": _HANDLING_DUE,
        "approve": _HANDLING_DUE, "reply": _HANDLING_DUE,
        "review_request": due_key(FIRST_REQUEST), "first_review": due_key(FIRST_REVIEW),
        "second_request": due_key(SECOND_REQUEST), "second_review": due_key(SECOND_REVIEW),
    },
    lapse_labels={"receive_assignment": "期满未提出异议", "review_request": "期满未申请",
                  "second_request": "期满未申请", "evaluate": "未评价"},
    field_labels=FIELD_LABELS,
    summarize=summarize,
    task_label=task_label,
    smoke_start=SMOKE_START,
    smoke_answers=SMOKE_ANSWERS,
    documents=DOCUMENTS,
    indicators=INDICATORS,
    supervision_unit=order_unit,
    supervision_steps=SUPERVISION_STEPS,
    settings={"intake_section": "xf", **SUPERVISION_SETTINGS, **roll_settings(),
              "late_request_days": 15,
              "one_time_resolution_days": DEFAULT_RESOLUTION_DAYS, **DEMO_SETTINGS},
)
