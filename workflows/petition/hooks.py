"""Data hooks of the petition process: what the engine adds to the case data at start and after
each step (routing, deadlines, overdue flags), and the checks a JSON Schema cannot express."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from engine.errors import FormInvalid
from engine.process_api import HookContext
from workflows.petition.assignment import check_assignee_unit, intake_unit
from workflows.petition.deadlines import (HANDLING, INTAKE, MAX_EXTENSION_DAYS,
                                          extended_handling_deadline, extension_room,
                                          handling_deadline, intake_deadline, is_overdue)

GROUP_HEADCOUNT = 5  # 5 or more petitioners = a group petition (集体访)

ACCEPT, ASSIGN, REFUSE = "受理", "交办", "不予受理"
EXTEND = "申请延期"
APPROVED = "同意"

Hook = Callable[[dict[str, Any], HookContext], dict[str, Any]]


def on_start(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Route the intake decision and start the 15-day clock on the day of receipt."""
    return {
        "intake_unit_id": intake_unit(ctx),
        "received_on": ctx.today.isoformat(),
        "group_petition": int(data.get("headcount") or 1) >= GROUP_HEADCOUNT,
        "intake_overdue": False,
        "handling_overdue": False,
        "extension_days_granted": 0,
        **intake_deadline(ctx.today, ctx.calendar),
    }


def on_complete(step_id: str, data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    hook = _HOOKS.get(step_id)
    return hook(data, ctx) if hook else {}


def _intake(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """受理 / 交办 fix the handling unit and start the 60-day clock; 不予受理 waits for the leader.
    (转送, forwarding to an organ outside the system, will be a fourth outcome here and a flow
    from the BPMN gateway to a notice step.)"""
    decided = {"intake_decided_on": ctx.today.isoformat(),
               "intake_overdue": is_overdue(data, INTAKE, ctx.now)}
    outcome = data["intake_outcome"]
    if outcome == REFUSE:
        return decided
    intake_unit_id = int(data["intake_unit_id"])
    if outcome == ASSIGN:
        handling_unit_id = int(data["handling_unit_id"])
        check_assignee_unit(handling_unit_id, intake_unit_id, ctx)
    else:
        handling_unit_id = intake_unit_id
    return {**decided, "handling_unit_id": handling_unit_id, "accepted_on": ctx.today.isoformat(),
            **handling_deadline(ctx.today, ctx.calendar)}


def _handle(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    if data["handling_action"] == EXTEND:
        _check_extension_room(data)
    return {"handling_overdue": is_overdue(data, HANDLING, ctx.now)}


def _check_extension_room(data: dict[str, Any]) -> None:
    room = extension_room(data)
    if int(data["extension_days"]) > room:
        message = (f"本案已延期{MAX_EXTENSION_DAYS}日，不能再申请延期" if room <= 0
                   else f"延期合计不得超过{MAX_EXTENSION_DAYS}日，本案最多还可延期{room}日")
        raise FormInvalid({"extension_days": message})


def _approve_extension(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """An approved extension moves the handling deadline; re-entering 办理 arms the new one."""
    if data["extension_decision"] != APPROVED:
        return {}
    days = int(data["extension_days"])
    moved = extended_handling_deadline(data, days, ctx.calendar)
    return {**moved, "extension_days_granted": int(data.get("extension_days_granted") or 0) + days,
            "handling_overdue": is_overdue(moved, HANDLING, ctx.now)}


def _not_future(field: str) -> Hook:
    def check(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        if date.fromisoformat(str(data[field])) > ctx.today:
            raise FormInvalid({field: "日期不能晚于今天"})
        return {}
    return check


_HOOKS: dict[str, Hook] = {
    "intake": _intake,
    "handle": _handle,
    "approve_extension": _approve_extension,
    "refusal_notice": _not_future("notice_served_on"),
    "reply": _not_future("served_on"),
    "evaluate": _not_future("followup_on"),
}


def summarize(data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """Case title, petitioner name and ID number (searchable), e.g. 张三反映安置问题."""
    name = str(data.get("petitioner_name") or "").strip() or None
    id_no = str(data.get("id_number") or "").strip().upper() or None
    category = data.get("category") or "其他"
    title = f"{name or '信访人'}反映{category}问题"
    if data.get("group_petition"):
        title = f"{title}（集体访{data.get('headcount')}人）"
    return title, name, id_no
