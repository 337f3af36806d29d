"""Template filters and globals: local times, due badges, value display, role-aware nav helpers."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_login import current_user

from engine.history import ACTION_LABELS
from engine.inbox import COUNT_CAP
from engine.models import Role
from engine.orgs import ROLE_LABELS, role_names_of
from engine.readable import time_text
from engine.queries import (CLOCK_LABELS, STATUS_LABELS, TASK_STATUS_LABELS, Due, ListCounts,
                            due_info, list_counts)
from webapp.formschema import action_style
from webapp.security import current_env


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC datetime shown in the bureau's time zone."""
    return value.astimezone(_zone()).strftime(fmt) if value else ""


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_dt(value, "%Y-%m-%d")
    return value.isoformat()


def show(value: Any) -> str:
    """A form value for reading: 是/否, lists joined, empty as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(show(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return time_text(value)  # an ISO timestamp as 2026-12-15 00:00 Beijing time
    return str(value)


def due_of(due_at: datetime | None, provisional: bool = False) -> Due | None:
    return due_info(due_at, current_env().clock.now(), int(current_app.config["DUE_SOON_DAYS"]),
                    provisional)


def lapse_of(process_key: str | None, step_id: str | None) -> str | None:
    """The neutral label of a citizen's window step ("期满未申请"), shown instead of 已超期 once
    the window has ended (ProcessConfig.lapse_labels); None for every other step."""
    if not process_key or not step_id:
        return None
    try:
        labels = current_env().process(process_key).lapse_labels
    except KeyError:
        return None
    return labels.get(step_id)


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


def nav_counts() -> ListCounts | None:
    """The four list counts of the signed-in user, computed once per request."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    if "nav_counts" not in g:
        g.nav_counts = list_counts(current_env(), current_user.id)
    return g.nav_counts  # type: ignore[no-any-return]


def show_counts(counts: ListCounts) -> None:
    """The header's counts as a view already read them in its own read (nav_counts, and the unread
    messages of webapp.messages_centre, then read nothing more)."""
    g.nav_counts, g.unread_messages = counts, counts.unread_messages


def capped(n: int) -> str:
    """A 待办 count as shown: engine.inbox counts no further than COUNT_CAP + 1 ("1000+")."""
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


def role_name(key: str) -> str:
    """A role's Chinese name from the role catalogue (read once per request)."""
    if "role_names" not in g:
        g.role_names = role_names_of(current_env())
    return str(g.role_names.get(key, ROLE_LABELS.get(key, "")))  # type: ignore[call-overload]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local_dt=local_dt, local_date=local_date, show=show, capped=capped)
    app.jinja_env.globals.update(
        action_style=action_style, due_of=due_of, lapse_of=lapse_of, nav_counts=nav_counts, has_endpoint=has_endpoint,
        Role=Role, ROLE_LABELS=ROLE_LABELS, role_name=role_name,
        STATUS_LABELS=STATUS_LABELS, TASK_STATUS_LABELS=TASK_STATUS_LABELS,
        ACTION_LABELS=ACTION_LABELS, CLOCK_LABELS=CLOCK_LABELS)
