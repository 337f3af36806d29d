"""Run one step of a case so that whatever fails ends as the case's error state, never as a crash.

`run_step` applies a command's change to the workflow (a user's completion, a delivered message,
an admin's retry; nothing for the worker, whose change is the clock) and runs the engine on, inside
a savepoint of the command's transaction. What can happen:

- it works: state, task rows and history are saved together;
- a clean failure (a script or condition error; SpiffWorkflow left the task in ERROR): the case
  keeps that state and goes to error; retry re-runs the task;
- anything else (a missing data output, a bad timer value, a failing service call, a process
  hook's bug, data the state cannot store): the savepoint is rolled back and the workflow goes
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

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import SQLAlchemyError

from engine.env import Env
from engine.errors import EngineError
from engine.faults import StepFailure, describe, is_clean
from engine.persistence import load_state
from engine.stepper import Case, record_error, run_engine, save_case

log = logging.getLogger(__name__)

Restore = Callable[[], BpmnWorkflow]
Keep = Callable[[BpmnWorkflow], None]


def run_step(env: Env, case: Case, now: datetime, advance: Callable[[], Any] | None = None,
             keep: Keep | None = None, restore: Restore | None = None) -> StepFailure | None:
    """Apply `advance`, run the engine on and save the case; returns the failure, if any.
    `restore` rebuilds the last committed workflow (default: the case's stored state)."""
    committed = case.instance.state
    try:
        with case.session.begin_nested():
            failure = _advance_and_run(case, now, advance)
            save_case(env, case, now)
        return failure
    except (EngineError, SQLAlchemyError):
        raise
    except Exception as exc:  # any other failure of the step: back to the committed state
        restore = restore or (lambda: load_state(committed, case.parsed.spec, case.parsed.subprocess_specs,
                                                 env.script_engine))
        return fail_step(env, case, now, describe(exc, rolled_back=True), restore, keep, exc)


def _advance_and_run(case: Case, now: datetime, advance: Callable[[], Any] | None) -> StepFailure | None:
    try:
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
