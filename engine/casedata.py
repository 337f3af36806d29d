"""Reads that deserialize one case's workflow, for the pages that need more than the task rows
and the history: one task's own data (options of fields listed from the case data, i.e.
"x-options-from") and the messages a case waits for. One workflow load per call; not for lists.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from sqlalchemy.orm import Session

from engine.env import Env
from engine.models import ProcessInstance
from engine.persistence import load_state
from engine.process_api import ProcessConfig

OPTIONS_FROM = "x-options-from"
Options = list[tuple[str, str]]


def load_workflow(env: Env, session: Session, instance: ProcessInstance) -> BpmnWorkflow:
    parsed = env.specs.get(session, instance.definition_id)
    return load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)


def task_data(env: Env, session: Session, instance: ProcessInstance,
              spiff_task_id: str) -> dict[str, Any]:
    """The data of one task (a multi-instance task's own element included); {} if it is gone."""
    workflow = load_workflow(env, session, instance)
    try:
        return dict(workflow.get_task_from_id(UUID(spiff_task_id)).data)
    except (TaskNotFoundException, ValueError):  # gone from the workflow, or a bad id
        return {}


def waiting_message_names(env: Env, session: Session, instance: ProcessInstance) -> list[str]:
    """The BPMN messages the case waits for now."""
    return [e.name for e in load_workflow(env, session, instance).waiting_events()
            if e.event_type == "MessageEventDefinition"]


def lists_options(schema: dict[str, Any] | None) -> bool:
    """Whether a form has a field whose options come from the task's data."""
    return any(OPTIONS_FROM in p for p in (schema or {}).get("properties", {}).values())


def field_options(config: ProcessConfig, schema: dict[str, Any] | None,
                  data: dict[str, Any]) -> dict[str, Options]:
    """{field: [(value, label)]} of the form's "x-options-from" fields: from the process's
    `option_sources`, else from a list in the task data (values, or {value, label} items)."""
    out: dict[str, Options] = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        source = prop.get(OPTIONS_FROM)
        if not isinstance(source, str):
            continue
        if source in config.option_sources:
            out[name] = [(str(v), str(label)) for v, label in config.option_sources[source](data)]
        else:
            out[name] = [_option(item) for item in data.get(source) or []]
    return out


def _option(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        value = item.get("value")
        return str(value), str(item.get("label", value))
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return str(item[0]), str(item[1])
    return str(item), str(item)
