"""Who stands in for whom now (代理): the questions the inbox, the access rules and the commands ask
about a proxy in force. Reads only; the commands are in engine.verbs.proxy. A stand-in acts only
where the absent user could (their role at the task's unit) and only during the period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from engine.models import AbsenceProxy, HumanTask, RoleGrant, TaskStatus, User
from engine.orgs import Actor, has_role

OPEN = (TaskStatus.open, TaskStatus.claimed)


def _in_force(proxy_id: Any, at: Any) -> Select[tuple[int]]:
    return select(AbsenceProxy.user_id).where(
        AbsenceProxy.proxy_id == proxy_id, AbsenceProxy.starts_at <= at, AbsenceProxy.ends_at > at,
        AbsenceProxy.ended_at.is_(None))


def absentees(session: Session, proxy_id: int, at: datetime) -> list[int]:
    """The users whose proxy in force at `at` is `proxy_id` (oldest arrangement first)."""
    return list(dict.fromkeys(session.scalars(_in_force(proxy_id, at).order_by(AbsenceProxy.id))))


# Prebuilt (every inbox and page badge reads it): the (role, unit) grants of `user_id` and of
# every active user they stand in for at `at`.
_ACTING_GRANTS = select(RoleGrant.role, RoleGrant.org_unit_id).where(or_(
    RoleGrant.user_id == bindparam("user_id"),
    RoleGrant.user_id.in_(_in_force(bindparam("user_id"), bindparam("at"))
                          .join(User, User.id == AbsenceProxy.user_id).where(User.active.is_(True)))))


def acting_grants(session: Session, user_id: int, at: datetime) -> list[tuple[str, int]]:
    """The user's own (role, unit) grants plus those of every active user they stand in for at
    `at` (the pool tasks they may see and take on their behalf), in one statement."""
    rows = session.execute(_ACTING_GRANTS, {"user_id": user_id, "at": at}).all()
    return list(dict.fromkeys((r.role, r.org_unit_id) for r in rows))


@dataclass(frozen=True)
class StandIn:
    actor: Actor      # the proxy, named "张三 代 李四"
    absent_id: int


def stand_in(session: Session, row: HumanTask, actor: Actor, at: datetime) -> StandIn | None:
    """Whether `actor` may act on this open task now as proxy of an absent user, and for whom:
    the task was given to them as proxy (mark "proxy"), or it is in the pool or claimed by them
    (a returned task, a pool task they took) and they do not hold its role themselves. The absent
    user must hold the task's role at its unit and their proxy must be in force at `at`."""
    if row.status not in OPEN or (row.status == TaskStatus.claimed and row.assignee_id != actor.id):
        return None
    away = absentees(session, actor.id, at)
    if not away:
        return None
    if row.mark == "proxy" and row.mark_by_id is not None:
        candidates = [row.mark_by_id] if row.mark_by_id in away else []
    elif has_role(session, actor.id, row.role, row.org_unit_id):
        return None  # they act in their own right
    else:
        candidates = _prefer_earlier_completer(session, row, away)
    for absent_id in candidates:
        if has_role(session, absent_id, row.role, row.org_unit_id):
            absent = session.get(User, absent_id)
            if absent is not None and absent.active:
                return StandIn(Actor(actor.id, f"{actor.name} 代 {absent.full_name}"), absent_id)
    return None


def _prefer_earlier_completer(session: Session, row: HumanTask, away: list[int]) -> list[int]:
    """The absent users, whoever last completed this step of the case first (a 退回 reopens a
    step for its completer: their proxy acts for them, not for a colleague also away)."""
    last = session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == row.instance_id, HumanTask.step_id == row.step_id,
        HumanTask.status == TaskStatus.completed).order_by(HumanTask.id.desc()).limit(1))
    return sorted(away, key=lambda u: u != last)
