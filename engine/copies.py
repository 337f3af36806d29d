"""抄送: copy a case to named users (read-only), recorded in the case history; read marks.

A copy lets its recipient see the case (engine.access) and lists it under 抄送我的.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.acting import acting_unit
from engine.access import visible_case
from engine.env import Env
from engine.errors import Conflict, FormInvalid, PermissionDenied
from engine.history import append_event
from engine.notify.centre import post
from engine.inbox import ACTING_ROLES
from engine.models import CaseCopy, ProcessInstance, RoleGrant, User
from engine.orgs import Actor


def copy_case(env: Env, instance_id: int, actor: Actor, user_ids: Iterable[int],
              note: str | None = None) -> list[str]:
    """Copy a case the actor can see to other users; returns the names newly copied to."""
    wanted = sorted({int(u) for u in user_ids if int(u) != actor.id})
    if not wanted:
        raise FormInvalid({"user_ids": "请选择抄送对象"})
    try:
        with env.db.write() as session:
            _lock_row(env, session, instance_id)
            instance = visible_case(session, actor.id, instance_id)
            _require_acting_staff(session, actor, instance)
            return _copy(env, session, instance, actor, wanted, (note or "").strip() or None)
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc


def may_copy(env: Env, user_id: int, initiator_id: int | None) -> bool:
    """Whether the user may copy (抄送) a case they can see: its initiator, or acting staff (the
    case page offers the 抄送 form to them only; auditors and admins read)."""
    if initiator_id == user_id:
        return True
    with env.db.read() as session:
        return session.scalar(select(RoleGrant.id).where(
            RoleGrant.user_id == user_id, RoleGrant.role.not_in(ACTING_ROLES.excluded)).limit(1)) is not None


def _require_acting_staff(session: Session, actor: Actor, instance: ProcessInstance) -> None:
    """Auditors and admins read; only the initiator or acting staff (经办/审核/领导) copy a case."""
    if instance.initiator_id == actor.id:
        return
    acting = session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == actor.id, RoleGrant.role.not_in(ACTING_ROLES.excluded)).limit(1))
    if acting is None:
        raise PermissionDenied(f"user {actor.id} holds no acting role and may not copy cases",
                               "审计、管理人员只能查阅案件，不能抄送")


def _copy(env: Env, session: Session, instance: ProcessInstance, actor: Actor,
          wanted: list[int], note: str | None) -> list[str]:
    users = session.execute(select(User.id, User.full_name).where(
        User.id.in_(wanted), User.active.is_(True))).all()
    if len(users) != len(wanted):
        raise FormInvalid({"user_ids": "抄送对象不存在或已停用"})
    already = set(session.scalars(select(CaseCopy.user_id).where(
        CaseCopy.instance_id == instance.id, CaseCopy.user_id.in_(wanted))))
    now = env.clock.now()
    fresh = [(uid, name) for uid, name in users if uid not in already]
    for uid, _name in fresh:
        session.add(CaseCopy(instance_id=instance.id, user_id=uid, by_id=actor.id, at=now, note=note))
    if fresh:
        append_event(session, instance, at=now, action="cc", actor_id=actor.id, actor_name=actor.name,
                     org_unit_id=acting_unit(session, actor.id, instance), opinion=note,
                     data={"to": [name for _uid, name in fresh], "to_ids": [uid for uid, _name in fresh]})
        title = f"抄送：{actor.name}抄送{instance.case_no}（{instance.title}）"  # the message centre
        post(session, [uid for uid, _name in fresh], "copied", title, now, body=note, instance_id=instance.id)
    return [name for _uid, name in fresh]


def mark_copy_read(env: Env, instance_id: int, user_id: int) -> None:
    """Set the read mark of the user's copy of a case (first read only)."""
    with env.db.write() as session:
        copy = session.scalar(select(CaseCopy).where(CaseCopy.instance_id == instance_id,
                                                     CaseCopy.user_id == user_id))
        if copy is not None and copy.read_at is None:
            copy.read_at = env.clock.now()


def _lock_row(env: Env, session: Session, instance_id: int) -> None:
    """Serialize history appends on PostgreSQL (SQLite writers are serialized already)."""
    if not env.db.is_sqlite:
        session.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
                        .with_for_update())
