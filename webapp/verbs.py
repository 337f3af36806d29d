"""The approval verbs on the task page: 退回, 撤回, 转办, 委派 (and handing it back), 催办. Each view
checks the task is visible (else 404), calls one engine verb, flashes and redirects; the engine
decides who may (its refusals become the error pages of webapp/errors.py)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.access import check_case_visible, check_task_visible
from engine.casefile import task_page
from engine.errors import FormInvalid
from engine.forms import coerce_form
from engine.verbs.panel import MARK_LABELS
from engine.verbs.returning import return_task
from engine.verbs.signers import add_signer, remove_signer
from engine.verbs.supervision import answer_order, open_order
from engine.verbs.transfer import delegate_task, return_delegation, transfer_task
from engine.verbs.urging import urge_task
from engine.verbs.withdrawing import withdraw_task
from webapp.cases import case_page
from webapp.formschema import raw_from_request
from webapp.security import actor, current_env

bp = Blueprint("verbs", __name__)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"MARK_LABELS": MARK_LABELS}


def _user_id_field(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isdigit() or len(value) > 9:
        raise FormInvalid({name: "请选择接收人"})
    return int(value)


@bp.post("/tasks/<int:task_id>/return")
def return_(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    return_task(current_env(), task_id, actor(), request.form.get("step_id", ""), request.form.get("opinion", ""))
    flash("已退回", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/withdraw")
def withdraw(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    withdraw_task(current_env(), task_id, actor(), request.form.get("reason", ""))
    flash("已撤回，请重新办理", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/transfer")
def transfer(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    verb = delegate_task if request.form.get("mode") == "delegate" else transfer_task
    verb(current_env(), task_id, actor(), _user_id_field("to_user_id"), request.form.get("reason", ""))
    flash("已委派，办好后将交回您确认" if verb is delegate_task else "已转办", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/hand-back")
def hand_back(task_id: int) -> Response:
    page = task_page(current_env(), current_user.id, task_id)
    data = coerce_form(page.schema, raw_from_request(page.schema, request.form)) if page.schema else {}
    return_delegation(current_env(), task_id, actor(), data, request.form.get("_opinion", "").strip())
    flash("已办好并交回委派人确认", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/urge")
def urge(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    urge_task(current_env(), task_id, actor(), request.form.get("note", ""))
    flash("已催办", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/signers")
def signers(task_id: int) -> Response:
    """加签: before, after or alongside the task's holder."""
    check_task_visible(current_env(), current_user.id, task_id)
    add_signer(current_env(), task_id, actor(), _user_id_field("user_id"), request.form.get("position", ""),
               request.form.get("reason", ""))
    flash("已加签", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/remove-signer")
def remove_signer_(task_id: int) -> Response:
    """减签: `task_id` is the added signer's task."""
    check_task_visible(current_env(), current_user.id, task_id)
    remove_signer(current_env(), task_id, actor(), request.form.get("reason", ""))
    flash("已减签", "success")
    return redirect(url_for("home.index"))


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int) -> Response | tuple[str, int]:
    """督办: open a supervision order (督办事由 where the process lists them; deadline: the date
    typed, else the process's default). A refused form comes back on the case page as typed."""
    check_case_visible(current_env(), current_user.id, case_id)
    typed = {k: request.form.get(k, "").strip() for k in ("kind", "requirement", "due_on")}
    try:
        try:
            due_on = date.fromisoformat(typed["due_on"]) if typed["due_on"] else None
        except ValueError as exc:
            raise FormInvalid({"due_on": "请填写正确的日期"}) from exc
        open_order(current_env(), case_id, actor(), typed["requirement"], due_on, typed["kind"] or None)
    except FormInvalid as exc:
        return case_page(case_id, supervise_values=typed, supervise_errors=exc.errors), 422
    flash("已开具督办单，承办单位须在期限内书面反馈", "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/supervision/<int:order_id>")
def answer(case_id: int, order_id: int) -> Response:
    """The supervised unit's written feedback."""
    check_case_visible(current_env(), current_user.id, case_id)
    answer_order(current_env(), order_id, actor(), request.form.get("feedback", ""), case_id)
    flash("已反馈", "success")
    return redirect(url_for("cases.show", case_id=case_id))
