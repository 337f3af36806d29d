"""Run a fidelity fixture (tests/data/fidelity/<construct>/) three ways and describe the outcome.

(a) SpiffWorkflow alone, with its own BpmnWorkflowSerializer JSON round trip between steps and
    its timers on a fake clock; (b) RongFlow through engine.runtime and the timer worker;
(c) RongFlow with the spec cache dropped before every command and two engine Envs alternating.
A fixture's script.json holds the start data, the steps (complete a user task with data, advance
the clock, deliver a message) and what mode (a) must show, so three equally wrong answers fail.

Event subprocesses are where SpiffWorkflow 3.2 is knowingly wrong: it ignores `isInterrupting` and
reads no error or escalation start. Mode (a) parses with RongFlow's parser (engine.interrupts.
RongFlowParser: SpiffBpmnParser plus those starts) and applies the same `engine.interrupts.interrupt`
after each step as RongFlow does, so that (a) stays the reference for everything else such a fixture
does; what the interruption itself must give is pinned by the script: a fixture with an
interrupting event subprocess must state its open user tasks after every step (`expect.open_tasks`)
besides its ends and data (`needs_explicit_tasks`), so a wrong interruption fails whichever mode
shows it, even if all three show it alike.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.clock import ManualClock
from engine.definitions import SpecCache, read_process_dir
from engine.env import Env
from engine.interrupts import RongFlowParser, interrupt, interrupting_specs
from engine.models import HumanTask, InstanceStatus, ProcessInstance
from engine.orgs import Actor
from engine.persistence import load_state, to_json_safe
from engine.process_api import ProcessConfig
from engine.pruning import pruned_end_events
from engine.runtime import complete_task, deliver_message, start_case
from engine.stepper import OPEN_STATUSES, workflow_data
from engine.worker import run_due_timers
from tests.factories import DATA, deploy_files

FIDELITY = DATA / "fidelity"
# Keys RongFlow adds to every case's data; SpiffWorkflow alone has no such keys.
ENGINE_KEYS = frozenset({"case_no", "registered_unit_id", "initiator_id", "received_at"})


@dataclass
class Outcome:
    completed: bool
    ends: list[str]              # end events reached, in every (sub)workflow, sorted
    data: dict[str, Any]         # final data, without RongFlow's own keys
    open_tasks: list[list[str]]  # open user tasks after the start and after every step
    interrupting: frozenset[str] = field(default=frozenset(), compare=False)  # (mode a) interrupting ESPs

    def check(self, expect: dict[str, Any]) -> None:
        assert self.completed == expect.get("completed", True), self
        if self.interrupting:
            assert "open_tasks" in expect, "an interrupting event subprocess needs expect.open_tasks"
        if "open_tasks" in expect:
            assert self.open_tasks == [sorted(t) for t in expect["open_tasks"]], self
        if "ends" in expect:
            assert self.ends == sorted(expect["ends"]), self
        for key, value in expect.get("data", {}).items():
            assert self.data.get(key) == value, (key, self.data)


def constructs() -> list[str]:
    return sorted(p.parent.name for p in FIDELITY.glob("*/script.json"))


def load_script(construct: str) -> dict[str, Any]:
    script: dict[str, Any] = json.loads((FIDELITY / construct / "script.json").read_text("utf-8"))
    return script


def fixture_files(construct: str) -> dict[str, bytes]:
    return read_process_dir(FIDELITY / construct)


def fixture_config(construct: str) -> ProcessConfig:
    return ProcessConfig(key=construct, name=construct, case_prefix="FD",
                         forms_dir=FIDELITY / construct / "forms")


def _duration(text: str) -> timedelta:
    parsed = TimerEventDefinition.parse_iso_duration(text)
    return TimerEventDefinition.get_timedelta_from_start(parsed, datetime(2026, 1, 1, tzinfo=timezone.utc))


def describe(wf: BpmnWorkflow, completed: bool) -> tuple[bool, list[str], dict[str, Any]]:
    ends = pruned_end_events(wf)  # RongFlow drops the finished rounds of a long loop
    for w in [wf, *wf.subprocesses.values()]:
        ends += [t.task_spec.bpmn_id for t in w.tasks.values()
                 if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent)]
    data = {k: v for k, v in to_json_safe(workflow_data(wf)).items() if k not in ENGINE_KEYS}
    return completed, sorted(ends), data


# ----------------------------------------------------------------------------- (a) SpiffWorkflow alone

@contextmanager
def _spiff_clock(clock: ManualClock) -> Iterator[None]:
    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return clock.now() if tz is None else clock.now().astimezone(tz)
    with mock.patch.object(spiff_timer, "datetime", FakeDatetime):
        yield


def run_spiff(construct: str, script: dict[str, Any], start: datetime) -> Outcome:
    parser = RongFlowParser(validator=VALIDATOR)  # reads error/escalation starts of event subprocesses
    folder = FIDELITY / construct
    parser.add_bpmn_files([str(p) for p in sorted(folder.glob("*.bpmn"))])
    parser.add_dmn_files([str(p) for p in sorted(folder.glob("*.dmn"))])
    spec, subs = parser.get_spec(construct), parser.get_subprocess_specs(construct)
    interrupting = interrupting_specs(parser, spec, subs)  # SpiffWorkflow ignores isInterrupting
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    script_engine = PythonScriptEngine()
    clock = ManualClock(start)
    open_tasks = []
    with _spiff_clock(clock):
        wf = BpmnWorkflow(spec, subs, script_engine=script_engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update(script.get("start", {}))
        _run(wf, interrupting)
        open_tasks.append(_ready(wf))
        for step in script["steps"]:
            wf = serializer.deserialize_json(serializer.serialize_json(wf))
            wf.script_engine = script_engine
            _spiff_step(wf, step, clock)
            _run(wf, interrupting)
            open_tasks.append(_ready(wf))
        completed = wf.is_completed() and wf.success
    return Outcome(*describe(wf, completed), open_tasks, interrupting)


def _run(wf: BpmnWorkflow, interrupting: frozenset[str]) -> None:
    wf.do_engine_steps()
    while interrupt(wf, interrupting):
        wf.do_engine_steps()


def _ready(wf: BpmnWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True))


def _spiff_step(wf: BpmnWorkflow, step: dict[str, Any], clock: ManualClock) -> None:
    if "complete" in step:
        task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.bpmn_id == step["complete"])
        task.set_data(**step.get("data", {}))
        task.run()
    elif "advance" in step:
        clock.advance(_duration(step["advance"]))
        wf.refresh_timers()
    elif "message" in step:
        wf.send_event(BpmnEvent(MessageEventDefinition(step["message"]), payload=step.get("payload", {})))


# ----------------------------------------------------------------------------- (b), (c) RongFlow

class Envs:
    """The engine instances a run uses: one (mode b) or several alternating, each with its spec
    cache dropped before every command (mode c)."""

    def __init__(self, envs: list[Env], fresh: bool) -> None:
        self._envs, self._fresh, self._turn = envs, fresh, 0

    def next(self) -> Env:
        env = self._envs[self._turn % len(self._envs)]
        self._turn += 1
        if self._fresh:
            env.specs = SpecCache()
        return env


def deploy_fixture(env: Env, construct: str) -> None:
    env.extra_processes[construct] = fixture_config(construct)
    deploy_files(env, construct, fixture_files(construct))


def run_rongflow(envs: Envs, construct: str, script: dict[str, Any], actor: Actor, unit_id: int,
                 clock: ManualClock) -> Outcome:
    started = start_case(envs.next(), construct, actor, unit_id, dict(script.get("start", {})))
    iid = started.instance_id
    open_tasks = [_open_rows(envs.next(), iid)]
    for step in script["steps"]:
        env = envs.next()
        if "complete" in step:
            row = next(r for r in _rows(env, iid) if r.step_id == step["complete"])
            result = complete_task(env, row.id, actor, dict(step.get("data", {})))
            assert result.error is None, result.error
        elif "advance" in step:
            clock.advance(_duration(step["advance"]))
            run_due_timers(env)
        elif "message" in step:
            deliver_message(env, iid, step["message"], dict(step.get("payload", {})))
        open_tasks.append(_open_rows(envs.next(), iid))
    return Outcome(*rongflow_state(envs.next(), iid), open_tasks)


def _rows(env: Env, iid: int) -> list[HumanTask]:
    with env.db.read() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                      HumanTask.status.in_(OPEN_STATUSES))
                              .order_by(HumanTask.id)))


def _open_rows(env: Env, iid: int) -> list[str]:
    return sorted(r.step_id for r in _rows(env, iid))


def rongflow_state(env: Env, iid: int) -> tuple[bool, list[str], dict[str, Any]]:
    with env.db.read() as s:
        instance = s.get(ProcessInstance, iid)
        assert instance is not None
        assert instance.status != InstanceStatus.error, instance.error_message
        parsed = env.specs.get(s, instance.definition_id)
        wf = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
        return describe(wf, instance.status == InstanceStatus.completed)


def fixture_path(construct: str) -> Path:
    return FIDELITY / construct
