"""The task page: case summary, the step's form, opinion, attachments; claim, unclaim, submit.
Files chosen in the form's file fields are stored first (one engine call) and their attachment
ids submitted with the form; a refused form keeps them, so nothing is uploaded twice."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.access import check_task_visible
from engine.attachments import add_files
from engine.errors import EngineError, FormInvalid
from engine.calendar import to_local_date
from engine.forms import coerce_form, form_opinion, opinion_field, today_defaults
from engine.models import Role
from engine.casefile import TaskPage, task_page
from engine.drafts import Draft
from engine.inbox import step_form
from engine.queries import unit_choices
from engine.runtime import claim_task, complete_task, unclaim_task
from engine.taskscreen import task_screen
from engine.verbs.panel import VerbPanel, verb_panel
from webapp.formschema import (apply_options, field_views, files_from_request, name_files,
                                raw_from_request, split_actions, with_file_ids)
from webapp.security import actor, current_env
from webapp.templating import show_counts
from webapp.uploads import upload_policy

bp = Blueprint("tasks", __name__)
NEXT_PAGES = {"leader": "leader.index", "home": "home.index"}


def opinion_label(page: TaskPage) -> str:
    return "审批意见" if page.task.role in (Role.reviewer, Role.leader) else "办理意见"


def form_context(page: TaskPage, values: dict[str, Any], errors: dict[str, str],
                 opinion: str = "", id_prefix: str = "") -> dict[str, Any]:
    """What the form macros need for one task (also used by the leader page)."""
    views = field_views(page.schema, values, errors, lambda lv: unit_choices(current_env(), lv),
                        id_prefix)
    apply_options(views, page.options)
    name_files(views, {a.id: a.filename for a in page.attachments})
    fields, actions = split_actions(views)
    return {"page": page, "fields": fields, "actions": actions, "errors": errors,
            "opinion": opinion, "opinion_label": opinion_label(page),
            "opinion_box": opinion_field(page.schema) is None}  # no box when a field is the opinion


def render_task(page: TaskPage, values: dict[str, Any], errors: dict[str, str], opinion: str = "",
            verbs: VerbPanel | None = None, draft: Draft | None = None, **extra: Any) -> str:
    verbs = verbs or verb_panel(current_env(), current_user.id, page.task.id)
    return render_template("tasks/show.html", **form_context(page, values, errors, opinion), verbs=verbs,
                           draft=draft, **extra)


def _page(task_id: int) -> TaskPage:
    return task_page(current_env(), current_user.id, task_id)


@bp.get("/tasks/<int:task_id>")
def show(task_id: int) -> str:
    return task_view(task_id)


def task_view(task_id: int, **extra: Any) -> str:
    """The task page as shown, with extra template values: a refused verb form's input and reason
    (webapp/verbs.py `verb_refusal`), so nothing typed is lost. One engine read (one transaction)
    gives the page, its verbs, the user's draft and the header's counts."""
    screen = task_screen(current_env(), current_user.id, task_id,
                         [(g.role, g.unit_id) for g in current_user.info.grants])
    show_counts(screen.counts)
    page, verbs, draft = screen.page, screen.verbs, screen.draft
    today = to_local_date(current_env().clock.now())
    values = {**today_defaults(page.schema, today), **page.values, **verbs.proposed}  # a delegate's answers
    if draft is not None:  # 暂存: the user's own draft goes back into the form
        return render_task(page, {**values, **draft.values}, {}, draft.opinion, verbs=verbs, draft=draft, **extra)
    return render_task(page, values, {}, verbs=verbs, **extra)


@bp.post("/tasks/<int:task_id>")
def submit(task_id: int) -> Response | tuple[str, int]:
    """One read of the task's row for its form, then the one write; the page is rebuilt only
    when the submit is refused (which also hides a task the user may not see)."""
    step = step_form(current_env(), task_id)
    raw = raw_from_request(step.schema, request.form)
    # a step whose form has its own opinion field shows no opinion box: a posted box is ignored
    opinion = request.form.get("_opinion", "").strip() if opinion_field(step.schema) is None else ""
    files = files_from_request(step.schema, request.files)
    try:
        if any(files.values()):
            page = _page(task_id)
            raw = with_file_ids(raw, add_files(current_env(), page.instance.id, actor(), files,
                                               upload_policy(), task_id))
        data = coerce_form(step.schema, raw) if step.schema else {}
        result = complete_task(current_env(), task_id, actor(), data, form_opinion(step.schema, data, opinion))
    except FormInvalid as exc:
        return render_task(_page(task_id), raw, exc.errors, opinion), 422  # with any new files named
    except EngineError:
        check_task_visible(current_env(), current_user.id, task_id)  # a hidden task stays hidden (404)
        raise
    flash(f"已办理：{step.case_no}「{step.step_name}」", "success")
    if result.error:
        flash(result.user_message or "流程在后续自动步骤中出错，已记录，系统管理员将处理。", "warning")
    return redirect(url_for(NEXT_PAGES.get(request.form.get("_next", ""), "home.index")))


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    claim_task(current_env(), task_id, actor())
    flash("已认领，该任务仅由您办理", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int) -> Response:
    check_task_visible(current_env(), current_user.id, task_id)
    unclaim_task(current_env(), task_id, actor())
    flash("已释放，其他同事可以认领", "success")
    return redirect(url_for("tasks.show", task_id=task_id))
