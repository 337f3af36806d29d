"""代理: a user names a proxy for a period of absence. Tasks assigned to them while away go to the
proxy (new ones as they open, open ones when the user moves them); the proxy acts within the absent
user's rights only (their role at the task's unit, during the period), and the history says
"张三 代 李四"."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.absence import stand_in
from engine.commands import load_task_case, run_tx, touch
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, NotFound
from engine.history import append_event
from engine.models import AbsenceProxy, HumanTask, TaskStatus, User
from engine.notify.centre import post
from engine.ops.logs import logged_command
from engine.orgs import Actor
from engine.stepper import Case


def active_proxy(session: Session, user_id: int, at: datetime) -> AbsenceProxy | None:
    """The user's proxy in force at `at`, if any."""
    return session.scalars(select(AbsenceProxy).where(
        AbsenceProxy.user_id == user_id, AbsenceProxy.starts_at <= at, AbsenceProxy.ends_at > at,
        AbsenceProxy.ended_at.is_(None)).order_by(AbsenceProxy.id.desc()).limit(1)).first()


@logged_command
def set_proxy(env: Env, actor: Actor, proxy_id: int, starts_at: datetime, ends_at: datetime) -> int:
    """Name a proxy for a period of absence; returns the arrangement's id."""
    if ends_at <= starts_at:
        raise FormInvalid({"ends_at": "结束时间须晚于开始时间"})
    if ends_at <= env.clock.now():
        raise FormInvalid({"ends_at": "结束时间已过"})
    with env.db.write() as session:
        proxy = session.get(User, proxy_id)
        if proxy is None or not proxy.active:
            raise NotFound(f"user {proxy_id} does not exist", "代理人不存在")
        if proxy_id == actor.id:
            raise InvalidState(f"user {actor.id} cannot proxy themself", "不能指定自己为代理人")
        row = AbsenceProxy(user_id=actor.id, proxy_id=proxy_id, starts_at=starts_at, ends_at=ends_at,
                           created_at=env.clock.now())
        session.add(row)
        session.flush()
        return row.id


@logged_command
def end_proxy(env: Env, actor: Actor, proxy_row_id: int) -> None:
    """End one's own proxy arrangement early (back at work)."""
    with env.db.write() as session:
        row = session.get(AbsenceProxy, proxy_row_id)
        if row is None or row.user_id != actor.id:
            raise NotFound(f"proxy {proxy_row_id} does not exist", "代理设置不存在")
        row.ended_at = env.clock.now()


def _give(session: Session, case: Case, row: HumanTask, absent: User, proxy_id: int, now: datetime) -> None:
    row.assignee_id, row.status = proxy_id, TaskStatus.claimed
    row.mark, row.mark_note, row.mark_by_id = "proxy", f"代{absent.full_name}办理", absent.id
    append_event(session, case.instance, at=now, action="proxy", actor_id=absent.id, actor_name=absent.full_name,
                 step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                 data={"assignee": [absent.id, proxy_id]})
    title = f"代理：{absent.full_name}不在岗，{row.step_name}（{row.case_no}）由您代办"
    post(session, [proxy_id], "transferred", title, now, instance_id=row.instance_id, task_id=row.id)


def route_new_rows(env: Env, case: Case, now: datetime) -> None:
    """A new task row assigned to someone away goes to their proxy (engine.stepper.NEW_ROW_HOOKS)."""
    for row in case.new_rows:
        if row.assignee_id is None or row.mark == "proxy":
            continue
        arrangement = active_proxy(case.session, row.assignee_id, now)
        if arrangement is not None:
            case.session.flush()
            _give(case.session, case, row, case.session.get(User, row.assignee_id), arrangement.proxy_id, now)


@logged_command
def move_open_tasks(env: Env, actor: Actor) -> int:
    """Move the tasks claimed by the user to their proxy in force now; returns how many moved."""
    now = env.clock.now()
    with env.db.read() as session:
        arrangement = active_proxy(session, actor.id, now)
        ids = list(session.scalars(select(HumanTask.id).where(
            HumanTask.assignee_id == actor.id, HumanTask.status == TaskStatus.claimed)))
    if arrangement is None:
        raise InvalidState(f"user {actor.id} has no proxy in force", "当前没有生效的代理设置")

    def move(session: Session, task_id: int) -> None:
        case, row, _granted = load_task_case(env, session, task_id)
        if row.status == TaskStatus.claimed and row.assignee_id == actor.id:
            _give(session, case, row, session.get(User, actor.id), arrangement.proxy_id, now)
            touch(case, env)
    for task_id in ids:
        run_tx(env, lambda s, t=task_id: move(s, t))
    return len(ids)


def proxy_actor(session: Session, row: HumanTask, actor: Actor, at: datetime) -> Actor | None:
    """The actor as "proxy 代 absent" when they may act on this task now for an absent user: given
    to them as proxy, returned to the absent user, or in the pool of the absent user's role at the
    task's unit (engine.absence.stand_in); else None."""
    found = stand_in(session, row, actor, at)
    return found.actor if found else None


def route_returned(session: Session, case: Case, row: HumanTask, now: datetime) -> None:
    """A 退回 reopens a step for its completer: while they are away it goes to their proxy, still
    marked 退回 with the reason (the caller tells the holder)."""
    if row.assignee_id is None:
        return
    arrangement = active_proxy(session, row.assignee_id, now)
    absent = session.get(User, row.assignee_id)
    if arrangement is None or absent is None:
        return
    row.assignee_id = arrangement.proxy_id
    row.mark_note = f"{row.mark_note or ''}（{absent.full_name}不在岗，由代理人代办）"
    session.flush()
    append_event(session, case.instance, at=now, action="proxy", actor_id=absent.id, actor_name=absent.full_name,
                 step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                 data={"assignee": [absent.id, arrangement.proxy_id]})


def proxies_of(env: Env, user_id: int) -> list[tuple[AbsenceProxy, str]]:
    """The user's proxy arrangements, newest first, with each proxy's name."""
    with env.db.read() as session:
        rows = session.execute(select(AbsenceProxy, User.full_name).join(User, User.id == AbsenceProxy.proxy_id)
                               .where(AbsenceProxy.user_id == user_id).order_by(AbsenceProxy.id.desc())).all()
        return [(r[0], r[1]) for r in rows]
