"""Who works on each step of a soldier file: the unit of every task (the lane gives the role).

- Cases are registered at the city 移交安置科 (SECTION_CODE, the only unit a case may start at);
  its caseworkers do the first review (初审), send queries and hand files over; its reviewers
  (the section chief) do the second review (复审). Someone holding both roles may not review the
  same file twice: four_eyes refuses a second review by anyone who did one of its first reviews.
- The joint unsealing is a multi-instance task over `unsealing_parties`: each instance goes to
  its party's own unit (纪检 city.jj, 人社 city.rs, 安置 city.ya), so each party signs with its
  own staff and grants. The parties are units, not roles: the role set is fixed engine-wide.
- The city leader (the organ above the section) confirms the category and escalates queries.
- From the handover on, the file belongs to the receiving district: its caseworkers sign the
  receipt, register the report-in and archive; its leader makes the Art.51 determination.
"""
from __future__ import annotations

from typing import Any

from engine.process_api import HookContext

SECTION_CODE = "city.ya"
CITY_LEADER_STEPS = frozenset({"classify_confirm", "escalate_query"})
DISTRICT_STEPS = frozenset({"district_receipt", "report_in", "late_report", "report_in_other",
                            "archive"})


def assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    if step_id == "joint_unsealing":
        return ctx.orgs.unit_id(str(data["party"]["unit_code"]))
    if step_id in CITY_LEADER_STEPS:
        return ctx.orgs.organ_of(ctx.case_unit_id)
    if step_id in DISTRICT_STEPS:
        return int(data["receiving_unit_id"])
    if step_id == "forfeit_confirm":
        return ctx.orgs.organ_of(int(data["receiving_unit_id"]))
    return ctx.case_unit_id
