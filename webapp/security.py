"""Sessions and response hardening: the user loader (session versions), sign-in required on every
URL, the idle timeout (and what is kept when it strikes), and security headers on every response."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, jsonify, redirect, request, session, url_for
from flask_login import UserMixin, current_user, logout_user
from werkzeug.wrappers import Response

from engine.auth import SessionUser, session_user
from engine.env import Env
from engine.models import Role
from engine.orgs import Actor
from webapp.extensions import login_manager

PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "bootstrap.static", "public.query", "public.evaluate",
                              "ops.healthz", "ops.readyz", "ops.metrics",
                              "api.openapi", "api.docs", "api.docs_init", "api.docs_static"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class CurrentUser(UserMixin):  # type: ignore[misc]
    """The signed-in user. Its session id carries the session version ("12:3")."""

    def __init__(self, info: SessionUser) -> None:
        self.info = info
        self.id = info.id
        self.full_name = info.full_name
        self.username = info.username

    def get_id(self) -> str:
        return f"{self.info.id}:{self.info.session_version}"

    def has(self, role: str | Role) -> bool:
        return self.info.has(role)  # a Role equals its key; an added role is its key

    @property
    def actor(self) -> Actor:
        return Actor(self.info.id, self.info.full_name)


def current_env() -> Env:
    env: Env = current_app.extensions["rongflow_env"]
    return env


def actor() -> Actor:
    return current_user.actor  # type: ignore[no-any-return]


@login_manager.user_loader
def _load_user(session_id: str) -> CurrentUser | None:
    user_id, _, version = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    info = session_user(current_env(), int(user_id), int(version))
    return CurrentUser(info) if info else None


def _require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if getattr(current_user, "token_id", None) is not None:
        return None  # an API token: no browser session to time out (webapp.api.auth)
    return _check_idle() or _require_own_password()


# Where a user whose password an admin reset may still go: the change page and signing out.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout"})


def _require_own_password() -> Any:
    """After an admin reset, every page leads to the password change until it is done."""
    if current_user.info.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    return None


# A page's own timers (autosave at the idle warning, webapp/static/js/keep.js) send this header:
# such a request is not the user's activity and does not extend the session.
BACKGROUND_HEADER = "X-Rongflow-Background"
# Called when a session times out, before it ends (webapp.drafts keeps a posted task form).
IDLE_KEEPERS = "rongflow_idle_keepers"


def is_fetch() -> bool:
    """A request of the page's own script (it answers JSON, not a page)."""
    return request.headers.get("X-Requested-With") == "fetch"


def idle_limit_seconds() -> int:
    return int(current_app.config["IDLE_TIMEOUT_MINUTES"]) * 60


def idle_seconds_left() -> float:
    """How long this session may still stay idle (its last activity by the injected clock)."""
    seen = session.get("seen")
    if not isinstance(seen, (int, float)):
        return float(idle_limit_seconds())
    return idle_limit_seconds() - (current_env().clock.now().timestamp() - seen)


def _check_idle() -> Any:
    now = current_env().clock.now().timestamp()
    seen = session.get("seen")
    if isinstance(seen, (int, float)) and now - seen > idle_limit_seconds():
        return end_idle_session()
    if not request.headers.get(BACKGROUND_HEADER):
        session["seen"] = now
    return None


def end_idle_session() -> Any:
    """Sign the idle user out of this session, keeping what they just sent where a keeper can;
    back to the login page that returns to where they were."""
    kept = any([keep() for keep in current_app.extensions.get(IDLE_KEEPERS, ())])
    target = _here() if request.method == "GET" else safe_next(request.form.get("_here") or request.referrer)
    logout_user()
    session.clear()
    message = "长时间未操作，已自动退出，请重新登录" + ("；您填写的内容已暂存，登录后可继续办理" if kept else "")
    flash(message, "warning")
    login = url_for("auth.login", next=target)
    if is_fetch():
        return jsonify(error=message, login=login), 401
    return redirect(login)


def safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after login, or None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc) and (parts.netloc != request.host
                                           or parts.scheme not in ("http", "https")):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//") or "\\" in target:
        return None
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _here() -> str:
    query = request.query_string.decode()
    return f"{request.path}?{query}" if query else request.path


_STATIC_HEADERS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())
_PAGE_HEADERS = (*_STATIC_HEADERS, ("cache-control", "Cache-Control", "no-store"))


def _add_headers(response: Response) -> Response:
    """The security headers and `Cache-Control: no-store` (not on static files), each unless the
    view set its own: one pass over the response's headers (a `setdefault` each took four)."""
    have = {name.lower() for name in response.headers.keys()}
    wanted = _STATIC_HEADERS if request.endpoint in ("static", "bootstrap.static") else _PAGE_HEADERS
    response.headers.extend([(name, value) for low, name, value in wanted if low not in have])
    return response


def init_app(app: Flask) -> None:
    app.before_request(_require_login)
    app.after_request(_add_headers)
