"""Deadline rules of the petition process (《信访工作条例》, in force 2022-05-01).

The clocks:
  intake          15日 from receipt (Art.22)
  objection        5个工作日 from the 交办 decision: the assigned unit may object (Art.23)
  handling        60日 from 受理/交办, plus approved extensions of at most 30日 in all (Art.34)
  first_request   30日 from serving the reply: the petitioner may ask for 复查 (Art.35)
  first_review    30日 from the 复查 request: the 复查意见 is due (Art.35)
  second_request  30日 from serving the 复查意见: the petitioner may ask for 复核 (Art.36)
  second_review   30日 from the 复核 request, hearing (听证) days not counted (Art.36)

"X日" clocks are calendar days, so they never depend on holiday data and are never provisional;
the working-day clock is provisional when it crosses a year without an official schedule. The
day a clock starts on is not counted: received on 3 March, the 15-day intake decision is due by
the end of 18 March.

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
OBJECTION_WORKING_DAYS = 5  # Art.23: an assigned unit may object within 5 working days
HANDLING_DAYS = 60        # Art.34: handle within 60 days of acceptance
MAX_EXTENSION_DAYS = 30   # Art.34: extension of at most 30 days, approved by the organ's head
REQUEST_DAYS = 30         # Art.35/36: ask for 复查 (复核) within 30 days of receiving the answer
REVIEW_DAYS = 30          # Art.35/36: answer a 复查 (复核) request within 30 days

INTAKE = "intake"
OBJECTION = "objection"
HANDLING = "handling"
FIRST_REQUEST = "first_request"
FIRST_REVIEW = "first_review"
SECOND_REQUEST = "second_request"
SECOND_REVIEW = "second_review"


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


def objection_deadline(assigned_on: date, calendar: BusinessCalendar) -> dict[str, Any]:
    return due_fields(OBJECTION, calendar.add_working_days(assigned_on, OBJECTION_WORKING_DAYS),
                      calendar)


def days_deadline(name: str, start: date, days: int, calendar: BusinessCalendar) -> dict[str, Any]:
    """A calendar-day clock `name` of `days` days from `start` (start not counted)."""
    return due_fields(name, calendar.add_days(start, days), calendar)


def moved_deadline(data: dict[str, Any], name: str, days: int,
                   calendar: BusinessCalendar) -> dict[str, Any]:
    """The deadline `name` moved `days` calendar days past its current last day."""
    current = date.fromisoformat(str(data[f"{name}_due_on"]))
    moved = calendar.add_days(current, days)
    was_provisional = bool(data.get(f"{due_key(name)}_provisional"))
    return due_fields(name, Deadline(moved.due, moved.provisional or was_provisional), calendar)


def extended_handling_deadline(data: dict[str, Any], days: int,
                               calendar: BusinessCalendar) -> dict[str, Any]:
    """The handling deadline moved `days` calendar days past its current last day."""
    return moved_deadline(data, HANDLING, days, calendar)


def is_running(data: dict[str, Any], name: str, now: datetime) -> bool:
    """Whether the deadline `name` stored in `data` is still running at `now`."""
    value = data.get(due_key(name))
    return value is not None and now < datetime.fromisoformat(str(value))


def hearing_days(started_on: date, ended_on: date) -> int:
    """Calendar days a hearing took, both ends included (a one-day hearing is 1 day)."""
    return (ended_on - started_on).days + 1


def is_overdue(data: dict[str, Any], name: str, now: datetime) -> bool:
    """Whether `now` is past the deadline `name` stored in `data`."""
    value = data.get(due_key(name))
    return value is not None and now >= datetime.fromisoformat(str(value))


def extension_room(data: dict[str, Any]) -> int:
    """Days of extension still allowed (Art.34 caps all extensions of a case at 30 days)."""
    return MAX_EXTENSION_DAYS - int(data.get("extension_days_granted") or 0)
