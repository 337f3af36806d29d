"""立功送喜报 as a declarative package (bpmn/merit_notice, no Python): the 2-working-day clock,
dispatch to the family's town and district, the leader's visit for 二等功, one notice per soldier,
award and year — each step by the right role at the right level, in alternating engines."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.errors import FormInvalid
from engine.models import InstanceStatus
from engine.runtime import start_case
from tests.factories import build_org, case_row, open_tasks
from tests.package_helpers import Alternating, deploy_key
from workflows.indicators import report

KEY = "merit_notice"
NOTICE = {"soldier_name": "陈刚", "id_number": "32062120010101001X", "army_unit": "某部", "award": "二等功",
          "award_year": 2026, "received_date": "2026-03-06", "family_contact": "陈建华",
          "family_address": "城东街道幸福社区5组"}


@pytest.fixture
def org(env):
    org = build_org(env)
    deploy_key(env, KEY)
    return org


def _start(env, org, home="t1", **data):
    return start_case(env, KEY, org.actor("city_cw"), org.units["city_xf"],
                      {**NOTICE, "home_unit_id": org.units[home], **data}).instance_id


def test_a_second_class_merit_is_delivered_with_the_district_leader(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    assert case_row(env, case_id).title == "立功喜报：陈刚（2026年二等功）"
    [verify] = open_tasks(env, case_id, "verify")
    # received on a Friday: 2 working days end with Tuesday 2026-03-10 (24:00 Beijing time)
    assert verify.due_at == datetime.fromisoformat("2026-03-11T00:00:00+08:00")
    run.act(case_id, "verify", "city_cw", {"verify_result": "属实"}, refused=("d1_cw", "t1_cw"))
    [visit] = open_tasks(env, case_id, "leader_visit")
    assert visit.org_unit_id == org.units["d1"]
    run.act(case_id, "leader_visit", "d1_lead", {"visit_leader": "王局长", "armed_forces_dept": "李部长",
                                                 "visit_date": "2026-03-09"}, refused=("d1_rev", "city_lead"))
    run.act(case_id, "deliver", "t1_cw", {"delivery_date": "2026-03-09", "receipt_signed": "已签收"},
            refused=("t2_cw", "d1_cw"))
    run.act(case_id, "reward", "d1_cw", {"reward_amount": 5000, "reward_date": "2026-03-12"}, refused=("d2_cw",))
    run.act(case_id, "archive", "city_cw", {"archive_date": "2026-03-13"})
    assert case_row(env, case_id).status == InstanceStatus.completed


def test_a_third_class_merit_goes_straight_to_the_familys_town(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org, home="t2", award="三等功")
    run.act(case_id, "verify", "city_cw", {"verify_result": "属实"})
    assert open_tasks(env, case_id, "leader_visit") == []
    [deliver] = open_tasks(env, case_id, "deliver")
    assert deliver.org_unit_id == org.units["t2"] and deliver.due_at is not None
    run.act(case_id, "deliver", "t2_cw", {"delivery_date": "2026-03-09", "receipt_signed": "已签收"},
            refused=("t1_cw",))
    [reward] = open_tasks(env, case_id, "reward")
    assert reward.org_unit_id == org.units["d2"]

    found = report(env, org.actor("city_lead").id)
    rows = {r.label: r.value for s in found.sections if s.key == KEY for r in s.rows}
    assert (rows["喜报件数"], rows["其中三等功"], rows["其中二等功"], rows["送达率"]) == ("1", "1", "0", "100.0%")


def test_one_notice_per_soldier_award_and_year(env, org):
    _start(env, org)
    with pytest.raises(FormInvalid) as refused:
        _start(env, org)
    assert refused.value.errors == {"award_year": "该军人本年度同一奖励的喜报已登记，不能重复登记"}
    _start(env, org, award="优秀士兵")
    _start(env, org, award_year=2025)


def test_a_notice_with_wrong_details_goes_back_to_the_army(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    with pytest.raises(FormInvalid):
        run.act(case_id, "verify", "city_cw", {"verify_result": "有误"})
    run.act(case_id, "verify", "city_cw", {"verify_result": "有误", "verify_note": "身份证号与部队来函不符"})
    assert case_row(env, case_id).status == InstanceStatus.completed
