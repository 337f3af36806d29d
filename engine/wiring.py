"""Runtime wiring of a parsed spec, made once at parse time so every case finds it in place.

SpiffWorkflow connects a few things on the *spec* while a workflow runs, and its own serializer
restores them because it stores the spec with each workflow:
- a multi-instance or standard-loop task connects its child's `completed_event` to its merge
  (`create_child` in bpmn/specs/mixins/multiinstance_task.py; restored by the spec converter);
- an event subprocess started by a signal, message, error or escalation is connected to the
  process's Start and End when the event first arrives (`BpmnStartTask.trigger_wf`); without
  that, the subprocess task fails its `test()` ("No input task connected") when it becomes
  ready in a process that parsed the spec afresh;
- an ad-hoc subprocess connects a conditional path to its Start when it restarts it.

RongFlow shares one parsed spec between every case of a definition version, so the wiring must
not depend on a case. `prewire` makes each connection up front, in a form that is the same for
every case and that SpiffWorkflow then finds already made (so it never mutates the shared spec
at run time):
- the merge connections are exactly the ones SpiffWorkflow makes (a bound method of the loop's
  spec; it acts only on the child it is given);
- event subprocess and ad-hoc path specs get Start among their *inputs* (and the event
  subprocess the End among its outputs), but Start's outputs are left alone, so a new case does
  not predict a branch for an event that has not happened.

`lift_depth_limit` removes SpiffWorkflow's task-iterator depth limit (1,000 levels), which
otherwise hides the open task of a case that looped about 333 times and makes it look finished.
"""
from __future__ import annotations

import sys
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

UNLIMITED_DEPTH = sys.maxsize
_WIRED = "_rongflow_wired"  # set on a process spec once prewire has run on it


def prewire(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Make the runtime connections of a process spec and its subprocess specs (idempotent)."""
    lift_depth_limit()
    setattr(spec, _WIRED, True)
    for s in [spec, *subprocess_specs.values()]:
        _wire_loops(s)
        _wire_event_subprocesses(s)
        if isinstance(s, AdHocSubprocessSpec):
            for path_spec in s.conditional_paths:
                _add_input(path_spec, s.start)


def _wire_loops(spec: Any) -> None:
    for task_spec in list(spec.task_specs.values()):
        if isinstance(task_spec, LoopTask):
            child_spec = spec.task_specs[task_spec.task_spec]
            if not child_spec.completed_event.is_connected(task_spec.merge_child):
                child_spec.completed_event.connect(task_spec.merge_child)


def _wire_event_subprocesses(spec: Any) -> None:
    start = spec.start
    for name in getattr(start, "trigger_specs", []):
        task_spec = spec.task_specs.get(name)
        if task_spec is None or start in task_spec.inputs:
            continue
        _add_input(task_spec, start)
        if spec.end not in task_spec.outputs:
            task_spec._outputs.append(spec.end.name)
            spec.end._connect_notify(task_spec)


def _add_input(task_spec: Any, source: Any) -> None:
    if source.name not in task_spec._inputs:
        task_spec._inputs.append(source.name)


def lift_depth_limit() -> None:
    """Let every task iterator look as deep as the tree goes (SpiffWorkflow stops at 1,000)."""
    for cls in (TaskIterator, BpmnTaskIterator):
        defaults = cls.__init__.__defaults__
        if defaults is None:
            continue
        names = cls.__init__.__code__.co_varnames[:cls.__init__.__code__.co_argcount]
        index = names.index("max_depth") - (len(names) - len(defaults))
        if defaults[index] != UNLIMITED_DEPTH:
            cls.__init__.__defaults__ = defaults[:index] + (UNLIMITED_DEPTH,) + defaults[index + 1:]


def ensure_wired(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """`prewire` unless this spec object was wired already (a flag on the spec; cheap per load)."""
    if not getattr(spec, _WIRED, False):
        prewire(spec, subprocess_specs)
        setattr(spec, _WIRED, True)
