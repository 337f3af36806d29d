"""Lanes are roles: the lane name of a user task names the role that handles it.

`LANE_ROLES` maps the lane names RongFlow understands; `ProcessConfig.roles[step_id]` overrides
a step's role. `lane_problems` is the deploy-time check: a user task whose lane maps to no role
(and whose role no process config overrides) is refused with its element and line.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from engine.models import Role

LANE_ROLES: dict[str, Role] = {
    **{r.value: r for r in Role},
    "经办人": Role.caseworker, "审核人": Role.reviewer, "科室负责人": Role.reviewer,
    "领导": Role.leader, "分管领导": Role.leader, "局领导": Role.leader,
}


def lane_problems(specs: list[Any], role_steps: Collection[str] = ()) -> list[tuple[str, str, str | None]]:
    """(process id, step id, lane) of each user task whose lane maps to no role; a step in
    `role_steps` gets its role from the process config instead."""
    out = []
    for spec in specs:
        for ts in spec.task_specs.values():
            if not getattr(ts, "manual", False) or not ts.bpmn_id or ts.bpmn_id in role_steps:
                continue
            if ts.lane is not None and ts.lane.strip() not in LANE_ROLES:
                out.append((str(spec.name), ts.bpmn_id, ts.lane))
    return out
