"""Demo data for workflows/demo_city.py: where cases start, what a screening looks like, and the
branch answers (ineligible, 退回, leader approval, objection, failed acceptance) some cases take."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

CATEGORIES = ["伤残军人", "“三老”人员", "烈属", "其他重点优抚对象"]
CONDITIONS = [("老旧砖瓦房，屋面漏雨，墙体开裂", "屋面翻修、墙体加固"),
              ("平房地面潮湿，卫生间无扶手，老人行动不便", "地面硬化防潮、卫生间适老化改造"),
              ("厨房设施陈旧，电线老化", "厨房改造、线路更换"),
              ("门窗破损，冬季透风", "更换门窗、加装保温")]


def demo_start(names: Any, rng: random.Random) -> dict[str, Any]:
    """Screening data of one synthetic household (names: workflows.demo_city.Names)."""
    condition, needs = rng.choice(CONDITIONS)
    born = date(1930 + rng.randrange(35), 1 + rng.randrange(12), 1 + rng.randrange(28))
    return {
        "household_head": names.person(), "id_number": names.id_number(born), "phone": names.phone(),
        "beneficiary_category": rng.choice(CATEGORIES),
        "address": f"{rng.randrange(1, 12)}组{rng.randrange(1, 60)}号",
        "household_size": rng.randrange(1, 5), "housing_condition": condition, "needs": needs,
        "screening_date": (date.today() - timedelta(days=rng.randrange(30, 120))).isoformat(),
    }


DEMO_SETTINGS: dict[str, Any] = {
    "demo_start_units": ["d*.t*.v*"],
    "demo_start": demo_start,
    "demo_variants": {
        "home_visit": [{"visit_date": "2026-03-05", "survey": "该户已享受农村危房改造",
                        "eligibility": "不符合条件", "ineligible_reason": "近三年已享受同类住房改造补助"}],
        "make_plan": [{"items": "屋面翻修 20000 元\n墙体加固 16000 元", "budget": 36000,
                       "contractor": "江海建筑工程有限公司", "planned_start": "2026-04-01",
                       "planned_finish": "2026-05-31"}],
        "district_review": [{"district_decision": "退回", "district_opinion": "预算明细不清，请细化报价"}],
        "publicity": [{"publicity_action": "登记异议", "objector": "同组村民", "objection_date": "2026-03-20",
                       "objection_content": "反映该户另有住房，请核实"}],
        "acceptance": [{"acceptance_result": "不合格", "signer_name": "验收人", "sign_date": "2026-06-01",
                        "acceptance_note": "卫生间扶手安装不牢固，需返工"}],
    },
}
