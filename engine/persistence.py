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
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.timers import ENGINE_CLOCK_TIMERS
from engine.wiring import ensure_wired

STATE_FORMAT = "rongflow-1"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None,
                  subprocess_specs: dict[str, Any] | None = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
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
