"""Date helpers shared by the process packages' hooks."""
from __future__ import annotations

from datetime import date
from typing import Any

from engine.errors import FormInvalid
from engine.process_api import HookContext


def day(value: Any) -> date:
    """A date from an ISO date or datetime string (or a date)."""
    return date.fromisoformat(str(value)[:10])


def end_of(ctx: HookContext, d: date) -> str:
    """The instant a deadline day ends (next local midnight), ISO, ready for a timeDate timer."""
    return ctx.calendar.deadline_end(d).isoformat()


def due_after(ctx: HookContext, start: date, days: int) -> date:
    """The day `days` calendar days after `start`."""
    return ctx.calendar.add_days(start, days).due


def past_date(ctx: HookContext, data: dict[str, Any], field: str) -> date:
    """A form date that must not lie in the future."""
    value = day(data[field])
    if value > ctx.today:
        raise FormInvalid({field: "日期不能晚于今天"})
    return value
