"""Engine commands: start a case, claim/unclaim/complete a task, and the reads of one case. Each
command is one transaction that writes state, tasks and history together. The case operations
(engine.caseops) and message delivery (engine.delivery) are exported here too, so callers find
every command in one place.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.calendar import to_local_date
from engine.caseops import (cancel_case, reassign_task, resume_case, retry_case, suspend_case,
                            terminate_case)
from engine.commands import (StartResult, StepResult, finish_step, load_task_case, require_open,
                             require_running, run_tx, step_result, touch)
from engine.definitions import latest_definition
from engine.delivery import MESSAGE_FORM_PREFIX, deliver_message, may_register_message, waiting_messages
from engine.env import Env
from engine.errors import Conflict, EngineError, NotFound, PermissionDenied
from engine.forms import form_opinion, load_form, validate_form
from engine.history import append_event, changed_fields
from engine.models import (CaseSequence, HistoryEvent, HumanTask, InstanceStatus, OrgUnit,
                           ProcessInstance, TaskStatus, User)
from engine.notify.centre import watch_new_tasks
from engine.absence import stand_in
from engine.verbs.supervision import open_step_order
from engine.verbs.signers import check_turn, expand_modes, hold_for_signers, is_fix
from engine.ops.logs import logged_command
from engine.orgs import Actor, SessionOrgLookup, has_role
from engine.persistence import to_json_safe
from engine.process_api import ProcessConfig
from engine.stepguard import (committed_workflow, fail_step, keep_completion, run_on_complete,
                              run_step)
from engine.stepper import (NEW_ROW_HOOKS, OPEN_STATUSES, Case, SessionCaseLookup, drop_drafts, find_spiff_task,
                            hook_context, process_config, read_workflow, workflow_data)

START_FORM = "start"
watch_new_tasks()  # the message centre tells the holders of each new task (engine.notify)
if expand_modes not in NEW_ROW_HOOKS:
    NEW_ROW_HOOKS.append(expand_modes)  # a step's approval mode: its round of signers


# ----------------------------------------------------------------------------- start

# Stores the start form's files on the new case (same transaction); returns {field: [ids]}.
AttachFiles = Callable[[Session, ProcessInstance], dict[str, Any]]


@logged_command
def start_case(env: Env, process_key: str, actor: Actor, org_unit_id: int,
               data: dict[str, Any], attach: AttachFiles | None = None) -> StartResult:
    """Start a case of the newest version of a process, registered by `actor` at a unit.
    `attach` (engine.attachments.start_case_with_files) adds the start form's files."""
    config = process_config(env, process_key)
    return run_tx(env, lambda s: _start(env, s, config, actor, org_unit_id, data, attach))  # type: ignore[no-any-return]


def _subject_phone(schema: dict[str, Any] | None, data: dict[str, Any]) -> str | None:
    """The start form's first filled cn-mobile field (the case ledger searches and masks it)."""
    for key, prop in ((schema or {}).get("properties") or {}).items():
        if isinstance(prop, dict) and prop.get("format") == "cn-mobile" and data.get(key):
            return str(data[key]).strip()[:32]
    return None


def _start(env: Env, session: Session, config: ProcessConfig, actor: Actor, unit_id: int,
           data: dict[str, Any], attach: AttachFiles | None = None) -> StartResult:
    _check_may_start(env, session, config, actor, unit_id)
    schema = load_form(config.forms_dir, START_FORM)
    if schema is not None:
        validate_form(schema, data, session)
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
        subject_phone=_subject_phone(schema, seed),
        unit_ids=f"/{unit_id}/", summary={}, created_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    if attach is not None:  # the files need the case's id; their ids become form data
        files = attach(session, instance)
        data = {**data, **files}
        if schema is not None:
            validate_form(schema, data, session)
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

def _require_grant(granted: bool, actor: Actor, row: HumanTask) -> None:
    if not granted:
        raise PermissionDenied(
            f"user {actor.id} lacks role {row.role.value} at unit {row.org_unit_id} for task {row.id}",
            "您没有办理该任务的权限（角色或单位不符）")


def can_act(session: Session, user_id: int, row: HumanTask, at: datetime | None = None) -> bool:
    """Whether a user may claim or complete this task now (for views and templates); given `at`,
    also as the proxy in force of an absent user (代理)."""
    if row.status not in OPEN_STATUSES:
        return False
    if row.status == TaskStatus.claimed and row.assignee_id != user_id:
        return False
    if has_role(session, user_id, row.role, row.org_unit_id):
        return True
    return at is not None and stand_in(session, row, Actor(user_id, ""), at) is not None


@logged_command
def claim_task(env: Env, task_id: int, actor: Actor) -> None:
    """Take an open task for yourself, so colleagues see it is being handled."""
    def body(session: Session) -> None:
        case, row, granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        proxy = None if granted else stand_in(session, row, actor, env.clock.now())  # 代理: a pool task
        _require_grant(granted or proxy is not None, actor, row)
        if row.status == TaskStatus.claimed:
            if row.assignee_id == actor.id:
                return
            raise Conflict(f"task {task_id} is claimed by user {row.assignee_id}", "该任务已被他人认领")
        row.status, row.assignee_id = TaskStatus.claimed, actor.id
        acting = actor
        if proxy is not None:
            acting = proxy.actor
            if row.mark is None:
                absent = session.get(User, proxy.absent_id)
                row.mark, row.mark_by_id = "proxy", proxy.absent_id
                row.mark_note = f"代{absent.full_name if absent else ''}办理"
        touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="claim", actor_id=acting.id,
                     actor_name=acting.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id)
    run_tx(env, body)


@logged_command
def unclaim_task(env: Env, task_id: int, actor: Actor) -> None:
    """Give a claimed task back to the pool of its role and unit."""
    def body(session: Session) -> None:
        case, row, _granted = load_task_case(env, session, task_id)
        require_open(row)
        if row.status != TaskStatus.claimed or row.assignee_id != actor.id:
            raise Conflict(f"task {task_id} is not claimed by user {actor.id}", "您未认领该任务")
        row.status, row.assignee_id = TaskStatus.open, None
        if row.mark == "proxy":  # back in the pool: nobody's proxy task any more
            row.mark = row.mark_note = row.mark_by_id = None
        touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="unclaim", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id)
    run_tx(env, body)


@logged_command
def complete_task(env: Env, task_id: int, actor: Actor, data: dict[str, Any],
                  opinion: str | None = None) -> StepResult:
    """Complete a task with form data and an opinion, then run the case to its next wait (its
    first write is the case row's: on PostgreSQL the case is read without waiting for its lock,
    engine.optimistic)."""
    return run_tx(env, lambda s: _complete(env, s, task_id, actor, data, opinion),  # type: ignore[no-any-return]
                  unlocked=True)


def _complete(env: Env, session: Session, task_id: int, actor: Actor, data: dict[str, Any],
              opinion: str | None) -> StepResult:
    case, row, granted = load_task_case(env, session, task_id, actor)
    # 代理: within the absent user's rights (asked only where it may matter: no extra statement otherwise)
    proxy = stand_in(session, row, actor, env.clock.now()) if row.mark == "proxy" or not granted else None
    if proxy is not None:
        actor, granted = proxy.actor, True
    require_open(row)
    require_running(case)
    if row.status == TaskStatus.claimed and row.assignee_id != actor.id:
        raise Conflict(f"task {task_id} is claimed by user {row.assignee_id}", "该任务已被他人认领")
    _require_grant(granted, actor, row)
    _check_four_eyes(session, case, row, actor)
    if proxy is not None:  # nor may the proxy do what the absent user could not (four eyes)
        _check_four_eyes(session, case, row, Actor(proxy.absent_id, ""))
    check_turn(session, row)
    spiff_task = find_spiff_task(case, row.spiff_task_id)
    if spiff_task.state != TaskState.READY:
        raise Conflict(f"task {task_id} is not ready in the workflow", "该任务当前不可办理，请刷新")
    schema = load_form(case.config.forms_dir, row.step_id)
    if schema is not None:
        validate_form(schema, data, session)
    opinion = form_opinion(schema, data, opinion)  # an x-opinion field is the opinion, whoever calls
    now = env.clock.now()
    before = dict(spiff_task.data)
    spiff_task.set_data(**data)
    # a fix after a direct 退回 fills an earlier step's form on the returner's task: no hook of theirs
    extra, hook_failure = ({}, None) if is_fix(row) else run_on_complete(env, case, spiff_task)
    row.status, row.assignee_id = TaskStatus.completed, actor.id
    row.completed_at, row.completed_by_id = now, actor.id
    drop_drafts(session, [row])  # 暂存 ends with the task; no statement unless it has drafts
    case.completed_row = row
    append_event(session, case.instance, at=now, action="complete", actor_id=actor.id,
                 actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                 task_id=row.id, org_unit_id=row.org_unit_id, opinion=opinion,
                 data=changed_fields(to_json_safe(before), to_json_safe({**data, **extra})))
    held = hold_for_signers(env, case, row, spiff_task, {**data, **extra}, opinion, now) \
        if hook_failure is None else None
    if held is not None:  # a signer round goes on (会签, 依次, 加签): the task waits for the others
        return held
    keep = keep_completion(row.spiff_task_id, {**data, **extra})
    if hook_failure is not None:  # a bug in the process package: the workflow was not touched
        failure = fail_step(env, case, now, hook_failure, committed_workflow(env, case), keep)
        return step_result(case, failure)
    result = finish_step(env, case, now, spiff_task.run, keep)  # issues the step's documents too
    if result.error is None and row.step_id in case.config.supervision_steps:  # the 督办单 it opens
        open_step_order(env, case, row.step_id, actor, dict(spiff_task.data))
    return result


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


# ----------------------------------------------------------------------------- reads

def case_data(env: Env, instance_id: int) -> dict[str, Any]:
    """The current business data of a case (deserializes one workflow; not for lists)."""
    return to_json_safe(workflow_data(read_workflow(env, instance_id)))  # type: ignore[no-any-return]


def case_history(env: Env, instance_id: int) -> list[HistoryEvent]:
    with env.db.read() as session:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                    .order_by(HistoryEvent.seq)))


__all__ = ["start_case", "claim_task", "unclaim_task", "complete_task", "cancel_case",
           "terminate_case", "suspend_case", "resume_case", "retry_case", "reassign_task",
           "can_act", "deliver_message", "waiting_messages", "may_register_message", "four_eyes_refusal",
           "case_data", "case_history", "StartResult", "StepResult", "EngineError", "MESSAGE_FORM_PREFIX"]
