"""Deadline rules of the petition process (《信访工作条例》, in force 2022-05-01).

All three clocks are "X日", i.e. calendar days, so they never depend on holiday data and are
never provisional (the `_provisional` flags are still written, from the calendar's answer, so a
later working-day rule slots in without touching the BPMN). The day the clock starts on is not
counted: received on 3 March, the 15-day intake decision is due by the end of 18 March.

Every deadline is stored in task data three ways:
  <name>_due_on              the last day, ISO date (for people and for extending it);
  <name>_due_at              the instant after that day ends, Beijing time, ISO datetime: the
                             boundary timer fires at it, the deadline is met while now < it;
  <name>_due_at_provisional  True when the calendar could not be sure of that day.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.calendar import BusinessCalendar, Deadline

INTAKE_DAYS = 15          # Art.22: decide on intake within 15 days of receipt
HANDLING_DAYS = 60        # Art.34: handle within 60 days of acceptance
MAX_EXTENSION_DAYS = 30   # Art.34: extension of at most 30 days, approved by the organ's head

INTAKE = "intake"
HANDLING = "handling"


def due_key(name: str) -> str:
    """The task-data key of a deadline's instant, e.g. 'intake_due_at' (for due_keys)."""
    return f"{name}_due_at"


def due_fields(name: str, deadline: Deadline, calendar: BusinessCalendar) -> dict[str, Any]:
    """The task-data fields of one deadline."""
    return {f"{name}_due_on": deadline.due.isoformat(),
            due_key(name): calendar.deadline_end(deadline.due).isoformat(),
            f"{due_key(name)}_provisional": deadline.provisional}


def intake_deadline(received_on: date, calendar: BusinessCalendar) -> dict[str, Any]:
    return due_fields(INTAKE, calendar.add_days(received_on, INTAKE_DAYS), calendar)


def handling_deadline(accepted_on: date, calendar: BusinessCalendar) -> dict[str, Any]:
    return due_fields(HANDLING, calendar.add_days(accepted_on, HANDLING_DAYS), calendar)


def extended_handling_deadline(data: dict[str, Any], days: int,
                               calendar: BusinessCalendar) -> dict[str, Any]:
    """The handling deadline moved `days` calendar days past its current last day."""
    current = date.fromisoformat(str(data[f"{HANDLING}_due_on"]))
    moved = calendar.add_days(current, days)
    was_provisional = bool(data.get(f"{due_key(HANDLING)}_provisional"))
    return due_fields(HANDLING, Deadline(moved.due, moved.provisional or was_provisional), calendar)


def is_overdue(data: dict[str, Any], name: str, now: datetime) -> bool:
    """Whether `now` is past the deadline `name` stored in `data`."""
    value = data.get(due_key(name))
    return value is not None and now >= datetime.fromisoformat(str(value))


def extension_room(data: dict[str, Any]) -> int:
    """Days of extension still allowed (Art.34 caps all extensions of a case at 30 days)."""
    return MAX_EXTENSION_DAYS - int(data.get("extension_days_granted") or 0)
