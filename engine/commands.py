"""What the case commands share (engine.runtime, engine.caseops, engine.delivery): one write
transaction per command, the checks every command makes on a task or case, and its result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, exists, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import fastflush, faststep, optimistic
from engine.env import Env
from engine.errors import Conflict, InvalidState, NotFound, PermissionDenied, Unauthenticated
from engine.faults import StepFailure
from engine.models import (ApiToken, HumanTask, InstanceStatus, OrgUnit, ProcessInstance, Role, RoleGrant,
                           User)
from engine.orgs import Actor, SessionOrgLookup, has_role, path_ids
from engine.persistence import load_state
from engine.stepguard import run_step
from engine.stepper import OPEN_STATUSES, Case, is_open_sql, lock_case, process_config


@dataclass(frozen=True)
class StartResult:
    instance_id: int
    case_no: str
    query_code: str


@dataclass(frozen=True)
class StepResult:
    """What a step left: the case's status, the new task rows, and a failure's messages."""
    instance_id: int
    status: InstanceStatus
    new_task_ids: list[int]
    error: str | None = None            # the failure's English message, if the step failed
    user_message: str | None = None     # what to tell the user about that failure (Chinese)


def run_tx(env: Env, fn: Any, *, unlocked: bool = False) -> Any:
    """Run one write transaction; a concurrent change of the same case becomes a Conflict.

    `unlocked` (a command whose first write is always its case row, as a submit's is): on
    PostgreSQL the case is read first without its row lock (engine.optimistic); if it changed
    meanwhile, or the command needs the lock earlier, it runs again with the lock."""
    fast, unlocked = True, unlocked and not env.db.is_sqlite
    try:
        while True:
            try:
                with env.db.write() as session:
                    if fast:
                        session.info[faststep.FAST] = True  # steps roll back in Python when they need no SQL
                    if unlocked:
                        optimistic.begin(session)
                        optimistic.defer_begin(session)
                    return fn(session)
            except faststep.SavepointNeeded:  # this step needs SQL inside: again, under a savepoint
                if not fast:
                    raise
                fast = unlocked = False
            except (optimistic.LockNeeded, optimistic.UnsafeWrite, StaleDataError):
                if not unlocked:
                    raise
                unlocked = False  # the case changed since it was read, or the lock is needed sooner
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc


# Whether the caller's API token (engine.orgs.Actor.token_id) is live for the actor now: not
# revoked, not expired, its user active. Bound: `token_id`, `actor_id`, `now`.
TOKEN_LIVE = exists().where(ApiToken.id == bindparam("token_id"), ApiToken.user_id == bindparam("actor_id"),
                            ApiToken.revoked_at.is_(None), ApiToken.expires_at > bindparam("now"),
                            User.id == ApiToken.user_id, User.active.is_(True))


def _task_statements() -> dict[tuple[bool, bool, bool], Any]:
    """The statements of `load_task_case`, built once (their construction cost more than their
    run): by (the case row read in the same statement, with an actor, with the actor's token).
    Bound: `task_id`, `actor_id`, when the case row is locked first `instance_id`, with a token
    `token_id` and `now`."""
    out = {}
    for joined in (True, False):
        for with_actor, with_token in ((False, False), (True, False), (True, True)):
            granted = (exists().where(RoleGrant.user_id == bindparam("actor_id"), RoleGrant.role == HumanTask.role,
                                      RoleGrant.org_unit_id == HumanTask.org_unit_id)
                       if with_actor else literal(False))
            columns: list[Any] = [HumanTask, granted.label("granted")]
            if with_token:
                columns.append(TOKEN_LIVE.label("token_live"))
            if joined:  # the database held (SQLite) or no lock yet (engine.optimistic): one read
                instance_id: Any = (select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id"))
                                    .scalar_subquery())
                # the case row beside the task's own row only (not repeated for each open row)
                stmt = (select(*columns, ProcessInstance)
                        .outerjoin(ProcessInstance, and_(ProcessInstance.id == HumanTask.instance_id,
                                                         HumanTask.id == bindparam("task_id"))))
            else:  # the case row is locked first; its rows are read after the lock
                instance_id = bindparam("instance_id")
                stmt = select(*columns)
            # the task and the case's open rows, each by its index
            out[joined, with_actor, with_token] = stmt.where(or_(
                HumanTask.id == bindparam("task_id"),
                and_(HumanTask.instance_id == instance_id, is_open_sql()))
            ).execution_options(populate_existing=True)
    return out


_TASK_STATEMENTS = _task_statements()
_TOKEN_LIVE_ALONE = select(TOKEN_LIVE)


def load_task_case(env: Env, session: Session, task_id: int,
                   actor: Actor | None = None) -> tuple[Case, HumanTask, bool]:
    """Lock the task's case; read the task, the case's other open tasks and whether `actor` holds
    the task's role at its unit — in one statement after the lock (or, on SQLite and unlocked
    (engine.optimistic), with the case row in one statement). With `actor.token_id`, that
    statement also finds the token live (else Unauthenticated, whether or not the task exists)."""
    with_token = actor is not None and actor.token_id is not None
    joined = env.db.is_sqlite or optimistic.active(session)
    stmt = _TASK_STATEMENTS[joined, actor is not None, with_token]
    params: dict[str, Any] = {"task_id": task_id, "actor_id": actor.id if actor is not None else None}
    if with_token:
        params.update(token_id=actor.token_id, now=env.clock.now())  # type: ignore[union-attr]
    try:
        if joined:
            rows = session.execute(stmt, params).all()
            instance = next((r.ProcessInstance for r in rows if r.ProcessInstance is not None), None)
            if instance is None:
                raise NotFound(f"case of task {task_id} does not exist", "案件不存在")
            case = case_of(env, session, instance)
        else:  # lock the case row first, then read its rows (a read before the lock could be stale)
            case = lock_case(env, session, 0, for_task=task_id)
            rows = session.execute(stmt, {**params, "instance_id": case.instance.id}).all()
    except NotFound:
        if with_token:  # a dead token learns nothing, not even which tasks exist
            _require_live(session.scalar(_TOKEN_LIVE_ALONE, params), actor)  # type: ignore[arg-type]
        raise
    if with_token:
        _require_live(rows[0].token_live, actor)  # type: ignore[arg-type]
    target = [(r.HumanTask, bool(r.granted)) for r in rows if r.HumanTask.id == task_id]
    if not target:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    case.open_rows = [r.HumanTask for r in rows if r.HumanTask.status in OPEN_STATUSES]
    return case, target[0][0], target[0][1]


def _require_live(live: Any, actor: Actor) -> None:
    if not live:
        raise Unauthenticated(f"token {actor.token_id} of user {actor.id} is revoked or expired, "
                              "or its user is disabled", "访问令牌已失效，请重新获取令牌")


def case_of(env: Env, session: Session, instance: ProcessInstance, orgs: SessionOrgLookup | None = None,
            open_rows: list[HumanTask] | None = None) -> Case:
    """The case of an instance row already locked (engine.stepper.lock_case without the read);
    `orgs` and `open_rows` when the caller has them (the worker's batch: one lookup, one read)."""
    parsed = env.specs.get(session, instance.definition_id)
    workflow = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
    return Case(instance, parsed, process_config(env, instance.process_key), workflow, session,
                orgs or SessionOrgLookup(session), open_rows=open_rows)


def require_open(row: HumanTask) -> None:
    """The task is still open or claimed (a double submit is a Conflict)."""
    if row.status not in OPEN_STATUSES:
        raise Conflict(f"task {row.id} is already {row.status.value}",
                       "该任务已被处理，无需重复提交")


def require_running(case: Case) -> None:
    """The case is running: not suspended, in error or closed."""
    status = case.instance.status
    if status != InstanceStatus.running:
        labels = {InstanceStatus.suspended: "已挂起", InstanceStatus.error: "运行出错，等待管理员处理",
                  InstanceStatus.completed: "已办结", InstanceStatus.cancelled: "已撤销",
                  InstanceStatus.terminated: "已终止"}
        raise InvalidState(f"case {case.instance.case_no} is {status.value}",
                           f"案件{labels.get(status, status.value)}，不能办理")


def touch(case: Case, env: Env) -> None:
    """Bump the case's version so concurrent commands on it conflict instead of interleaving."""
    case.instance.updated_at = env.clock.now()


def finish_step(env: Env, case: Case, now: Any, advance: Any = None, keep: Any = None) -> StepResult:
    """Run the step (engine.stepguard.run_step) and say how it went."""
    return step_result(case, run_step(env, case, now, advance, keep))


def step_result(case: Case, failure: StepFailure | None) -> StepResult:
    """The case's status, its new task rows and the failure, if the step failed."""
    fastflush.flush(case.session)
    i = case.instance
    return StepResult(i.id, i.status, [r.id for r in case.new_rows],
                      failure.message if failure is not None else None,
                      failure.user_message if failure is not None else None)


def require_case_role(session: Session, case: Case, actor: Actor, role: Role | None) -> None:
    """Initiator for cancel (role None); otherwise the role at any unit above or at the case's."""
    if role is None:
        if case.instance.initiator_id != actor.id:
            raise PermissionDenied(f"only the initiator may withdraw case {case.instance.case_no}",
                                   "只有发起人可以撤销案件")
        return
    unit = session.get(OrgUnit, case.instance.org_unit_id)
    unit_ids = path_ids(unit.path if unit else None)
    if not any(has_role(session, actor.id, role, uid) for uid in unit_ids):
        raise PermissionDenied(f"user {actor.id} lacks {role.value} over case {case.instance.case_no}",
                               "您没有对该案件执行此操作的权限")
