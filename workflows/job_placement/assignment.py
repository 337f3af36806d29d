"""Who works on each step of a year's job placement: the unit of every task.

The plan is kept by the city 移交安置科 (SECTION_CODE): its caseworkers review files, record
scores, choices, letters and on-post dates and do the follow-up; its reviewers check and publish
the ranking. The city leader (the organ above the section) approves the allocation and answers
the 6-month supervision. Lanes give the role; every task of a multi-instance goes to the same
section (the candidates are people, not units).
"""
from __future__ import annotations

from typing import Any

from engine.process_api import HookContext

SECTION_CODE = "city.ya"
LEADER_STEPS = frozenset({"allocation_approval", "placement_overdue"})


def assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    if step_id in LEADER_STEPS:
        return ctx.orgs.organ_of(ctx.case_unit_id)
    return ctx.case_unit_id
