"""领导审批 workbench: the leader's approvals as a compact list (one line per item, one item
opened at a time), approve or return several at once with one opinion, 常用意见 (the user's stock
opinions, engine.opinions); below, the petitions the leader owns (我包案的).

Batch rule: an item is offered for batch only when its form can be decided with a decision and an
opinion alone (validating just those passes for both decisions); any other item is opened and
done on its own. Each batch item is its own engine command (its own transaction): the result
page lists each item as done, or refused with the engine's Chinese reason; no item is ever half
done. Confirm step: when a chosen item's form requires an opinion for the decision, or its
process setting `leader_opinion_required` is set, the batch is shown once more to confirm, with
the opinion required.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.access import visible_task
from engine.casefile import TaskPage, leader_queue
from engine.errors import EngineError, FormInvalid, NotFound
from engine.forms import opinion_field, validate_form
from engine.models import TaskStatus
from engine.opinions import add_opinion, list_opinions, remove_opinion
from engine.runtime import complete_task
from engine.stepper import process_config
from webapp.inputs import parse_id
from webapp.security import actor, current_env
from webapp.tasks import form_context
from workflows.petition.ownership import owned_cases

bp = Blueprint("leader", __name__)

APPROVE_VALUES = ("同意", "批准", "通过", "审核通过", "确认")
RETURN_VALUES = ("退回", "不同意", "不批准", "驳回")
DECISIONS = {"approve": "同意", "return": "退回"}
MAX_OPINION = 2000
OPINION_SETTING = "leader_opinion_required"  # ProcessConfig.settings: every leader decision needs one


@dataclass(frozen=True)
class BatchPlan:
    """How one item is decided in a batch: the form's decision field and values, opinion field."""
    decision_field: str
    values: dict[str, str]            # "approve" / "return" -> the form's value
    opinion_field: str | None
    opinion_required: dict[str, bool]  # per decision: the form or the process requires an opinion


def _decision_field(schema: dict[str, Any]) -> tuple[str, list[str]] | None:
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("x-widget") == "actions":
            return name, [str(v) for v in prop.get("enum") or []]
    return None


def _passes(schema: dict[str, Any], data: dict[str, Any]) -> bool:
    try:
        validate_form(schema, data)
    except FormInvalid:
        return False
    return True


def batch_plan(schema: dict[str, Any] | None, settings: dict[str, Any]) -> BatchPlan | None:
    """The item's batch plan, or None when its form needs more than a decision and an opinion."""
    found = _decision_field(schema or {})
    if schema is None or found is None:
        return None
    name, options = found
    values = {kind: next((v for v in options if v in accepted), "")
              for kind, accepted in (("approve", APPROVE_VALUES), ("return", RETURN_VALUES))}
    if not values["approve"]:
        return None
    op_field = opinion_field(schema)
    required = {}
    for kind, value in values.items():
        if not value:
            continue
        with_opinion = {name: value, **({op_field: "意见"} if op_field else {})}
        if not _passes(schema, with_opinion):
            return None  # another field is needed (a date, an amount, a file...)
        required[kind] = bool(settings.get(OPINION_SETTING)) or (
            op_field is not None and not _passes(schema, {name: value}))
    return BatchPlan(name, {k: v for k, v in values.items() if v}, op_field, required)


def _plan_of(page: TaskPage) -> BatchPlan | None:
    settings = process_config(current_env(), page.task.process_key).settings
    return batch_plan(page.schema, settings)


def _queue() -> list[TaskPage]:
    return leader_queue(current_env(), current_user.id)


def _render(pages: list[TaskPage], **extra: Any) -> str:
    items = []
    for page in pages:
        item = form_context(page, page.values, {}, id_prefix=f"t{page.task.id}-")
        item["plan"] = _plan_of(page)
        items.append(item)
    owned = owned_cases(current_env(), current_user.id) if current_user.has("leader") else []
    stock = list_opinions(current_env(), current_user.id)
    return render_template("leader/index.html", items=items, owned=owned, stock=stock,
                           batchable=sum(1 for i in items if i["plan"]), **extra)


@bp.get("/leader")
def index() -> str:
    return _render(_queue())


def _chosen_opinion() -> str:
    typed = request.form.get("opinion", "").strip()
    if typed:
        return typed
    picked = parse_id(request.form.get("stock", ""))
    if picked:
        return next((s.text for s in list_opinions(current_env(), current_user.id) if s.id == picked), "")
    return ""


def _reason(exc: EngineError) -> str:
    if isinstance(exc, FormInvalid):
        return "；".join(dict.fromkeys(exc.errors.values())) or exc.user_message
    return exc.user_message


@bp.post("/leader/batch")
def batch() -> Response | tuple[str, int] | str:
    """Approve or return the ticked items with one opinion: each item one engine command."""
    kind = request.form.get("decision", "")
    if kind not in DECISIONS:
        flash("请选择批量同意或批量退回", "warning")
        return redirect(url_for("leader.index"))
    wanted = [i for i in (parse_id(v) for v in request.form.getlist("task")) if i]
    if not wanted:
        flash("请先勾选要批量办理的事项", "warning")
        return redirect(url_for("leader.index"))
    opinion = _chosen_opinion()
    if len(opinion) > MAX_OPINION:
        flash(f"审批意见最多 {MAX_OPINION} 个字，未办理任何事项", "danger")
        return redirect(url_for("leader.index"))
    pages = _queue()
    mine = {p.task.id: p for p in pages}
    chosen = [mine[i] for i in dict.fromkeys(wanted) if i in mine]
    plans = {p.task.id: _plan_of(p) for p in chosen}
    needs = [p for p in chosen if (plan := plans[p.task.id]) and plan.opinion_required.get(kind)]
    if needs and (not request.form.get("confirmed") or not opinion):
        missing = bool(request.form.get("confirmed")) and not opinion
        return render_template("leader/confirm.html", kind=kind, label=DECISIONS[kind], items=chosen,
                               needs={p.task.id for p in needs}, opinion=opinion, missing=missing,
                               stock=list_opinions(current_env(), current_user.id),
                               stray=len(wanted) - len(chosen)), (422 if missing else 200)
    results = []
    for task_id in dict.fromkeys(wanted):
        page = mine.get(task_id)
        if page is None:  # done meanwhile, or never the user's leader task
            results.append(_gone(task_id))
            continue
        row = {"case_no": page.task.case_no, "title": page.instance.title, "step": page.task.step_name,
               "task_id": task_id}
        plan = plans[task_id]
        if plan is None:
            results.append({**row, "ok": False, "reason": "该事项需填写其他内容，请逐件打开办理"})
            continue
        value = plan.values.get(kind)
        if not value:
            results.append({**row, "ok": False, "reason": f"该事项不能{DECISIONS[kind]}，请逐件打开办理"})
            continue
        data = {plan.decision_field: value}
        if plan.opinion_field and opinion:
            data[plan.opinion_field] = opinion
        try:
            complete_task(current_env(), task_id, actor(), data, None if plan.opinion_field else (opinion or None))
        except EngineError as exc:
            results.append({**row, "ok": False, "reason": _reason(exc)})
            continue
        results.append({**row, "ok": True, "reason": f"已{value}"})
    return _render(_queue(), results=results, done_label=DECISIONS[kind])


def _gone(task_id: int) -> dict[str, Any]:
    """The result of a ticked item no longer in the user's queue: why, for a task of a case the
    user sees (e.g. another leader did it meanwhile); nothing about a hidden one."""
    with current_env().db.read() as session:
        try:
            row = visible_task(session, current_user.id, task_id, current_env().clock.now())
        except NotFound:
            row = None
        if row is None:
            return {"case_no": "", "title": "", "ok": False, "reason": "该事项不在您的待审批列表中"}
        reason = {TaskStatus.completed: "该事项已由他人办理完毕，未重复办理",
                  TaskStatus.cancelled: "该事项已撤销"}.get(row.status, "该事项当前不能由您审批")
        return {"case_no": row.case_no, "title": row.title, "step": row.step_name, "ok": False,
                "reason": reason}


@bp.post("/leader/opinions")
def add_stock() -> Response:
    try:
        add_opinion(current_env(), current_user.id, request.form.get("text", ""))
    except FormInvalid as exc:
        flash(exc.errors.get("text", exc.user_message), "danger")
    else:
        flash("已保存常用意见", "success")
    return redirect(url_for("leader.index") + "#stock")


@bp.post("/leader/opinions/<int:opinion_id>/delete")
def remove_stock(opinion_id: int) -> Response:
    remove_opinion(current_env(), current_user.id, opinion_id)  # NotFound (404) for another's
    flash("已删除常用意见", "success")
    return redirect(url_for("leader.index") + "#stock")
