"""Data hooks of the home-renovation process: routing at start, checks and derived data per step.

Every rule about money and time lives here, read from the settings (never hard-coded): the
per-household budget cap, the leader-approval threshold and the publicity period. The BPMN
gateways only read the plain values these hooks leave in the case data (`needs_leader`, the
decisions, `signatures`). A check that fails raises FormInvalid with a Chinese message on the
field, so the form page shows it and nothing is saved.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from engine.errors import FormInvalid
from engine.process_api import HookContext
from workflows.home_renovation.assignment import routing

Data = dict[str, Any]

# Defaults; a deployment overrides any of them in env.settings["home_renovation"].
DEFAULT_SETTINGS: Data = {
    "budget_cap": 50000,         # 每户改造预算上限（元）
    "leader_threshold": 30000,   # 预算超过此额（元）须局领导审批
    "publicity_days": 7,         # 公示天数（日历日，自批准次日起算）
    "approval_section": "yf",    # 市局审批科室的编码后缀（city.yf = 优抚科）
}

SIGNER_PARTIES = (("household", "户主"), ("town", "镇（街道）"), ("district", "区局"))


def yuan(value: Any) -> Decimal:
    return Decimal(str(value))


def fmt_yuan(value: Any) -> str:
    return f"{yuan(value):,.2f}元"


def on_start(data: Data, ctx: HookContext) -> Data:
    """The units that will handle the case, from the village it was registered at."""
    return dict(routing(ctx.case_unit_id, ctx.orgs))


def on_complete(step_id: str, data: Data, ctx: HookContext) -> Data:
    hook = STEP_HOOKS.get(step_id)
    return hook(data, ctx) if hook else {}


def _home_visit(data: Data, ctx: HookContext) -> Data:
    if data["eligibility"] == "不符合条件":
        return {"close_reason": data["ineligible_reason"], "closed_stage": "入户核查"}
    return {}


def _make_plan(data: Data, ctx: HookContext) -> Data:
    start, finish = date.fromisoformat(data["planned_start"]), date.fromisoformat(data["planned_finish"])
    cap = ctx.settings["budget_cap"]
    errors: dict[str, str] = {}
    if finish < start:
        errors["planned_finish"] = "计划竣工日期不能早于计划开工日期"
    if yuan(data["budget"]) > yuan(cap):
        errors["budget"] = f"预算{fmt_yuan(data['budget'])}超过每户上限{fmt_yuan(cap)}"
    if errors:
        raise FormInvalid(errors)
    return {"budget_cap": cap,
            "construction_due_at": ctx.calendar.deadline_end(finish).isoformat()}


def _district_review(data: Data, ctx: HookContext) -> Data:
    decision, cap = data["district_decision"], ctx.settings["budget_cap"]
    if decision == "通过" and yuan(data["budget"]) > yuan(cap):
        raise FormInvalid({"district_decision": f"方案预算{fmt_yuan(data['budget'])}超过每户上限"
                                                f"{fmt_yuan(cap)}，不能审核通过，请退回修改"})
    if data.get("objection_pending") and not data.get("district_opinion"):
        raise FormInvalid({"district_opinion": "公示期间有异议，请填写对异议的处理意见"})
    out: Data = {"objection_pending": False}
    if decision == "不符合条件":
        out.update(close_reason=data["district_opinion"], closed_stage="区局审核")
    return out


def _city_approval(data: Data, ctx: HookContext) -> Data:
    if data["city_decision"] != "同意":
        return {"needs_leader": False}
    threshold = ctx.settings["leader_threshold"]
    needs_leader = yuan(data["budget"]) > yuan(threshold)
    out: Data = {"needs_leader": needs_leader, "leader_threshold": threshold}
    if not needs_leader:
        out.update(_approved(data, ctx))
    return out


def _leader_approval(data: Data, ctx: HookContext) -> Data:
    return _approved(data, ctx) if data["leader_decision"] == "同意" else {}


def _approved(data: Data, ctx: HookContext) -> Data:
    """The plan is approved: fix the budget and open the publicity period from tomorrow."""
    days = int(ctx.settings["publicity_days"])
    last_day = ctx.calendar.add_days(ctx.today, days).due
    return {"approved_budget": data["budget"], "approved_on": ctx.today.isoformat(),
            "publicity_days": days, "publicity_end": last_day.isoformat(),
            "publicity_due_at": ctx.calendar.deadline_end(last_day).isoformat()}


def _publicity(data: Data, ctx: HookContext) -> Data:
    """An objection during publicity: attach it to the case, which goes back to district review."""
    objection = {"objector": data["objector"], "content": data["objection_content"],
                 "date": data["objection_date"], "registered_on": ctx.today.isoformat()}
    return {"objection": objection, "objections": [*data.get("objections", []), objection],
            "objection_pending": True}


def _construction(data: Data, ctx: HookContext) -> Data:
    entry = {"date": data["report_date"], "percent": data["progress_percent"],
             "note": data["progress_note"], "photos": data.get("progress_photos", [])}
    out: Data = {"progress_log": [*data.get("progress_log", []), entry]}
    if data["progress_percent"] >= 100:
        # A fresh round of signatures (the MI output must start empty); keep the failed ones.
        out.update(signers=signers(data), signatures=[], finished_on=data["report_date"])
        if data.get("signatures"):
            out["failed_acceptances"] = [*data.get("failed_acceptances", []), data["signatures"]]
    return out


def signers(data: Data) -> list[Data]:
    """Who signs the acceptance (会签): household (recorded at the town), town, district."""
    units = {"household": data["town_unit_id"], "town": data["town_unit_id"],
             "district": data["district_unit_id"]}
    return [{"party": party, "party_name": name, "unit_id": units[party]}
            for party, name in SIGNER_PARTIES]


def _acceptance(data: Data, ctx: HookContext) -> Data:
    """One signer's result, as the MI output item (the completion condition reads it)."""
    signer = data["signer"]
    return {"signature": {"party": signer["party"], "party_name": signer["party_name"],
                          "result": data["acceptance_result"], "signer_name": data["signer_name"],
                          "sign_date": data["sign_date"], "note": data.get("acceptance_note", "")}}


def _payment(data: Data, ctx: HookContext) -> Data:
    approved = data.get("approved_budget")
    if approved is None:
        raise FormInvalid({"pay_amount": "案件没有批准的预算，不能拨付"})
    if yuan(data["pay_amount"]) > yuan(approved):
        raise FormInvalid({"pay_amount": f"拨付金额{fmt_yuan(data['pay_amount'])}超过批准预算"
                                         f"{fmt_yuan(approved)}，不能拨付"})
    return {}


def _follow_up(data: Data, ctx: HookContext) -> Data:
    return {"archived_on": ctx.today.isoformat()}


STEP_HOOKS: dict[str, Callable[[Data, HookContext], Data]] = {
    "home_visit": _home_visit, "make_plan": _make_plan, "district_review": _district_review,
    "city_approval": _city_approval, "leader_approval": _leader_approval,
    "publicity": _publicity, "construction": _construction, "acceptance": _acceptance,
    "payment": _payment, "follow_up": _follow_up,
}


def summarize(data: Data) -> tuple[str, str | None, str | None]:
    """Case title and searchable subject: the household head and their ID number."""
    name = data.get("household_head")
    category = data.get("beneficiary_category")
    title = f"{name}户宜居改造" + (f"（{category}）" if category else "")
    return title, name, data.get("id_number")
