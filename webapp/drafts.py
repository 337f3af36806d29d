"""暂存 on the task page: save the form as typed (the 暂存 button, or the page's autosave), discard
it, and keep a task form posted after the idle timeout instead of dropping it. The engine keeps
each draft for its owner only (engine.drafts); the task page puts it back into the form."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.drafts import discard_draft, save_draft
from engine.errors import EngineError, FormInvalid
from engine.forms import opinion_field
from engine.inbox import step_form
from webapp.errors import error_page, status_of
from webapp.formschema import raw_from_request
from webapp.security import IDLE_KEEPERS, current_env, is_fetch
from webapp.templating import local_dt

bp = Blueprint("drafts", __name__)
KEPT_ON_TIMEOUT = frozenset({"tasks.submit", "verbs.hand_back", "drafts.save"})  # posts of a task's form


def _save_posted(task_id: int) -> Any:
    """Save the posted task form as the signed-in user's draft; when it was saved."""
    schema = step_form(current_env(), task_id).schema
    opinion = request.form.get("_opinion", "") if opinion_field(schema) is None else ""
    return save_draft(current_env(), current_user.id, task_id, raw_from_request(schema, request.form), opinion)


@bp.post("/tasks/<int:task_id>/draft")
def save(task_id: int) -> Response | tuple[Any, int]:
    try:
        saved_at = _save_posted(task_id)
    except EngineError as exc:
        message = "；".join(exc.errors.values()) if isinstance(exc, FormInvalid) else exc.user_message
        if is_fetch():
            return jsonify(error=f"暂存未成功：{message}"), status_of(exc)
        if isinstance(exc, FormInvalid):
            flash(f"暂存未成功：{message}", "danger")
            return redirect(url_for("tasks.show", task_id=task_id))
        return error_page(status_of(exc), exc.user_message)
    message = f"已暂存（{local_dt(saved_at)}）"
    if is_fetch():
        return jsonify(message=message, saved_at=local_dt(saved_at))
    flash(f"{message}，可以稍后继续办理", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/draft/discard")
def discard(task_id: int) -> Response:
    if discard_draft(current_env(), current_user.id, task_id):
        flash("已放弃暂存的内容", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


def keep_on_timeout() -> bool:
    """A task form posted after the idle timeout becomes the user's draft (their session is
    known, only its idle clock ran out): they sign in again and find what they typed."""
    task_id = (request.view_args or {}).get("task_id")
    if request.method != "POST" or request.endpoint not in KEPT_ON_TIMEOUT or not isinstance(task_id, int):
        return False
    try:
        _save_posted(task_id)
    except EngineError:
        return False  # a task they may no longer act on: nothing to keep
    return True


@bp.record_once
def _register_keeper(state: BlueprintSetupState) -> None:
    state.app.extensions.setdefault(IDLE_KEEPERS, []).append(keep_on_timeout)
