"""Files on the task page: the upload policy (directory and size limit from the config), the
in-place upload and removal (JSON for the page's script, a redirect without it), the inline
preview of PDF and images, and the friendly answer to a request over the size limit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (Blueprint, abort, current_app, flash, get_template_attribute, jsonify, redirect,
                   render_template, request, send_file, url_for)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from engine.attachments import (PREVIEW_TYPES, UploadPolicy, add_task_attachment, attachment_download, may_remove,
                                remove_attachment, task_files)
from engine.errors import EngineError, FormInvalid
from engine.models import Attachment, HumanTask
from webapp.api import errors as api_errors
from webapp.errors import error_page, status_of
from webapp.security import actor, current_env, is_fetch, safe_next

bp = Blueprint("uploads", __name__)
# The preview is shown inside the task page (<iframe>): it may be framed by this site only, and
# runs nothing of its own.
PREVIEW_CSP = "default-src 'none'; img-src 'self'; style-src 'self'; object-src 'self'; frame-ancestors 'self'"


def upload_policy() -> UploadPolicy:
    cfg = current_app.config
    return UploadPolicy(Path(cfg["UPLOAD_DIR"]), int(cfg["MAX_UPLOAD_MB"]) * 1024 * 1024)


@bp.app_template_global()
def removable_attachments(attachments: list[Attachment], task: HumanTask | None) -> set[int]:
    """The ids of the files the signed-in user may remove on this task's page."""
    return {a.id for a in attachments if may_remove(a, current_user.id, task)}


@bp.app_template_global()
def preview_kind(att: Attachment) -> str | None:
    """How the page shows a file inline: "pdf" (<iframe>), "image" (<img>), or None."""
    if att.content_type not in PREVIEW_TYPES:
        return None
    return "pdf" if att.content_type == "application/pdf" else "image"


def _list_html(task_id: int) -> str:
    task, files = task_files(current_env(), current_user.id, task_id)
    render = get_template_attribute("tasks/_attachments.html", "attachment_list")
    return str(render(files, task))


def _answer(task_id: int, message: str, category: str, status: int = 200) -> Any:
    if is_fetch():
        body = {"message": message} if status < 400 else {"error": message}
        if status < 400:
            body["html"] = _list_html(task_id)
        return jsonify(body), status
    flash(message, category)
    return redirect(url_for("tasks.show", task_id=task_id))


def _refused(exc: EngineError) -> Any:
    if is_fetch():
        return jsonify(error=exc.user_message), status_of(exc)
    return error_page(status_of(exc), exc.user_message)


@bp.post("/tasks/<int:task_id>/attachments")
def upload(task_id: int) -> Any:
    file = request.files.get("file")
    try:
        add_task_attachment(current_env(), task_id, actor(), (file.filename or "") if file else "",
                            file.read() if file else b"", upload_policy())
    except FormInvalid as exc:
        return _answer(task_id, f"附件未上传：{'；'.join(exc.errors.values())}", "danger", 422)
    except EngineError as exc:
        return _refused(exc)
    return _answer(task_id, "附件已上传", "success")


@bp.post("/attachments/<int:attachment_id>/remove")
def remove(attachment_id: int) -> Any:
    try:
        name, task_id = remove_attachment(current_env(), attachment_id, actor())
    except EngineError as exc:
        return _refused(exc)
    return _answer(task_id, f"已删除附件：{name}", "success")


@bp.get("/attachments/<int:attachment_id>/preview")
def preview(attachment_id: int) -> Response:
    """PDF and images inline (served as their checked type, never sniffed); other types download."""
    found = attachment_download(current_env(), current_user.id, attachment_id,
                                Path(current_app.config["UPLOAD_DIR"]))
    if not found.previewable:
        return redirect(url_for("cases.download", attachment_id=attachment_id))
    if not found.path.is_file():
        abort(404)
    response = send_file(found.path, mimetype=found.content_type, as_attachment=False,
                         download_name=found.filename, max_age=0)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Any:
    """A request over the size limit (413): a Chinese answer, JSON for the page's script; the
    page it came from keeps its input (the script checks sizes first, and drafts are restored)."""
    if request.path.startswith("/api/"):
        return api_errors.http_error(exc)
    mb = current_app.config["MAX_UPLOAD_MB"]
    message = f"上传的文件过大，单个文件不能超过 {mb} MB，请压缩或拆分后重新上传。"
    if is_fetch():
        return jsonify(error=message), 413
    back = safe_next(request.referrer)
    return render_template("errors/too_large.html", message=message, back=back), 413
