"""The restricted script engine for BPMN scripts, conditions, timer and DMN expressions.

Every script and expression is compiled under RestrictedPython with stricter rules
(engine/sandbox/policy.py), runs with guarded attribute, item, operator and builtin access
(engine/sandbox/guards.py) under a step, time and size budget (engine/sandbox/limits.py), and
sees only its task data and the helpers below: dates, Decimal and the business calendar, with
"now" from the engine's clock, and the named read-only queries its process lists (bound per
command: engine.named_queries). Nothing else of the process (config, secrets, modules) is in reach.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.calendar import BEIJING, BusinessCalendar, to_local_date
from engine.clock import Clock
from engine.named_queries import scope_functions
from engine.sandbox.deploy_check import check_definition
from engine.sandbox.guards import Guards
from engine.sandbox.limits import Budget, ScriptBudgetExceeded, ScriptLimits, traced
from engine.sandbox.policy import ScriptRefused, compile_script

__all__ = ["RongScriptEngine", "SafeEnvironment", "ScriptBudgetExceeded", "ScriptLimits",
           "ScriptRefused", "check_definition", "script_helpers"]

# A deadline helper asked for more days than this is a mistake (and would loop for long).
MAX_HELPER_DAYS = 3660


def _visible(data: dict[str, Any]) -> dict[str, Any]:
    """Task data a script may see: names starting with "_" cannot be written in a script, and
    must not shadow the guard functions."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


class SafeEnvironment(TaskDataEnvironment):
    """Runs scripts and expressions in a fresh scope per run; only data flows back."""

    def __init__(self, helpers: dict[str, Any], limits: ScriptLimits | None = None) -> None:
        super().__init__(dict(helpers))
        self.limits = limits or ScriptLimits()

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code = compile_script(expression, "eval")
        guards = Guards(Budget(self.limits))
        scope = {**self.globals, **scope_functions(), **_visible(external_context or {}),
                 **_visible(context), "__builtins__": guards.builtins()}
        with traced(guards.budget):
            return eval(code, scope)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> Any:
        external = external_context or {}
        self.check_for_overwrite(context, external)
        code = compile_script(script, "exec")
        guards = Guards(Budget(self.limits))
        scope = {**self.globals, **scope_functions(), **_visible(external), **_visible(context),
                 "__builtins__": guards.builtins()}
        with traced(guards.budget):
            exec(code, scope)
        self._write_back(context, scope, external)
        return True

    def _write_back(self, context: dict[str, Any], scope: dict[str, Any], external: dict[str, Any]) -> None:
        """Names the script assigned become task data; helpers, functions and deleted names do not."""
        for key in [k for k in context if not k.startswith("_") and k not in scope]:
            del context[key]
        for key, value in scope.items():
            if key.startswith("_") or key in self.globals or key in external or callable(value):
                context.pop(key, None)
                continue
            context[key] = value


class RongScriptEngine(PythonScriptEngine):
    """A script engine that also carries the engine's clock (read by the timer events)."""

    def __init__(self, clock: Clock, calendar: BusinessCalendar, limits: ScriptLimits | None = None) -> None:
        self.clock = clock
        super().__init__(environment=SafeEnvironment(script_helpers(clock, calendar), limits))

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """RongFlow calls no external services: a service task fails as a step with a clear
        message (SpiffWorkflow 3.2's own handler raises a NameError of its own here)."""
        raise WorkflowTaskException(f"no service {kwargs.get('operation_name')!r} is available to "
                                    f"service task {task.task_spec.bpmn_id!r}", task=task)


def _days(n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_HELPER_DAYS:
        raise ValueError(f"days must be a whole number from 0 to {MAX_HELPER_DAYS}")
    return n


def script_helpers(clock: Clock, calendar: BusinessCalendar) -> dict[str, Any]:
    """The names BPMN scripts and expressions may use besides their task data (closures: their
    module globals are reachable only through "_" attributes, which the sandbox refuses)."""
    def now() -> datetime:
        return clock.now()

    def today() -> date:
        return to_local_date(clock.now())

    def _as_date(value: Any) -> date:
        if isinstance(value, datetime):
            return to_local_date(value)
        if isinstance(value, date):
            return value
        return to_local_date(datetime.fromisoformat(str(value)))

    def add_days(start: Any, n: int) -> str:
        """End of the deadline n calendar days after start, as an ISO datetime (timer-ready)."""
        return calendar.deadline_end(calendar.add_days(_as_date(start), _days(n)).due).isoformat()

    def add_working_days(start: Any, n: int) -> str:
        return calendar.deadline_end(calendar.add_working_days(_as_date(start), _days(n)).due).isoformat()

    helpers: dict[str, Callable[..., Any] | type | Any] = {
        "Decimal": Decimal, "date": date, "datetime": datetime, "timedelta": timedelta,
        "timezone": timezone, "BEIJING": BEIJING, "now": now, "today": today,
        "add_days": add_days, "add_working_days": add_working_days,
    }
    return helpers
