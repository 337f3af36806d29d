"""Who calls the API: a personal access token (Authorization: Bearer rft_…), looked up with its
user and grants in one statement, or the browser session (then CSRF applies, header
X-CSRFToken). A "read" token may only read; each token has a per-minute request limit."""
from __future__ import annotations

import threading
import time
from collections import deque

from flask import abort, current_app, g, request
from flask_login import current_user

from engine.tokens import token_user
from webapp.api import bp
from webapp.extensions import csrf, login_manager
from webapp.security import CurrentUser, current_env

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MULTIPART = frozenset({"api.upload"})
PUBLIC = frozenset({"api.openapi", "api.docs", "api.docs_init", "api.docs_static"})


class TokenCaller(CurrentUser):
    """A user signed in by a token for this one request."""

    def __init__(self, found: object) -> None:
        super().__init__(found.user)  # type: ignore[attr-defined]
        self.token_id: int = found.token_id  # type: ignore[attr-defined]
        self.scope: str = found.scope  # type: ignore[attr-defined]


@login_manager.request_loader
def _load_from_token(req: object) -> TokenCaller | None:
    header = request.headers.get("Authorization", "")
    if request.blueprint != "api" or not header.startswith("Bearer "):
        return None
    found = token_user(current_env(), header[7:].strip())
    if found is None:
        return None
    caller = TokenCaller(found)
    g.api_token = caller
    return caller


class _Window:
    """Requests per token in the last minute, in this process (cheap: no SQL per request)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[int, deque[float]] = {}

    def allow(self, token_id: int, limit: int) -> bool:
        now = time.monotonic()
        with self.lock:
            q = self.hits.setdefault(token_id, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= limit:
                return False
            q.append(now)
            return True


@bp.before_request
def _check_caller() -> None:
    if request.endpoint in PUBLIC:
        return
    if not current_user.is_authenticated:
        abort(401)
    if request.method == "POST" and request.endpoint not in MULTIPART and request.content_length \
            and not request.is_json:
        abort(415, "send the body as application/json")
    caller = g.get("api_token")
    if caller is None:
        if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # cookie auth keeps CSRF
        return
    if caller.scope != "act" and request.method not in SAFE_METHODS:
        abort(403, "this token is scoped to read only")
    window = current_app.extensions.setdefault("api_rate_window", _Window())  # per app (and process)
    if not window.allow(caller.token_id, int(current_app.config.get("API_RATE_PER_MINUTE", 600))):
        abort(429, "too many requests for this token; wait a minute")
