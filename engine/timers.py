"""Timer events that read the engine's clock instead of the wall clock.

SpiffWorkflow's timers call datetime.now() directly. After parsing, the definitions of a spec are
swapped for these subclasses, which ask `workflow.script_engine.clock`, so the worker and the tests
move time by moving the injected clock, with the real engine underneath. Timers inside an
event-based gateway (held by the gateway's MultipleEventDefinition) are swapped too.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition,
                                                              TimerEventDefinition)

from engine.calendar import is_overdue


def _now(my_task: Any) -> datetime:
    clock = getattr(my_task.workflow.script_engine, "clock", None)
    return clock.now() if clock is not None else datetime.now(timezone.utc)


class ClockTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if isinstance(event_value, datetime):
                event_value = event_value.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if is_overdue(_now(my_task), TimerEventDefinition.parse_time_or_duration(event_value)):
            my_task._set_internal_data(event_fired=True)  # the deadline rule of engine.calendar
        return bool(my_task._get_internal_data("event_fired", False))


class ClockDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = _now(my_task)
            event_value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


def parse_cycle(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """(cycles, first due, interval) of an ISO 8601 repeating interval such as R3/PT1H; a bare
    interval starts counting at `now` (SpiffWorkflow takes the wall clock there)."""
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        cycles = int(components[0]) if components[0] else -1
        parsed = TimerEventDefinition.parse_iso_duration(components[1])
        duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return cycles, now + duration, duration
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
    return cycles, start, duration


class ClockCycle(CycleTimerEventDefinition):
    """timeCycle (R3/PT1H, R/PT1H, R2/2026-03-02T09:00:00+08:00/P1D …) on the engine's clock.
    The task keeps waiting; each time `next` passes, its branch runs once and `next` moves on."""

    def cycle_complete(self, my_task: Any) -> bool:
        now = _now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = parse_cycle(str(expression), now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = TimerEventDefinition.get_datetime(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


_SWAP: dict[type, type] = {
    TimeDateEventDefinition: ClockTimeDate,
    DurationTimerEventDefinition: ClockDuration,
    CycleTimerEventDefinition: ClockCycle,
}


ENGINE_CLOCK_TIMERS = tuple(_SWAP.values())


def _swap(definition: Any) -> None:
    new_cls = _SWAP.get(type(definition))
    if new_cls is not None:
        definition.__class__ = new_cls
    elif isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            _swap(inner)


def use_engine_clock(spec: Any) -> None:
    """Swap the timer definitions of every task spec of a process spec for clock-aware ones."""
    for task_spec in spec.task_specs.values():
        _swap(getattr(task_spec, "event_definition", None))


def timer_due(definition: Any, value: Any) -> str | None:
    """The next due instant (ISO) stored by a waiting timer task, or None if it is not a timer
    (a cycle stores {cycles, next, duration}; an event-based gateway holds its timers inside)."""
    if isinstance(definition, MultipleEventDefinition):
        if not any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions):
            return None
    elif not isinstance(definition, TimerEventDefinition):
        return None
    if isinstance(value, dict):
        return str(value["next"]) if value.get("cycles", 0) != 0 and value.get("next") else None
    return value if isinstance(value, str) else None
