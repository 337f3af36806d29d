"""Run one step of a case so that whatever fails ends as the case's error state, never as a crash.

`run_step` applies a command's change to the workflow (a user's completion, a delivered message,
an admin's retry; nothing for the worker, whose change is the clock) and runs the engine on, inside
a savepoint of the command's transaction. What can happen:

- it works: state, task rows and history are saved together;
- a clean failure (a script, condition or service task error; SpiffWorkflow left the task in
  ERROR): the case keeps that state and goes to error; retry re-runs the task;
- anything else (a missing data output, a bad timer value, a process hook's bug, data the state
  cannot store): the savepoint is rolled back and the workflow goes
  back to its last committed state; `keep` then re-applies what must survive (a completion keeps
  its form data on its task, marked ERROR, so retry re-runs the completion); the case goes to error.

Either way the command's own history event (complete, message, retry) stays, an `error` event
follows with step and line, and the admin retries from the case operations page. Engine errors
(deliberate refusals) and database errors are not step failures: they propagate and the whole
transaction rolls back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import SQLAlchemyError

from engine import faststep
from engine.documents import steps as step_documents
from engine.env import Env
from engine.errors import EngineError
from engine.faults import StepFailure, describe, is_clean
from engine.persistence import load_state
from engine.named_queries import QueryScope, query_scope
from engine.stepper import Case, case_context, record_error, run_engine, save_case

log = logging.getLogger(__name__)

Restore = Callable[[], BpmnWorkflow]
Keep = Callable[[BpmnWorkflow], None]


def run_step(env: Env, case: Case, now: datetime, advance: Callable[[], Any] | None = None,
             keep: Keep | None = None, restore: Restore | None = None) -> StepFailure | None:
    """Apply `advance`, run the engine on and save the case; returns the failure, if any.
    `restore` rebuilds the last committed workflow (default: the case's stored state)."""
    restore = restore or committed_workflow(env, case)
    done_before = step_documents.before(env, case)
    # Without SQL inside, the step rolls back in Python (engine.faststep), else in a SAVEPOINT.
    snapshot = faststep.Snapshot(case.session, case.open_rows) if faststep.allowed(case.session) else None
    try:
        with faststep.guarded(case.session) if snapshot is not None else case.session.begin_nested():
            failure = _advance_and_run(case, now, advance)
            if failure is None:  # the documents of every step this one completed, same transaction
                step_documents.issue_completed(env, case, done_before, now)
            save_case(env, case, now)
        return failure
    except (EngineError, SQLAlchemyError):
        raise
    except Exception as exc:  # any other failure of the step: back to the committed state
        if snapshot is not None:
            case.open_rows = snapshot.undo()
        return fail_step(env, case, now, describe(exc, rolled_back=True), restore, keep, exc)


def _advance_and_run(case: Case, now: datetime, advance: Callable[[], Any] | None) -> StepFailure | None:
    # the named queries its process lists, callable from its scripts, expressions and DMN tables
    queries = QueryScope(case.session, now, case.config.callable_queries, case.instance.id)
    try:
        with query_scope(queries):
            if advance is not None:
                advance()
            error = run_engine(case, now)
    except WorkflowException as exc:
        if not is_clean(exc):
            raise
        error = exc
    return record_error(case, error, now) if error is not None else None


def fail_step(env: Env, case: Case, now: datetime, failure: StepFailure, restore: Restore,
              keep: Keep | None = None, exc: BaseException | None = None) -> StepFailure:
    """Put the case in error at its restored workflow (plus what `keep` re-applies) and save."""
    log.warning("case %s: step %s failed (%s)", case.instance.case_no, failure.step_id, failure.message,
                exc_info=exc)
    case.workflow = restore()
    case.new_rows = []
    if keep is not None:
        keep(case.workflow)
    record_error(case, failure, now)
    save_case(env, case, now)
    return failure


def keep_completion(spiff_task_id: str, data: dict[str, Any]) -> Keep:
    """After a rollback, a user's completion keeps its form data on its task, marked ERROR: the
    admin's retry re-runs the completion (hook and all) from there."""
    def keep(workflow: BpmnWorkflow) -> None:
        task = workflow.get_task_from_id(UUID(spiff_task_id))
        task.set_data(**data)
        task.error()
    return keep


def keep_fix(data_fix: dict[str, Any]) -> Keep:
    """After a rollback, a retry keeps the admin's corrected data on the failed tasks."""
    def keep(workflow: BpmnWorkflow) -> None:
        for task in workflow.get_tasks(state=TaskState.ERROR):
            task.set_data(**data_fix)
    return keep


def keep_message(message: str, payload: dict[str, Any]) -> Keep:
    """After a rollback, the delivered message stays caught (its catch event runs on retry)."""
    def keep(workflow: BpmnWorkflow) -> None:
        workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload=payload))
    return keep


# ----------------------------------------------------------------------------- hooks

def run_on_complete(env: Env, case: Case, spiff_task: Any) -> tuple[dict[str, Any], StepFailure | None]:
    """Run the process's on_complete hook and add its data to the task. An EngineError is the
    hook's deliberate refusal and propagates; any other exception is a bug in the process
    package: the case goes to error (the completion is recorded) and retry re-runs the hook."""
    if not case.config.on_complete:
        return {}, None
    step_id = spiff_task.task_spec.bpmn_id
    try:
        extra = case.config.on_complete(step_id, dict(spiff_task.data), case_context(env, case))
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - any bug in a hook becomes the case's error state
        return {}, describe(exc, rolled_back=True, task=spiff_task, hook="on_complete")
    spiff_task.set_data(**extra)
    return extra, None


def rerun_failed(env: Env, case: Case, failed: list[Any], data_fix: dict[str, Any]) -> None:
    """Re-run failed tasks with the admin's corrected data. A user task in error is a completion
    that was rolled back: its on_complete hook runs again before it completes."""
    for t in failed:
        t.set_data(**data_fix)
        if t.task_spec.manual and case.config.on_complete:
            t.set_data(**case.config.on_complete(t.task_spec.bpmn_id, dict(t.data), case_context(env, case)))
        t.run()


def committed_workflow(env: Env, case: Case) -> Restore:
    """Rebuilds the case's workflow as last committed (before this command changed it)."""
    state = case.instance.state
    return lambda: load_state(state, case.parsed.spec, case.parsed.subprocess_specs, env.script_engine)
