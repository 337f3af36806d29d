"""What an administrator may see of people and of the admin log: their own subtree.

An admin at a top unit (the city) sees everything. An admin lower down (a district) sees
- the users who hold a role at a unit of their subtrees, and users who hold no role yet (just
  created, waiting for a first grant); another user is "not found";
- a user's phone number only when they manage the user (every unit the user works at is theirs);
- the admin events about units, grants and users of their subtrees, and their own actions.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from engine.models import AdminEvent, OrgUnit, RoleGrant, User


def is_top_admin(paths: Iterable[str]) -> bool:
    """Admin at a top unit ("/1/"): the whole tree."""
    return any(p.count("/") == 2 for p in paths)


def _under(paths: list[str]) -> ColumnElement[bool]:
    return or_(*[OrgUnit.path.like(f"{p}%") for p in paths]) if paths else false()


def users_in_scope(paths: list[str]) -> ColumnElement[bool]:
    """A condition on User: a role at a unit under `paths`, or no role at all."""
    has_role_here = exists().where(RoleGrant.user_id == User.id, RoleGrant.org_unit_id == OrgUnit.id,
                                   _under(paths))
    has_no_role = ~exists().where(RoleGrant.user_id == User.id)
    return or_(has_role_here, has_no_role)


def user_visible(session: Session, paths: list[str], user_id: int) -> bool:
    if is_top_admin(paths):
        return True
    return session.scalar(select(User.id).where(User.id == user_id, users_in_scope(paths))) is not None


def managed_user_ids(session: Session, paths: list[str], user_ids: list[int]) -> set[int]:
    """Those of `user_ids` every one of whose units is under `paths` (their details are shown)."""
    outside = set(session.scalars(
        select(RoleGrant.user_id).join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
        .where(RoleGrant.user_id.in_(user_ids), ~_under(paths))))
    return set(user_ids) - outside


def events_in_scope(user_id: int, paths: list[str]) -> ColumnElement[bool] | None:
    """A condition on AdminEvent for this admin, or None for a top admin (everything)."""
    if is_top_admin(paths):
        return None
    units = select(OrgUnit.id).where(_under(paths))
    users = select(User.id).where(users_in_scope(paths))
    grant_unit: Any = AdminEvent.details["unit_id"].as_integer()
    return or_(AdminEvent.actor_id == user_id,
               and_(AdminEvent.target_type == "org_unit", AdminEvent.target_id.in_(units)),
               and_(AdminEvent.target_type == "grant", grant_unit.in_(units)),
               and_(AdminEvent.target_type == "user", AdminEvent.target_id.in_(users)))
