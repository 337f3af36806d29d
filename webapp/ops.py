"""Operations endpoints, open without sign-in and free of case data: /healthz (the process is
up), /readyz (database reachable, schema at head, a worker heartbeat recent) and /metrics
(Prometheus; a bearer token from METRICS_TOKEN, or loopback clients only when none is set)."""
from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from engine.ops.logs import add_observer
from engine.ops.status import readiness
from webapp.security import current_env

bp = Blueprint("ops", __name__)
LOOPBACK = ("127.0.0.1", "::1")


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    max_age = timedelta(seconds=int(current_app.config["READY_WORKER_MAX_AGE_SECONDS"]))
    result = readiness(current_env(), max_age)
    body = jsonify(status="ready" if result.ready else "not ready", checks=result.checks)
    return body, 200 if result.ready else 503


@bp.get("/metrics")
def metrics() -> Any:
    if not _may_read_metrics():
        abort(404)  # say nothing about what is here
    from webapp.metrics import render
    payload, content_type = render(current_env())
    return Response(payload, content_type=content_type)


def _may_read_metrics() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.remote_addr in LOOPBACK


def init_app(app: Flask) -> None:
    """Request ids and log lines, proxy settings, the ops routes, engine command metrics."""
    from webapp import requestlog
    from webapp.metrics import observe_command
    requestlog.init_app(app)
    app.register_blueprint(bp)
    add_observer(observe_command)
