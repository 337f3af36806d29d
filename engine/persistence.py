"""Workflow state to JSON and back, without the spec.

The spec of a definition version is parsed once and cached; each case stores only its own parts
(tasks, data, subprocesses, pending events). Loading builds the workflow around the cached spec
object, so no spec is written or rebuilt per command. What SpiffWorkflow's own deserializer
restores on the spec (multi-instance merges, event subprocess wiring) is wired once per parsed
spec by engine.wiring, the same for every case; what it restores on the workflow (subprocess
completion callbacks, waiting events) is restored here per load.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.task import Task, TaskState
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.timers import ENGINE_CLOCK_TIMERS
from engine.wiring import ensure_wired

STATE_FORMAT = "rongflow-1"


# Task ids as loaded: each id appears four times in a state (its key, its own id, its parent's
# reference and its children's), and parsing one (uuid.UUID) costs more than a dict lookup. UUIDs
# are immutable, so one object may serve every workflow; the memo is emptied when it grows large.
# Written back the same way: each id's text made once (`_text`).
_UUIDS: dict[str, UUID] = {}
_TEXTS: dict[UUID, str] = {}
_UUIDS_MAX = 50_000


def _memo(table: dict[Any, Any], key: Any, make: Any) -> Any:
    found = table.get(key)
    if found is None:
        if len(table) >= _UUIDS_MAX:
            table.clear()
        found = table[key] = make(key)
    return found


def _uuid(text: str) -> UUID:
    return _memo(_UUIDS, text, UUID)  # type: ignore[no-any-return]


def _text(value: UUID) -> str:
    return _memo(_TEXTS, value, str)  # type: ignore[no-any-return]


class TaskIdConverter(TaskConverter):
    """SpiffWorkflow 3.2's TaskConverter (pinned, pyproject.toml), each id parsed once (`_uuid`)
    and written once (`_text`); tests/unit/test_persistence_ids.py checks that every fixture's
    every state loads and dumps as with SpiffWorkflow's own."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
        return {
            "id": _text(task.id),
            "parent": _text(task._parent) if parent is not None else None,
            "children": [_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                if key in data:
                    del data[key]
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None,
                  subprocess_specs: dict[str, Any] | None = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_serializer(task_converter: type[TaskConverter] = TaskIdConverter) -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    config[Task] = task_converter
    # Timer definitions swapped for clock-aware ones show up in task data (an event-based
    # gateway keeps the events it saw), so they need a converter too.
    for clock_cls in ENGINE_CLOCK_TIMERS:
        config[clock_cls] = config[clock_cls.__mro__[1]]
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda d: date.fromisoformat(d["value"]))
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _build_serializer()


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's own state as JSON (no spec)."""
    text: str = _SERIALIZER.serialize_json(workflow)
    return text


def load_state(state: str, spec: Any, subprocess_specs: dict[str, Any],
               script_engine: Any) -> BpmnWorkflow:
    """Rebuild a workflow from its stored state around an already parsed spec."""
    ensure_wired(spec, subprocess_specs)
    dct = json.loads(state)
    dct.pop(_SERIALIZER.VERSION_KEY, None)
    workflow: BpmnWorkflow = _SERIALIZER.from_dict(dct, spec=spec,
                                                  subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def to_json_safe(value: Any) -> Any:
    """Task data as plain JSON values (for history, summaries and the API)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, (date, Decimal, UUID)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
