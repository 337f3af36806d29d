"""Engine errors and HTTP errors become Chinese error pages, in this one place."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (Conflict, EngineError, FormInvalid, InvalidState, NotFound,
                           PermissionDenied)
from webapp.api import errors as api_errors
from webapp.inputs import HostileInput

log = logging.getLogger(__name__)

TITLES = {400: "请求无效", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
          409: "操作冲突", 413: "文件过大", 422: "填写有误", 500: "系统错误"}
MESSAGES = {
    400: "请求无效，请返回后重试。",
    403: "您没有执行此操作的权限。",
    404: "您访问的页面或案件不存在，或您无权查看。",
    405: "不支持此操作。",
    413: "上传的内容超过了大小限制。",
    500: "系统出现错误，请稍后重试；如问题持续，请联系系统管理员。",
}
ENGINE_STATUS: list[tuple[type[EngineError], int]] = [
    (NotFound, 404), (PermissionDenied, 403), (Conflict, 409), (InvalidState, 409),
    (FormInvalid, 422)]


def status_of(exc: EngineError) -> int:
    for cls, status in ENGINE_STATUS:
        if isinstance(exc, cls):
            return status
    return exc.http_status if 400 <= exc.http_status < 600 else 500


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "出错了"),
                           message=message), status


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _engine_error(exc: EngineError) -> Any:
    status = status_of(exc)
    (log.exception if status >= 500 else log.info)("engine error %s: %s", exc.code, exc.message)
    if _is_api():
        return api_errors.engine_error(exc, status)
    return error_page(status, exc.user_message)


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    log.info("csrf rejected: %s", exc.description)
    if _is_api():
        return api_errors.body(400, "csrf_failed", str(exc.description),
                               "页面已过期或表单校验失败，请刷新页面后重新提交。")
    return error_page(400, "页面已过期或表单校验失败，请刷新页面后重新提交。")


def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    status = exc.code or 500
    if _is_api() and status >= 400:
        return api_errors.http_error(exc)
    if status == 413:
        from flask import current_app
        mb = current_app.config["MAX_UPLOAD_MB"]
        return error_page(413, f"上传的文件过大，单个文件不能超过 {mb} MB。")
    if status < 400:
        return exc
    if isinstance(exc, HostileInput):
        log.info("hostile input refused: %s %s", request.method, request.path[:200])
        return error_page(status, str(exc.description))
    return error_page(status, MESSAGES.get(status, exc.description or "请求无法完成。"))


def _unexpected(exc: Exception) -> tuple[str, int]:
    """Last resort: any other exception is logged with its stack and a request id; the page
    shows only the Chinese message and the id (no stack text, no English)."""
    request_id = getattr(g, "request_id", None) or uuid.uuid4().hex[:12]
    log.exception("unexpected error (request %s) in %s %s", request_id, request.method, request.path[:200])
    if _is_api():
        return api_errors.unexpected(request_id)
    return render_template("errors/error.html", status=500, title=TITLES[500], message=MESSAGES[500],
                           request_id=request_id), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
