"""API: the task lists (待办, 已办), a task with its form, claim / unclaim / complete, and the
approval verbs (退回, 撤回, 转办/委派, 交回, 催办). The same engine calls as the pages."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_login import current_user

from engine.access import check_task_visible
from engine.calendar import BusinessCalendar
from engine.casefile import task_page
from engine.inbox import TaskFilter, done_list, inbox
from engine.models import HumanTask
from engine.runtime import claim_task, complete_task, unclaim_task
from engine.verbs.returning import return_task
from engine.verbs.signers import add_signer, remove_signer
from engine.verbs.transfer import delegate_task, return_delegation, transfer_task
from engine.verbs.urging import urge_task
from engine.verbs.withdrawing import withdraw_task
from webapp.api import bp, spec
from webapp.api.schemas import (CompleteIn, ListQuery, OkOut, ReasonIn, ReturnIn, SignerIn, StepOut, TaskDetailOut,
                                TaskPageOut, TransferIn, UrgeIn, responses)
from webapp.security import actor, current_env

READ = responses  # alias: reads answer 401/403/404/422/429 too


def iso(at: datetime | None) -> str | None:
    """RFC 3339 (Flask's own JSON would write an HTTP date)."""
    return at.isoformat() if at is not None else None


def task_out(t: HumanTask) -> dict[str, Any]:
    return {"id": t.id, "instance_id": t.instance_id, "case_no": t.case_no, "process_key": t.process_key,
            "title": t.title or "", "step_id": t.step_id, "step_name": t.step_name, "role": t.role.value,
            "org_unit_id": t.org_unit_id, "status": t.status.value, "assignee_id": t.assignee_id,
            "due_at": iso(t.due_at), "due_provisional": bool(t.due_provisional),
            "created_at": iso(t.created_at), "completed_at": iso(t.completed_at), "mark": t.mark}


def task_filter(query: ListQuery) -> TaskFilter:
    now = current_env().clock.now()
    bounds = [BusinessCalendar.deadline_end(query.due)] if query.due else []
    if query.status == "soon":
        bounds.append(now + timedelta(days=int(current_app.config["DUE_SOON_DAYS"])))
    return TaskFilter(process_key=query.process or None, due_before=min(bounds) if bounds else None,
                      overdue_at=now if query.status == "overdue" else None, search=query.q or None)


def _page(page: Any) -> dict[str, Any]:
    return {"items": [task_out(t) for t in page.items], "total": page.total, "total_capped": page.capped,
            "page": page.page, "per_page": page.per_page}


@bp.get("/tasks/inbox")
@spec.validate(query=ListQuery, resp=READ(TaskPageOut), tags=["tasks"], operation_id="inbox")
def inbox_list(query: ListQuery) -> Any:
    """待办: tasks claimed by me and open tasks of my roles at their units."""
    return _page(inbox(current_env(), current_user.id, task_filter(query), query.page, query.per_page))


@bp.get("/tasks/done")
@spec.validate(query=ListQuery, resp=READ(TaskPageOut), tags=["tasks"], operation_id="done")
def done(query: ListQuery) -> Any:
    """已办: tasks I completed, newest first."""
    return _page(done_list(current_env(), current_user.id, task_filter(query), query.page, query.per_page))


@bp.get("/tasks/<int:task_id>")
@spec.validate(resp=READ(TaskDetailOut), tags=["tasks"], operation_id="task_detail")
def task_detail(task_id: int) -> Any:
    """A task with its case, form schema, current values, options and earlier opinions."""
    page = task_page(current_env(), current_user.id, task_id)
    return {"task": task_out(page.task), "case_no": page.instance.case_no, "process_name": page.process_name,
            "unit_name": page.unit_name, "assignee_name": page.assignee_name, "form_schema": page.schema,
            "values": page.values, "can_act": page.can_act, "refusal": page.refusal,
            "options": {k: [{"value": v, "label": label} for v, label in opts] for k, opts in page.options.items()},
            "opinions": [{"step_name": o.step_name, "actor_name": o.actor_name, "at": o.at.isoformat(),
                          "text": o.text, "decision": o.decision} for o in page.opinions]}


@bp.post("/tasks/<int:task_id>/claim")
@spec.validate(resp=responses(OkOut), tags=["tasks"], operation_id="claim")
def claim(task_id: int) -> Any:
    """认领: the task is mine until I release it."""
    check_task_visible(current_env(), current_user.id, task_id)
    claim_task(current_env(), task_id, actor())
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/unclaim")
@spec.validate(resp=responses(OkOut), tags=["tasks"], operation_id="unclaim")
def unclaim(task_id: int) -> Any:
    """释放: back to everyone holding the role."""
    check_task_visible(current_env(), current_user.id, task_id)
    unclaim_task(current_env(), task_id, actor())
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/complete")
@spec.validate(json=CompleteIn, resp=responses(StepOut), tags=["tasks"], operation_id="complete")
def complete(task_id: int, json: CompleteIn) -> Any:
    """办理: submit the step's form (JSON typed as its schema) and opinion; one transaction."""
    result = complete_task(current_env(), task_id, actor(), json.data, json.opinion.strip() or None)
    return {"instance_id": result.instance_id, "status": result.status.value,
            "new_task_ids": result.new_task_ids, "error": result.error, "user_message": result.user_message}


@bp.post("/tasks/<int:task_id>/return")
@spec.validate(json=ReturnIn, resp=responses(OkOut), tags=["verbs"], operation_id="return")
def return_(task_id: int, json: ReturnIn) -> Any:
    """退回: back to an earlier step of the task's own path."""
    check_task_visible(current_env(), current_user.id, task_id)
    return_task(current_env(), task_id, actor(), json.step_id, json.opinion)
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/withdraw")
@spec.validate(json=ReasonIn, resp=responses(OkOut), tags=["verbs"], operation_id="withdraw")
def withdraw(task_id: int, json: ReasonIn) -> Any:
    """撤回: the completer takes back a step while the next one is untouched."""
    check_task_visible(current_env(), current_user.id, task_id)
    withdraw_task(current_env(), task_id, actor(), json.reason)
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/transfer")
@spec.validate(json=TransferIn, resp=responses(OkOut), tags=["verbs"], operation_id="transfer")
def transfer(task_id: int, json: TransferIn) -> Any:
    """转办 (mode transfer) or 委派 (mode delegate: back to me to confirm)."""
    check_task_visible(current_env(), current_user.id, task_id)
    verb = delegate_task if json.mode == "delegate" else transfer_task
    verb(current_env(), task_id, actor(), json.to_user_id, json.reason)
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/hand-back")
@spec.validate(json=CompleteIn, resp=responses(OkOut), tags=["verbs"], operation_id="hand_back")
def hand_back(task_id: int, json: CompleteIn) -> Any:
    """交回: a delegate hands the filled-in form back to the delegator."""
    return_delegation(current_env(), task_id, actor(), json.data, json.opinion.strip())
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/urge")
@spec.validate(json=UrgeIn, resp=responses(OkOut), tags=["verbs"], operation_id="urge")
def urge(task_id: int, json: UrgeIn) -> Any:
    """催办: remind the holders of an open task."""
    check_task_visible(current_env(), current_user.id, task_id)
    urge_task(current_env(), task_id, actor(), json.note)
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/signers")
@spec.validate(json=SignerIn, resp=responses(OkOut), tags=["verbs"], operation_id="add_signer")
def signers(task_id: int, json: SignerIn) -> Any:
    """加签: a signer before, after or alongside the task's holder (position as the page offers)."""
    check_task_visible(current_env(), current_user.id, task_id)
    add_signer(current_env(), task_id, actor(), json.user_id, json.position, json.reason)
    return {"ok": True}


@bp.post("/tasks/<int:task_id>/remove-signer")
@spec.validate(json=ReasonIn, resp=responses(OkOut), tags=["verbs"], operation_id="remove_signer")
def remove_signer_(task_id: int, json: ReasonIn) -> Any:
    """减签: `task_id` is the added signer's task."""
    check_task_visible(current_env(), current_user.id, task_id)
    remove_signer(current_env(), task_id, actor(), json.reason)
    return {"ok": True}
