"""涉军信访事项办理 — military-related petitions (《信访工作条例》), from registration to the
reply and the satisfaction evaluation.

BPMN: bpmn/petition/petition.bpmn. Steps (lane = role; unit: see assignment.py):
  intake 受理审查 (caseworker) -> 受理/交办 -> handle 调查办理 (caseworker)
      -> [申请延期] approve_extension 延期审批 (leader) -> handle
      -> review 审核 (reviewer; 退回 -> handle) -> approve 审批 (leader; 退回 -> handle)
      -> reply 答复 (caseworker) -> evaluate 满意度评价 (caseworker) -> 办结
  intake -> 不予受理 -> approve_refusal 不予受理审批 (leader; 不同意 -> intake)
      -> refusal_notice 送达不予受理告知书 (caseworker) -> 结案
  non-interrupting deadline timers on intake and handle -> supervise_intake / supervise_handling
      督办 (reviewer), once per deadline; the timed task stays open.
"""
from __future__ import annotations

from pathlib import Path

from engine.models import OrgLevel
from engine.process_api import ProcessConfig
from workflows.petition.assignment import assign
from workflows.petition.deadlines import HANDLING, INTAKE, due_key
from workflows.petition.hooks import on_complete, on_start, summarize

_INTAKE_DUE = due_key(INTAKE)
_HANDLING_DUE = due_key(HANDLING)

SMOKE_START = {
    "channel": "来访", "petitioner_name": "测试信访人", "id_number": "11010519491231002X",
    "phone": "13800000000", "address": "测试地址", "identity": "退役军人", "headcount": 1,
    "category": "安置", "purpose": "求决", "facts": "冒烟测试事实", "requests": "冒烟测试诉求",
}

SMOKE_ANSWERS = {
    "intake": {"intake_outcome": "受理"},
    "handle": {"handling_action": "提交审核", "investigation": "已核实", "handling_result": "解释说明",
               "handling_basis": "《退役军人安置条例》", "handling_opinion": "依政策解释说明"},
    "review": {"review_decision": "通过"},
    "approve": {"approval_decision": "同意"},
    "reply": {"served_on": "2026-03-02", "service_method": "直接送达"},
    "evaluate": {"followup_on": "2026-03-02", "followup_method": "电话回访", "evaluated": True,
                 "intake_satisfaction": "满意", "handling_satisfaction": "基本满意"},
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
        "handle": _HANDLING_DUE, "approve_extension": _HANDLING_DUE, "review": _HANDLING_DUE,
        "approve": _HANDLING_DUE, "reply": _HANDLING_DUE,
    },
    summarize=summarize,
    smoke_start=SMOKE_START,
    smoke_answers=SMOKE_ANSWERS,
    settings={"intake_section": "xf"},
)
