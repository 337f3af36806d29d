"""Rules of the soldier-file handover (domain.md §2.3 a): deadlines, queries, report-in, Art.51.

Every number a province may change is in SETTINGS (a deployment overrides them through
`Env.settings["settlement_handover"]`); the hooks read them from `ctx.settings` only.
Dates are calendar days ("X日"): the day of the event does not count, the deadline ends at
local midnight after its last day (`calendar.deadline_end`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from engine.calendar import days_late
from engine.errors import FormInvalid, NotFound
from engine.process_api import HookContext
from workflows.dates import day, due_after, end_of, past_date

SELF_EMPLOYED = "自主就业"
JOB_PLACEMENT = "安排工作"
QUERY = "有疑点"
CONFIRM = "确认"
FORFEIT = "视为放弃安置待遇"
ART51 = "《退役军人安置条例》第五十一条"

SETTINGS: dict[str, Any] = {
    # The three parties of the joint unsealing (联合拆封); each signs at its own unit.
    "unsealing_parties": [
        {"code": "jj", "label": "纪检", "unit_code": "city.jj"},
        {"code": "rs", "label": "人社", "unit_code": "city.rs"},
        {"code": "ya", "label": "安置", "unit_code": "city.ya"},
    ],
    # 自主就业: report within this many days of the discharge approval.
    "report_days": 30,
    # Reporting more than this many days after the report deadline without a good reason
    # is treated as giving up the settlement benefits (Art.51).
    "forfeit_after_late_days": 30,
    # Roll-forward (民法典 Art.203: a last day on a rest day or holiday moves to the next
    # working day): on for the veteran's report-in window, off for the forfeit threshold.
    "roll_forward_report": True,
    "roll_forward_forfeit": False,
    # Days the army unit has to answer a query before it is reminded.
    "query_wait_days": 15,
    # Reminders by the caseworker before each further expiry goes to the leader.
    "escalate_after_reminders": 2,
}

Hook = Callable[[dict[str, Any], HookContext], dict[str, Any]]
REVIEW_PREFIX = {"first_review": "first", "second_review": "second"}


# ----------------------------------------------------------------------------- start

def on_start(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The report-in clocks run from the discharge approval, whatever happens to the file."""
    s = ctx.settings
    discharged = past_date(ctx, data, "discharge_approved_on")
    report = ctx.calendar.add_days(discharged, s["report_days"], bool(s.get("roll_forward_report")))
    report_due = report.due
    forfeit = ctx.calendar.add_days(report_due, s["forfeit_after_late_days"],
                                    bool(s.get("roll_forward_forfeit")))
    forfeit_due = forfeit.due
    return {
        "id_number": str(data["id_number"]).upper(),
        "unsealing_parties": [dict(p) for p in s["unsealing_parties"]],
        "confirmed_category": data["category"],
        "report_due_on": report_due.isoformat(), "report_due_at": end_of(ctx, report_due),
        "report_due_at_provisional": report.provisional,
        "forfeit_due_on": forfeit_due.isoformat(), "forfeit_due_at": end_of(ctx, forfeit_due),
        "forfeit_due_at_provisional": report.provisional or forfeit.provisional,
        "query_round": 0, "queries": [], "reminders": 0, "reminder_log": [],
    }


def summarize(data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    name = str(data.get("soldier_name", ""))
    return f"{name}退役士兵档案（{data.get('category', '')}）", name, str(data.get("id_number", ""))


def task_label(step_id: str, data: dict[str, Any]) -> str | None:
    """The unsealing tasks are told apart by their party."""
    party = data.get("party") if step_id == "joint_unsealing" else None
    return f"{party['label']}方" if isinstance(party, dict) else None


# ----------------------------------------------------------------------------- unsealing, reviews

def _unsealed(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """One party's signature; the multi-instance collects them into `seals`."""
    party = data["party"]
    return {"seal": {"party": party["code"], "label": party["label"],
                     "seal_intact": bool(data["seal_intact"]), "page_count": data.get("page_count"),
                     "signed_on": ctx.today.isoformat()}}


def _review(step: str) -> Hook:
    prefix = REVIEW_PREFIX[step]

    def hook(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        out: dict[str, Any] = {}
        queries = list(data.get("queries") or [])
        if queries and "answer" not in queries[-1] and data.get("army_reply") is not None:
            out["queries"] = [*queries[:-1], {**queries[-1], "answer": data["army_reply"]}]
        if data[f"{prefix}_result"] == QUERY:
            out.update(query_from=step, query_points=data[f"{prefix}_query"])
        return out
    return hook


# ----------------------------------------------------------------------------- the query loop

def _wait_again(ctx: HookContext, since: date, reminders: int) -> dict[str, Any]:
    """A new answer deadline; after enough reminders the next expiry goes to the leader."""
    s = ctx.settings
    return {"reminders": reminders,
            "reply_due_at": end_of(ctx, due_after(ctx, since, s["query_wait_days"])),
            "escalate_due": reminders >= s["escalate_after_reminders"]}


def _query_sent(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    sent = past_date(ctx, data, "sent_on")
    round_no = int(data.get("query_round") or 0) + 1
    entry = {"round": round_no, "raised_by": data.get("query_from"), "letter_no": data["letter_no"],
             "sent_on": sent.isoformat(), "points": data["query_points"]}
    return {"query_round": round_no, "queries": [*(data.get("queries") or []), entry],
            **_wait_again(ctx, sent, 0)}


def _reminded(field: str, who: str) -> Hook:
    def hook(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        on = past_date(ctx, data, field)
        count = int(data.get("reminders") or 0) + 1
        log = [*(data.get("reminder_log") or []),
               {"round": data.get("query_round"), "on": on.isoformat(), "by": who}]
        return {"reminder_log": log, **_wait_again(ctx, on, count)}
    return hook


# ----------------------------------------------------------------------------- category, handover

def _classified(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    if data["classify_decision"] != CONFIRM:
        return {}
    return {"category_changed": data["confirmed_category"] != data["category"]}


def _handed_over(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The receiving unit must be an organ other than the city bureau itself (the form's unit
    picker offers the districts only)."""
    past_date(ctx, data, "handover_on")
    unit_id = int(data["receiving_unit_id"])
    try:
        code = ctx.orgs.unit_code(unit_id)
        ok = ctx.orgs.organ_of(unit_id) == unit_id != ctx.orgs.organ_of(ctx.case_unit_id)
    except NotFound:
        ok = False
    if not ok:
        raise FormInvalid({"receiving_unit_id": "请选择本市所辖的区县退役军人事务局"})
    return {"receiving_unit_code": code}


def _receipt_signed(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return {"handed_over_on": past_date(ctx, data, "received_on").isoformat()}


# ----------------------------------------------------------------------------- report-in, Art.51

def _report_date(data: dict[str, Any], ctx: HookContext) -> tuple[date, int]:
    """The report date and how many days after the report deadline it lies (0 if on time)."""
    on = past_date(ctx, data, "reported_on")
    if on < day(data["discharge_approved_on"]):
        raise FormInvalid({"reported_on": "报到日期不能早于批准退出现役日期"})
    return on, days_late(on, day(data["report_due_on"]))


def _reported(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    _on, late = _report_date(data, ctx)
    return {"reported_late": late > 0, "days_late": late,
            "report_outcome": "逾期报到" if late else "按期报到"}


def _late_reported(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Registered after the report clock ran out. The report date decides: on or before the
    last day is 按期报到 (0 days late); beyond the grace period without a good reason goes to
    the district leader for the Art.51 determination."""
    _on, late = _report_date(data, ctx)
    beyond = late > ctx.settings["forfeit_after_late_days"]
    if beyond and data.get("good_reason") is None:
        raise FormInvalid({"good_reason": f"逾期超过{ctx.settings['forfeit_after_late_days']}日，请填写是否有正当理由"})
    return {"reported_late": late > 0, "days_late": late, "report_outcome": "逾期报到" if late else "按期报到",
            "forfeit_candidate": beyond and not data.get("good_reason")}


def _forfeit_decided(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    gave_up = data["forfeit_decision"] == FORFEIT
    return {"gave_up_benefits": gave_up, "legal_basis": ART51 if gave_up else None,
            "report_outcome": FORFEIT if gave_up else "有正当理由，保留安置待遇"}


def _reported_other(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    _report_date(data, ctx)
    placed = data["confirmed_category"] == JOB_PLACEMENT
    return {"report_outcome": "待纳入年度安排工作计划" if placed else "移交供养服务管理单位"}


def _archived(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return {"archived_on": past_date(ctx, data, "archived_on").isoformat()}


STEP_HOOKS: dict[str, Hook] = {
    "joint_unsealing": _unsealed,
    "first_review": _review("first_review"),
    "second_review": _review("second_review"),
    "send_query": _query_sent,
    "chase_army": _reminded("reminded_on", "经办人催告"),
    "escalate_query": _reminded("escalated_on", "领导督办"),
    "classify_confirm": _classified,
    "handover": _handed_over,
    "district_receipt": _receipt_signed,
    "report_in": _reported,
    "late_report": _late_reported,
    "forfeit_confirm": _forfeit_decided,
    "report_in_other": _reported_other,
    "archive": _archived,
}


def on_complete(step_id: str, data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    hook = STEP_HOOKS.get(step_id)
    return hook(data, ctx) if hook else {}
