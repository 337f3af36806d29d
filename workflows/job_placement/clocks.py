"""The legal clocks of government job placement (domain.md §2.3 b), as plain date arithmetic.

"X日" counts calendar days, "X个月" calendar months. Following 《民法典》第二百零一条、第二百零二条,
the day of the event does not count and a months-based period ends on the same day number of
the final month, or on that month's last day where the day does not exist (31 Aug + 6 months
= 28/29 Feb). A deadline day ends at local midnight (`BusinessCalendar.deadline_end`).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime

from engine.calendar import BusinessCalendar


def add_months(start: date, months: int) -> date:
    """The date `months` calendar months after `start`, clamped to the end of the month."""
    if months < 0:
        raise ValueError(f"month count must be >= 0, got {months}")
    years, month0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month0 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def placement_due(receipt: date, months: int) -> date:
    """Last day of the year's placement (Art.31: within 6 months of receiving the files)."""
    return add_months(receipt, months)


def deadline_end(d: date) -> datetime:
    """The first instant after deadline day `d`, Beijing time."""
    return BusinessCalendar.deadline_end(d)
