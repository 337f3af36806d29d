"""JSON errors of the API: engine errors keep their `code`, English `message` and Chinese
`user_message`; HTTP errors get a stable code; a refused form lists its fields."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, g, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError, FormInvalid

log = logging.getLogger(__name__)

HTTP_CODES = {400: ("bad_request", "请求无效"), 401: ("unauthorized", "请先登录或提供有效的访问令牌"),
              403: ("permission_denied", "您没有执行此操作的权限"),
              404: ("not_found", "您访问的资源不存在，或您无权查看"), 405: ("method_not_allowed", "不支持此操作"),
              409: ("conflict", "操作冲突，请刷新后重试"), 413: ("too_large", "上传的内容超过了大小限制"),
              415: ("unsupported_media_type", "请求内容格式不受支持"),
              422: ("invalid_request", "请求内容不符合要求"), 429: ("rate_limited", "请求过于频繁，请稍后再试"),
              500: ("internal_error", "系统出现错误，请稍后重试；如问题持续，请联系系统管理员")}


def body(status: int, code: str, message: str, user_message: str,
         errors: dict[str, str] | None = None) -> tuple[Response, int]:
    return jsonify(code=code, message=message, user_message=user_message, errors=errors or {}), status


# A refusal says what kind it is, never which case or person it was about (the precise engine
# message is in the server log): the same rule as the pages' 403/404.
REFUSALS = {401: "the token is revoked or expired, or its user is disabled", 403: "you may not do this",
            404: "not found, or not visible to you"}


def engine_error(exc: EngineError, status: int) -> tuple[Response, int]:
    errors = exc.errors if isinstance(exc, FormInvalid) else {}
    return body(status, exc.code, REFUSALS.get(status, exc.message), exc.user_message, errors)


def http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code, user_message = HTTP_CODES.get(status, ("http_error", "请求无法完成"))
    return body(status, code, (exc.description or code)[:500], user_message)


def unexpected(request_id: str) -> tuple[Response, int]:
    code, user_message = HTTP_CODES[500]
    return body(500, code, f"unexpected error (request {request_id})", f"{user_message}（请求编号 {request_id}）")


def validation_hook(req: Any, resp: Any, err: Any, _instance: Any, adapter: Any = None) -> None:
    """Spectree's request check: its refusal becomes our error body (status 422)."""
    if err is None or resp is None:
        return
    fields: dict[str, str] = {}
    for e in err.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "_"
        fields[loc] = "内容不符合要求"
    message = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in err.errors())[:500]
    g.api_invalid = True
    resp.set_data(json.dumps({"code": "invalid_request", "message": message or "invalid request",
                              "user_message": "请求内容不符合要求，请按提示修改。", "errors": fields},
                             ensure_ascii=False))
    resp.mimetype = "application/json"
