"""Who calls the API: a personal access token (Authorization: Bearer rft_…), looked up with its
user and grants in one statement, or the browser session (then CSRF applies, header
X-CSRFToken). A "read" token may only read; each token has a per-minute request limit.

A submit (`api.complete`) does not look its token up at the door when this process has seen the
token alive in the last `KNOWN_SECONDS`: who the token is comes from what was seen then (its user,
scope and name, none of which a token changes), and whether it is still alive is asked by the
command itself, in the statement that reads the task inside its one transaction (engine.orgs.Actor
`token_id`). A token revoked or expired meanwhile, or whose user was disabled, in this process or
another, is refused there (401) with nothing written, and is forgotten here. Every other request
looks its token up each time."""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from flask import abort, current_app, g, request
from flask_login import current_user

from engine.errors import Unauthenticated
from engine.orgs import Actor
from engine.tokens import TokenUser, hash_secret, token_user
from webapp.api import bp, errors
from webapp.extensions import csrf, login_manager
from webapp.security import CurrentUser, current_env

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MULTIPART = frozenset({"api.upload"})
PUBLIC = frozenset({"api.openapi", "api.docs", "api.docs_init", "api.docs_static"})


# Endpoints whose engine command finds the caller's token live in its own transaction.
CHECKED_IN_COMMAND = frozenset({"api.complete"})
KNOWN_SECONDS = 60
KNOWN_MAX = 10_000  # tokens remembered per process (past it, the oldest half is forgotten)


class TokenCaller(CurrentUser):
    """A user signed in by a token for this one request; `checked`: looked up at the door."""

    def __init__(self, found: TokenUser, checked: bool = True) -> None:
        super().__init__(found.user)
        self.token_id: int = found.token_id
        self.scope: str = found.scope
        self.checked = checked

    @property
    def actor(self) -> Actor:
        """Unchecked, the command checks the token (engine.commands.load_task_case)."""
        return Actor(self.info.id, self.info.full_name, None if self.checked else self.token_id)


class _Known:
    """Tokens this process saw alive, by their hash, with when (the injected clock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, tuple[TokenUser, datetime]] = {}

    def get(self, key: str, now: datetime) -> TokenUser | None:
        entry = self.seen.get(key)
        if entry is None or not now - timedelta(seconds=KNOWN_SECONDS) <= entry[1] <= now:
            return None
        return entry[0]

    def put(self, key: str, found: TokenUser, now: datetime) -> None:
        with self.lock:
            if len(self.seen) >= KNOWN_MAX:
                for old in list(self.seen)[:KNOWN_MAX // 2]:
                    del self.seen[old]
            self.seen[key] = (found, now)

    def forget(self, key: str) -> None:
        with self.lock:
            self.seen.pop(key, None)


def _known() -> _Known:
    return current_app.extensions.setdefault("api_known_tokens", _Known())  # type: ignore[no-any-return]


@login_manager.request_loader
def _load_from_token(req: object) -> TokenCaller | None:
    header = request.headers.get("Authorization", "")
    if request.blueprint != "api" or not header.startswith("Bearer "):
        return None
    secret = header[7:].strip()
    env, key = current_env(), hash_secret(secret)
    now = env.clock.now()
    known = _known().get(key, now) if request.endpoint in CHECKED_IN_COMMAND else None
    if known is not None:
        caller = TokenCaller(known, checked=False)
    else:
        found = token_user(env, secret)
        if found is None:
            _known().forget(key)
            return None
        _known().put(key, found, now)
        caller = TokenCaller(found)
    g.api_token = caller
    g.api_token_key = key
    return caller


@bp.errorhandler(Unauthenticated)
def _dead_token(exc: Unauthenticated) -> Any:
    """The command found the token dead: forget it here too."""
    key = g.get("api_token_key")
    if key is not None:
        _known().forget(key)
    return errors.engine_error(exc, 401)


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
