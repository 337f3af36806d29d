"""API: one's own 代理 (absence proxy): list, name a proxy for a period, end it, move one's
claimed tasks to the proxy in force."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any

from flask_login import current_user

from engine.calendar import BEIJING
from engine.verbs.proxy import end_proxy, move_open_tasks, proxies_of, set_proxy
from webapp.api import bp, spec
from webapp.api.schemas import IdOut, MovedOut, OkOut, ProxiesOut, ProxyIn, responses
from webapp.api.tasks import iso
from webapp.security import actor, current_env


@bp.get("/proxy")
@spec.validate(resp=responses(ProxiesOut), tags=["proxy"], operation_id="proxies")
def proxies() -> Any:
    """My proxy arrangements, newest first."""
    rows = proxies_of(current_env(), current_user.id)
    return {"items": [{"id": p.id, "proxy_id": p.proxy_id, "proxy_name": name, "starts_at": iso(p.starts_at),
                       "ends_at": iso(p.ends_at)} for p, name in rows]}


@bp.post("/proxy")
@spec.validate(json=ProxyIn, resp=responses(IdOut, 201), tags=["proxy"], operation_id="set_proxy")
def proxy_set(json: ProxyIn) -> Any:
    """Name a proxy from a start day to an end day (Beijing days, the end day included)."""
    env = current_env()
    new_id = set_proxy(env, actor(), json.proxy_id, datetime.combine(json.starts_on, time(0), tzinfo=BEIJING),
                       env.calendar.deadline_end(json.ends_on))
    return {"id": new_id}, 201


@bp.post("/proxy/<int:proxy_id>/end")
@spec.validate(resp=responses(OkOut), tags=["proxy"], operation_id="end_proxy")
def proxy_end(proxy_id: int) -> Any:
    """End my proxy arrangement early."""
    end_proxy(current_env(), actor(), proxy_id)
    return {"ok": True}


@bp.post("/proxy/move")
@spec.validate(resp=responses(MovedOut), tags=["proxy"], operation_id="move_to_proxy")
def proxy_move() -> Any:
    """Move my claimed tasks to the proxy in force now."""
    return {"moved": move_open_tasks(current_env(), actor())}
