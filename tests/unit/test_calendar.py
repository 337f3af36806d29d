"""Unit tests for engine.calendar (pinned chinese-calendar 1.11: data for 2004-2026)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from datetime import tzinfo as tzinfo_base
from pathlib import Path

import chinese_calendar
import pytest

from engine.calendar import (
    BEIJING,
    DEFAULT_OVERRIDES_PATH,
    FALLBACK_FIXED_HOLIDAYS,
    BusinessCalendar,
    Deadline,
    YearOverride,
    days_late,
    default_calendar,
    fallback_is_workday,
    is_overdue,
    package_covers_year,
    to_local_date,
)


@pytest.fixture
def cal() -> BusinessCalendar:
    """Calendar without project overrides: package data plus fallback."""
    return BusinessCalendar()


def write_overrides(tmp_path: Path, years: dict[str, object]) -> Path:
    """Write an overrides file into tmp_path and return its path."""
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps({"years": years}), encoding="utf-8")
    return path


# Hypothetical 2027 schedule used only as test data (NOT the official one).
FAKE_2027 = {
    "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
    "workdays": ["2027-02-20"],
    "official": True,
}


# --- assumptions about the pinned package -------------------------------------------------


def test_package_raises_for_2027() -> None:
    # If this fails, chinese-calendar was upgraded to know 2027: revisit the 2027 tests below.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


# --- 2026 facts (verified against chinese-calendar 1.11 data) -------------


@pytest.mark.parametrize("day", [date(2026, 10, d) for d in range(1, 8)])
def test_2026_national_day_is_off(cal: BusinessCalendar, day: date) -> None:
    assert not cal.is_workday(day)


def test_2026_national_day_ends_on_oct_7(cal: BusinessCalendar) -> None:
    assert cal.is_workday(date(2026, 10, 8))  # Thursday after the 7-day break


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_2026_make_up_weekend_days_are_working_days(cal: BusinessCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert cal.is_workday(day)


def test_ordinary_weekend_is_off_and_weekday_works(cal: BusinessCalendar) -> None:
    assert not cal.is_workday(date(2026, 10, 11))  # Sunday
    assert cal.is_workday(date(2026, 10, 12))  # Monday


def test_year_is_official(cal: BusinessCalendar) -> None:
    assert cal.year_is_official(2026)
    assert not cal.year_is_official(2027)
    assert not cal.year_is_official(2003)


# --- working-day arithmetic ---------------------------------------------------------------


def test_five_working_days_across_national_day(cal: BusinessCalendar) -> None:
    # Oct 8 (Thu), Oct 9 (Fri), Oct 10 (Sat, make-up), Oct 12 (Mon), Oct 13 (Tue).
    assert cal.add_working_days(date(2026, 9, 30), 5) == Deadline(date(2026, 10, 13), False)


def test_make_up_sunday_counts_as_next_working_day(cal: BusinessCalendar) -> None:
    assert cal.add_working_days(date(2026, 9, 18), 1).due == date(2026, 9, 20)


def test_start_day_is_not_counted(cal: BusinessCalendar) -> None:
    assert cal.add_working_days(date(2026, 11, 2), 1).due == date(2026, 11, 3)
    assert cal.add_working_days(date(2026, 11, 2), 0) == Deadline(date(2026, 11, 2), False)


def test_negative_counts_rejected(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        cal.add_days(date(2026, 1, 5), -1)


def test_datetime_is_rejected(cal: BusinessCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_workday(datetime(2026, 10, 1, 12, tzinfo=BEIJING))


def test_working_days_between(cal: BusinessCalendar) -> None:
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert cal.working_days_between(date(2026, 9, 18), date(2026, 9, 20)) == 1
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 10, 13), date(2026, 10, 13)) == 0
    assert cal.working_days_between(date(2026, 10, 13), date(2026, 9, 30)) == -5


@pytest.mark.parametrize("n", [1, 5, 15, 20, 60])
def test_working_days_between_inverts_add_working_days(cal: BusinessCalendar, n: int) -> None:
    start = date(2026, 9, 25)
    assert cal.working_days_between(start, cal.add_working_days(start, n).due) == n


# --- crossing into 2027 (no package data) -------------------------------------------------


def test_60_working_days_from_2026_11_29_falls_back_and_is_provisional(cal: BusinessCalendar) -> None:
    # Nov 30 + 23 weekdays in Dec = 24; Jan 2027 has 20 (Jan 1 off) = 44; Feb 1-19 = 59; Feb 22.
    assert cal.add_working_days(date(2026, 11, 29), 60) == Deadline(date(2027, 2, 22), True)


def test_working_days_inside_official_year_are_not_provisional(cal: BusinessCalendar) -> None:
    assert cal.add_working_days(date(2026, 12, 1), 5).provisional is False


def test_fallback_fixed_date_holidays(cal: BusinessCalendar) -> None:
    assert not cal.is_workday(date(2027, 1, 1))  # Friday, New Year's Day
    assert not cal.is_workday(date(2027, 10, 1))  # Friday, National Day
    assert date(2028, 5, 1).weekday() == 0 and date(2028, 10, 2).weekday() == 0
    assert not cal.is_workday(date(2028, 5, 1))  # Labour Day, day 1
    assert not cal.is_workday(date(2028, 5, 2))  # Labour Day, day 2 (2025 revision)
    assert not cal.is_workday(date(2028, 10, 3))  # National Day, day 3
    assert cal.is_workday(date(2028, 5, 3))
    assert cal.is_workday(date(2028, 10, 4))
    assert not cal.is_workday(date(2027, 1, 2))  # plain Saturday


def test_add_days_is_calendar_math_and_never_provisional(cal: BusinessCalendar) -> None:
    assert cal.add_days(date(2026, 11, 29), 60) == Deadline(date(2027, 1, 28), False)
    # Holidays do not move a calendar-day deadline: lands on the National Day break.
    assert cal.add_days(date(2026, 9, 16), 15) == Deadline(date(2026, 10, 1), False)
    assert cal.add_days(date(2026, 3, 1), 0).due == date(2026, 3, 1)


# --- overrides file -----------------------------------------------------------------------


def test_official_override_for_2027_changes_result(tmp_path: Path) -> None:
    cal = BusinessCalendar(write_overrides(tmp_path, {"2027": FAKE_2027}))
    assert cal.year_is_official(2027)
    assert not cal.is_workday(date(2027, 2, 8))
    assert cal.is_workday(date(2027, 2, 20))  # Saturday make-up day
    # Same 60-day clock: Feb 8-12 off (-5), Sat Feb 20 works (+1) -> Feb 26, now official.
    assert cal.add_working_days(date(2026, 11, 29), 60) == Deadline(date(2027, 2, 26), False)


def test_draft_override_stays_provisional(tmp_path: Path) -> None:
    cal = BusinessCalendar(write_overrides(tmp_path, {"2027": {**FAKE_2027, "official": False}}))
    assert not cal.year_is_official(2027)
    assert cal.add_working_days(date(2026, 11, 29), 60) == Deadline(date(2027, 2, 26), True)


def test_override_replaces_package_year_entirely(tmp_path: Path) -> None:
    cal = BusinessCalendar(write_overrides(tmp_path, {"2026": {"official": True}}))
    assert cal.is_workday(date(2026, 10, 1))  # package holiday gone
    assert not cal.is_workday(date(2026, 10, 10))  # package make-up Saturday gone
    assert cal.is_workday(date(2025, 10, 8)) == chinese_calendar.is_workday(date(2025, 10, 8))


@pytest.mark.parametrize(
    "entry",
    [
        {"holidays": ["2026-12-31"], "official": True},  # date outside its year
        {"workdays": ["2027-02-22"], "official": True},  # make-up day on a Monday
        {"holidays": ["2027-02-20"], "workdays": ["2027-02-20"]},  # both
        {"holiday": ["2027-02-22"]},  # typo in key
        {"holidays": ["2027-02-30"]},  # not a date
        {"official": "yes"},
    ],
)
def test_invalid_override_rejected(tmp_path: Path, entry: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(write_overrides(tmp_path, {"2027": entry}))


def test_shipped_overrides_file_loads() -> None:
    assert DEFAULT_OVERRIDES_PATH.is_file()
    cal = default_calendar()
    assert cal is default_calendar()
    assert cal.year_is_official(2026)


# --- time zones ---------------------------------------------------------------------------


def test_deadline_end_is_next_midnight_beijing(cal: BusinessCalendar) -> None:
    end = cal.deadline_end(date(2026, 10, 15))
    assert end == datetime(2026, 10, 16, 0, 0, tzinfo=BEIJING)
    assert end.utcoffset() == timedelta(hours=8)
    assert end == datetime(2026, 10, 15, 16, 0, tzinfo=timezone.utc)
    assert datetime(2026, 10, 15, 23, 59, 59, tzinfo=BEIJING) < end
    assert not datetime(2026, 10, 15, 16, 0, tzinfo=timezone.utc) < end


def test_deadline_end_other_tz(cal: BusinessCalendar) -> None:
    end = cal.deadline_end(date(2026, 10, 15), timezone.utc)
    assert end == datetime(2026, 10, 16, 0, 0, tzinfo=timezone.utc)


def test_to_local_date() -> None:
    assert to_local_date(datetime(2026, 10, 15, 15, 59, tzinfo=timezone.utc)) == date(2026, 10, 15)
    assert to_local_date(datetime(2026, 10, 15, 16, 0, tzinfo=timezone.utc)) == date(2026, 10, 16)
    with pytest.raises(ValueError):
        to_local_date(datetime(2026, 10, 15, 12, 0))


# --- the due instant (民法典 Art.203 ¶2: a period ends at 24:00 of its last day) -------------


def test_act_at_midnight_after_the_last_day_is_overdue(cal: BusinessCalendar) -> None:
    due_at = cal.deadline_end(date(2026, 10, 15))
    assert is_overdue(datetime(2026, 10, 16, 0, 0, 0, tzinfo=BEIJING), due_at)
    assert is_overdue(datetime(2026, 10, 16, 0, 0, 1, tzinfo=BEIJING), due_at)
    assert not is_overdue(datetime(2026, 10, 15, 23, 59, 59, 999999, tzinfo=BEIJING), due_at)
    # The same instant in UTC gives the same answer.
    assert is_overdue(datetime(2026, 10, 15, 16, 0, tzinfo=timezone.utc), due_at)
    assert not is_overdue(datetime(2026, 10, 15, 15, 59, 59, tzinfo=timezone.utc), due_at)


@pytest.mark.parametrize("at, due_at", [
    (datetime(2026, 10, 16), datetime(2026, 10, 16, tzinfo=BEIJING)),
    (datetime(2026, 10, 16, tzinfo=BEIJING), datetime(2026, 10, 16)),
])
def test_due_instant_rule_needs_aware_instants(at: datetime, due_at: datetime) -> None:
    with pytest.raises(ValueError):
        is_overdue(at, due_at)


def test_days_late_counts_days_after_the_last_day() -> None:
    assert days_late(date(2026, 10, 15), date(2026, 10, 15)) == 0
    assert days_late(date(2026, 10, 14), date(2026, 10, 15)) == 0
    assert days_late(date(2026, 10, 16), date(2026, 10, 15)) == 1
    assert days_late(date(2026, 11, 14), date(2026, 10, 15)) == 30
    with pytest.raises(TypeError):
        days_late(datetime(2026, 10, 16, tzinfo=BEIJING), date(2026, 10, 15))
    with pytest.raises(TypeError):
        days_late(date(2026, 10, 16), datetime(2026, 10, 15, tzinfo=BEIJING))


# --- roll-forward (民法典 Art.203 ¶1: a last day on a holiday moves to the day after it) ------


def test_window_ending_on_national_day_rolls_to_october_8(cal: BusinessCalendar) -> None:
    # Reply served 2026-09-01: the 30-day 复查 window's last day is 10-01, inside the break.
    assert cal.add_days(date(2026, 9, 1), 30) == Deadline(date(2026, 10, 1), False)
    assert cal.add_days(date(2026, 9, 1), 30, roll_forward=True) == Deadline(date(2026, 10, 8), False)
    # Discharged 2026-09-05: the 30th day is 10-05, rolled to 10-08.
    assert cal.add_days(date(2026, 9, 5), 30, roll_forward=True).due == date(2026, 10, 8)


def test_last_day_before_the_break_does_not_roll(cal: BusinessCalendar) -> None:
    assert cal.add_days(date(2026, 8, 31), 30, roll_forward=True) == Deadline(date(2026, 9, 30), False)
    assert cal.rolled(date(2026, 10, 8)) == Deadline(date(2026, 10, 8), False)


def test_make_up_working_day_does_not_roll(cal: BusinessCalendar) -> None:
    # Saturday 2026-10-10 is a 调休 working day: a window ending on it ends on it.
    assert cal.rolled(date(2026, 10, 10)) == Deadline(date(2026, 10, 10), False)
    # A plain Sunday rolls to Monday.
    assert cal.rolled(date(2026, 10, 11)) == Deadline(date(2026, 10, 12), False)


def test_roll_into_a_year_without_official_schedule_is_provisional(cal: BusinessCalendar) -> None:
    # 2027-01-01 (Friday, New Year's Day by the fallback) then the weekend: Monday 01-04, 暂定.
    assert cal.rolled(date(2027, 1, 1)) == Deadline(date(2027, 1, 4), True)
    # A 2027 last day on a plain weekday does not move, but is still only provisional.
    assert cal.rolled(date(2027, 3, 3)) == Deadline(date(2027, 3, 3), True)
    # Rolling from an official year across New Year into 2027: provisional.
    assert cal.rolled(date(2026, 12, 31)) == Deadline(date(2026, 12, 31), False)
    assert cal.add_days(date(2026, 12, 2), 30, roll_forward=True) == Deadline(date(2027, 1, 4), True)


def test_roll_with_an_official_2027_override_is_certain(tmp_path: Path) -> None:
    cal = BusinessCalendar(write_overrides(tmp_path, {"2027": FAKE_2027}))
    # Spring Festival 02-08..12, then the weekend: Monday 02-15; the make-up Saturday stays.
    assert cal.rolled(date(2027, 2, 8)) == Deadline(date(2027, 2, 15), False)
    assert cal.rolled(date(2027, 2, 20)) == Deadline(date(2027, 2, 20), False)


def test_roll_forward_rejects_datetimes(cal: BusinessCalendar) -> None:
    with pytest.raises(TypeError):
        cal.rolled(datetime(2026, 10, 1, tzinfo=BEIJING))
    with pytest.raises(TypeError):
        cal.add_days(datetime(2026, 10, 1, tzinfo=BEIJING), 3, roll_forward=True)  # type: ignore[arg-type]


# --- exact refusals (each message names what is wrong) ------------------------------------


def test_refusal_messages_name_the_problem(cal: BusinessCalendar) -> None:
    with pytest.raises(TypeError, match=r"^expected datetime\.date, got datetime; use to_local_date\(\)$"):
        cal.is_workday(datetime(2026, 10, 1, 12, tzinfo=BEIJING))
    with pytest.raises(TypeError, match=r"^expected datetime\.date, got str; use to_local_date\(\)$"):
        cal.is_workday("2026-10-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^day count must be >= 0, got -1$"):
        cal.add_days(date(2026, 1, 5), -1)
    assert cal.add_working_days(date(2026, 1, 5), 0).due == date(2026, 1, 5)
    with pytest.raises(ValueError, match=r"^deadline instants must be timezone-aware datetimes$"):
        is_overdue(datetime(2026, 1, 5), datetime(2026, 1, 5, tzinfo=BEIJING))
    with pytest.raises(ValueError, match=r"^to_local_date\(\) needs a timezone-aware datetime$"):
        to_local_date(datetime(2026, 1, 5))


def test_aware_instant_with_a_tzinfo_that_gives_no_offset_is_refused() -> None:
    class NoOffset(tzinfo_base):  # a tzinfo whose utcoffset() is None counts as naive
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    naive_like = datetime(2026, 1, 5, tzinfo=NoOffset())
    with pytest.raises(ValueError):
        is_overdue(naive_like, datetime(2026, 1, 5, tzinfo=BEIJING))
    with pytest.raises(ValueError):
        to_local_date(naive_like)


@pytest.mark.parametrize("entry, message", [
    ({"holidays": "2027-01-01"}, r"^holidays override 2027\.holidays must be a list of ISO dates$"),
    ({"workdays": ["2027-02-30"]}, r"^holidays override 2027\.workdays: bad ISO date \(.+\)$"),
    ({"holidays": [20270101]}, r"^holidays override 2027\.holidays: bad ISO date \(.+\)$"),
    ({"holidays": ["2026-12-31", "2028-01-01"]},
     r"^holidays override 2027\.holidays has dates outside 2027: \['2026-12-31', '2028-01-01'\]$"),
    ({"holiday": [], "sorce": ""}, r"^holidays override 2027 has unknown keys: \['holiday', 'sorce'\]$"),
    ({"official": 1}, r"^holidays override 2027\.official must be true or false$"),
    ({"holidays": ["2027-02-20"], "workdays": ["2027-02-20"]},
     r"^holidays override 2027: dates both holiday and workday: \['2027-02-20'\]$"),
    ({"workdays": ["2027-02-22", "2027-02-20"]},
     r"^holidays override 2027: workdays must be Sat/Sun: \['2027-02-22'\]$"),
])
def test_override_refusals_name_year_field_and_dates(tmp_path: Path, entry: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(write_overrides(tmp_path, {"2027": entry}))


def test_override_year_must_be_an_object_and_years_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^holidays override 2027 must be an object$"):
        BusinessCalendar(write_overrides(tmp_path, {"2027": ["2027-01-01"]}))
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"years": [2027]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"^holidays overrides: 'years' must be an object keyed by year$"):
        BusinessCalendar(path)


def test_override_file_without_years_or_official_flag(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    assert BusinessCalendar(empty).year_is_official(2026)  # nothing overridden
    cal = BusinessCalendar(write_overrides(tmp_path, {"2027": {"holidays": ["2027-03-03"]}}))
    assert not cal.year_is_official(2027)  # "official" defaults to false
    assert not cal.is_workday(date(2027, 3, 3))
    assert cal.is_workday(date(2027, 1, 1))  # the override replaces the fallback's New Year
    assert not cal.is_workday(date(2027, 1, 2))  # Saturday, not listed as a make-up day


def test_override_file_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps({"years": {"2027": {"official": True, "source": "国办发明电〔2026〕1号"}}},
                               ensure_ascii=False), encoding="utf-8")
    assert BusinessCalendar(path).year_is_official(2027)


def test_working_days_between_single_steps(cal: BusinessCalendar) -> None:
    assert cal.working_days_between(date(2026, 11, 2), date(2026, 11, 3)) == 1  # Mon -> Tue
    assert cal.working_days_between(date(2026, 11, 6), date(2026, 11, 9)) == 1  # Fri -> Mon
    assert cal.working_days_between(date(2026, 11, 3), date(2026, 11, 2)) == -1
    with pytest.raises(TypeError):
        cal.working_days_between(date(2026, 11, 2), datetime(2026, 11, 3, tzinfo=BEIJING))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cal.working_days_between(datetime(2026, 11, 2, tzinfo=BEIJING), date(2026, 11, 3))  # type: ignore[arg-type]


def test_deadline_end_defaults_to_beijing_and_checks_its_day(cal: BusinessCalendar) -> None:
    end = BusinessCalendar.deadline_end(date(2026, 12, 31))
    assert end == datetime(2027, 1, 1, 0, 0, tzinfo=BEIJING)
    assert (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    assert end.tzinfo is BEIJING
    with pytest.raises(TypeError):
        cal.deadline_end(datetime(2026, 12, 31, tzinfo=BEIJING))  # type: ignore[arg-type]


def test_add_working_days_provisional_only_for_days_it_stepped_on(tmp_path: Path) -> None:
    cal = BusinessCalendar(write_overrides(tmp_path, {"2027": {**FAKE_2027, "official": False}}))
    assert cal.add_working_days(date(2026, 12, 30), 1) == Deadline(date(2026, 12, 31), False)
    assert cal.add_working_days(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 4), True)
    assert cal.add_working_days(date(2027, 1, 4), 0) == Deadline(date(2027, 1, 4), False)


def test_package_coverage_is_per_year() -> None:
    assert package_covers_year(2026) and package_covers_year(2004)
    assert not package_covers_year(2027) and not package_covers_year(2003)


def test_fallback_weekdays_and_weekends() -> None:
    assert fallback_is_workday(date(2027, 1, 8))  # Friday
    assert not fallback_is_workday(date(2027, 1, 9))  # Saturday
    assert not fallback_is_workday(date(2027, 1, 10))  # Sunday
    assert not fallback_is_workday(date(2027, 10, 1))
    assert fallback_is_workday(date(2027, 10, 4))  # Monday after the 3 fixed days
    assert fallback_is_workday(date(2027, 5, 3))  # Monday after Labour Day
    assert not fallback_is_workday(date(2027, 5, 2))


def test_year_override_is_workday_rules() -> None:
    year = YearOverride(holidays=frozenset({date(2027, 2, 8)}), workdays=frozenset({date(2027, 2, 20)}),
                        official=True)
    assert not year.is_workday(date(2027, 2, 8))  # listed holiday, a Monday
    assert year.is_workday(date(2027, 2, 20))  # listed make-up Saturday
    assert not year.is_workday(date(2027, 2, 21))  # plain Sunday
    assert year.is_workday(date(2027, 2, 19))  # plain Friday
    assert not year.is_workday(date(2027, 2, 13))  # plain Saturday


def test_fixed_fallback_holidays_are_exactly_the_2025_revision() -> None:
    assert FALLBACK_FIXED_HOLIDAYS == ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


def test_deadlines_and_year_overrides_are_immutable() -> None:
    deadline = Deadline(date(2026, 10, 8), False)
    with pytest.raises(AttributeError):
        deadline.due = date(2026, 10, 9)  # type: ignore[misc]
    year = YearOverride(holidays=frozenset(), workdays=frozenset(), official=True)
    with pytest.raises(AttributeError):
        year.official = False  # type: ignore[misc]


def test_override_may_carry_source_and_note(tmp_path: Path) -> None:
    entry = {**FAKE_2027, "source": "国办发明电", "note": "copied from the notice"}
    assert BusinessCalendar(write_overrides(tmp_path, {"2027": entry})).year_is_official(2027)


def test_provisional_sticks_once_a_step_touched_an_unofficial_year(tmp_path: Path) -> None:
    # 2027 a draft (not official), 2028 official: counting from the end of 2027 into 2028 stays 暂定.
    cal = BusinessCalendar(write_overrides(tmp_path, {
        "2027": {"holidays": ["2027-12-31"], "official": False},
        "2028": {"holidays": ["2028-01-03"], "official": True}}))
    assert cal.add_working_days(date(2027, 12, 30), 1) == Deadline(date(2028, 1, 4), True)
    assert cal.rolled(date(2027, 12, 31)) == Deadline(date(2028, 1, 4), True)
    assert cal.rolled(date(2028, 1, 3)) == Deadline(date(2028, 1, 4), False)
