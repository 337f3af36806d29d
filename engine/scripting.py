"""The restricted script engine for BPMN scripts, conditions and timer expressions.

Defence in depth, not a sandbox: only trusted admins deploy BPMN. Scripts get a small builtin
whitelist, no imports beyond what C helpers need internally, no dunder access, and a few helpers:
dates, Decimal and the business calendar, with "now" from the engine's clock.
"""
from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.calendar import BEIJING, BusinessCalendar, to_local_date
from engine.clock import Clock

_SAFE_NAMES = (
    "abs all any bool dict enumerate filter float int isinstance len list map max min "
    "range reversed round set sorted str sum tuple zip True False None "
    "ValueError KeyError TypeError Exception"
).split()
# C code inside date helpers imports these modules through the script's __import__.
_ALLOWED_IMPORTS = frozenset({"time", "datetime", "decimal", "math", "_strptime"})


def _guarded_import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name.split(".")[0] not in _ALLOWED_IMPORTS:
        raise ImportError(f"import of {name!r} is not allowed in BPMN scripts")
    return builtins.__import__(name, *args, **kwargs)


SAFE_BUILTINS: dict[str, Any] = {k: getattr(builtins, k) for k in _SAFE_NAMES}
SAFE_BUILTINS["__import__"] = _guarded_import


class ScriptRefused(ValueError):
    """A script or expression used a construct that BPMN scripts may not use."""


def _check(source: str) -> None:
    if "__" in source:
        raise ScriptRefused("double underscores are not allowed in BPMN scripts")
    for word in ("import ", "open(", "exec(", "eval(", "compile(", "globals(", "getattr("):
        if word in source:
            raise ScriptRefused(f"'{word.strip()}' is not allowed in BPMN scripts")


class SafeEnvironment(TaskDataEnvironment):
    def __init__(self, helpers: dict[str, Any]) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS, **helpers})

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> Any:
        _check(script)
        return super().execute(script, context, external_context)

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        _check(expression)
        return super().evaluate(expression, context, external_context)


class RongScriptEngine(PythonScriptEngine):
    """A script engine that also carries the engine's clock (read by the timer events)."""

    def __init__(self, clock: Clock, calendar: BusinessCalendar) -> None:
        self.clock = clock
        super().__init__(environment=SafeEnvironment(script_helpers(clock, calendar)))


def script_helpers(clock: Clock, calendar: BusinessCalendar) -> dict[str, Any]:
    """The names BPMN scripts and expressions may use besides their task data."""
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
        return calendar.deadline_end(calendar.add_days(_as_date(start), n).due).isoformat()

    def add_working_days(start: Any, n: int) -> str:
        return calendar.deadline_end(calendar.add_working_days(_as_date(start), n).due).isoformat()

    helpers: dict[str, Callable[..., Any] | type | Any] = {
        "Decimal": Decimal, "date": date, "datetime": datetime, "timedelta": timedelta,
        "timezone": timezone, "BEIJING": BEIJING, "now": now, "today": today,
        "add_days": add_days, "add_working_days": add_working_days,
    }
    return helpers
