"""Who gets each petition task: the org unit of every step (the role comes from the BPMN lane).

Routing rule, in one place (`intake_unit`): in this first version every intake decision goes to
the city bureau's petition section (权益维护科, code "city.xf"), wherever the case was registered
(town station, district bureau or the city itself). The section then accepts the case itself
(受理) or assigns it to a district bureau (交办). Letting a district decide on intake of its own
registrations (《信访工作条例》Art.22: 属地管理、分级负责) only needs a change in `intake_unit`.

复查 is for the organ above the one that handled the matter, 复核 for the organ above that
(`superior_unit`): a district-handled case is reviewed by the city bureau (its petition section);
where that organ is outside the system (the provincial department above the city), the city
petition section records the request and the outside organ's answer (`*_external` is True).

Units of the steps:
  intake, refusal_notice, supervise_intake                      -> the intake unit
  approve_refusal                                               -> the organ of the intake unit (its leader)
  receive_assignment, handle, review, reply, evaluate,
  supervise_handling                                            -> the handling unit
  approve_extension, approve                                    -> the organ of the handling unit (its leader)
  assignment_notice, handle_matter                              -> the handling unit
  accept_late_first / accept_late_second                        -> the organ of the 复查 / 复核 unit (its leader)
  review_request, first_review, supervise_first_review          -> the 复查 unit
  second_request, second_review, hearing, supervise_second_review -> the 复核 unit
A 督办单 (the engine's order) goes to `responsible_unit`, the unit that has the matter in hand.
"""
from __future__ import annotations

from typing import Any

from engine.errors import EngineError, FormInvalid
from engine.process_api import HookContext

CITY_LEVEL = "city"
DISTRICT_LEVEL = "district"

INTAKE_UNIT_STEPS = frozenset({"intake", "refusal_notice", "supervise_intake"})
INTAKE_ORGAN_STEPS = frozenset({"approve_refusal"})
HANDLING_UNIT_STEPS = frozenset({"receive_assignment", "assignment_notice", "handle", "handle_matter",
                                 "review", "reply", "evaluate", "supervise_handling"})
HANDLING_ORGAN_STEPS = frozenset({"approve_extension", "approve"})
FIRST_REVIEW_STEPS = frozenset({"review_request", "first_review", "supervise_first_review"})
SECOND_REVIEW_STEPS = frozenset({"second_request", "second_review", "hearing",
                                 "supervise_second_review"})
LATE_REQUEST_STEPS = {"accept_late_first": "first_review_unit_id",
                      "accept_late_second": "second_review_unit_id"}
UNIT_KEYS = {**{s: "intake_unit_id" for s in INTAKE_UNIT_STEPS},
             **{s: "handling_unit_id" for s in HANDLING_UNIT_STEPS},
             **{s: "first_review_unit_id" for s in FIRST_REVIEW_STEPS},
             **{s: "second_review_unit_id" for s in SECOND_REVIEW_STEPS},
             "supervision_feedback": "supervision_unit_id"}  # cases on a definition before the engine's 督办


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


def superior_unit(unit_id: int, fallback: int, ctx: HookContext) -> tuple[int, bool]:
    """(unit, external) for the organ above `unit_id`'s organ: its petition section if it has
    one, else the organ itself; (`fallback`, True) when that organ is outside the system."""
    parent = ctx.orgs.parent_id(ctx.orgs.organ_of(unit_id))
    if parent is None:
        return fallback, True
    superior = ctx.orgs.organ_of(parent)
    section = ctx.orgs.section_of(superior, str(ctx.settings.get("intake_section", "xf")))
    return (section if section is not None else superior), False


def responsible_unit(data: dict[str, Any]) -> int:
    """The unit that has the matter in hand now (the one a 督办单 asks for feedback)."""
    if data.get("second_review_requested_on"):
        return int(data["second_review_unit_id"])
    if data.get("first_review_requested_on"):
        return int(data["first_review_unit_id"])
    if data.get("handling_unit_id") and not data.get("assignment_objected"):
        return int(data["handling_unit_id"])
    return int(data["intake_unit_id"])


def assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    """The org unit of a petition task."""
    if step_id in UNIT_KEYS:
        return int(data[UNIT_KEYS[step_id]])
    if step_id in INTAKE_ORGAN_STEPS:
        return ctx.orgs.organ_of(int(data["intake_unit_id"]))
    if step_id in HANDLING_ORGAN_STEPS:
        return ctx.orgs.organ_of(int(data["handling_unit_id"]))
    if step_id in LATE_REQUEST_STEPS:
        return ctx.orgs.organ_of(int(data[LATE_REQUEST_STEPS[step_id]]))
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
