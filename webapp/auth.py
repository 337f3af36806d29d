"""Sign-in and sign-out; the idle timer's 继续工作 (keep-alive) and its end (idle-out)."""
from __future__ import annotations

from typing import Any

from flask import (Blueprint, current_app, flash, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from engine.auth import (LoginOutcome, LoginResult, attempt_login, change_password as change_own_password,
                         end_all_sessions, session_user)
from engine.errors import FormInvalid
from webapp.security import (CurrentUser, current_env, end_idle_session, idle_limit_seconds, idle_seconds_left,
                             safe_next)
from webapp.templating import local_dt

bp = Blueprint("auth", __name__)
IDLE_SLACK_SECONDS = 5  # a page's timer and the server's clock may differ by this much


def failure_message(result: LoginResult) -> str:
    if result.outcome == LoginOutcome.locked:
        return (f"登录失败次数过多，账户已被锁定，请于 {local_dt(result.locked_until, '%H:%M')} 后再试"
                f"（锁定 {current_app.config['LOGIN_LOCK_MINUTES']} 分钟）。")
    if result.outcome == LoginOutcome.inactive:
        return "该账户已停用，请联系系统管理员。"
    left = result.failures_left
    if left is not None and left <= 2:
        return f"用户名或密码错误。再错 {left} 次，账户将被锁定 {current_app.config['LOGIN_LOCK_MINUTES']} 分钟。"
    return "用户名或密码错误。"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("home.index"))
        return render_template("auth/login.html", username="")
    username = request.form.get("username", "").strip()
    cfg = current_app.config
    result = attempt_login(current_env(), username, request.form.get("password", ""),
                           max_failures=int(cfg["LOGIN_MAX_FAILURES"]),
                           lock_minutes=int(cfg["LOGIN_LOCK_MINUTES"]))
    if not result.ok:
        return render_template("auth/login.html", username=username,
                               error=failure_message(result)), 401
    return _sign_in(result)


def _sign_in(result: LoginResult) -> Response:
    assert result.user_id is not None and result.session_version is not None
    info = session_user(current_env(), result.user_id, result.session_version)
    assert info is not None
    target = safe_next(request.args.get("next"))
    session.clear()  # a fresh session at every sign-in (no fixation)
    login_user(CurrentUser(info))
    session["seen"] = current_env().clock.now().timestamp()
    return redirect(target or url_for("home.index"))


@bp.post("/session/keepalive")
@login_required
def keepalive() -> Response:
    """继续工作: this request renewed the idle clock (webapp.security); the page re-arms its timer."""
    return jsonify(remaining=idle_limit_seconds())


@bp.post("/session/idle-out")
@login_required
def idle_out() -> Any:
    """The page's idle timer ran out first: end this session as the server's timeout would, and
    send the page to the login that leads back to it (field "_here"). Another tab of the same
    session may have been busy meanwhile: then the page only re-arms its timer."""
    left = idle_seconds_left()
    if left > IDLE_SLACK_SECONDS:
        return jsonify(remaining=int(left))
    return end_idle_session()


@bp.post("/logout")
@login_required
def logout() -> Response:
    end_all_sessions(current_env(), current_user.id)
    logout_user()
    session.clear()
    flash("您已安全退出。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | str | tuple[str, int]:
    """The user's own password change; also where a password reset by an admin leads."""
    forced = current_user.info.must_change_password
    if request.method == "GET":
        return render_template("auth/password.html", forced=forced, errors={})
    form = request.form
    try:
        version = change_own_password(current_env(), current_user.id, form.get("current", ""),
                                      form.get("new", ""), form.get("repeat", ""))
    except FormInvalid as exc:
        return render_template("auth/password.html", forced=forced, errors=exc.errors), 422
    info = session_user(current_env(), current_user.id, version)
    assert info is not None
    login_user(CurrentUser(info))  # this session goes on with the new version; the others end
    flash("密码已修改。", "success")
    return redirect(url_for("home.index"))
