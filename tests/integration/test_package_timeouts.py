"""A package clock's `on_expiry = "remind"` / "escalate" are the engine's timeout policies: the
worker's poll sends 即将到期 one working day before the last day and, for "escalate", 已超期 to the
holders and the unit's leaders once it has passed — each once, whichever engine polls."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.calendar import BEIJING
from engine.errors import DefinitionError
from engine.history import verify_chain
from engine.models import HistoryEvent
from engine.notify.centre import messages
from engine.packages.loader import build_config
from engine.packages.manifest import parse_manifest
from engine.packages.package import Package
from engine.packages.store import deploy_package
from engine.runtime import start_case
from engine.worker import _poll
from tests.factories import build_org, open_tasks
from tests.package_helpers import other_env, package_of

KEY = "merit_notice"
NOTICE = {"soldier_name": "陈刚", "id_number": "32062120010101001X", "army_unit": "某部", "award": "三等功",
          "award_year": 2026, "received_date": "2026-03-06", "family_contact": "陈建华",
          "family_address": "城东街道幸福社区5组"}
REGISTER = 'on_expiry = "remind"\n\n[clocks.deliver]'


def _variant(old: str, new: str) -> Package:
    shipped = package_of(KEY)
    assert old in shipped.manifest_text
    text = shipped.manifest_text.replace(old, new, 1)
    return Package(text, parse_manifest(text), shipped.models, shipped.forms)


def _deploy(env, package: Package) -> None:
    with env.db.write() as s:
        deploy_package(s, package, env.calendar, env.clock.now())


def _poll_once(env) -> int:
    return _poll(env, "test-worker", 100, threading.Event())


def _events(env, case_id: int, action: str) -> list[HistoryEvent]:
    with env.db.read() as s:
        return list(s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == case_id,
                                                         HistoryEvent.action == action)))


def _at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=BEIJING)


def _case(env, org) -> int:
    return start_case(env, KEY, org.actor("city_cw"), org.units["city_xf"],
                      {**NOTICE, "home_unit_id": org.units["t1"]}).instance_id


def test_an_escalating_clock_reminds_then_escalates_each_once_on_the_business_calendar(env, clock):
    org = build_org(env)
    _deploy(env, _variant(REGISTER, 'on_expiry = "escalate"\n\n[clocks.deliver]'))
    case_id = _case(env, org)
    [verify] = open_tasks(env, case_id, "verify")
    # received Friday 03-06: 2 working days end Tuesday 03-10; the reminder is due on Monday
    assert verify.due_at == _at("2026-03-11")
    other = other_env(env)
    clock.set(_at("2026-03-08", 23))                         # Sunday night: nothing yet
    assert _poll_once(env) == 0
    clock.set(_at("2026-03-09"))                             # one working day before the last day
    assert _poll_once(other) == 1 and _poll_once(env) == 0
    assert [m.kind for m in messages(env, org.actor("city_cw").id)][:1] == ["due_soon"]
    clock.set(_at("2026-03-10", 23))                         # still the last day
    assert _poll_once(env) == 0
    clock.set(_at("2026-03-11"))                             # 24:00 of the last day: overdue
    assert _poll_once(env) == 1 and _poll_once(other) == 0
    assert [m.kind for m in messages(env, org.actor("city_lead").id)] == ["overdue"]  # the city's leader
    assert messages(env, org.actor("d1_lead").id) == []
    assert (len(_events(env, case_id, "remind")), len(_events(env, case_id, "escalate"))) == (1, 1)
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok
    other.db.dispose()


def test_a_reminding_clock_reminds_once_and_never_escalates(env, clock):
    org = build_org(env)
    package = _variant(REGISTER, 'on_expiry = "remind"\nremind_before_days = "remind_days"\n\n[clocks.deliver]')
    text = package.manifest_text.replace("[settings]\n", "[settings]\nremind_days = 2\n", 1)
    _deploy(env, Package(text, parse_manifest(text), package.models, package.forms))
    case_id = _case(env, org)
    clock.set(_at("2026-03-05", 23))                         # 2 working days before Tuesday 03-10: Friday
    assert _poll_once(env) == 0
    clock.set(_at("2026-03-06"))
    assert _poll_once(env) == 1
    clock.set(_at("2026-03-20"))                             # long overdue: a reminding clock only reminds
    assert _poll_once(env) == 0
    assert (len(_events(env, case_id, "remind")), len(_events(env, case_id, "escalate"))) == (1, 0)


def test_the_manifest_clocks_become_timeout_policies_and_a_missing_setting_is_refused(env):
    config = build_config(package_of(KEY))
    assert config.settings["verbs"]["verify"]["timeout"] == {"remind_before_days": 1}
    escalating = build_config(_variant(REGISTER, 'on_expiry = "escalate"\n\n[clocks.deliver]'))
    assert escalating.settings["verbs"]["verify"]["timeout"] == {"remind_before_days": 1, "escalate": True}
    assert "publicity" not in build_config(package_of("hardship_aid")).settings.get("verbs", {})  # a BPMN timer
    broken = _variant(REGISTER, 'on_expiry = "remind"\nremind_before_days = "no_such"\n\n[clocks.deliver]')
    with pytest.raises(DefinitionError) as refused:
        _deploy(env, broken)
    assert refused.value.element == "clocks.register.remind_before_days"
    assert "no_such" in refused.value.user_message and refused.value.line
