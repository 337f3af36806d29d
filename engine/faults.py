"""What went wrong in a step: any exception raised while a case runs, described as step, line and message.

SpiffWorkflow reports script and condition errors as WorkflowTaskException with the failing task
(left in the ERROR state: a clean failure the case can keep and an admin can retry). Anything else
(a missing data output, a bad timer value, an error in a service call, a bug in a process hook, a
value the state cannot store) leaves no such trace, so the failing task is looked up in the
traceback: the innermost frame that was working on a task.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

_TASK_LOCALS = ("my_task", "task", "spiff_task", "self")
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class StepFailure:
    """A failed step, as the case's error state and the history record it."""
    message: str            # precise English, for the admin page and the logs
    step_id: str | None
    step_name: str | None
    line: int | None        # line in the script, when a script failed
    error_line: str | None  # that line's text
    rolled_back: bool       # the workflow went back to its last committed state

    @property
    def user_message(self) -> str:
        """What the user whose action ran into the failure is told (Chinese)."""
        where = f"“{self.step_name}”步骤" if self.step_name else "后续步骤"  # never a bare element id
        if self.rolled_back:
            return (f"您的办理已记录，但流程在{where}运行出错，该步骤及之后的自动处理均未生效；"
                    "案件已暂停并通知系统管理员，处理后将继续流转。")
        return (f"您的办理已提交，但流程在{where}运行出错；案件已暂停并通知系统管理员，"
                "处理后将继续流转。")


def is_clean(exc: BaseException) -> bool:
    """A failure SpiffWorkflow itself contained: the failing task is in ERROR and the rest of the
    workflow is as it was before that task ran, so the case can keep this state."""
    task = getattr(exc, "task", None)
    return isinstance(exc, WorkflowTaskException) and isinstance(task, SpiffTask) \
        and task.state == TaskState.ERROR


def failing_task(exc: BaseException) -> SpiffTask | None:
    """The task an exception was raised for: its own `.task`, else the innermost traceback frame
    that held a task."""
    task = getattr(exc, "task", None)
    if isinstance(task, SpiffTask):
        return task
    found = None
    tb = exc.__traceback__
    while tb is not None:
        local_vars = tb.tb_frame.f_locals
        for name in _TASK_LOCALS:
            value = local_vars.get(name)
            if isinstance(value, SpiffTask):
                found = value
                break
        tb = tb.tb_next
    return found


def describe(exc: BaseException, *, rolled_back: bool, task: Any = None,
             hook: str | None = None) -> StepFailure:
    """A StepFailure for an exception; `task` names the step when the exception does not,
    `hook` names the process hook that raised it."""
    failed = failing_task(exc) or task
    line = getattr(exc, "line_number", None)
    if isinstance(exc, WorkflowException):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    if hook:
        message = f"process hook {hook} failed: {message}"
    return StepFailure(
        message=message[:MAX_MESSAGE],
        step_id=failed.task_spec.bpmn_id if failed is not None else None,
        step_name=failed.task_spec.bpmn_name if failed is not None else None,
        line=int(line) if isinstance(line, int) and line > 0 else None,
        error_line=getattr(exc, "error_line", None) or None,
        rolled_back=rolled_back)
