"""The documents a completed step issues (ProcessConfig.documents rules), in the step's transaction.

One hook for every way a step completes: `engine.stepguard.run_step` takes `before(case)` ahead of
the command's change and calls `issue_completed` once the engine has run on, so a user's
completion, a signer round decided, the timeout policy's auto-act, a timer or message that
completes a step, a retry, the demo city and the CLI all issue the same documents. A user task's
documents name the user the history names for that completion; a step no user completed (a timer,
an automatic step, the auto-act) is issued by 系统.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.documents.issue import Issuer, issue_document
from engine.env import Env
from engine.models import CaseDocument, HistoryEvent, HumanTask, TaskStatus
from engine.stepper import Case

COMPLETING_ACTIONS = ("complete", "auto_act")


def before(env: Env, case: Case) -> frozenset[UUID] | None:
    """The tasks already completed before a step (None: this case's process issues nothing)."""
    docs = case.config.documents
    if docs is None or not docs.rules or env.upload_dir is None:
        return None
    return frozenset(t.id for t in _completed(case))


def _completed(case: Case) -> list[SpiffTask]:
    """Every completed task, those of running subprocesses too (a filter on COMPLETED alone would
    not look below a subprocess task still STARTED)."""
    return [t for t in case.workflow.get_tasks(state=TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK)
            if t.state == TaskState.COMPLETED]


def issue_completed(env: Env, case: Case, done_before: frozenset[UUID] | None, now: datetime) -> list[CaseDocument]:
    """Issue the documents of every step completed since `before`, in the order they completed."""
    docs = case.config.documents
    if done_before is None or docs is None or env.upload_dir is None:
        return []
    steps = {r.step_id for r in docs.rules}
    done = [t for t in _completed(case) if t.id not in done_before and t.task_spec.bpmn_id in steps
            and not isinstance(t.task_spec, LoopTask)]  # a multi-instance's own task: its items issue
    issued = []
    for t in sorted(done, key=lambda t: t.last_state_change):
        issued += _issue_for(env, case, t, now)
    return issued


def _issue_for(env: Env, case: Case, t: SpiffTask, now: datetime) -> list[CaseDocument]:
    docs = case.config.documents
    assert docs is not None and env.upload_dir is not None
    data = dict(t.data)
    rules = docs.for_step(t.task_spec.bpmn_id, data)
    if not rules:
        return []
    row = _row_of(case, t)
    actor_id, actor_name = _completer(case, row)
    step_name = row.step_name if row is not None else (t.task_spec.bpmn_name or t.task_spec.bpmn_id)
    out = []
    for rule, doc in rules:
        unit = case.instance.org_unit_id if rule.issuer == "case" or row is None else row.org_unit_id
        issuer = Issuer(actor_id, actor_name, case.orgs.organ_of(unit), t.task_spec.bpmn_id, step_name,
                        row.id if row is not None else None)
        out.append(issue_document(case.session, case.instance, docs, doc, data, issuer, env.upload_dir, now))
    return out


def _row_of(case: Case, t: SpiffTask) -> HumanTask | None:
    """The task row of a completed user task (the last completed one of a signer round)."""
    if not t.task_spec.manual:
        return None
    row = case.completed_row
    if row is not None and row.spiff_task_id == str(t.id):
        return row
    return case.session.scalar(select(HumanTask).where(
        HumanTask.instance_id == case.instance.id, HumanTask.spiff_task_id == str(t.id),
        HumanTask.status == TaskStatus.completed).order_by(HumanTask.id.desc()).limit(1))


def _completer(case: Case, row: HumanTask | None) -> tuple[int | None, str]:
    """Who the history says completed the row (a user, a proxy, or 系统 for the auto-act)."""
    if row is None:
        return None, "系统"
    event = case.session.scalar(select(HistoryEvent).where(
        HistoryEvent.instance_id == case.instance.id, HistoryEvent.task_id == row.id,
        HistoryEvent.action.in_(COMPLETING_ACTIONS)).order_by(HistoryEvent.seq.desc()).limit(1))
    if event is None:
        return None, "系统"
    return event.actor_id, event.actor_name
