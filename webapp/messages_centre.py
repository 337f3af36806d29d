"""站内消息: the user's messages (newest first) with links to their tasks, mark read; the header's
unread count. And one's own 代理 (absence proxy) settings."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.calendar import BEIJING
from engine.errors import FormInvalid
from engine.notify.centre import KIND_LABELS, mark_read, messages, unread_count
from engine.queries import user_choices
from engine.verbs.proxy import end_proxy, move_open_tasks, proxies_of, set_proxy
from webapp.security import actor, current_env

bp = Blueprint("messages", __name__)


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    def unread_messages() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        if "unread_messages" not in g:
            g.unread_messages = unread_count(current_env(), current_user.id)
        return int(g.unread_messages)
    return {"unread_messages": unread_messages}


@bp.get("/messages")
def index() -> str:
    return render_template("messages/index.html", items=messages(current_env(), current_user.id),
                           KIND_LABELS=KIND_LABELS)


@bp.post("/messages/<int:message_id>/read")
def read(message_id: int) -> Response:
    """Mark read and open its task, else its case (or stay on the list)."""
    msg = mark_read(current_env(), current_user.id, message_id)
    if msg is not None and msg.task_id is not None:
        return redirect(url_for("tasks.show", task_id=msg.task_id))
    if msg is not None and msg.instance_id is not None:
        return redirect(url_for("cases.show", case_id=msg.instance_id))
    return redirect(url_for("messages.index"))


@bp.post("/messages/read-all")
def read_all() -> Response:
    mark_read(current_env(), current_user.id)
    return redirect(url_for("messages.index"))


# ----------------------------------------------------------------------------- 代理 (absence proxy)

@bp.get("/proxy")
def proxy_page() -> str:
    env = current_env()
    return render_template("messages/proxy.html", arrangements=proxies_of(env, current_user.id),
                           users=user_choices(env, exclude_id=current_user.id))


@bp.post("/proxy")
def proxy_set() -> Response:
    """Name a proxy from a start day to an end day (Beijing days, the end day included)."""
    try:
        start = date.fromisoformat(request.form.get("starts_on", ""))
        end = date.fromisoformat(request.form.get("ends_on", ""))
    except ValueError as exc:
        raise FormInvalid({"starts_on": "请填写正确的起止日期"}) from exc
    value = request.form.get("proxy_id", "")
    if not value.isdigit() or len(value) > 9:
        raise FormInvalid({"proxy_id": "请选择代理人"})
    env = current_env()
    set_proxy(env, actor(), int(value), datetime.combine(start, time(0), tzinfo=BEIJING),
              env.calendar.deadline_end(end))
    flash("已设置代理", "success")
    return redirect(url_for("messages.proxy_page"))


@bp.post("/proxy/<int:proxy_id>/end")
def proxy_end(proxy_id: int) -> Response:
    end_proxy(current_env(), actor(), proxy_id)
    flash("代理已结束", "success")
    return redirect(url_for("messages.proxy_page"))


@bp.post("/proxy/move")
def proxy_move() -> Response:
    moved = move_open_tasks(current_env(), actor())
    flash(f"已将 {moved} 件在办任务转给代理人", "success")
    return redirect(url_for("messages.proxy_page"))
