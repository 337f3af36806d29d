"""站内消息: the user's messages (newest first) with links to their tasks, mark read; the header's
unread count."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.notify.centre import KIND_LABELS, mark_read, messages, unread_count
from webapp.security import current_env

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
    """Mark read and open its task (or stay on the list)."""
    msg = mark_read(current_env(), current_user.id, message_id)
    if msg is not None and msg.task_id is not None:
        return redirect(url_for("tasks.show", task_id=msg.task_id))
    return redirect(url_for("messages.index"))


@bp.post("/messages/read-all")
def read_all() -> Response:
    mark_read(current_env(), current_user.id)
    return redirect(url_for("messages.index"))
