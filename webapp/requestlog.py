"""Each request gets an id (kept from a sane X-Request-ID of the proxy, else new) on `g.request_id`
and in the engine's log context, and leaves one JSON log line: route, status, duration, user id,
case id, client. Never the query string, form fields or names: no personal data in the logs.

Also the reverse-proxy wiring (ProxyFix from settings) and HSTS on HTTPS responses.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from engine.ops.logs import LOG_CONTEXT

request_log = logging.getLogger("rongflow.request")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNMATCHED = "<unmatched>"


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex[:12]
    g.request_started = time.perf_counter()
    g.log_context_token = LOG_CONTEXT.set({"request_id": g.request_id})


def _user_id() -> int | None:
    user = g.get("_login_user")  # set by flask-login only if this request loaded the user
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def route_of() -> str:
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED


def _finish(response: Response) -> Response:
    from webapp.metrics import observe_request
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = route_of()
    view_args: dict[str, Any] = request.view_args or {}
    case_id = view_args.get("instance_id")
    response.headers["X-Request-ID"] = g.get("request_id", "")
    request_log.log(logging.WARNING if response.status_code >= 500 else logging.INFO,
                    "%s %s %s", request.method, route, response.status_code, extra={"fields": {
                        "event": "request", "request_id": g.get("request_id"), "method": request.method,
                        "route": route,
                        "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
                        "user_id": _user_id(), "case_id": case_id if isinstance(case_id, int) else None,
                        "client": request.remote_addr}})
    observe_request(route, request.method, response.status_code, seconds)
    _add_hsts(response)
    return response


def _add_hsts(response: Response) -> None:
    from flask import current_app
    seconds = int(current_app.config.get("HSTS_SECONDS") or 0)
    if request.is_secure and seconds > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={seconds}")


def _end(_exc: BaseException | None) -> None:
    token = g.pop("log_context_token", None)
    if token is not None:
        LOG_CONTEXT.reset(token)


def _proxy_fix(app: Flask) -> None:
    cfg = app.config
    counts = {k: int(cfg.get(f"PROXY_FIX_X_{k.upper()}") or 0) for k in ("for", "proto", "host", "port", "prefix")}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=counts["for"], x_proto=counts["proto"],  # type: ignore[method-assign]
                                x_host=counts["host"], x_port=counts["port"], x_prefix=counts["prefix"])


def init_app(app: Flask) -> None:
    _proxy_fix(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)  # first: every request gets an id
    app.after_request(_finish)
    app.teardown_request(_end)
