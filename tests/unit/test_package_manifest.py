"""process.toml and the hooks built from it, without a database: the schema's refusals name the
element and line; placeholders are plain; clocks count calendar or working days from the step's
start or a date field, rolled forward where the manifest says so."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.calendar import default_calendar
from engine.checks import StandInOrgs
from engine.errors import DefinitionError
from engine.packages.hooks import ManifestHooks, fill
from engine.packages.manifest import parse_manifest
from engine.process_api import HookContext

BASE = 'key = "demo_pkg"\nname = "示例"\ncase_prefix = "SL"\n'


def ctx(today: date, settings: dict | None = None) -> HookContext:
    now = datetime(today.year, today.month, today.day, 2, tzinfo=timezone.utc)
    return HookContext(now=now, today=today, calendar=default_calendar(), orgs=StandInOrgs(), case_unit_id=1,
                       case_no="SL2026-00001", initiator_id=1, settings=settings or {})


@pytest.mark.parametrize("text, element, line", [
    (BASE + '\n[steps.a]\nroute = "ancestor"\n', "steps.a", 5),          # ancestor needs a level
    (BASE + '\n[clocks.c]\nstep = "a"\ndays = 2\nkind = "lunar"\n', "clocks.c.kind", 8),
    (BASE + 'colour = "red"\n', "(top)", None),
    ('key = "Bad Key"\nname = "x"\ncase_prefix = "SL"\n', "key", 1),
])
def test_the_schema_names_element_and_line(text, element, line):
    with pytest.raises(DefinitionError) as refused:
        parse_manifest(text)
    assert refused.value.element == element and refused.value.line == line, refused.value.message
    assert refused.value.file == "process.toml" and "不符合规范" in refused.value.user_message


def test_placeholders_take_plain_values_only():
    assert fill("{name}（{year}年）{name.__class__}{missing}", {"name": "陈刚", "year": 2026}) == \
        "陈刚（2026年）{name.__class__}"


def test_clocks_count_working_days_from_a_field_and_calendar_days_rolled_forward():
    hooks = ManifestHooks(parse_manifest(BASE + '''
[clocks.register]
step = "verify"
days = 2
kind = "working"
from = "received_date"
[clocks.window]
step = "verify"
days = "window_days"
roll_forward = true
provisional = true
'''))
    found = hooks.on_start({"received_date": "2026-03-06"}, ctx(date(2026, 3, 6), {"window_days": 1}))
    assert found["register_due_at"] == "2026-03-11T00:00:00+08:00"  # Fri + 2 working days = Tue
    assert found["window_due_at"] == "2026-03-10T00:00:00+08:00"    # Sat rolls to Mon
    assert found["window_due_at_provisional"] is True and found["register_due_at_provisional"] is False


def test_queries_answer_zero_where_there_is_no_database():
    hooks = ManifestHooks(parse_manifest(BASE + '[summary]\nid_field = "id_number"\n'
                                                '[queries.grants]\nname = "cases_this_year"\n'))
    assert hooks.on_start({"id_number": "X"}, ctx(date(2026, 3, 2))) == {"grants": 0}
