"""Who gets each petition task: the org unit of every step (the role comes from the BPMN lane).

Routing rule, in one place (`intake_unit`): in this first version every intake decision goes to
the city bureau's petition section (权益维护科, code "city.xf"), wherever the case was registered
(town station, district bureau or the city itself). The section then accepts the case itself
(受理) or assigns it to a district bureau (交办). Letting a district decide on intake of its own
registrations (《信访工作条例》Art.22: 属地管理、分级负责) only needs a change in `intake_unit`.

Units of the other steps:
  intake, refusal_notice, supervise_intake          -> the intake unit
  approve_refusal                                   -> the organ of the intake unit (its leader)
  handle, review, reply, evaluate, supervise_handling -> the handling unit
  approve_extension, approve                        -> the organ of the handling unit (its leader)
"""
from __future__ import annotations

from typing import Any

from engine.errors import EngineError, FormInvalid
from engine.process_api import HookContext

CITY_LEVEL = "city"
DISTRICT_LEVEL = "district"

INTAKE_UNIT_STEPS = frozenset({"intake", "refusal_notice", "supervise_intake"})
INTAKE_ORGAN_STEPS = frozenset({"approve_refusal"})
HANDLING_UNIT_STEPS = frozenset({"handle", "review", "reply", "evaluate", "supervise_handling"})
HANDLING_ORGAN_STEPS = frozenset({"approve_extension", "approve"})


def city_organ(unit_id: int, ctx: HookContext) -> int:
    """The city-level organ above (or at) a unit."""
    current: int | None = ctx.orgs.organ_of(unit_id)
    while current is not None and ctx.orgs.level(current) != CITY_LEVEL:
        current = ctx.orgs.parent_id(current)
    if current is None:
        raise EngineError(f"unit {unit_id} has no city-level organ above it", "未找到所属市级单位")
    return current


def intake_unit(ctx: HookContext) -> int:
    """The competent petition office that decides on intake: the city petition section."""
    suffix = str(ctx.settings.get("intake_section", "xf"))
    city = city_organ(ctx.case_unit_id, ctx)
    section = ctx.orgs.section_of(city, suffix)
    if section is None:
        code = ctx.orgs.unit_code(city)
        raise EngineError(f"petition section {code}.{suffix} does not exist",
                          "市局信访科室（权益维护科）未设置，请联系管理员")
    return section


def assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    """The org unit of a petition task."""
    if step_id in INTAKE_UNIT_STEPS:
        return int(data["intake_unit_id"])
    if step_id in INTAKE_ORGAN_STEPS:
        return ctx.orgs.organ_of(int(data["intake_unit_id"]))
    if step_id in HANDLING_UNIT_STEPS:
        return int(data["handling_unit_id"])
    if step_id in HANDLING_ORGAN_STEPS:
        return ctx.orgs.organ_of(int(data["handling_unit_id"]))
    raise EngineError(f"petition step {step_id!r} has no assignment rule", "流程环节未配置办理单位")


def check_assignee_unit(unit_id: int, intake_unit_id: int, ctx: HookContext) -> None:
    """交办 goes to a district bureau directly under the intake unit's organ."""
    try:
        ok = (ctx.orgs.level(unit_id) == DISTRICT_LEVEL
              and ctx.orgs.parent_id(unit_id) == ctx.orgs.organ_of(intake_unit_id))
    except EngineError:  # no such unit
        ok = False
    if not ok:
        raise FormInvalid({"handling_unit_id": "请选择本市所辖的区县退役军人事务局"})
