"""`workflows check`: parse every process, check lanes, forms and hooks, and smoke-run each one.

The smoke run is in memory: the real parsed spec, the real script engine and the process's own
hooks, with a stand-in org tree and a clock that jumps ahead whenever the case waits on a timer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.calendar import BusinessCalendar, to_local_date
from engine.clock import ManualClock
from engine.definitions import collect_steps, parse_files, read_process_dir
from engine.errors import EngineError, FormInvalid
from engine.forms import load_form, validate_form
from engine.process_api import HookContext, ProcessConfig
from engine.scripting import RongScriptEngine
from engine.lanes import LANE_ROLES
from engine.named_queries import QueryScope, query_scope

MAX_SMOKE_STEPS = 300


@dataclass
class CheckReport:
    key: str
    problems: list[str] = field(default_factory=list)
    steps_run: int = 0
    completed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


class StandInOrgs:
    """An org tree that answers every question with stable made-up ids (for smoke runs)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def unit_id(self, code: str) -> int:
        return self._ids.setdefault(code, 1000 + len(self._ids))

    def unit_code(self, unit_id: int) -> str:
        return next((c for c, i in self._ids.items() if i == unit_id), f"unit{unit_id}")

    def parent_id(self, unit_id: int) -> int | None:
        return None

    def organ_of(self, unit_id: int) -> int:
        return unit_id

    def section_of(self, organ_id: int, code_suffix: str) -> int | None:
        return self.unit_id(f"{organ_id}.{code_suffix}")

    def level(self, unit_id: int) -> str:
        return "city"

    def ancestor_at(self, unit_id: int, level: str) -> int | None:
        return unit_id


def check_process(key: str, bpmn_dir: Path, config: ProcessConfig,
                  calendar: BusinessCalendar) -> CheckReport:
    report = CheckReport(key)
    try:
        spec, subs = parse_files(key, read_process_dir(bpmn_dir / key))
    except EngineError as exc:
        report.problems.append(exc.message)
        return report
    steps = collect_steps(spec, subs)
    if config.documents is not None:  # templates present, rules on real steps (engine.documents)
        report.problems += config.documents.problems() + [
            f"document rule: no step {r.step_id}" for r in config.documents.rules if r.step_id not in steps]
    for step in steps.values():
        if step.step_id not in config.roles and (step.lane or "").strip() not in LANE_ROLES:
            report.problems.append(f"step {step.step_id}: lane {step.lane!r} maps to no role")
        try:
            if load_form(config.forms_dir, step.step_id) is None:
                report.problems.append(f"step {step.step_id}: no form {config.forms_dir / (step.step_id + '.json')}")
        except Exception as exc:  # an invalid JSON or JSON Schema file
            report.problems.append(f"step {step.step_id}: bad form file: {exc}")
    for message in config.message_roles:  # a message users register: its form must load
        try:
            load_form(config.forms_dir, f"message_{message}")
        except Exception as exc:  # an invalid JSON or JSON Schema file
            report.problems.append(f"message {message}: bad form file: {exc}")
    if report.ok:
        _smoke_run(report, spec, subs, config, calendar)
    return report


def _ctx(clock: ManualClock, calendar: BusinessCalendar, config: ProcessConfig,
         orgs: StandInOrgs) -> HookContext:
    now = clock.now()
    return HookContext(now=now, today=to_local_date(now), calendar=calendar, orgs=orgs,
                       case_unit_id=orgs.unit_id("smoke"), case_no="SMOKE-1", initiator_id=1,
                       settings=dict(config.settings))


def _smoke_run(report: CheckReport, spec: Any, subs: dict[str, Any], config: ProcessConfig,
               calendar: BusinessCalendar) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    orgs = StandInOrgs()
    engine = RongScriptEngine(clock, calendar)
    answers = {k: list(v) if isinstance(v, list) else [v] for k, v in config.smoke_answers.items()}
    try:
        start = _start_data(config, clock, calendar, orgs)
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update(start)
        with query_scope(QueryScope(None, clock.now(), config.callable_queries)):  # no database: 0
            wf.do_engine_steps()
            _drive(report, wf, config, clock, calendar, orgs, answers)
    except Exception as exc:  # noqa: BLE001 - whatever fails in a step is a problem to report, not a crash
        report.problems.append(f"smoke run failed: {type(exc).__name__}: {exc}")


def _start_data(config: ProcessConfig, clock: ManualClock, calendar: BusinessCalendar,
                orgs: StandInOrgs) -> dict[str, Any]:
    data = dict(config.smoke_start)
    schema = load_form(config.forms_dir, "start")
    if schema is not None:
        validate_form(schema, data)
    data.update(case_no="SMOKE-1", registered_unit_id=orgs.unit_id("smoke"), initiator_id=1,
                received_at=clock.now().isoformat())
    if config.on_start:
        data.update(config.on_start(data, _ctx(clock, calendar, config, orgs)))
    return data


def _drive(report: CheckReport, wf: BpmnWorkflow, config: ProcessConfig, clock: ManualClock,
           calendar: BusinessCalendar, orgs: StandInOrgs, answers: dict[str, list[Any]]) -> None:
    idle_jumps = 0
    while not wf.is_completed() and report.steps_run < MAX_SMOKE_STEPS:
        ready = [t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                 if answers.get(t.task_spec.bpmn_id) != [None]]  # None: left to its timer
        if not ready:
            if idle_jumps > 5:
                report.problems.append("smoke run stuck: no ready task and no timer moves it on")
                return
            clock.advance(timedelta(days=400))  # let every waiting timer fire
            idle_jumps += 1
            wf.refresh_timers()
            wf.do_engine_steps()
            continue
        idle_jumps = 0
        _complete_one(wf, ready[0], config, clock, calendar, orgs, answers)
        report.steps_run += 1
    report.completed = wf.is_completed()
    if not report.completed:
        report.problems.append(f"smoke run did not finish within {MAX_SMOKE_STEPS} steps")


def _complete_one(wf: BpmnWorkflow, task: Any, config: ProcessConfig, clock: ManualClock,
                  calendar: BusinessCalendar, orgs: StandInOrgs,
                  answers: dict[str, list[Any]]) -> None:
    step = task.task_spec.bpmn_id
    queue = answers.get(step) or [{}]
    answer = dict(queue.pop(0) if len(queue) > 1 else queue[0])
    schema = load_form(config.forms_dir, step)
    if schema is not None:
        try:
            validate_form(schema, answer)
        except FormInvalid as exc:
            raise ValueError(f"smoke answer for step {step} does not fit its form: {exc.errors}") from exc
    ctx = _ctx(clock, calendar, config, orgs)
    if config.assign:
        config.assign(step, dict(task.data), ctx)
    task.set_data(**answer)
    if config.on_complete:
        task.set_data(**config.on_complete(step, dict(task.data), ctx))
    task.run()
    wf.do_engine_steps()
