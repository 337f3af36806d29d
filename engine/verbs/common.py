"""What the verbs share: per-step settings, the holder check, and walking the SpiffWorkflow tree."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy.orm import Session

from engine.env import Env
from sqlalchemy import select

from engine.errors import Conflict, FormInvalid, NotFound, PermissionDenied
from engine.models import HumanTask, ProcessInstance, TaskStatus
from engine.orgs import Actor, SessionOrgLookup, has_role
from engine.persistence import load_state
from engine.process_api import ProcessConfig
from engine.stepper import OPEN_STATUSES, Case, process_config

# Per-step defaults; a package overrides them in settings["verbs"][step_id] (or "*" for all
# steps), and a deployment in env.settings[key]["verbs"].
DEFAULTS: dict[str, Any] = {
    "return": True,            # 退回 from this step to an earlier one
    "return_mode": "path",     # after the fix: "path" walks the steps again, "direct" comes straight back
    "withdraw": True,          # 撤回 of this step by its completer while the next is untouched
    "transfer": True,          # 转办 of this step's task to another holder of its role
    "urge_interval_hours": 4,  # 催办: at most one per task in this many hours
    "approval": None,          # an approval mode (engine.verbs.signers), e.g. {"mode": "all", ...}
}


def step_setting(env: Env, config: ProcessConfig, step_id: str, name: str) -> Any:
    """A verb setting of one step: deployment, then package, step before "*", then the default."""
    for source in (env.settings.get(config.key, {}), config.settings):
        verbs = source.get("verbs", {}) if isinstance(source, dict) else {}
        for scope in (step_id, "*"):
            if name in verbs.get(scope, {}):
                return verbs[scope][name]
    return DEFAULTS[name]


def require_reason(text: str | None, field: str = "opinion", message: str = "请填写意见") -> str:
    if not text or not text.strip():
        raise FormInvalid({field: message})
    return text.strip()


def holds(session: Session, user_id: int, row: HumanTask) -> bool:
    """Whether the user holds this open task now: its role at its unit, and not claimed by another."""
    if row.status not in OPEN_STATUSES:
        return False
    if row.status == TaskStatus.claimed and row.assignee_id != user_id:
        return False
    return has_role(session, user_id, row.role, row.org_unit_id)


def require_holder(session: Session, row: HumanTask, actor: Actor, granted: bool) -> None:
    if row.status == TaskStatus.claimed and row.assignee_id != actor.id:
        raise Conflict(f"task {row.id} is claimed by user {row.assignee_id}", "该任务已被他人认领")
    if not granted:
        raise PermissionDenied(f"user {actor.id} does not hold task {row.id}", "您不是该任务的办理人")


def read_task_case(env: Env, session: Session, task_id: int, user_id: int) -> tuple[Case, HumanTask, bool]:
    """Like engine.commands.load_task_case, for the pages' questions: no row lock taken, so a page
    view never waits for (or holds up) a command on the case."""
    row = session.get(HumanTask, task_id)
    instance = session.get(ProcessInstance, row.instance_id) if row is not None else None
    if row is None or instance is None:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    case = read_case(env, session, instance)
    case.open_rows = list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_(OPEN_STATUSES))))
    return case, row, has_role(session, user_id, row.role, row.org_unit_id)


def read_case(env: Env, session: Session, instance: ProcessInstance) -> Case:
    """The case with its live workflow, for a page's question (no row lock, open rows not read)."""
    parsed = env.specs.get(session, instance.definition_id)
    workflow = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
    return Case(instance, parsed, process_config(env, instance.process_key), workflow, session,
                SessionOrgLookup(session))


def ancestors(task: SpiffTask) -> Iterator[SpiffTask]:
    """The task's ancestors, nearest first, across call activity and subprocess boundaries."""
    current = task
    while True:
        parent = current.parent
        if parent is None:
            sp_id = current.workflow.parent_task_id
            if sp_id is None:
                return
            parent = current.workflow.top_workflow.get_task_from_id(sp_id)
        yield parent
        current = parent


def descendants(task: SpiffTask) -> Iterator[SpiffTask]:
    """Every task below this one, into subprocesses started below it."""
    top = task.workflow.top_workflow
    for t in task:
        if t is not task:
            yield t
        sub = top.subprocesses.get(t.id)
        if sub is not None:
            yield from sub.get_tasks()


def in_multi_instance(task: SpiffTask) -> bool:
    """Whether the task is one instance of a multi-instance or loop activity."""
    return any(isinstance(a.task_spec, LoopTask) for a in ancestors(task))


def open_rows_by_spiff(case: Case) -> dict[str, HumanTask]:
    return {r.spiff_task_id: r for r in case.open_rows or []}


def new_row_for(case: Case, spiff_task_id: str) -> HumanTask | None:
    return next((r for r in case.new_rows if r.spiff_task_id == spiff_task_id), None)
