"""Demo data for workflows/demo_city.py: where petitions are registered, what one looks like, and
the branch answers some cases take (交办 and an objection, refusal, 转送, extension, 退回,
复查/复核 requests, a hearing, no evaluation).

The 交办 answers name district bureaus by id. The demo city creates its units in a fixed order
on an empty database (city, its sections, then each district followed by its towns and
villages), so the ids are computed from that layout; on any other database such an answer is
refused by the intake check and the demo case simply stays at intake.
"""
from __future__ import annotations

import random
from typing import Any

CATEGORIES = ["安置", "优抚", "待遇", "就业", "社保", "医疗", "住房", "历史遗留", "其他"]
MATTERS = [("1990年退役后安置单位改制，工龄认定有争议。", "请求依政策认定军龄并补缴社会保险。"),
           ("参战人员身份认定材料已提交一年，至今未有答复。", "请求尽快认定参战身份并落实补助。"),
           ("伤残等级评定后抚恤金未按新标准调整。", "请求按新标准补发抚恤金差额。"),
           ("自主就业退役士兵一次性经济补助未足额发放。", "请求核实并补发差额。"),
           ("退役后医疗保险接续中断，住院无法报销。", "请求协调办理医保关系接续。")]


def district_id(n: int) -> int:
    """The id of the demo city's n-th district bureau (1-based), see the module docstring."""
    from workflows.demo_city import DISTRICTS, SECTIONS
    per_district = 1 + sum(1 + 3 for _town in DISTRICTS[0][1])
    return 1 + len(SECTIONS) + 1 + (n - 1) * per_district


def demo_start(names: Any, rng: random.Random) -> dict[str, Any]:
    """Registration data of one synthetic petitioner (names: workflows.demo_city.Names)."""
    facts, requests = rng.choice(MATTERS)
    data: dict[str, Any] = {
        "channel": rng.choice(["来访", "来信", "网上", "来电", "12345"]),
        "petitioner_name": names.person(), "id_number": names.id_number(), "phone": names.phone(),
        "address": f"{rng.choice(['城东街道', '江北镇', '南湖街道'])}{rng.randrange(1, 30)}号",
        "identity": rng.choice(["退役军人", "退役军人", "优抚对象", "军属"]), "headcount": 1,
        "category": rng.choice(CATEGORIES), "purpose": rng.choice(["求决", "求决", "投诉", "建议"]),
        "facts": facts, "requests": requests,
    }
    if rng.random() < 0.1:
        data.update(headcount=rng.randrange(5, 12), representatives=[names.person(), names.person()])
    return data


def demo_variants() -> dict[str, list[dict[str, Any]]]:
    return {
        "intake": [
            {"intake_outcome": "交办", "handling_unit_id": district_id(1), "intake_opinion": "请依政策办理"},
            {"intake_outcome": "交办", "handling_unit_id": district_id(2), "intake_opinion": "属地办理"},
            {"intake_outcome": "不予受理", "refusal_reason": "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决",
             "refusal_detail": "该事项已由劳动人事争议仲裁委员会受理。"},
            {"intake_outcome": "转送", "transfer_organ": "市人力资源和社会保障局"},
        ],
        "receive_assignment": [{"assignment_decision": "提出异议",
                                "objection_reason": "信访人户籍及原安置单位均不在本区，建议交原安置地办理。"}],
        "approve_refusal": [{"refusal_decision": "不同意", "refusal_approval_opinion": "请核实仲裁受理情况"}],
        "handle": [{"handling_action": "申请延期", "extension_days": 15, "extension_reason": "需向原部队调取档案"}],
        "approve_extension": [{"extension_decision": "不同意", "extension_opinion": "请抓紧办理，不予延期"}],
        "review": [{"review_decision": "退回", "review_opinion": "请补充约谈笔录和政策依据"}],
        "approve": [{"approval_decision": "退回", "approval_opinion": "处理意见表述不清，请修改"}],
        "evaluate": [{"followup_on": "2026-03-02", "followup_method": "电话回访", "evaluated": False,
                      "not_evaluated_reason": "多次联系未接通"},
                     {"followup_on": "2026-03-02", "followup_method": "上门回访", "evaluated": True,
                      "intake_satisfaction": "基本满意", "handling_satisfaction": "不满意",
                      "evaluation_note": "对补缴社保的时限不满意"}],
        "review_request": [{"first_review_request": "对处理意见不服，请求复查。"}],
        "second_request": [{"second_review_request": "对复查意见不服，请求复核。"}],
        "second_review": [{"second_review_action": "举行听证"}],
    }


DEMO_SETTINGS: dict[str, Any] = {
    "demo_start_units": ["d*.t*", "d*.t*", "d*", "city.xf"],
    "demo_start": demo_start,
    "demo_variants": demo_variants(),
}
