"""Deadline rules of the petition process (《信访工作条例》, in force 2022-05-01).

The clocks:
  intake             15日 from receipt (收到之日, the registration's 收到日期) (Art.22)
  objection           5个工作日 from the assigned unit's receipt of a 交办: it may object (Art.23 ¶3)
  assignment_notice  15日 from that receipt: the assigned unit tells the petitioner in writing that
                     it received the matter and how it will be handled (Art.23 ¶3)
  handling           60日 from 受理 (Art.34), plus approved extensions of at most 30日 in all; for
                     a 交办 matter the 指定办理期限 the assigning organ sets (Art.22(3))
  first_request      30日 from serving the 意见书: the petitioner may ask for 复查 (Art.35)
  first_review       30日 from the 复查 request: the 复查意见 is due (Art.35)
  second_request     30日 from serving the 复查意见: the petitioner may ask for 复核 (Art.36)
  second_review      30日 from the 复核 request, hearing (听证) days not counted (Art.36)
The 60-day, 复查 and 复核 clocks belong to matters answered with a 信访处理意见书 (求决, 投诉;
Art.31(6), Art.34–36), not to 建议 or 检举 (Art.29–30): see `opinion_matter`.

"X日" clocks are calendar days; the day a clock starts on is not counted (民法典 Art.201):
received on 3 March, the 15-day intake decision is due by the end of 18 March. Roll-forward
(民法典 Art.203 ¶1: a last day on a rest day or holiday moves to the next working day) is a
per-clock setting, `roll_forward_<clock>` in the process settings: on by default for the
citizen's windows (first_request, second_request), off for the organ's own deadlines. A rolled
clock, and the working-day clock, is provisional (暂定) when it depends on a year without an
official holiday schedule.

Every deadline is stored in task data three ways:
  <name>_due_on              the last day, ISO date (for people and for extending it);
  <name>_due_at              the instant after that day ends, Beijing time, ISO datetime: the
                             boundary timer fires at it, the deadline is met while now < it;
  <name>_due_at_provisional  True when the calendar could not be sure of that day.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine import calendar as cal
from engine.calendar import BusinessCalendar, Deadline
from engine.process_api import HookContext

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
ASSIGNMENT_NOTICE = "assignment_notice"

CITIZEN_WINDOWS = frozenset({FIRST_REQUEST, SECOND_REQUEST})
DAY_CLOCKS = (INTAKE, ASSIGNMENT_NOTICE, HANDLING, FIRST_REQUEST, FIRST_REVIEW, SECOND_REQUEST,
              SECOND_REVIEW)
OPINION_PURPOSES = frozenset({"求决", "投诉"})  # answered with a 信访处理意见书 (Art.31(6))


def roll_settings() -> dict[str, bool]:
    """The default roll-forward setting of every calendar-day clock (process settings)."""
    return {f"roll_forward_{name}": name in CITIZEN_WINDOWS for name in DAY_CLOCKS}


def rolls(settings: dict[str, Any], name: str) -> bool:
    """Whether clock `name` rolls a last day on a rest day or holiday to the next working day."""
    return bool(settings.get(f"roll_forward_{name}", name in CITIZEN_WINDOWS))


def opinion_matter(data: dict[str, Any]) -> bool:
    """Whether the matter is answered with a 信访处理意见书 (求决, 投诉), so that the 60-day
    clock, the extension and the 复查/复核 windows apply; 建议 and 检举 are not."""
    return data.get("purpose") in OPINION_PURPOSES


def due_key(name: str) -> str:
    """The task-data key of a deadline's instant, e.g. 'intake_due_at' (for due_keys)."""
    return f"{name}_due_at"


def due_fields(name: str, deadline: Deadline, calendar: BusinessCalendar,
               base: date | None = None) -> dict[str, Any]:
    """The task-data fields of one deadline; `base` is its last day before any roll-forward
    (kept so that moving the deadline, e.g. by hearing days, starts from the unrolled day)."""
    fields = {f"{name}_due_on": deadline.due.isoformat(),
              due_key(name): calendar.deadline_end(deadline.due).isoformat(),
              f"{due_key(name)}_provisional": deadline.provisional}
    if base is not None:
        fields[f"{name}_base_on"] = base.isoformat()
    return fields


def days_deadline(name: str, start: date, days: int, ctx: HookContext) -> dict[str, Any]:
    """A calendar-day clock `name` of `days` days from `start` (start not counted), rolled
    forward if the process settings say so for this clock."""
    return due_fields(name, ctx.calendar.add_days(start, days, rolls(ctx.settings, name)),
                      ctx.calendar, base=start + timedelta(days=days))


def intake_deadline(received_on: date, ctx: HookContext) -> dict[str, Any]:
    return days_deadline(INTAKE, received_on, INTAKE_DAYS, ctx)


def handling_deadline(accepted_on: date, ctx: HookContext) -> dict[str, Any]:
    return days_deadline(HANDLING, accepted_on, HANDLING_DAYS, ctx)


def objection_deadline(received_on: date, calendar: BusinessCalendar) -> dict[str, Any]:
    return due_fields(OBJECTION, calendar.add_working_days(received_on, OBJECTION_WORKING_DAYS),
                      calendar)


def moved_deadline(data: dict[str, Any], name: str, days: int, ctx: HookContext) -> dict[str, Any]:
    """The deadline `name` moved `days` calendar days past its current (unrolled) last day."""
    current = date.fromisoformat(str(data.get(f"{name}_base_on") or data[f"{name}_due_on"]))
    moved = ctx.calendar.add_days(current, days, rolls(ctx.settings, name))
    was_provisional = bool(data.get(f"{due_key(name)}_provisional"))
    return due_fields(name, Deadline(moved.due, moved.provisional or was_provisional), ctx.calendar,
                      base=current + timedelta(days=days))


def extended_handling_deadline(data: dict[str, Any], days: int, ctx: HookContext) -> dict[str, Any]:
    """The handling deadline moved `days` calendar days past its current last day."""
    return moved_deadline(data, HANDLING, days, ctx)


def is_running(data: dict[str, Any], name: str, now: datetime) -> bool:
    """Whether the deadline `name` stored in `data` is still running at `now`."""
    value = data.get(due_key(name))
    return value is not None and not cal.is_overdue(now, datetime.fromisoformat(str(value)))


def hearing_days(started_on: date, ended_on: date) -> int:
    """Calendar days a hearing took, both ends included (a one-day hearing is 1 day)."""
    return (ended_on - started_on).days + 1


def is_overdue(data: dict[str, Any], name: str, now: datetime) -> bool:
    """Whether `now` is past the deadline `name` stored in `data` (engine.calendar's rule)."""
    value = data.get(due_key(name))
    return value is not None and cal.is_overdue(now, datetime.fromisoformat(str(value)))


def extension_room(data: dict[str, Any]) -> int:
    """Days of extension still allowed (Art.34 caps all extensions of a case at 30 days)."""
    return MAX_EXTENSION_DAYS - int(data.get("extension_days_granted") or 0)
