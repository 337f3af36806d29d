"""The machinery every command shares: lock and load a case, run the engine, save it, mirror tasks.

Commands in engine/runtime.py and engine/worker.py open one write transaction, call `lock_case`,
change the workflow, then `save_case`, which writes state, task rows and history together.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, bindparam, delete, literal_column, select
from sqlalchemy.orm import Session

from engine import fastflush, faststep, optimistic
from engine.access import can_view_case
from engine.definitions import ParsedDefinition
from engine.env import Env
from engine.errors import Conflict, InvalidState, NotFound
from engine.faults import StepFailure, describe, is_clean
from engine.history import append_event
from engine.interrupts import interrupt
from engine.lanes import LANE_ROLES
from engine.models import (FormDraft, HumanTask, InstanceStatus, ProcessInstance, Role, TaskStatus)
from engine.orgs import SessionOrgLookup
from engine.persistence import dump_state, load_state, to_json_safe
from engine.pruning import prune_finished
from engine.process_api import CaseInfo, CaseLookup, HookContext, ProcessConfig
from engine.timers import timer_due

OPEN_STATUSES = (TaskStatus.open, TaskStatus.claimed)


def is_open_sql() -> ColumnElement[bool]:
    """`human_task.status IN ('open', 'claimed')` with the values written into the SQL text (the
    column stores enum names). `status.in_(OPEN_STATUSES)` binds a list, which SQLAlchemy expands
    into the statement's text again at every execution: about 15 % of the hot read's own time."""
    return HumanTask.status.in_([literal_column(f"'{s.name}'") for s in OPEN_STATUSES])


@dataclass
class Case:
    """A locked case with its live workflow, for the length of one transaction."""
    instance: ProcessInstance
    parsed: ParsedDefinition
    config: ProcessConfig
    workflow: BpmnWorkflow
    session: Session
    orgs: SessionOrgLookup
    open_rows: list[HumanTask] | None = None
    completed_row: HumanTask | None = None
    new_rows: list[HumanTask] = field(default_factory=list)


def role_for_lane(lane: str | None, step_id: str, config: ProcessConfig) -> str:
    if step_id in config.roles:
        return config.roles[step_id]
    if lane is None:
        return Role.caseworker
    try:
        return LANE_ROLES[lane.strip()]
    except KeyError as exc:
        raise InvalidState(f"lane {lane!r} of step {step_id!r} maps to no role",
                           f"流程泳道“{lane}”未对应任何角色") from exc


def process_config(env: Env, key: str) -> ProcessConfig:
    """The process package of a deployed key; NotFound (not a bare KeyError) when it has none."""
    try:
        return env.process(key)
    except KeyError as exc:
        raise NotFound(f"process {key!r} has no process package (workflows/{key}/): {exc}",
                       "该流程尚未配置办理规则，暂不能办理，请联系系统管理员") from exc


def _lock_statements() -> dict[tuple[bool, bool], Any]:
    """`lock_case`'s statements, built once: by (for a task, row lock). Bound: `key`."""
    out = {}
    for for_task in (False, True):
        for locking in (False, True):
            stmt = select(ProcessInstance)
            if for_task:
                stmt = stmt.join(HumanTask, HumanTask.instance_id == ProcessInstance.id).where(
                    HumanTask.id == bindparam("key"))
            else:
                stmt = stmt.where(ProcessInstance.id == bindparam("key"))
            if locking:
                stmt = stmt.with_for_update(of=ProcessInstance)
            out[for_task, locking] = stmt.execution_options(populate_existing=True)
    return out


_LOCK_STATEMENTS = _lock_statements()


def lock_case(env: Env, session: Session, instance_id: int, *, for_task: int | None = None) -> Case:
    """Lock the case row (SELECT … FOR UPDATE on PostgreSQL) and load its workflow."""
    stmt = _LOCK_STATEMENTS[for_task is not None, not env.db.is_sqlite]
    instance = session.scalars(stmt, {"key": for_task if for_task is not None else instance_id}).first()
    if instance is None:
        raise NotFound(f"case {instance_id or ('of task %s' % for_task)} does not exist", "案件不存在")
    parsed = env.specs.get(session, instance.definition_id)
    workflow = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
    return Case(instance, parsed, process_config(env, instance.process_key), workflow, session,
                SessionOrgLookup(session))


def read_workflow(env: Env, instance_id: int) -> BpmnWorkflow:
    """A case's workflow for reading (no lock, no write; deserializes one workflow, so not for lists)."""
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"case {instance_id} does not exist", "案件不存在")
        parsed = env.specs.get(session, instance.definition_id)
        return load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)


def hook_context(env: Env, case_unit_id: int, case_no: str, initiator_id: int | None,
                 orgs: SessionOrgLookup, config: ProcessConfig,
                 cases: CaseLookup | None = None) -> HookContext:
    now = env.clock.now()
    from engine.calendar import to_local_date
    return HookContext(now=now, today=to_local_date(now), calendar=env.calendar, orgs=orgs,
                       case_unit_id=case_unit_id, case_no=case_no, initiator_id=initiator_id,
                       settings={**config.settings, **env.settings.get(config.key, {})},
                       cases=cases)


def case_context(env: Env, case: Case) -> HookContext:
    i = case.instance
    return hook_context(env, i.org_unit_id, i.case_no, i.initiator_id, case.orgs, case.config,
                        SessionCaseLookup(env, case.session))


class SessionCaseLookup:
    """CaseLookup for hooks: other cases read in the command's own session (no locks taken;
    each answer deserializes the few workflows it returns)."""

    MAX_CASES = 50

    def __init__(self, env: Env, session: Session) -> None:
        self._env = env
        self._session = session

    def by_case_no(self, case_no: str) -> CaseInfo | None:
        found = self._session.scalars(select(ProcessInstance).where(
            ProcessInstance.case_no == case_no.strip().upper())).first()
        return self._info(found) if found is not None else None

    def by_subject(self, process_key: str, subject_id_no: str) -> list[CaseInfo]:
        rows = self._session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_key == process_key,
            ProcessInstance.subject_id_no == subject_id_no.strip().upper())
            .order_by(ProcessInstance.id.desc()).limit(self.MAX_CASES))
        return [self._info(i) for i in rows]

    def visible_to(self, case_id: int, user_id: int) -> bool:
        instance = self._session.get(ProcessInstance, case_id)
        return instance is not None and can_view_case(self._session, user_id, instance)

    def _info(self, i: ProcessInstance) -> CaseInfo:
        parsed = self._env.specs.get(self._session, i.definition_id)
        wf = load_state(i.state, parsed.spec, parsed.subprocess_specs, self._env.script_engine)
        return CaseInfo(i.id, i.case_no, i.process_key, i.status.value, i.org_unit_id,
                        i.subject_id_no, i.created_at, i.closed_at,
                        to_json_safe(workflow_data(wf)))


def find_spiff_task(case: Case, spiff_task_id: str) -> SpiffTask:
    try:
        task: SpiffTask = case.workflow.get_task_from_id(UUID(spiff_task_id))
    except Exception as exc:  # TaskNotFoundException and bad UUIDs alike
        raise Conflict(f"task {spiff_task_id} is no longer part of case {case.instance.case_no}",
                       "该任务已不在流程中，请刷新后重试") from exc
    return task


def run_engine(case: Case, now: datetime) -> WorkflowException | None:
    """Run every automatic step and record each timer that fires (a `timer` history event),
    whoever runs the step: the worker, a user's completion, a message, a retry.

    A clean failure (SpiffWorkflow left the failing task in ERROR) is returned, not raised: the
    case keeps that state and goes to error. Any other exception propagates, so that the caller
    rolls the step back (engine.stepguard.run_step)."""
    timers = FiredTimers(case, now)
    try:
        case.workflow.do_engine_steps(did_complete_task=timers.completed)
        case.workflow.refresh_timers()
        case.workflow.do_engine_steps(did_complete_task=timers.completed)
        run_interrupts(case, now, timers)
    except WorkflowException as exc:
        if not is_clean(exc):
            raise
        timers.record_moved()
        return exc
    timers.record_moved()
    return None


def run_interrupts(case: Case, now: datetime, timers: FiredTimers) -> None:
    """Cancel what a started interrupting event subprocess interrupts (SpiffWorkflow runs it beside
    the main flow), record an `interrupt` event per scope, and run on: the scope may now end."""
    for _round in range(10):  # each round ends what the one before let run; a few at most
        interruptions = interrupt(case.workflow)
        if not interruptions:
            return
        for it in interruptions:
            append_event(case.session, case.instance, at=now, action="interrupt", step_id=it.step_id,
                         step_name=it.step_name, data={"cancelled": [name for _sid, name in it.cancelled if name],
                                                       "cancelled_steps": [sid for sid, _name in it.cancelled]})
        case.workflow.do_engine_steps(did_complete_task=timers.completed)


class FiredTimers:
    """Records a `timer` history event for each timer that fires during one engine run: a timer
    event that completes, or a cycle timer that keeps waiting with its next due time moved on."""

    def __init__(self, case: Case, now: datetime) -> None:
        self._case, self._now = case, now
        self._waiting = timer_values(case.workflow)
        self._recorded: set[UUID] = set()

    def completed(self, t: SpiffTask) -> None:
        definition = getattr(t.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and not isinstance(definition, CycleTimerEventDefinition):
            due = t.internal_data.get("event_value")
            self._record(t, due if isinstance(due, str) else None)

    def record_moved(self) -> None:
        for t, due in self._waiting:
            if timer_fired(t, due):
                self._record(t, due)

    def _record(self, t: SpiffTask, due: str | None) -> None:
        if t.id in self._recorded:
            return
        self._recorded.add(t.id)
        append_event(self._case.session, self._case.instance, at=self._now, action="timer",
                     step_id=t.task_spec.bpmn_id, step_name=t.task_spec.bpmn_name, data={"due": due})


def timer_values(workflow: BpmnWorkflow) -> list[tuple[SpiffTask, str]]:
    """(task, next due ISO) for every waiting timer of the workflow: timer events, cycle timers
    (re-armed after each firing) and timers behind an event-based gateway."""
    out = []
    for t in workflow.get_tasks(state=TaskState.WAITING):
        due = timer_due(getattr(t.task_spec, "event_definition", None), t.internal_data.get("event_value"))
        if due is not None:
            out.append((t, due))
    return out


def timer_fired(t: SpiffTask, due: str) -> bool:
    """Whether a timer that was waiting for `due` has fired since: a timer event ran (one that
    was cancelled did not fire), a cycle timer moved its next due time on or ran its last cycle,
    an event-based gateway went down its timer's path."""
    definition = getattr(t.task_spec, "event_definition", None)
    if isinstance(definition, CycleTimerEventDefinition):
        value = t.internal_data.get("event_value")
        return not t.has_state(TaskState.CANCELLED) and timer_due(definition, value) != due
    if isinstance(definition, MultipleEventDefinition):
        outputs = t.task_spec.outputs
        paths = {outputs[i] for i, d in enumerate(definition.event_definitions)
                 if isinstance(d, TimerEventDefinition) and i < len(outputs)}
        return any(c.task_spec in paths and not c.has_state(TaskState.PREDICTED_MASK | TaskState.CANCELLED)
                   for c in t.children)
    return t.has_state(TaskState.READY | TaskState.COMPLETED)


def next_timer(workflow: BpmnWorkflow) -> datetime | None:
    dues = [TimerEventDefinition.get_datetime(v) for _t, v in timer_values(workflow)]
    return min(dues) if dues else None


def _task_due(t: SpiffTask, config: ProcessConfig) -> tuple[datetime | None, bool]:
    key = config.due_keys.get(t.task_spec.bpmn_id)
    if key and t.data.get(key):
        return TimerEventDefinition.get_datetime(str(t.data[key])), bool(t.data.get(f"{key}_provisional"))
    parent = t.parent
    dues = []
    if parent is not None:
        for sib in parent.children:
            value = timer_due(getattr(sib.task_spec, "event_definition", None), sib.internal_data.get("event_value"))
            if sib is not t and value is not None and getattr(sib.task_spec, "cancel_activity", True):
                dues.append(TimerEventDefinition.get_datetime(value))
    return (min(dues) if dues else None), False


def drop_drafts(session: Session, rows: list[HumanTask]) -> None:
    """暂存 (engine.drafts) ends with its task: the drafts of these ended rows go, in the
    transaction that ends them; rows without has_draft cost no statement."""
    ended = [r for r in rows if r.has_draft and r.status not in OPEN_STATUSES]
    # unlocked (engine.optimistic): after the case row's UPDATE, with the step's writes; not from
    # inside a step without a savepoint, whose failure is undone in Python and could not take a
    # kept write back (there the DELETE asks for the savepoint, or the lock, as any write does)
    if ended and optimistic.active(session) and not faststep.running(session):
        for r in ended:
            fastflush.with_step_writes(session, _DROP_DRAFTS, {"task_id": r.id})
    elif ended:
        session.execute(delete(FormDraft).where(FormDraft.task_id.in_([r.id for r in ended])))
    for r in ended:
        r.has_draft = False


_DROP_DRAFTS = delete(FormDraft.__table__).where(
    FormDraft.task_id == bindparam("task_id", type_=FormDraft.task_id.type))


def _drop_drafts(case: Case) -> None:
    """Completed or cancelled rows of a step lose their drafts (complete_task drops its own row's
    before the step runs, which keeps a step without other drafts free of SQL: engine.faststep)."""
    rows = {r.id: r for r in [*(case.open_rows or ()), case.completed_row] if r is not None}
    drop_drafts(case.session, list(rows.values()))


def sync_tasks(env: Env, case: Case, now: datetime) -> None:
    """Mirror the READY manual tasks into human_task: new ones inserted, vanished ones cancelled."""
    if case.open_rows is None:
        case.open_rows = list(case.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == case.instance.id, is_open_sql())))
    ready = {str(t.id): t for t in case.workflow.get_tasks(state=TaskState.READY, manual=True)}
    if case.instance.status in (InstanceStatus.suspended,):
        ready = {}
    known = set()
    for row in case.open_rows:
        if row is case.completed_row:
            continue
        if row.spiff_task_id in ready:
            known.add(row.spiff_task_id)
        else:
            row.status = TaskStatus.cancelled
            row.completed_at = now
    _drop_drafts(case)
    ctx = case_context(env, case) if len(known) < len(ready) else None
    for sid, t in ready.items():
        if sid not in known and ctx is not None:
            case.new_rows.append(_new_row(case, t, ctx, now))
    if case.new_rows:
        case.session.add_all(case.new_rows)
        _widen_scope(case.instance, [r.org_unit_id for r in case.new_rows])
        for hook in NEW_ROW_HOOKS:
            hook(env, case, now)


# Run after new task rows are created, in the same step (engine.verbs.signers gives a step with an
# approval mode its round of signers); registered by engine.runtime.
NEW_ROW_HOOKS: list[Callable[[Env, Case, datetime], None]] = []


def _new_row(case: Case, t: SpiffTask, ctx: HookContext, now: datetime) -> HumanTask:
    step_id = t.task_spec.bpmn_id
    unit_id = case.config.assign(step_id, t.data, ctx) if case.config.assign else case.instance.org_unit_id
    due_at, provisional = _task_due(t, case.config)
    name = t.task_spec.bpmn_name or step_id
    label = case.config.task_label(step_id, t.data) if case.config.task_label else None
    return HumanTask(
        spiff_task_id=str(t.id), instance_id=case.instance.id, process_key=case.instance.process_key,
        case_no=case.instance.case_no, title=case.instance.title, step_id=step_id,
        step_name=f"{name}：{label}"[:128] if label else name,
        role=role_for_lane(t.task_spec.lane, step_id, case.config), org_unit_id=unit_id,
        due_at=due_at, due_provisional=provisional, status=TaskStatus.open, created_at=now)


def _widen_scope(instance: ProcessInstance, unit_ids: list[int]) -> None:
    scope = instance.unit_ids or "/"
    for uid in unit_ids:
        if f"/{uid}/" not in scope:
            scope = f"{scope}{uid}/"
    instance.unit_ids = scope


def record_error(case: Case, error: BaseException | StepFailure, now: datetime) -> StepFailure:
    """Put the case in the error state with message, step and line, and say so in the history."""
    failure = error if isinstance(error, StepFailure) else describe(error, rolled_back=False)
    mark_error(case.session, case.instance, failure, now)
    return failure


def mark_error(session: Session, i: ProcessInstance, failure: StepFailure, now: datetime) -> None:
    """The error state and its history event, on the case row alone (no workflow needed)."""
    i.status = InstanceStatus.error
    i.error_message = failure.message
    i.error_step = failure.step_id
    i.error_line = failure.line
    append_event(session, i, at=now, action="error", step_id=failure.step_id,
                 step_name=failure.step_name,
                 data={"message": failure.message, "line": failure.line,
                       "error_line": failure.error_line, "rolled_back": failure.rolled_back})


def save_case(env: Env, case: Case, now: datetime) -> None:
    """Write the workflow state, the derived columns and the task mirror (history is appended by the
    command itself). The instance's version column makes a concurrent writer fail, not overwrite."""
    i, wf = case.instance, case.workflow
    prune_finished(wf)  # finished rounds of a loop live on in the history, not in the state
    i.state = dump_state(wf)
    i.updated_at = now
    if i.status == InstanceStatus.running and wf.is_completed():
        i.status = InstanceStatus.completed if wf.success else InstanceStatus.terminated
        i.closed_at = now
    i.next_timer_at = next_timer(wf) if i.status == InstanceStatus.running else None
    sync_tasks(env, case, now)


def workflow_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The freshest data of a case: the last completed task's, or the start task's."""
    if workflow.is_completed():
        return dict(workflow.data)
    # A join still waiting for its other branches holds no data: it is not the freshest.
    tasks = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED
                                                    | TaskState.ERROR)
             if t.data]
    if tasks:
        return dict(max(tasks, key=lambda t: t.last_state_change).data)
    return dict(workflow.last_task.data) if workflow.last_task else {}
