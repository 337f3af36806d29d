"""Budgets for BPMN scripts and expressions: steps and time (a trace function) and sizes.

A trace function cannot stop one long C-level operation (``10**10**10``), so the guards in
engine/sandbox/guards.py check operand sizes before such operations and charge every value they
let through to the run's allocation budget; the trace function stops long-running loops.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

# The file name every script is compiled under; SpiffWorkflow finds the failing line by it.
SCRIPT_FILE = "<string>"


@dataclass(frozen=True)
class ScriptLimits:
    """What one script or expression may use (config: SCRIPT_TIME_LIMIT_MS, SCRIPT_MAX_STEPS,
    SCRIPT_MAX_SIZE, SCRIPT_MAX_ALLOC)."""
    time_ms: int = 500
    max_steps: int = 1_000_000
    max_size: int = 100_000
    max_alloc: int = 10_000_000


class ScriptBudgetExceeded(Exception):
    """A script or expression went over its time, step or size budget."""


class Budget:
    """The budget of one run: counts trace events, watches the deadline, charges allocations."""

    def __init__(self, limits: ScriptLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.deadline = clock() + limits.time_ms / 1000
        self.steps = 0
        self.alloc = 0
        self.breach: str | None = None

    def trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        """The trace function: counts steps everywhere, raises only in script frames."""
        # Never inside a helper: a helper that swallowed the error would leave the script
        # untraced. A call into a helper or guard counts one step; their lines are not traced
        # (they are bounded, and fast so).
        self.steps += 1
        if self.breach is None:
            self.breach = self._over_time_or_steps()
        if frame.f_code.co_filename != SCRIPT_FILE:
            return None
        if self.breach is not None:
            raise ScriptBudgetExceeded(self.breach)
        # Per-instruction events: a one-line loop ("while True: pass") makes no line events.
        frame.f_trace_opcodes = True
        return self.trace

    def _over_time_or_steps(self) -> str | None:
        if self.steps > self.limits.max_steps:
            return f"script stopped: more than {self.limits.max_steps} steps"
        if self.clock() > self.deadline:
            return f"script stopped: ran longer than {self.limits.time_ms} ms"
        return None

    def fail(self, reason: str) -> None:
        self.breach = self.breach or reason
        raise ScriptBudgetExceeded(reason)

    def check_size(self, size: int, what: str) -> None:
        """Refuse before computing a value larger than the size limit."""
        if size > self.limits.max_size:
            self.fail(f"script stopped: {what} of size {size} is over the limit of {self.limits.max_size}")

    def spend(self, units: int) -> None:
        """Charge a value the script made; the run's total is limited too."""
        self.alloc += units
        if self.alloc > self.limits.max_alloc:
            self.fail(f"script stopped: made more than {self.limits.max_alloc} items in all")


@contextmanager
def traced(budget: Budget) -> Iterator[Budget]:
    """Run the body under the budget's trace function, then put back whatever tracer was there
    (a debugger, coverage). Raises if the budget broke even where the script could not see it."""
    previous = sys.gettrace()
    sys.settrace(budget.trace)
    try:
        yield budget
    finally:
        sys.settrace(previous)
    if budget.breach is not None:
        raise ScriptBudgetExceeded(budget.breach)


def limits_from(settings: Any) -> ScriptLimits:
    """ScriptLimits from a settings mapping (the app config): SCRIPT_TIME_LIMIT_MS,
    SCRIPT_MAX_STEPS, SCRIPT_MAX_SIZE, SCRIPT_MAX_ALLOC; a missing one keeps its default."""
    default = ScriptLimits()
    return ScriptLimits(time_ms=int(settings.get("SCRIPT_TIME_LIMIT_MS", default.time_ms)),
                        max_steps=int(settings.get("SCRIPT_MAX_STEPS", default.max_steps)),
                        max_size=int(settings.get("SCRIPT_MAX_SIZE", default.max_size)),
                        max_alloc=int(settings.get("SCRIPT_MAX_ALLOC", default.max_alloc)))
