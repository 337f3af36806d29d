"""Hooks from the reply on: the 30-day windows to ask for 复查 and 复核 (Art.35–36), the 30-day
answers, and the 复核 hearing whose days do not count.

Each window and each answer is a clock in the task data (deadlines.py); the window tasks carry
an interrupting timer that closes the case (办结) when nobody asked in time, the answer tasks a
non-interrupting one that opens a 督办. A hearing is a task of its own, so the 复核 clock stops
while it runs; when it ends, the 复核 deadline moves by the hearing's days (both ends counted).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from engine.calendar import days_late
from engine.errors import FormInvalid
from engine.process_api import HookContext
from workflows.petition.assignment import superior_unit
from workflows.petition.deadlines import (FIRST_REQUEST, FIRST_REVIEW, REQUEST_DAYS, REVIEW_DAYS,
                                          SECOND_REQUEST, SECOND_REVIEW, days_deadline,
                                          hearing_days, is_overdue, moved_deadline)

HEARING = "举行听证"


def day(data: dict[str, Any], field: str, ctx: HookContext) -> date:
    """A date field of the form (today when left empty), never later than today."""
    value = data.get(field)
    on = date.fromisoformat(str(value)) if value else ctx.today
    if on > ctx.today:
        raise FormInvalid({field: "日期不能晚于今天"})
    return on


def _not_before(on: date, earlier: Any, field: str, message: str) -> None:
    if earlier and on < date.fromisoformat(str(earlier)):
        raise FormInvalid({field: message})


def window(name: str, served: date, ctx: HookContext) -> dict[str, Any]:
    """A citizen's 30-day request window from `served` (rolled forward by default), and the
    instant the window task closes: its end, or later by the `late_request_days` setting
    (*local*), during which a late request can still be registered for a leader to accept."""
    fields = days_deadline(name, served, REQUEST_DAYS, ctx)
    grace = int(ctx.settings.get("late_request_days") or 0)
    last = date.fromisoformat(fields[f"{name}_due_on"]) + timedelta(days=grace)
    return {**fields, f"{name}_close_at": ctx.calendar.deadline_end(last).isoformat()}


def reply(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The 意见书 is served: the 复查 window opens, at the organ above the handling unit."""
    served = day(data, "served_on", ctx)
    unit, external = superior_unit(int(data["handling_unit_id"]), int(data["intake_unit_id"]), ctx)
    return {"served_on": served.isoformat(), "replied_on": ctx.today.isoformat(),
            "first_review_unit_id": unit, "first_review_external": external,
            **window(FIRST_REQUEST, served, ctx)}


def first_request(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """A 复查 request registered: the 30-day answer clock starts on the day it was made."""
    asked = _request_day(data, "first_review_requested_on", "served_on", ctx)
    return {"first_review_requested_on": asked.isoformat(), "first_review_overdue": False,
            "first_request_late": _late(asked, data, FIRST_REQUEST),
            **days_deadline(FIRST_REVIEW, asked, REVIEW_DAYS, ctx)}


def second_request(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """A 复核 request registered: the 30-day answer clock starts on the day it was made."""
    asked = _request_day(data, "second_review_requested_on", "first_review_served_on", ctx)
    return {"second_review_requested_on": asked.isoformat(), "second_review_overdue": False,
            "second_request_late": _late(asked, data, SECOND_REQUEST),
            "hearing_days_total": 0, **days_deadline(SECOND_REVIEW, asked, REVIEW_DAYS, ctx)}


def _request_day(data: dict[str, Any], field: str, served_field: str, ctx: HookContext) -> date:
    asked = day(data, field, ctx)
    _not_before(asked, data.get(served_field), field, "申请日期不能早于答复意见送达日期")
    return asked


def _late(asked: date, data: dict[str, Any], window: str) -> bool:
    """A request made after the window's (rolled) last day is not refused outright: it goes to
    the leader, who accepts or refuses it with a written reason."""
    return days_late(asked, date.fromisoformat(str(data[f"{window}_due_on"]))) > 0


def first_review(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The 复查意见 is served: the 复核 window opens, at the organ above the 复查 organ."""
    served = _answer(data, "first_review", "first_review_requested_on", ctx)
    if data.get("first_review_external"):
        unit, external = int(data["intake_unit_id"]), True
    else:
        unit, external = superior_unit(int(data["first_review_unit_id"]), int(data["intake_unit_id"]), ctx)
    return {"first_review_served_on": served.isoformat(), "first_review_decided_on": ctx.today.isoformat(),
            "first_review_late": is_overdue(data, FIRST_REVIEW, ctx.now),
            "second_review_unit_id": unit, "second_review_external": external,
            **window(SECOND_REQUEST, served, ctx)}


def second_review(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """A hearing starts (the clock stops), or the 复核意见 is served: the matter is 终结."""
    if data["second_review_action"] == HEARING:
        started = day(data, "hearing_started_on", ctx)
        _not_before(started, data.get("second_review_requested_on"), "hearing_started_on",
                    "听证开始日期不能早于复核申请日期")
        return {"hearing_started_on": started.isoformat()}
    served = _answer(data, "second_review", "second_review_requested_on", ctx)
    return {"second_review_served_on": served.isoformat(), "second_review_decided_on": ctx.today.isoformat(),
            "second_review_late": is_overdue(data, SECOND_REVIEW, ctx.now),
            "review_final": True, "final_on": ctx.today.isoformat()}


def hearing(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The hearing ended: the 复核 deadline moves by its days (Art.36: 听证所需时间不计算在内)."""
    started = date.fromisoformat(str(data["hearing_started_on"]))
    ended = day(data, "hearing_ended_on", ctx)
    _not_before(ended, started, "hearing_ended_on", "听证结束日期不能早于开始日期")
    days = hearing_days(started, ended)
    moved = moved_deadline(data, SECOND_REVIEW, days, ctx)
    return {**moved, "hearing_ended_on": ended.isoformat(),
            "hearing_days_total": int(data.get("hearing_days_total") or 0) + days,
            "second_review_overdue": is_overdue(moved, SECOND_REVIEW, ctx.now)}


def _answer(data: dict[str, Any], stage: str, requested_field: str, ctx: HookContext) -> date:
    """The serving date of a 复查/复核 answer; the deciding organ must be named if outside."""
    if data.get(f"{stage}_external") and not str(data.get(f"{stage}_organ") or "").strip():
        raise FormInvalid({f"{stage}_organ": "由系统外上级机关作出的，请填写作出机关名称"})
    served = day(data, f"{stage}_served_on", ctx)
    _not_before(served, data.get(requested_field), f"{stage}_served_on", "送达日期不能早于申请日期")
    return served
