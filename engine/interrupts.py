"""Interrupting event subprocesses: when one starts, the rest of its (sub)process is cancelled.

BPMN 2.0 (§10.3.5, §10.5): the start event of an event subprocess is interrupting unless it says
`isInterrupting="false"`. When an interrupting one starts, every other activity of the enclosing
(sub)process is cancelled (its open tasks, its waiting timers and messages, the other event
subprocesses waiting there), and the (sub)process completes when the event subprocess completes.
A non-interrupting one runs beside the rest and may start more than once.

SpiffWorkflow 3.2 ignores `isInterrupting`: the event subprocess always runs beside the main
flow. RongFlow therefore reads the attribute at parse time (`mark_interrupting`: a read-only set
of event subprocess spec names kept on the parsed process spec, the same for every case) and,
after every engine run, `interrupt` cancels what such a started event subprocess has interrupted.
The rule is a state, not a one-off: it is applied again after every step, so whatever a later
event starts in an interrupted scope (another event subprocess) is cancelled too; when several
interrupting ones started in one scope, the first to start wins.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                     ESCALATION_EVENT_XPATH, MESSAGE_EVENT_XPATH,
                                                     SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH)
from SpiffWorkflow.bpmn.specs.defaults import StartEvent as StartEventSpec
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.event_parsers import SpiffStartEventParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

INTERRUPTING = "_rongflow_interrupting"  # on a parsed process spec: names of interrupting event subprocess specs
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Interruption:
    """One scope interrupted during an engine run: the event subprocess that did it and the
    steps it cancelled (user tasks, waiting events, other event subprocesses), by id and name."""
    step_id: str
    step_name: str | None
    cancelled: list[tuple[str, str | None]]


class EventSubprocessStartParser(SpiffStartEventParser):
    """A start event parser that also reads the error and escalation start of an event subprocess
    (SpiffWorkflow 3.2 reads only message, signal, timer and conditional starts, so an error event
    subprocess got a none start and ran as soon as the case started)."""

    def create_task(self) -> Any:
        xpaths = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH]
        if _is_event_subprocess(self.process_parser.node):
            xpaths += [ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH]
        task = self._create_task(self.get_event_definition(xpaths))
        self.spec.start.connect(task)
        return task


class RongFlowParser(SpiffBpmnParser):
    """SpiffWorkflow's parser with the event subprocess start parser above."""
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("startEvent"): (EventSubprocessStartParser, StartEventSpec)}


def _is_event_subprocess(node: Any) -> bool:
    return bool(node.tag == f"{{{BPMN_NS}}}subProcess"
                and node.get("triggeredByEvent", "").strip().lower() == "true")


def interrupting_specs(parser: Any, spec: Any, subprocess_specs: dict[str, Any]) -> frozenset[str]:
    """The names of the event subprocess specs (their subProcess ids) whose start event is
    interrupting, read from the XML the parser holds (BPMN's default is interrupting). SpiffWorkflow's
    own parser gives an event subprocess an ordinary SubWorkflowTask spec, so the XML decides."""
    names = set()
    for s in [spec, *subprocess_specs.values()]:
        process_parser = parser.process_parsers.get(s.name)
        if process_parser is None:
            continue
        for node in process_parser.node.findall(f"{{{BPMN_NS}}}subProcess"):
            if _is_event_subprocess(node) and _is_interrupting(node):
                names.add(node.get("id"))
    return frozenset(names)


def _is_interrupting(node: Any) -> bool:
    starts = node.findall(f"{{{BPMN_NS}}}startEvent")
    return any(s.get("isInterrupting", "true").strip().lower() != "false" for s in starts)


def mark_interrupting(parser: Any, spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Record on the parsed spec which event subprocesses interrupt (read by `interrupt`)."""
    setattr(spec, INTERRUPTING, interrupting_specs(parser, spec, subprocess_specs))


def interrupting_of(spec: Any) -> frozenset[str]:
    return getattr(spec, INTERRUPTING, frozenset())


def interrupt(workflow: Any, names: frozenset[str] | None = None) -> list[Interruption]:
    """Cancel what every started interrupting event subprocess interrupts, in each scope (the
    workflow and each of its subprocesses); returns the scopes where something was cancelled."""
    names = interrupting_of(workflow.spec) if names is None else names
    if not names:
        return []
    done = []
    for scope in [workflow, *list(workflow.subprocesses.values())]:
        winner = _first_started(workflow, scope, names)
        if winner is not None:
            cancelled = _cancel_others(workflow, scope, winner)
            if cancelled is not None:
                _end_with(scope, winner)
                done.append(Interruption(winner.task_spec.bpmn_id, winner.task_spec.bpmn_name, cancelled))
    return done


def _first_started(top: Any, scope: Any, names: frozenset[str]) -> Any:
    started = []
    for t in scope.tasks.values():
        if isinstance(t.task_spec, SubWorkflowTask) and t.task_spec.spec in names:
            when = _started_at(top, t)
            if when is not None:
                started.append((when, t))
    return min(started, key=lambda p: p[0])[1] if started else None


def _started_at(top: Any, t: Any) -> float | None:
    """When the event subprocess's start event fired (None while it waits or once cancelled)."""
    if t.has_state(TaskState.CANCELLED | TaskState.PREDICTED_MASK):
        return None
    sub = top.subprocesses.get(t.id)
    if sub is not None:
        fired = [s.last_state_change for s in sub.tasks.values()
                 if isinstance(s.task_spec, StartEvent) and s.state == TaskState.COMPLETED]
        return min(fired) if fired else None
    return t.last_state_change if t.state == TaskState.COMPLETED else None


def _cancel_others(top: Any, scope: Any, winner: Any) -> list[tuple[str, str | None]] | None:
    """Cancel every unfinished task of the scope outside the winner's own line (its ancestors,
    itself and its subtree); None when there was nothing to cancel."""
    keep = {t.id for t in _ancestors(winner)} | {t.id for t in _subtree(winner)}
    doomed = [t for t in scope.tasks.values()
              if t.id not in keep and not t.has_state(TaskState.FINISHED_MASK)]
    tops = [t for t in doomed if t.parent is None or t.parent.id in keep
            or t.parent.has_state(TaskState.FINISHED_MASK)]
    if not tops:
        return None
    cancelled: list[tuple[str, str | None]] = []
    for t in tops:
        cancelled += _active_steps(top, t)
    _carry_data(top, winner, [t for t in tops if t.has_state(_ACTIVE)])
    for t in tops:
        if t.id in scope.tasks and not t.has_state(TaskState.FINISHED_MASK):
            t.cancel()
    return cancelled


def _carry_data(top: Any, winner: Any, interrupted: list[Any]) -> None:
    """The interrupted flow's data goes on in the event subprocess (its own values win): BPMN's
    process data is shared, SpiffWorkflow's event subprocess works on a copy taken when it started."""
    carried: dict[str, Any] = {}
    for t in sorted(interrupted, key=lambda t: t.last_state_change):
        carried.update(t.data)
    if not carried:
        return
    sub = top.subprocesses.get(winner.id)
    targets = [t for t in sub.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)] if sub else []
    if winner.state == TaskState.COMPLETED or not targets:
        targets = [winner]
    for t in targets:
        t.data = {**deepcopy(carried), **t.data}


def _end_with(scope: Any, winner: Any) -> None:
    """Make the scope end when the event subprocess ends: SpiffWorkflow gives an event subprocess
    started by a signal, message, error or escalation no path to the scope's end join, so the
    scope would finish without merging its data."""
    end = scope.spec.end
    if any(c.task_spec.name == end.name for c in winner.children):
        return
    child = winner._add_child(end, TaskState.FUTURE)
    end._predict(child)
    if winner.state == TaskState.COMPLETED:
        child.task_spec._update(child)


def _active_steps(top: Any, task: Any) -> list[tuple[str, str | None]]:
    """The steps under `task` that were under way (ready, waiting, running), subprocesses included."""
    out = []
    for t in _subtree(task):
        if isinstance(t.task_spec, SubWorkflowTask):
            sub = top.subprocesses.get(t.id)
            if sub is not None:
                for inner in sub.task_tree.children:
                    out += _active_steps(top, inner)
        elif t.has_state(_ACTIVE) and t.task_spec.bpmn_id is not None:
            out.append((t.task_spec.bpmn_id, t.task_spec.bpmn_name))
    return out


def _ancestors(task: Any) -> list[Any]:
    out = []
    node = task.parent
    while node is not None:
        out.append(node)
        node = node.parent
    return out


def _subtree(task: Any) -> list[Any]:
    out, stack = [], [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out
