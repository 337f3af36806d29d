"""Hooks of the year's job placement (domain.md §2.3 b): the plan, file review, scores, choice,
approval, letters and on-post clocks, and the follow-up review.

One case is one plan year's batch of candidates (`candidates` on the start form). Numbers a
province may change are in SETTINGS (a deployment overrides them through
`Env.settings["job_placement"]`); the hooks read them from `ctx.settings` only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.calendar import days_late
from engine.errors import FormInvalid
from engine.process_api import HookContext
from workflows.dates import day, due_after, end_of, past_date
from workflows.job_placement.clocks import placement_due
from workflows.job_placement.selection import choose_post, rank, score_sheet

COMPLETE = "材料齐全"
CONFIRM_RANKING = "确认排名并公示"
APPROVE = "同意"
ART75 = "《退役军人安置条例》第七十五条"

SETTINGS: dict[str, Any] = {
    # Art.31: the year's placement is done within this many months of receiving the files.
    "placement_months": 6,
    # On post within this many days of the introduction letter; later, the receiving unit pays
    # a living allowance of at least `allowance_min_ratio` of its average wage (Art.75).
    "onpost_days": 30,
    "allowance_min_ratio": 0.8,
    # Days given to the veteran or the army unit to supply missing documents (shown as due).
    "supplement_days": 15,
    # Follow-up review: labour contract of at least this many years; open-ended from this
    # many years of service.
    "min_contract_years": 3,
    "open_ended_service_years": 10,
    # Weights of the score parts (赋分办法 is provincial).
    "score_weights": {"service": 1.0, "award": 1.0, "exam": 1.0},
}

Hook = Callable[[dict[str, Any], HookContext], dict[str, Any]]


# ----------------------------------------------------------------------------- the plan

def on_start(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The 6-month clock runs from the receipt of the files (calendar months)."""
    received = past_date(ctx, data, "receipt_date")
    candidates = [{**c, "id_number": str(c["id_number"]).upper()} for c in data["candidates"]]
    _check_plan(candidates, data["posts"])
    due = placement_due(received, int(ctx.settings["placement_months"]))
    return {"candidates": candidates, "placement_due_on": due.isoformat(),
            "placement_due_at": end_of(ctx, due)}


def _check_plan(candidates: list[dict[str, Any]], posts: list[dict[str, Any]]) -> None:
    ids = [c["id_number"] for c in candidates]
    codes = [p["post_code"] for p in posts]
    if len(set(ids)) != len(ids):
        raise FormInvalid({"candidates": "安置对象身份证号重复"})
    if len(set(codes)) != len(codes):
        raise FormInvalid({"posts": "岗位代码重复"})
    if sum(int(p["count"]) for p in posts) < len(candidates):
        raise FormInvalid({"posts": "岗位名额总数少于安置对象人数"})


def summarize(data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    count = len(data.get("candidates") or [])
    return f"{data.get('plan_year', '')}年度安排工作退役士兵安置计划（{count}人）", None, None


# ----------------------------------------------------------------------------- file review

def _file_reviewed(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    missing = list(data.get("missing_documents") or [])
    complete = data["file_decision"] == COMPLETE
    if complete == bool(missing):
        message = "材料齐全时不应勾选缺少的材料" if complete else "请勾选需补充的材料"
        raise FormInvalid({"missing_documents": message})
    rounds = int(data.get("review_round") or 0) + 1
    if complete:
        return {"review_round": rounds, "docs_complete": True,
                "reviewed_file": {**data["applicant"], "review_rounds": rounds}}
    due = due_after(ctx, ctx.today, int(ctx.settings["supplement_days"]))
    return {"review_round": rounds, "docs_complete": False, "missing_now": missing,
            "supplement_due_at": end_of(ctx, due)}


def _supplied(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    received = past_date(ctx, data, "received_on")
    if received < day(data["notified_on"]):
        raise FormInvalid({"received_on": "接收日期不能早于通知日期"})
    entry = {"round": data.get("review_round"), "missing": data.get("missing_now"),
             "from": data["requested_from"], "received_on": received.isoformat()}
    # The next review starts from an empty checklist (the task data would carry the old one).
    return {"supplements": [*(data.get("supplements") or []), entry], "missing_documents": []}


# ----------------------------------------------------------------------------- scores, choice

def _scored(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return {"score_sheet": score_sheet(data["examinee"], data, ctx.settings["score_weights"])}


def _ranking_checked(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    if data["ranking_decision"] != CONFIRM_RANKING:
        return {"scores": []}  # scored again from an empty collection
    if day(data["publicity_to"]) < day(data["publicity_from"]):
        raise FormInvalid({"publicity_to": "公示结束日期不能早于开始日期"})
    return {"ranking": rank(data["scores"])}


def _post_chosen(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return {"choice": choose_post(data["chooser"], str(data["post_code"]).strip(), data["posts"],
                                  list(data.get("choices") or []))}


def _allocation_decided(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    if data["allocation_decision"] != APPROVE:
        return {"choices": []}  # everyone chooses again, in rank order
    return {"approved_on": ctx.today.isoformat()}


# ----------------------------------------------------------------------------- letters, on post

def _letter_issued(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    issued = past_date(ctx, data, "letter_date")
    due = due_after(ctx, issued, int(ctx.settings["onpost_days"]))
    return {"onpost_due_on": due.isoformat(), "onpost_due_at": end_of(ctx, due)}


def _placement(data: dict[str, Any], ctx: HookContext, timer_fired: bool) -> dict[str, Any]:
    """Late means on post after the 30th day (Art.75 ¶2), whenever it is confirmed: a veteran on
    post on day 29 and confirmed after the timer fired is on time."""
    on_post = past_date(ctx, data, "on_post_date")
    if on_post < day(data["letter_date"]):
        raise FormInvalid({"on_post_date": "上岗日期不能早于介绍信日期"})
    late = days_late(on_post, day(data["onpost_due_on"])) > 0
    if late and timer_fired:
        _require_late_facts(data)
    placement = {**data["alloc"], "letter_no": data["letter_no"], "letter_date": data["letter_date"],
                 "on_post_date": on_post.isoformat(), "late": late, "unit_owes_allowance": late}
    if late:
        placement.update(legal_basis=ART75, allowance_min_ratio=ctx.settings["allowance_min_ratio"],
                         allowance_arranged=bool(data.get("allowance_arranged")))
    return {"placement": placement}


def _require_late_facts(data: dict[str, Any]) -> None:
    missing = {}
    if not str(data.get("late_reason") or "").strip():
        missing["late_reason"] = "上岗日期晚于30日期限，请填写逾期原因"
    if data.get("allowance_arranged") is None:
        missing["allowance_arranged"] = "上岗日期晚于30日期限，请填写接收单位是否已发放生活费"
    if missing:
        raise FormInvalid(missing)


def _on_post(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return _placement(data, ctx, timer_fired=False)


def _late_on_post(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return _placement(data, ctx, timer_fired=True)


def _overdue_supervised(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    return {"placement_overdue": True, "supervised_on": ctx.today.isoformat()}


# ----------------------------------------------------------------------------- follow-up review

def follow_up_issues(placed: dict[str, Any], form: dict[str, Any],
                     settings: dict[str, Any]) -> list[str]:
    """What the follow-up review found wrong with one placement (empty: compliant)."""
    issues = []
    service_floor, contract_floor = settings["open_ended_service_years"], settings["min_contract_years"]
    if int(placed.get("service_years", 0)) >= service_floor and not form["open_ended"]:
        issues.append(f"服役满{service_floor}年，应签订无固定期限劳动合同")
    elif not form["open_ended"] and int(form.get("contract_years") or 0) < contract_floor:
        issues.append(f"劳动合同期限不得少于{contract_floor}年")
    if not form["allowances_paid"]:
        issues.append("工资福利及相关待遇未落实")
    if placed.get("unit_owes_allowance") and not form.get("late_allowance_paid"):
        issues.append("逾期上岗期间的生活费未按规定发放")
    return issues


def _followed_up(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    reviewed_on = past_date(ctx, data, "follow_up_on").isoformat()
    issues = follow_up_issues(data["placed"], data, ctx.settings)
    return {"follow_up_result": {**data["placed"], "contract_years": data.get("contract_years"),
                                 "open_ended": data["open_ended"], "compliant": not issues,
                                 "issues": issues, "reviewed_on": reviewed_on}}


# The element of each multi-instance step: its task rows are told apart by the person's name.
TASK_ITEMS = {"review_file": "applicant", "request_supplement": "applicant", "score": "examinee",
              "select_post": "chooser", "issue_letter": "alloc", "confirm_on_post": "alloc",
              "late_on_post": "alloc", "follow_up": "placed"}


def task_label(step_id: str, data: dict[str, Any]) -> str | None:
    item = data.get(TASK_ITEMS.get(step_id, ""))
    if not isinstance(item, dict) or not item.get("name"):
        return None
    return f"第{item['rank']}名 {item['name']}" if step_id == "select_post" else str(item["name"])


STEP_HOOKS: dict[str, Hook] = {
    "review_file": _file_reviewed,
    "request_supplement": _supplied,
    "score": _scored,
    "publish_ranking": _ranking_checked,
    "select_post": _post_chosen,
    "allocation_approval": _allocation_decided,
    "issue_letter": _letter_issued,
    "confirm_on_post": _on_post,
    "late_on_post": _late_on_post,
    "placement_overdue": _overdue_supervised,
    "follow_up": _followed_up,
}


def on_complete(step_id: str, data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    hook = STEP_HOOKS.get(step_id)
    return hook(data, ctx) if hook else {}
