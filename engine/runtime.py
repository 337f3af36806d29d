"""Engine commands: start a case, claim/unclaim/complete a task, cancel, terminate, suspend,
resume, retry, reassign. Each is one transaction that writes state, tasks and history together.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import exists, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.calendar import to_local_date
from engine.definitions import latest_definition
from engine.env import Env
from engine.errors import Conflict, EngineError, FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.faults import StepFailure, describe
from engine.forms import load_form, validate_form
from engine.history import append_event, changed_fields
from engine.models import (CaseSequence, HistoryEvent, HumanTask, InstanceStatus, OrgUnit,
                           ProcessInstance, Role, RoleGrant, TaskStatus)
from engine.orgs import Actor, SessionOrgLookup, has_role
from engine.persistence import load_state, to_json_safe
from engine.process_api import ProcessConfig
from engine.stepguard import (committed_workflow, fail_step, keep_completion, keep_fix, keep_message,
                              rerun_failed, run_on_complete, run_step)
from engine.stepper import (OPEN_STATUSES, Case, SessionCaseLookup, find_spiff_task,
                            hook_context, lock_case, process_config, save_case, workflow_data)
from engine.ops.logs import logged_command

START_FORM = "start"
MESSAGE_FORM_PREFIX = "message_"  # forms/message_<name>.json: the form of a registered message


@dataclass(frozen=True)
class StartResult:
    instance_id: int
    case_no: str
    query_code: str


@dataclass(frozen=True)
class StepResult:
    instance_id: int
    status: InstanceStatus
    new_task_ids: list[int]
    error: str | None = None            # the failure's English message, if the step failed
    user_message: str | None = None     # what to tell the user about that failure (Chinese)


def _run(env: Env, fn: Any) -> Any:
    """Run one write transaction; a concurrent change of the same case becomes a Conflict."""
    try:
        with env.db.write() as session:
            return fn(session)
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc


# ----------------------------------------------------------------------------- start

# Stores the start form's files on the new case (same transaction); returns {field: [ids]}.
AttachFiles = Callable[[Session, ProcessInstance], dict[str, Any]]


@logged_command
def start_case(env: Env, process_key: str, actor: Actor, org_unit_id: int,
               data: dict[str, Any], attach: AttachFiles | None = None) -> StartResult:
    """Start a case of the newest version of a process, registered by `actor` at a unit.
    `attach` (engine.attachments.start_case_with_files) adds the start form's files."""
    config = process_config(env, process_key)
    return _run(env, lambda s: _start(env, s, config, actor, org_unit_id, data, attach))  # type: ignore[no-any-return]


def _start(env: Env, session: Session, config: ProcessConfig, actor: Actor, unit_id: int,
           data: dict[str, Any], attach: AttachFiles | None = None) -> StartResult:
    _check_may_start(env, session, config, actor, unit_id)
    schema = load_form(config.forms_dir, START_FORM)
    if schema is not None:
        validate_form(schema, data)
    definition = latest_definition(session, config.key)
    parsed = env.specs.get(session, definition.id)
    now = env.clock.now()
    case_no = _next_case_no(session, config.case_prefix, to_local_date(now).year)
    orgs = SessionOrgLookup(session)
    ctx = hook_context(env, unit_id, case_no, actor.id, orgs, config, SessionCaseLookup(env, session))
    seed = dict(data)
    seed.update(case_no=case_no, registered_unit_id=unit_id, initiator_id=actor.id,
                received_at=now.isoformat())
    if config.on_start:
        seed.update(config.on_start(seed, ctx))

    def fresh() -> BpmnWorkflow:  # the case as registered, before any step ran
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=env.script_engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update(seed)
        return wf
    workflow = fresh()
    title, name, id_no = config.summarize(seed) if config.summarize else (config.name, None, None)
    instance = ProcessInstance(
        case_no=case_no, query_code=f"{secrets.randbelow(10**6):06d}", definition_id=definition.id,
        process_key=config.key, status=InstanceStatus.running, state="", org_unit_id=unit_id,
        initiator_id=actor.id, title=title[:255], subject_name=name, subject_id_no=id_no,
        unit_ids=f"/{unit_id}/", summary={}, created_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    if attach is not None:  # the files need the case's id; their ids become form data
        files = attach(session, instance)
        data = {**data, **files}
        if schema is not None:
            validate_form(schema, data)
        seed.update(files)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(files)
    case = Case(instance, parsed, config, workflow, session, orgs, open_rows=[])
    append_event(session, instance, at=now, action="start", actor_id=actor.id, actor_name=actor.name,
                 org_unit_id=unit_id, data={k: [None, v] for k, v in data.items()})
    run_step(env, case, now, restore=fresh)
    return StartResult(instance.id, case_no, instance.query_code)


def _check_may_start(env: Env, session: Session, config: ProcessConfig, actor: Actor,
                     unit_id: int) -> None:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(f"org unit {unit_id} does not exist", "单位不存在")
    if config.start_levels and unit.level.value not in config.start_levels:
        raise PermissionDenied(f"{config.key} cannot be started at a {unit.level.value} unit",
                               "本级单位不能发起该流程")
    if config.start_units and unit.code not in config.start_units:
        raise PermissionDenied(f"{config.key} cannot be started at unit {unit.code}",
                               "本单位不能发起该流程")
    if not any(has_role(session, actor.id, role, unit_id) for role in config.start_roles):
        raise PermissionDenied(f"user {actor.id} may not start {config.key} at unit {unit_id}",
                               "您没有在该单位发起此流程的权限")


def _next_case_no(session: Session, prefix: str, year: int) -> str:
    """Issue the next case number, e.g. XF2026-00042, under the sequence row's lock."""
    for _attempt in range(3):
        number = session.scalar(update(CaseSequence).where(
            CaseSequence.prefix == prefix, CaseSequence.year == year)
            .values(last=CaseSequence.last + 1).returning(CaseSequence.last))
        if number is not None:
            return f"{prefix}{year}-{number:05d}"
        try:
            with session.begin_nested():
                session.execute(insert(CaseSequence).values(prefix=prefix, year=year, last=0))
        except IntegrityError:
            continue  # another transaction created it first; take a number from it
    raise Conflict("could not issue a case number", "案件编号生成失败，请重试")


# ----------------------------------------------------------------------------- tasks

def _load_task_case(env: Env, session: Session, task_id: int,
                    actor: Actor | None = None) -> tuple[Case, HumanTask, bool]:
    """Lock the task's case; read the task, the case's other open tasks and whether `actor` holds
    the task's role at its unit — in one statement after the lock."""
    case = lock_case(env, session, 0, for_task=task_id)
    granted = (exists().where(RoleGrant.user_id == actor.id, RoleGrant.role == HumanTask.role,
                              RoleGrant.org_unit_id == HumanTask.org_unit_id)
               if actor is not None else literal(False))
    rows = session.execute(select(HumanTask, granted.label("granted")).where(
        HumanTask.instance_id == case.instance.id,
        or_(HumanTask.id == task_id, HumanTask.status.in_(OPEN_STATUSES)))
        .execution_options(populate_existing=True)).all()
    target = [(r.HumanTask, bool(r.granted)) for r in rows if r.HumanTask.id == task_id]
    if not target:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    case.open_rows = [r.HumanTask for r in rows if r.HumanTask.status in OPEN_STATUSES]
    return case, target[0][0], target[0][1]


def _require_open(row: HumanTask) -> None:
    if row.status not in OPEN_STATUSES:
        raise Conflict(f"task {row.id} is already {row.status.value}",
                       "该任务已被处理，无需重复提交")


def _require_running(case: Case) -> None:
    status = case.instance.status
    if status != InstanceStatus.running:
        labels = {InstanceStatus.suspended: "已挂起", InstanceStatus.error: "运行出错，等待管理员处理",
                  InstanceStatus.completed: "已办结", InstanceStatus.cancelled: "已撤销",
                  InstanceStatus.terminated: "已终止"}
        raise InvalidState(f"case {case.instance.case_no} is {status.value}",
                           f"案件{labels.get(status, status.value)}，不能办理")


def _require_grant(granted: bool, actor: Actor, row: HumanTask) -> None:
    if not granted:
        raise PermissionDenied(
            f"user {actor.id} lacks role {row.role.value} at unit {row.org_unit_id} for task {row.id}",
            "您没有办理该任务的权限（角色或单位不符）")


def can_act(session: Session, user_id: int, row: HumanTask) -> bool:
    """Whether a user may claim or complete this task now (for views and templates)."""
    if row.status not in OPEN_STATUSES:
        return False
    if row.status == TaskStatus.claimed and row.assignee_id != user_id:
        return False
    return has_role(session, user_id, row.role, row.org_unit_id)


@logged_command
def claim_task(env: Env, task_id: int, actor: Actor) -> None:
    """Take an open task for yourself, so colleagues see it is being handled."""
    def body(session: Session) -> None:
        case, row, granted = _load_task_case(env, session, task_id, actor)
        _require_open(row)
        _require_running(case)
        _require_grant(granted, actor, row)
        if row.status == TaskStatus.claimed:
            if row.assignee_id == actor.id:
                return
            raise Conflict(f"task {task_id} is claimed by user {row.assignee_id}", "该任务已被他人认领")
        row.status, row.assignee_id = TaskStatus.claimed, actor.id
        _touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="claim", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id)
    _run(env, body)


@logged_command
def unclaim_task(env: Env, task_id: int, actor: Actor) -> None:
    """Give a claimed task back to the pool of its role and unit."""
    def body(session: Session) -> None:
        case, row, _granted = _load_task_case(env, session, task_id)
        _require_open(row)
        if row.status != TaskStatus.claimed or row.assignee_id != actor.id:
            raise Conflict(f"task {task_id} is not claimed by user {actor.id}", "您未认领该任务")
        row.status, row.assignee_id = TaskStatus.open, None
        _touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="unclaim", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id)
    _run(env, body)


def _touch(case: Case, env: Env) -> None:
    """Bump the case's version so concurrent commands on it conflict instead of interleaving."""
    case.instance.updated_at = env.clock.now()


@logged_command
def complete_task(env: Env, task_id: int, actor: Actor, data: dict[str, Any],
                  opinion: str | None = None) -> StepResult:
    """Complete a task with form data and an opinion, then run the case to its next wait."""
    return _run(env, lambda s: _complete(env, s, task_id, actor, data, opinion))  # type: ignore[no-any-return]


def _complete(env: Env, session: Session, task_id: int, actor: Actor, data: dict[str, Any],
              opinion: str | None) -> StepResult:
    case, row, granted = _load_task_case(env, session, task_id, actor)
    _require_open(row)
    _require_running(case)
    if row.status == TaskStatus.claimed and row.assignee_id != actor.id:
        raise Conflict(f"task {task_id} is claimed by user {row.assignee_id}", "该任务已被他人认领")
    _require_grant(granted, actor, row)
    _check_four_eyes(session, case, row, actor)
    spiff_task = find_spiff_task(case, row.spiff_task_id)
    if spiff_task.state != TaskState.READY:
        raise Conflict(f"task {task_id} is not ready in the workflow", "该任务当前不可办理，请刷新")
    schema = load_form(case.config.forms_dir, row.step_id)
    if schema is not None:
        validate_form(schema, data)
    now = env.clock.now()
    before = dict(spiff_task.data)
    spiff_task.set_data(**data)
    extra, hook_failure = run_on_complete(env, case, spiff_task)
    row.status, row.assignee_id = TaskStatus.completed, actor.id
    row.completed_at, row.completed_by_id = now, actor.id
    case.completed_row = row
    append_event(session, case.instance, at=now, action="complete", actor_id=actor.id,
                 actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                 task_id=row.id, org_unit_id=row.org_unit_id, opinion=opinion,
                 data=changed_fields(to_json_safe(before), to_json_safe({**data, **extra})))
    keep = keep_completion(row.spiff_task_id, {**data, **extra})
    if hook_failure is not None:  # a bug in the process package: the workflow was not touched
        failure = fail_step(env, case, now, hook_failure, committed_workflow(env, case), keep)
        return _step_result(case, failure)
    return _finish_step(env, case, now, spiff_task.run, keep)


def _finish_step(env: Env, case: Case, now: Any, advance: Any = None, keep: Any = None) -> StepResult:
    return _step_result(case, run_step(env, case, now, advance, keep))


def _step_result(case: Case, failure: StepFailure | None) -> StepResult:
    case.session.flush()
    i = case.instance
    return StepResult(i.id, i.status, [r.id for r in case.new_rows],
                      failure.message if failure is not None else None,
                      failure.user_message if failure is not None else None)


def four_eyes_refusal(session: Session, config: ProcessConfig, row: HumanTask,
                      user_id: int) -> str | None:
    """Why the user may not complete this task under the four-eyes rule (Chinese), or None."""
    earlier = config.four_eyes.get(row.step_id)
    if not earlier:
        return None
    done_by = session.scalars(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == row.instance_id, HumanTask.step_id == earlier,
        HumanTask.status == TaskStatus.completed)).all()
    return "同一人不能既初审又复审，请由另一名工作人员办理" if user_id in done_by else None


def _check_four_eyes(session: Session, case: Case, row: HumanTask, actor: Actor) -> None:
    refusal = four_eyes_refusal(session, case.config, row, actor.id)
    if refusal:
        raise PermissionDenied(f"user {actor.id} completed {case.config.four_eyes[row.step_id]}; "
                               f"{row.step_id} needs another person", refusal)


# ----------------------------------------------------------------------------- case operations

def _case_op(env: Env, instance_id: int, actor: Actor, reason: str, action: str,
             allowed: tuple[InstanceStatus, ...], role: Role | None, op: Any) -> None:
    if not reason or not reason.strip():
        raise FormInvalid({"reason": "请填写原因"})

    def body(session: Session) -> None:
        case = lock_case(env, session, instance_id)
        if case.instance.status not in allowed:
            raise InvalidState(f"case {case.instance.case_no} is {case.instance.status.value}",
                               "案件当前状态不允许此操作")
        _require_case_role(session, case, actor, role)
        now = env.clock.now()
        op(case, now)
        case.instance.status_reason = reason
        append_event(session, case.instance, at=now, action=action, actor_id=actor.id,
                     actor_name=actor.name, opinion=reason,
                     data={"status": case.instance.status.value})
        save_case(env, case, now)
    _run(env, body)


def _require_case_role(session: Session, case: Case, actor: Actor, role: Role | None) -> None:
    """Initiator for cancel (role None); otherwise the role at any unit above or at the case's."""
    if role is None:
        if case.instance.initiator_id != actor.id:
            raise PermissionDenied(f"only the initiator may withdraw case {case.instance.case_no}",
                                   "只有发起人可以撤销案件")
        return
    unit = session.get(OrgUnit, case.instance.org_unit_id)
    unit_ids = [int(p) for p in (unit.path if unit else "/").strip("/").split("/") if p]
    if not any(has_role(session, actor.id, role, uid) for uid in unit_ids):
        raise PermissionDenied(f"user {actor.id} lacks {role.value} over case {case.instance.case_no}",
                               "您没有对该案件执行此操作的权限")


def _close(status: InstanceStatus) -> Any:
    def op(case: Case, now: Any) -> None:
        case.workflow.cancel()
        case.instance.status = status
        case.instance.closed_at = now
    return op


@logged_command
def cancel_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    """The initiator withdraws a running case (撤销), with a reason."""
    _case_op(env, instance_id, actor, reason, "cancel", (InstanceStatus.running,), None,
             _close(InstanceStatus.cancelled))


@logged_command
def terminate_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    """An admin ends a case for good (终止), with a reason."""
    _case_op(env, instance_id, actor, reason, "terminate",
             (InstanceStatus.running, InstanceStatus.suspended, InstanceStatus.error), Role.admin,
             _close(InstanceStatus.terminated))


@logged_command
def suspend_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    def op(case: Case, now: Any) -> None:
        case.instance.status = InstanceStatus.suspended
    _case_op(env, instance_id, actor, reason, "suspend", (InstanceStatus.running,), Role.admin, op)


@logged_command
def resume_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    def op(case: Case, now: Any) -> None:
        case.instance.status = InstanceStatus.running
    _case_op(env, instance_id, actor, reason, "resume", (InstanceStatus.suspended,), Role.admin, op)


@logged_command
def retry_case(env: Env, instance_id: int, actor: Actor, data_fix: dict[str, Any],
               reason: str = "管理员重试") -> StepResult:
    """Re-run the failed step of a case in error, after setting corrected data on it."""
    def body(session: Session) -> StepResult:
        case = lock_case(env, session, instance_id)
        if case.instance.status != InstanceStatus.error:
            raise InvalidState(f"case {case.instance.case_no} is not in error", "案件未处于出错状态")
        _require_case_role(session, case, actor, Role.admin)
        failed = case.workflow.get_tasks(state=TaskState.ERROR)
        now = env.clock.now()
        case.instance.status = InstanceStatus.running
        case.instance.error_message = case.instance.error_step = None
        case.instance.error_line = None
        append_event(session, case.instance, at=now, action="retry", actor_id=actor.id,
                     actor_name=actor.name, opinion=reason,
                     step_id=failed[0].task_spec.bpmn_id if failed else None,
                     data={k: [None, v] for k, v in data_fix.items()})
        return _finish_step(env, case, now, lambda: rerun_failed(env, case, failed, data_fix),
                            keep_fix(data_fix))
    return _run(env, body)  # type: ignore[no-any-return]


@logged_command
def reassign_task(env: Env, task_id: int, actor: Actor, to_user_id: int, reason: str) -> None:
    """An admin hands a task to a named user who holds its role at its unit (转派)."""
    if not reason.strip():
        raise FormInvalid({"reason": "请填写原因"})

    def body(session: Session) -> None:
        case, row, _granted = _load_task_case(env, session, task_id)
        _require_open(row)
        _require_case_role(session, case, actor, Role.admin)
        if not has_role(session, to_user_id, row.role, row.org_unit_id):
            raise PermissionDenied(f"user {to_user_id} lacks role {row.role.value} at unit {row.org_unit_id}",
                                   "被指派人不具备该任务所需的角色和单位")
        before = row.assignee_id
        row.status, row.assignee_id = TaskStatus.claimed, to_user_id
        _touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="reassign", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id, opinion=reason,
                     data={"assignee": [before, to_user_id]})
    _run(env, body)


@logged_command
def deliver_message(env: Env, instance_id: int, message: str, payload: dict[str, Any],
                    actor: Actor | None = None, *, source: str = "系统",
                    step_name: str | None = None) -> StepResult:
    """Deliver a named BPMN message (e.g. the army unit's answer to a query) to a waiting case.
    `source` names the sender in the history when no user sends it (e.g. the petitioner);
    `step_name` is the history's readable label of the message (default: its form's title).
    A message of `ProcessConfig.message_roles` needs an `actor` holding its role at the case's
    unit (PermissionDenied otherwise) and a payload that fits forms/message_<name>.json."""
    from SpiffWorkflow.bpmn import BpmnEvent
    from SpiffWorkflow.exceptions import WorkflowException
    from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

    def body(session: Session) -> StepResult:
        case = lock_case(env, session, instance_id)
        _require_running(case)
        _check_message_role(session, case, message, actor)
        schema = load_form(case.config.forms_dir, f"{MESSAGE_FORM_PREFIX}{message}")
        if schema is not None:
            validate_form(schema, payload)
        now = env.clock.now()
        committed = committed_workflow(env, case)
        failure = None
        try:
            case.workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload=payload))
        except WorkflowException as exc:
            if "not waiting for" in str(exc):
                raise InvalidState(f"case {case.instance.case_no} is not waiting for message {message!r}",
                                   "案件当前未在等待该消息") from exc
            failure = describe(exc, rolled_back=True)
        except Exception as exc:  # noqa: BLE001 - the message's catch failed: the case goes to error
            failure = describe(exc, rolled_back=True)
        append_event(session, case.instance, at=now, action="message",
                     actor_id=actor.id if actor else None, actor_name=actor.name if actor else source,
                     step_id=message, step_name=step_name or (schema or {}).get("title"),
                     data={k: [None, v] for k, v in payload.items()})
        if failure is not None:  # recorded in the history; the workflow stays as committed
            return _step_result(case, fail_step(env, case, now, failure, committed))
        return _finish_step(env, case, now, keep=keep_message(message, payload))
    return _run(env, body)


def may_register_message(session: Session, user_id: int, instance: ProcessInstance,
                         config: ProcessConfig, message: str) -> bool:
    """Whether a user may register this message of `config.message_roles` on the case: the
    message's role, held at the case's unit."""
    role = config.message_roles.get(message)
    return role is not None and has_role(session, user_id, role, instance.org_unit_id)


def _check_message_role(session: Session, case: Case, message: str, actor: Actor | None) -> None:
    """A message users register (ProcessConfig.message_roles) needs its role at the case's unit.
    Other messages come from engine-side callers that checked their sender already."""
    if message not in case.config.message_roles:
        return
    if actor is None or not may_register_message(session, actor.id, case.instance, case.config, message):
        raise PermissionDenied(
            f"user {actor.id if actor else None} may not register {message!r} on {case.instance.case_no}",
            "您没有为本案登记该事项的权限")


def waiting_messages(env: Env, instance_id: int) -> list[str]:
    """Names of the messages a case is waiting for now."""
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"case {instance_id} does not exist", "案件不存在")
        parsed = env.specs.get(session, instance.definition_id)
        wf = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
        return [e.name for e in wf.waiting_events() if e.event_type == "MessageEventDefinition"]


# ----------------------------------------------------------------------------- reads

def case_data(env: Env, instance_id: int) -> dict[str, Any]:
    """The current business data of a case (deserializes one workflow; not for lists)."""
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"case {instance_id} does not exist", "案件不存在")
        parsed = env.specs.get(session, instance.definition_id)
        wf = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
        return to_json_safe(workflow_data(wf))  # type: ignore[no-any-return]


def case_history(env: Env, instance_id: int) -> list[HistoryEvent]:
    with env.db.read() as session:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                    .order_by(HistoryEvent.seq)))


__all__ = ["start_case", "claim_task", "unclaim_task", "complete_task", "cancel_case",
           "terminate_case", "suspend_case", "resume_case", "retry_case", "reassign_task",
           "can_act", "deliver_message", "waiting_messages", "case_data", "case_history", "StartResult",
           "StepResult", "EngineError"]
