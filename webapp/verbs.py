"""The approval verbs on the task and case pages: 退回, 撤回, 转办, 委派 (and handing it back), 加签,
减签, 催办, 督办. Each view checks the task is visible (else 404), calls one engine verb, flashes and
redirects; the engine decides who may. A refusal (missing opinion, wrong target, not allowed now, a
conflict) comes back on the page the form was posted from, with the Chinese reason next to the
form and everything typed kept (`verb_refusal` in the templates)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.access import check_case_visible, check_task_visible
from engine.casefile import task_page
from engine.errors import Conflict, EngineError, FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.models import HumanTask
from engine.forms import coerce_form
from engine.verbs.panel import MARK_LABELS
from engine.verbs.returning import return_task
from engine.verbs.signers import add_signer, remove_signer, signer_choices
from engine.verbs.supervision import answer_order, open_order
from engine.verbs.transfer import delegate_task, receivers, return_delegation, transfer_task
from engine.verbs.urging import urge_task
from engine.verbs.withdrawing import withdraw_task
from webapp.cases import case_page
from webapp.errors import status_of
from webapp.formschema import raw_from_request
from webapp.security import actor, current_env
from webapp.tasks import render_task, task_view

bp = Blueprint("verbs", __name__)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"MARK_LABELS": MARK_LABELS}


def _user_id_field(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isdigit() or len(value) > 9:
        raise FormInvalid({name: "请选择接收人"})
    return int(value)


def _typed(*names: str) -> dict[str, str]:
    return {n: request.form.get(n, "").strip() for n in names}


def _origin_task(default: int) -> int:
    """The task page a verb form was posted from (减签 posts the added signer's task from the
    holder's page); its visibility is checked again when the page is rebuilt."""
    value = request.form.get("_page_task", "")
    return int(value) if value.isdigit() and len(value) <= 9 else default


def _refused(exc: EngineError, form: str, typed: dict[str, str], task_id: int | None = None,
             order_id: int | None = None, offered: Callable[[], bool] | None = None) -> tuple[str, int]:
    """A refused verb form comes back on the page it was posted from (the case page when the form
    says `_from=case`, else the task page), with the Chinese reason next to it and everything
    typed kept. A hidden task stays hidden (NotFound: the 404 page), and someone who may not use
    the verb at all gets the plain 403 page (PermissionDenied), unless the verb was offered to
    them and the refusal is about their choice (`offered`: a receiver or signer without the role)."""
    if isinstance(exc, NotFound) or (isinstance(exc, PermissionDenied) and (offered is None or not offered())):
        raise exc
    errors = dict(exc.errors) if isinstance(exc, FormInvalid) else {"_": exc.user_message}
    refusal = {"form": form, "values": typed, "errors": errors, "task_id": task_id, "order_id": order_id}
    status = status_of(exc)
    try:
        if request.form.get("_from") == "case" or task_id is None:
            case_id = request.view_args.get("case_id") if request.view_args else None
            if case_id is None:
                with current_env().db.read() as session:
                    row = session.get(HumanTask, task_id)
                    case_id = row.instance_id if row is not None else None
            if case_id is None:
                raise exc
            return case_page(case_id, verb_refusal=refusal), status
        return task_view(_origin_task(task_id), verb_refusal=refusal), status
    except NotFound:  # the page posted from is not (or no longer) the user's to see
        raise exc from None


@bp.post("/tasks/<int:task_id>/return")
def return_(task_id: int) -> Response | tuple[str, int]:
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("step_id", "opinion")
    try:
        return_task(current_env(), task_id, actor(), typed["step_id"], typed["opinion"])
    except EngineError as exc:
        return _refused(exc, "return", typed, task_id)
    flash("已退回", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/withdraw")
def withdraw(task_id: int) -> Response | tuple[str, int]:
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("reason")
    try:
        withdraw_task(current_env(), task_id, actor(), typed["reason"])
    except EngineError as exc:
        return _refused(exc, "withdraw", typed, task_id)
    flash("已撤回，请重新办理", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/transfer")
def transfer(task_id: int) -> Response | tuple[str, int]:
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("to_user_id", "mode", "reason")
    verb = delegate_task if typed["mode"] == "delegate" else transfer_task
    try:
        verb(current_env(), task_id, actor(), _user_id_field("to_user_id"), typed["reason"])
    except EngineError as exc:
        return _refused(exc, "transfer", typed, task_id,
                        offered=lambda: bool(receivers(current_env(), task_id, current_user.id)))
    flash("已委派，办好后将交回您确认" if verb is delegate_task else "已转办", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/hand-back")
def hand_back(task_id: int) -> Response | tuple[str, int]:
    """The delegate's answers go back to the delegator: a refused form comes back as typed, like
    the task's own form (webapp/tasks.py)."""
    page = task_page(current_env(), current_user.id, task_id)
    raw = raw_from_request(page.schema, request.form)
    opinion = request.form.get("_opinion", "").strip()
    try:
        data = coerce_form(page.schema, raw) if page.schema else {}
        return_delegation(current_env(), task_id, actor(), data, opinion)
    except FormInvalid as exc:
        return render_task(page, raw, exc.errors, opinion), 422
    except (Conflict, InvalidState) as exc:  # PermissionDenied: not delegated to them, the plain 403 page
        if page.can_act:  # the reason above the form, as typed
            return render_task(page, raw, {"__all__": exc.user_message}, opinion), status_of(exc)
        refusal = {"form": "hand_back", "values": {}, "errors": {"_": exc.user_message}}
        return render_task(page, raw, {}, opinion, verb_refusal=refusal), status_of(exc)
    flash("已办好并交回委派人确认", "success")
    return redirect(url_for("home.index"))


@bp.post("/tasks/<int:task_id>/urge")
def urge(task_id: int) -> Response | tuple[str, int]:
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("note")
    try:
        urge_task(current_env(), task_id, actor(), typed["note"])
    except EngineError as exc:
        return _refused(exc, "urge", typed, task_id)
    flash("已催办", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/signers")
def signers(task_id: int) -> Response | tuple[str, int]:
    """加签: before, after or alongside the task's holder."""
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("user_id", "position", "reason")
    try:
        add_signer(current_env(), task_id, actor(), _user_id_field("user_id"), typed["position"], typed["reason"])
    except EngineError as exc:
        return _refused(exc, "signer", typed, task_id,
                        offered=lambda: bool(signer_choices(current_env(), task_id, current_user.id)[0]))
    flash("已加签", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/remove-signer")
def remove_signer_(task_id: int) -> Response | tuple[str, int]:
    """减签: `task_id` is the added signer's task (the form is on the holder's task page)."""
    check_task_visible(current_env(), current_user.id, task_id)
    typed = _typed("reason")
    try:
        remove_signer(current_env(), task_id, actor(), typed["reason"])
    except EngineError as exc:
        return _refused(exc, "remove_signer", typed, task_id)
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
    except (Conflict, InvalidState) as exc:  # PermissionDenied: who may not, the plain 403 page
        return case_page(case_id, supervise_values=typed, supervise_errors={"__all__": exc.user_message}), \
            status_of(exc)
    flash("已开具督办单，承办单位须在期限内书面反馈", "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/supervision/<int:order_id>")
def answer(case_id: int, order_id: int) -> Response | tuple[str, int]:
    """The supervised unit's written feedback."""
    check_case_visible(current_env(), current_user.id, case_id)
    typed = _typed("feedback")
    try:
        answer_order(current_env(), order_id, actor(), typed["feedback"], case_id)
    except EngineError as exc:
        return _refused(exc, "answer", typed, order_id=order_id)
    flash("已反馈", "success")
    return redirect(url_for("cases.show", case_id=case_id))
