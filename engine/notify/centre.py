"""Post, count, list and mark read the messages of one user. A command posts in its own
transaction; new task rows get a "new task" message when the transaction commits
(`watch_new_tasks`), unless a verb has marked the row and written its own message."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from engine import fastflush
from engine.env import Env
from engine.errors import NotFound
from engine.models import AppMessage, HumanTask, RoleGrant, TaskStatus, User
from engine.notify.senders import Sender

KIND_LABELS = {
    "new_task": "新任务", "returned": "退回", "withdrawn": "撤回", "transferred": "转办",
    "urged": "催办", "copied": "抄送", "due_soon": "即将到期", "overdue": "已超期",
    "supervision": "督办", "signer": "加签",
}
MAX_POOL = 50  # an unclaimed task tells at most this many holders of its role at its unit


def post(session: Session, user_ids: Iterable[int], kind: str, title: str, at: datetime, *,
         body: str | None = None, instance_id: int | None = None, task_id: int | None = None,
         senders: Sequence[Sender] = ()) -> list[AppMessage]:
    """Write one message per user (deduplicated) and hand each to the extra senders."""
    out = []
    for uid in dict.fromkeys(user_ids):
        msg = AppMessage(user_id=uid, kind=kind, title=title[:255], body=body, instance_id=instance_id,
                         task_id=task_id, at=at)
        session.add(msg)
        out.append(msg)
    if senders and out:
        users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([m.user_id for m in out])))}
        for msg in out:
            for sender in senders:
                sender.send(users[msg.user_id], msg)
    return out


def task_holders(session: Session, row: HumanTask) -> list[int]:
    """Who the task is waiting for: its assignee, else the active holders of its role at its unit."""
    if row.assignee_id is not None:
        return [row.assignee_id]
    return list(session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
        RoleGrant.role == row.role, RoleGrant.org_unit_id == row.org_unit_id, User.active.is_(True))
        .order_by(RoleGrant.user_id).limit(MAX_POOL)))


def unread_count(env: Env, user_id: int) -> int:
    with env.db.single_read() as s:  # one statement on every page: no transaction
        return int(s.scalar(select(func.count()).select_from(AppMessage).where(
            AppMessage.user_id == user_id, AppMessage.read_at.is_(None))) or 0)


def messages(env: Env, user_id: int, unread_only: bool = False, limit: int = 100) -> list[AppMessage]:
    """The user's newest messages first."""
    with env.db.read() as s:
        stmt = select(AppMessage).where(AppMessage.user_id == user_id)
        if unread_only:
            stmt = stmt.where(AppMessage.read_at.is_(None))
        return list(s.scalars(stmt.order_by(AppMessage.id.desc()).limit(limit)))


def mark_read(env: Env, user_id: int, message_id: int | None = None) -> AppMessage | None:
    """Mark one of the user's messages read (or all, with no id); another user's is NotFound."""
    now = env.clock.now()
    with env.db.write() as s:
        if message_id is None:
            s.execute(update(AppMessage).where(AppMessage.user_id == user_id, AppMessage.read_at.is_(None))
                      .values(read_at=now))
            return None
        msg = s.get(AppMessage, message_id)
        if msg is None or msg.user_id != user_id:
            raise NotFound(f"message {message_id} does not exist", "消息不存在")
        if msg.read_at is None:
            msg.read_at = now
        s.flush()
        s.expunge(msg)
        return msg


# ----------------------------------------------------------------------------- new tasks

_KEY = "rongflow_new_tasks"


def _after_flush(session: Session, _ctx: Any) -> None:
    new = [o for o in session.new if isinstance(o, HumanTask)]
    if new:
        session.info.setdefault(_KEY, []).extend(new)


def _before_commit(session: Session) -> None:
    if any(isinstance(o, HumanTask) for o in session.new):
        # rows a step left unflushed (engine.faststep defers its writes to the commit) need their
        # ids before they are told about; the commit would flush them next anyway
        session.flush()
    rows = session.info.pop(_KEY, [])
    for row in dict.fromkeys(rows):
        state = inspect(row)
        if not state.persistent or row.mark or row.status not in (TaskStatus.open, TaskStatus.claimed):
            continue
        title = f"新任务：{row.step_name}（{row.case_no}）"
        if row.assignee_id is not None:
            post(session, [row.assignee_id], "new_task", title, row.created_at, instance_id=row.instance_id,
                 task_id=row.id)
        else:  # the pool's messages in one INSERT … SELECT (the holders as task_holders reads them),
            # compiled once and sent as the step's own writes are, with the COMMIT (engine.fastflush)
            fastflush.at_commit(session.connection(), _POOL_MESSAGES, {
                "kind": "new_task", "title": title[:255], "instance_id": row.instance_id, "task_id": row.id,
                "at": row.created_at, "role": row.role, "unit_id": row.org_unit_id})


# Prebuilt: one new-task message per active holder of the row's role at its unit (at most MAX_POOL).
_POOL_MESSAGES = insert(AppMessage.__table__).from_select(
    ["user_id", "kind", "title", "instance_id", "task_id", "at"],
    select(RoleGrant.user_id, bindparam("kind", type_=AppMessage.kind.type),
           bindparam("title", type_=AppMessage.title.type),
           bindparam("instance_id", type_=AppMessage.instance_id.type),
           bindparam("task_id", type_=AppMessage.task_id.type), bindparam("at", type_=AppMessage.at.type))
    .join(User, User.id == RoleGrant.user_id)
    .where(RoleGrant.role == bindparam("role", type_=RoleGrant.role.type),
           RoleGrant.org_unit_id == bindparam("unit_id", type_=RoleGrant.org_unit_id.type),
           User.active.is_(True))
    .order_by(RoleGrant.user_id).limit(MAX_POOL))


def watch_new_tasks() -> None:
    """Tell the holders of every new task row, at commit (idempotent). A row rolled back with
    its savepoint is no longer persistent and tells nobody; each transaction has its own session."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
