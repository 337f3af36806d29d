"""Messages from outside a case (e.g. the army unit's reply): who may register one, delivering it
to a waiting case, and which messages a case waits for now.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy.orm import Session

from engine.commands import StepResult, finish_step, require_running, run_tx, step_result
from engine.env import Env
from engine.errors import InvalidState, PermissionDenied
from engine.faults import describe
from engine.forms import load_form, validate_form
from engine.history import append_event
from engine.models import ProcessInstance
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role
from engine.process_api import ProcessConfig
from engine.stepguard import committed_workflow, fail_step, keep_message
from engine.stepper import Case, lock_case, read_workflow

MESSAGE_FORM_PREFIX = "message_"  # forms/message_<name>.json: the form of a registered message


@logged_command
def deliver_message(env: Env, instance_id: int, message: str, payload: dict[str, Any],
                    actor: Actor | None = None, *, source: str = "系统",
                    step_name: str | None = None) -> StepResult:
    """Deliver a named BPMN message (e.g. the army unit's answer to a query) to a waiting case.
    `source` names the sender in the history when no user sends it (e.g. the petitioner);
    `step_name` is the history's readable label of the message (default: its form's title).
    A message of `ProcessConfig.message_roles` needs an `actor` holding its role at the case's
    unit (PermissionDenied otherwise) and a payload that fits forms/message_<name>.json."""
    def body(session: Session) -> StepResult:
        case = lock_case(env, session, instance_id)
        require_running(case)
        _check_message_role(session, case, message, actor)
        schema = load_form(case.config.forms_dir, f"{MESSAGE_FORM_PREFIX}{message}")
        if schema is not None:
            validate_form(schema, payload, session)
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
            return step_result(case, fail_step(env, case, now, failure, committed))
        return finish_step(env, case, now, keep=keep_message(message, payload))
    return run_tx(env, body)


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
    wf = read_workflow(env, instance_id)
    return [e.name for e in wf.waiting_events() if e.event_type == "MessageEventDefinition"]
