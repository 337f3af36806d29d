"""Data hooks of the petition process: what the engine adds to the case data at start and after
each step (routing, deadlines, notices, overdue flags), and the checks a JSON Schema cannot
express. The steps after the reply (复查, 复核, hearing) are in reviews.py, the 督办单 (the engine's
督办, opened by the supervise_* steps too) in supervision.py, the rules across a petitioner's
cases in matters.py."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from engine.errors import FormInvalid
from engine.process_api import HookContext
from workflows.petition import matters, reviews, supervision
from workflows.petition.assignment import check_assignee_unit, intake_unit
from engine.calendar import days_late
from engine.calendar import Deadline
from workflows.dates import past_date
from workflows.petition.deadlines import (ASSIGNMENT_NOTICE, HANDLING, HANDLING_DAYS, INTAKE,
                                          INTAKE_DAYS, MAX_EXTENSION_DAYS, days_deadline,
                                          due_fields, extended_handling_deadline, extension_room,
                                          handling_deadline, intake_deadline, is_overdue,
                                          objection_deadline, opinion_matter)

GROUP_HEADCOUNT = 5  # 5 or more petitioners = a group petition (集体访)

ACCEPT, ASSIGN, TRANSFER, REFUSE = "受理", "交办", "转送", "不予受理"
NOTICE_KINDS = {ACCEPT: "受理告知书", ASSIGN: "交办告知书", TRANSFER: "转送告知书"}
OBJECT = "提出异议"
EXTEND = "申请延期"
APPROVED = "同意"

Hook = Callable[[dict[str, Any], HookContext], dict[str, Any]]


def on_start(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Route the intake decision, start the 15-day clock on the day of receipt (收到日期, Art.22),
    note whether the matter is answered with a 意见书, check the repeat link and look for the
    same matter in the petitioner's other cases."""
    received = past_date(ctx, data, "received_on")
    unit = intake_unit(ctx)
    matter = matters.same_matter(data, unit, ctx)
    return {
        "intake_unit_id": unit,
        "received_on": received.isoformat(),
        "opinion_matter": opinion_matter(data),
        "group_petition": int(data.get("headcount") or 1) >= GROUP_HEADCOUNT,
        "intake_overdue": False,
        "handling_overdue": False,
        "extension_days_granted": 0,
        "review_final": False,
        **intake_deadline(received, ctx),
        **matters.repeat_link(data, ctx),
        **matter.facts(),
        "same_matter_hint": matters.hint(matter),
    }


def on_complete(step_id: str, data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    hook = _HOOKS.get(step_id)
    return hook(data, ctx) if hook else {}


def _intake(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """受理 fixes the handling unit and, for a matter answered with a 意见书, starts the 60-day
    clock (Art.34); 交办 sends it to a district with the 指定办理期限 the intake unit sets
    (Art.22(3)) and opens the 5-working-day objection window and the 15-day notice clock, both
    counted from the district's receipt (Art.23 ¶3; in the system it receives the matter the
    day it is assigned, and records its own receipt date when it signs); 转送 closes the case;
    不予受理 waits for the leader. 受理, 交办 and 转送 record their written notice (告知书) and its
    date; 不予受理's comes after the approval."""
    decided = {"intake_decided_on": ctx.today.isoformat(),
               "intake_overdue": is_overdue(data, INTAKE, ctx.now), "assignment_objected": False,
               **matters.check_intake(data, ctx)}
    outcome = data["intake_outcome"]
    if outcome == REFUSE:
        return decided
    decided.update(_intake_notice(data, NOTICE_KINDS[outcome], ctx))
    if outcome == TRANSFER:
        return decided
    intake_unit_id = int(data["intake_unit_id"])
    if outcome == ASSIGN:
        handling_unit_id = int(data["handling_unit_id"])
        check_assignee_unit(handling_unit_id, intake_unit_id, ctx)
        decided.update({**objection_deadline(ctx.today, ctx.calendar), **_assigned_deadline(data, ctx),
                        **days_deadline(ASSIGNMENT_NOTICE, ctx.today, INTAKE_DAYS, ctx)})
    else:
        handling_unit_id = intake_unit_id
        # A case registered before 建议/检举 were told apart has no flag: its definition sends
        # every accepted matter to 调查办理 with the 60-day timer, which needs the deadline.
        if data.get("opinion_matter", True):
            decided.update(handling_deadline(ctx.today, ctx))
    return {**decided, "handling_unit_id": handling_unit_id, "accepted_on": ctx.today.isoformat()}


def _assigned_deadline(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The 指定办理期限 of a 交办 (Art.22(3)): after today, within the 60 days of Art.34 (which
    it is when the intake unit sets none)."""
    if not data.get("assigned_due_on"):
        return handling_deadline(ctx.today, ctx)
    due = date.fromisoformat(str(data["assigned_due_on"]))
    if due <= ctx.today:
        raise FormInvalid({"assigned_due_on": "指定办理期限应晚于交办日期"})
    if due > ctx.calendar.add_days(ctx.today, HANDLING_DAYS).due:
        raise FormInvalid({"assigned_due_on": f"指定办理期限不得超过{HANDLING_DAYS}日"})
    return due_fields(HANDLING, Deadline(due, False), ctx.calendar)


def _intake_notice(data: dict[str, Any], kind: str, ctx: HookContext) -> dict[str, Any]:
    """The notice of an intake outcome: its kind and date (today unless given)."""
    on = reviews.day(data, "intake_notice_on", ctx)
    if on < date.fromisoformat(str(data["received_on"])):
        raise FormInvalid({"intake_notice_on": "告知日期不能早于收到信访事项的日期"})
    return {"intake_notice_on": on.isoformat(), "intake_notice_kind": kind}


def _receive_assignment(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """签收, or an objection within 5 working days of receipt (Art.23 ¶3): back to the intake
    unit. The receipt date restarts the 15-day written-notice clock."""
    received = past_date(ctx, data, "assignment_received_on")
    if received < date.fromisoformat(str(data["intake_decided_on"])):
        raise FormInvalid({"assignment_received_on": "收到日期不能早于交办日期"})
    receipt = {"assignment_received_on": received.isoformat(),
               **days_deadline(ASSIGNMENT_NOTICE, received, INTAKE_DAYS, ctx)}
    if data["assignment_decision"] != OBJECT:
        return receipt
    if ctx.today > date.fromisoformat(objection_deadline(received, ctx.calendar)["objection_due_on"]):
        raise FormInvalid({"assignment_decision": "异议期（收到之日起5个工作日）已过，不能再提出异议"})
    return {**receipt, "assignment_objected": True, "objected_on": ctx.today.isoformat(),
            "objecting_unit_id": int(data["handling_unit_id"])}


def _assignment_notice(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The assigned unit's written notice to the petitioner (Art.23 ¶3), on time or not."""
    on = past_date(ctx, data, "assignment_notice_on")
    received = data.get("assignment_received_on") or data["intake_decided_on"]
    if on < date.fromisoformat(str(received)):
        raise FormInvalid({"assignment_notice_on": "告知日期不能早于收到交办事项的日期"})
    late = days_late(on, date.fromisoformat(str(data["assignment_notice_due_on"])))
    return {"assignment_notice_on": on.isoformat(), "assignment_notice_late": late > 0}


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
    notice = reviews.day(data, "extension_notice_on", ctx)
    moved = extended_handling_deadline(data, days, ctx)
    notices = [*(data.get("extension_notices") or []),
               {"days": days, "reason": data.get("extension_reason"), "notice_on": notice.isoformat(),
                "method": data.get("extension_notice_method"), "new_due_on": moved["handling_due_on"]}]
    return {**moved, "extension_days_granted": int(data.get("extension_days_granted") or 0) + days,
            "handling_overdue": is_overdue(moved, HANDLING, ctx.now), "extension_notices": notices}


def _refusal_notice(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    reviews.day(data, "notice_served_on", ctx)
    return {"refusal_notice_kind": "不予受理告知书"}


def _not_future(field: str) -> Hook:
    def check(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        reviews.day(data, field, ctx)
        return {}
    return check


_HOOKS: dict[str, Hook] = {
    "intake": _intake,
    "receive_assignment": _receive_assignment,
    "assignment_notice": _assignment_notice,
    "handle_matter": _not_future("matter_feedback_on"),
    "handle": _handle,
    "approve_extension": _approve_extension,
    "refusal_notice": _refusal_notice,
    "reply": reviews.reply,
    "evaluate": _not_future("followup_on"),
    "review_request": reviews.first_request,
    "first_review": reviews.first_review,
    "second_request": reviews.second_request,
    "second_review": reviews.second_review,
    "hearing": reviews.hearing,
    **supervision.LEGACY_HOOKS,  # cases on a definition from before the engine's 督办
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


def task_label(step_id: str, data: dict[str, Any]) -> str | None:
    """What a task's name adds in the inbox: a 越级/终结 warning at intake."""
    if step_id == "intake":
        hint = data.get("same_matter_hint")
        return str(hint) if hint else None
    return None
