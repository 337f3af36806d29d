"""Business calendar for Chinese statutory deadlines ("X日" and "X个工作日").

Day-off data for a year comes from, in order of precedence:

1. ``engine/data/holidays.json`` (project overrides, whole years at a time);
2. the ``chinese-calendar`` package (official State Council schedules it ships);
3. a built-in fallback: weekends plus the fixed-Gregorian-date statutory holidays
   of the 2025 revision of 《全国年节及纪念日放假办法》 (Jan 1; May 1-2; Oct 1-3).

The fallback deliberately leaves out the lunar/solar-term holidays (Spring
Festival, Qingming, Dragon Boat, Mid-Autumn), the weekend compensation days
(补假) and the make-up working days (调休): their dates are only fixed by the
yearly State Council notice, so guessing them would look authoritative while
being wrong. Any working-day result that touched fallback data (or a draft
override with ``"official": false``) is therefore marked ``provisional``.

Two legal rules live here so that every caller (timers, the case page, the inbox badge, the
indicators, the process hooks) applies them the same way:

- the due instant: a period ends at 24:00 of its last day (民法典 Art.203 ¶2), so a deadline is
  stored as ``deadline_end(last_day)``, the first instant after it, and an act at ``at`` is late
  exactly when ``is_overdue(at, due_at)``; a date-only act (an on-post date, a report date) is
  late when ``days_late(on, last_day) > 0``;
- roll-forward: a period whose last day is a statutory holiday or rest day ends on the next
  working day (民法典 Art.203 ¶1, 民事诉讼法 Art.85). Whether a clock rolls is the caller's
  per-clock setting (``add_days(..., roll_forward=True)``); a rolled date that depends on a
  year without an official schedule is ``provisional`` (暂定).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")
DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "data" / "holidays.json"

# (month, day) of the statutory holidays that sit on fixed Gregorian dates,
# per the 2025 revision: New Year's Day 1 day, Labour Day 2 days, National Day 3 days.
FALLBACK_FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (5, 1),
    (5, 2),
    (10, 1),
    (10, 2),
    (10, 3),
)

_YEAR_KEYS = frozenset({"holidays", "workdays", "official", "source", "note"})


@dataclass(frozen=True)
class Deadline:
    """A computed due date; provisional if it relied on non-official holiday data."""

    due: date
    provisional: bool


@dataclass(frozen=True)
class YearOverride:
    """Complete day-off data for one year, loaded from the overrides file."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    official: bool

    def is_workday(self, d: date) -> bool:
        """Make-up days work, listed holidays are off, otherwise Mon-Fri work."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays


def _require_date(d: date) -> date:
    """Reject datetimes: their calendar day depends on a timezone (use to_local_date)."""
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected datetime.date, got {type(d).__name__}; use to_local_date()")
    return d


def _require_non_negative(n: int) -> int:
    """Deadlines count forward only."""
    if n < 0:
        raise ValueError(f"day count must be >= 0, got {n}")
    return n


def _require_aware(dt: datetime) -> datetime:
    """Instants must carry a timezone: a naive one has no defined due instant."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("deadline instants must be timezone-aware datetimes")
    return dt


def is_overdue(at: datetime, due_at: datetime) -> bool:
    """The one due-instant rule: an act at ``at`` misses the deadline ``due_at`` (the first
    instant after the last day, see ``deadline_end``) iff ``at >= due_at``; 24:00 of the last
    day, i.e. 00:00:00 of the next day, is already late."""
    return _require_aware(at) >= _require_aware(due_at)


def days_late(on: date, last_day: date) -> int:
    """Whole days an act dated ``on`` lies after the deadline's last day (0 when on time)."""
    return max((_require_date(on) - _require_date(last_day)).days, 0)


def to_local_date(dt: datetime) -> date:
    """Return the Beijing calendar date of an aware datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("to_local_date() needs a timezone-aware datetime")
    return dt.astimezone(BEIJING).date()


@lru_cache(maxsize=None)
def package_covers_year(year: int) -> bool:
    """True if the installed chinese-calendar package has data for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:  # raised for years outside the shipped data
        return False
    return True


def fallback_is_workday(d: date) -> bool:
    """Weekdays except the fixed-date statutory holidays; no 调休 or 补假 knowledge."""
    return d.weekday() < 5 and (d.month, d.day) not in FALLBACK_FIXED_HOLIDAYS


def _parse_day_list(raw: Any, year: int, field: str) -> frozenset[date]:
    """Parse a list of ISO dates that must all fall within ``year``."""
    if not isinstance(raw, list):
        raise ValueError(f"holidays override {year}.{field} must be a list of ISO dates")
    try:
        days = frozenset(date.fromisoformat(item) for item in raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"holidays override {year}.{field}: bad ISO date ({exc})") from exc
    stray = sorted(str(d) for d in days if d.year != year)
    if stray:
        raise ValueError(f"holidays override {year}.{field} has dates outside {year}: {stray}")
    return days


def _parse_year(year: int, raw: Any) -> YearOverride:
    """Validate and build one year's override entry."""
    if not isinstance(raw, dict):
        raise ValueError(f"holidays override {year} must be an object")
    unknown = set(raw) - _YEAR_KEYS
    if unknown:
        raise ValueError(f"holidays override {year} has unknown keys: {sorted(unknown)}")
    official = raw.get("official", False)
    if not isinstance(official, bool):
        raise ValueError(f"holidays override {year}.official must be true or false")
    holidays = _parse_day_list(raw.get("holidays", []), year, "holidays")
    workdays = _parse_day_list(raw.get("workdays", []), year, "workdays")
    _check_workdays(year, holidays, workdays)
    return YearOverride(holidays=holidays, workdays=workdays, official=official)


def _check_workdays(year: int, holidays: frozenset[date], workdays: frozenset[date]) -> None:
    """Make-up working days must be weekend days and not also listed as holidays."""
    both = sorted(str(d) for d in holidays & workdays)
    if both:
        raise ValueError(f"holidays override {year}: dates both holiday and workday: {both}")
    weekdays = sorted(str(d) for d in workdays if d.weekday() < 5)
    if weekdays:
        raise ValueError(f"holidays override {year}: workdays must be Sat/Sun: {weekdays}")


def load_overrides(path: Path) -> dict[int, YearOverride]:
    """Load and validate the overrides file (see engine/data/holidays.json)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise ValueError("holidays overrides: 'years' must be an object keyed by year")
    return {int(key): _parse_year(int(key), raw) for key, raw in years.items()}


class BusinessCalendar:
    """Working-day arithmetic over overrides, chinese-calendar and the fallback."""

    def __init__(self, overrides_path: Path | None = None) -> None:
        """Load overrides from ``overrides_path``; None means no overrides."""
        self._overrides: dict[int, YearOverride] = (
            load_overrides(overrides_path) if overrides_path is not None else {}
        )

    def is_workday(self, d: date) -> bool:
        """True if ``d`` is a working day (调休 make-up days included)."""
        _require_date(d)
        override = self._overrides.get(d.year)
        if override is not None:
            return override.is_workday(d)
        if package_covers_year(d.year):
            return bool(chinese_calendar.is_workday(d))
        return fallback_is_workday(d)

    def year_is_official(self, year: int) -> bool:
        """True if ``year`` uses an official schedule (not a draft or the fallback)."""
        override = self._overrides.get(year)
        if override is not None:
            return override.official
        return package_covers_year(year)

    def add_days(self, start: date, n: int, roll_forward: bool = False) -> Deadline:
        """Calendar-day deadline ("X日", start day not counted). Without roll-forward it is plain
        date arithmetic and never provisional; with it, see ``rolled``."""
        _require_date(start)
        due = start + timedelta(days=_require_non_negative(n))
        return self.rolled(due) if roll_forward else Deadline(due=due, provisional=False)

    def rolled(self, last_day: date) -> Deadline:
        """``last_day`` moved past any rest days and statutory holidays it falls on (民法典
        Art.203 ¶1); provisional when a day it looked at has no official schedule."""
        day = _require_date(last_day)
        provisional = not self.year_is_official(day.year)
        while not self.is_workday(day):
            day += timedelta(days=1)
            provisional = provisional or not self.year_is_official(day.year)
        return Deadline(due=day, provisional=provisional)

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (start not counted); n=0 returns start."""
        _require_date(start)
        remaining = _require_non_negative(n)
        day, provisional = start, False
        while remaining > 0:
            day += timedelta(days=1)
            provisional = provisional or not self.year_is_official(day.year)
            if self.is_workday(day):
                remaining -= 1
        return Deadline(due=day, provisional=provisional)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative count of (b, a] when b precedes a."""
        _require_date(a)
        _require_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        days = (a + timedelta(days=i) for i in range(1, (b - a).days + 1))
        return sum(1 for d in days if self.is_workday(d))

    @staticmethod
    def deadline_end(d: date, tz: tzinfo = BEIJING) -> datetime:
        """First instant after deadline day ``d`` (next day 00:00 in ``tz``); met while now < it."""
        _require_date(d)
        return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=tz)


@lru_cache(maxsize=1)
def default_calendar() -> BusinessCalendar:
    """Shared calendar using engine/data/holidays.json (cached; restart to reload)."""
    return BusinessCalendar(DEFAULT_OVERRIDES_PATH)
