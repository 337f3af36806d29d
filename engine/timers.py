"""Timer events that read the engine's clock instead of the wall clock.

SpiffWorkflow's timers call datetime.now() directly. After parsing, the definitions of a spec are
swapped for these subclasses, which ask `workflow.script_engine.clock`, so the worker and the tests
move time by moving the injected clock, with the real engine underneath.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition,
                                                              TimerEventDefinition)


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
        if TimerEventDefinition.parse_time_or_duration(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
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


_SWAP: dict[type, type] = {
    TimeDateEventDefinition: ClockTimeDate,
    DurationTimerEventDefinition: ClockDuration,
}


def use_engine_clock(spec: Any) -> None:
    """Swap the timer definitions of every task spec of a process spec for clock-aware ones."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        new_cls = _SWAP.get(type(definition))
        if new_cls is not None:
            definition.__class__ = new_cls
        elif isinstance(definition, CycleTimerEventDefinition):
            raise ValueError(f"timeCycle timers are not supported (task {task_spec.bpmn_id})")
