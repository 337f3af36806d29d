"""重点优抚对象“一户一案”宜居关爱 — home renovation, one household one plan (bpmn/home_renovation/).

排查登记 (start form, village) → 入户核查 (town) → 制定方案 (town) → 区局审核 (district) →
市局审批 (city 优抚科; 局领导 too above the threshold) → 公示 (village, timer; an objection goes back
to district review) → 施工 (town, progress loop) → 竣工验收 (会签: household, town, district) →
资金拨付 (district) → 回访 (town) → 归档.

Budget cap, leader threshold and publicity days are settings (hooks.DEFAULT_SETTINGS), overridable
per deployment in env.settings["home_renovation"].
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.models import Role
from engine.process_api import ProcessConfig
from workflows.home_renovation.assignment import assign
from workflows.home_renovation.demo import DEMO_SETTINGS
from workflows.home_renovation.hooks import DEFAULT_SETTINGS, on_complete, on_start, summarize

def task_label(step_id: str, data: dict[str, Any]) -> str | None:
    """Tell the countersign tasks apart in the inbox: whose signature each one records."""
    signer = data.get("signer") if step_id == "acceptance" else None
    return str(signer.get("party_name") or signer.get("party")) if isinstance(signer, dict) else None


_SIGN = {"acceptance_result": "合格", "signer_name": "张建国", "sign_date": "2026-05-20"}

PROCESS = ProcessConfig(
    key="home_renovation",
    name="重点优抚对象“一户一案”宜居关爱",
    case_prefix="YJ",
    forms_dir=Path(__file__).resolve().parent / "forms",
    start_roles=frozenset({Role.caseworker}),
    start_levels=frozenset({"village"}),
    assign=assign,
    on_start=on_start,
    on_complete=on_complete,
    due_keys={"publicity": "publicity_due_at", "construction": "construction_due_at"},
    summarize=summarize,
    task_label=task_label,
    settings={**DEFAULT_SETTINGS, **DEMO_SETTINGS},
    smoke_start={
        "household_head": "张建国", "id_number": "320621194503120010",
        "beneficiary_category": "伤残军人", "address": "幸福社区3组12号",
        "housing_condition": "老旧平房，屋面漏雨，卫生间无扶手", "needs": "屋面防水、卫生间适老化改造",
        "screening_date": "2026-03-02",
    },
    smoke_answers={
        "home_visit": {"visit_date": "2026-03-05", "survey": "情况属实", "eligibility": "符合条件"},
        "make_plan": {"items": "屋面防水维修 16000 元\n卫生间适老化改造 12000 元", "budget": 28000,
                      "contractor": "海安建安工程有限公司", "planned_start": "2026-04-01",
                      "planned_finish": "2026-05-15"},
        "district_review": {"district_decision": "通过", "district_opinion": "资格、预算符合规定"},
        "city_approval": {"city_decision": "同意"},
        "leader_approval": {"leader_decision": "同意"},
        "publicity": None,  # no objection: the publicity timer moves the case on
        "construction": [
            {"report_date": "2026-04-20", "progress_percent": 50, "progress_note": "屋面完工"},
            {"report_date": "2026-05-15", "progress_percent": 100, "progress_note": "全部完工"},
        ],
        "acceptance": _SIGN,
        "payment": {"pay_amount": 28000, "pay_date": "2026-05-28", "payee": "海安建安工程有限公司",
                    "voucher_no": "HA-2026-0001"},
        "follow_up": {"follow_up_date": "2026-06-10", "satisfaction": "满意",
                      "follow_up_note": "改造后居住安全方便"},
    },
)
