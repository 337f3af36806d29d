"""优待证申领 as a declarative package (bpmn/preferential_card, no Python): the right role at the right
level does each step, the rules of its manifest hold, and each command may land in another engine."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.access import startable_processes
from engine.errors import FormInvalid, PermissionDenied
from engine.history import verify_chain
from engine.models import InstanceStatus
from engine.runtime import case_data, start_case
from engine.worker import run_due_timers
from tests.factories import build_org_with_sections, case_row, open_tasks
from tests.package_helpers import Alternating, deploy_key
from workflows.indicators import report

KEY = "preferential_card"
APPLY = {"applicant_name": "李卫国", "id_number": "320621197001010018", "phone": "13912345678",
         "category": "退役军人", "has_archive": "是", "disqualification": "无", "apply_date": "2026-03-02"}
OTHER_ID, THIRD_ID = "320621198001010020", "320621198001010039"


@pytest.fixture
def org(env):
    org = build_org_with_sections(env)
    deploy_key(env, KEY)
    return org


def _start(env, org, **data):
    return start_case(env, KEY, org.actor("t1_cw"), org.units["t1"], {**APPLY, **data}).instance_id


def _to_issue(run, case_id):
    run.act(case_id, "district_review", "d1_rev", {"district_decision": "通过"}, refused=("d1_cw",))
    run.act(case_id, "city_review", "city_yf_rev", {"city_decision": "通过"}, refused=("d1_rev", "city_rev"))
    run.act(case_id, "province_result", "city_yf_cw", {"province_decision": "通过"}, refused=("t1_cw",))
    run.act(case_id, "card_made", "city_yf_cw", {"card_no": "YDZ-0001", "made_date": "2026-03-20"})
    run.act(case_id, "district_receive", "d1_cw", {"receive_date": "2026-03-25", "receiver": "王强"},
            refused=("d2_cw", "t1_cw"))


def test_card_runs_from_station_to_activation_with_each_step_at_its_level(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    row = case_row(env, case_id)
    assert row.case_no.startswith("YDZ") and row.title == "优待证申领：李卫国"
    assert row.subject_id_no == APPLY["id_number"]
    _to_issue(run, case_id)
    [issue] = open_tasks(env, case_id, "town_issue")
    assert issue.due_at is not None  # 5 working days from the district's 签收
    run.act(case_id, "town_issue", "t1_cw", {"issue_date": "2026-03-27"}, refused=("t2_cw", "v1_cw"))
    run.act(case_id, "activation", "t1_cw", {"activated": "已激活", "activation_date": "2026-04-02"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok


def test_only_a_town_caseworker_may_start_it(env, org):
    [option] = [o for o in startable_processes(env, org.actor("t1_cw").id, [KEY])]
    assert option.units == [(org.units["t1"], "城东街道退役军人服务站")]
    assert startable_processes(env, org.actor("v1_cw").id, [KEY]) == []
    assert startable_processes(env, org.actor("d1_cw").id, [KEY]) == []
    with pytest.raises(PermissionDenied):
        start_case(env, KEY, org.actor("v1_cw"), org.units["v1"], APPLY)


def test_no_archive_or_a_disqualification_ends_the_case_unaccepted(env, org):
    no_archive = _start(env, org, has_archive="否")
    serving = _start(env, org, id_number="320621197001020013", disqualification="正在服刑")
    for case_id in (no_archive, serving):
        assert case_row(env, case_id).status == InstanceStatus.completed
        assert open_tasks(env, case_id, "district_review") == []


def test_one_application_per_person(env, org):
    _start(env, org)
    with pytest.raises(FormInvalid) as refused:
        _start(env, org)
    assert "不能重复申领" in refused.value.errors["id_number"]


def test_district_refusal_ends_the_case(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    with pytest.raises(FormInvalid):  # a refusal needs its reason
        run.act(case_id, "district_review", "d1_rev", {"district_decision": "不通过"})
    run.act(case_id, "district_review", "d1_rev", {"district_decision": "不通过", "district_opinion": "资料不全"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    assert open_tasks(env, case_id, "city_review") == []


def test_no_activation_within_its_days_ends_the_case_by_its_timer(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    _to_issue(run, case_id)
    run.act(case_id, "town_issue", "t1_cw", {"issue_date": "2026-03-27"})
    [waiting] = open_tasks(env, case_id, "activation")
    due = case_data(env, case_id)["activation_due_at"]
    assert waiting.due_at == datetime.fromisoformat(due)
    env.clock.advance(timedelta(days=29))
    run_due_timers(env)
    assert case_row(env, case_id).status == InstanceStatus.running
    env.clock.set(waiting.due_at + timedelta(minutes=1))
    run_due_timers(run.envs[1])
    assert case_row(env, case_id).status == InstanceStatus.completed


def test_its_declared_indicators_show_in_the_report_of_the_units_above(env, org):
    run = Alternating(env, org)
    activated = _start(env, org)
    _to_issue(run, activated)
    run.act(activated, "town_issue", "t1_cw", {"issue_date": "2026-03-27"})
    env.clock.advance(timedelta(days=2))
    run.act(activated, "activation", "t1_cw", {"activated": "已激活", "activation_date": "2026-04-02"})
    issued = _start(env, org, id_number=OTHER_ID)
    _to_issue(run, issued)
    run.act(issued, "town_issue", "t1_cw", {"issue_date": "2026-03-28"})
    _start(env, org, id_number=THIRD_ID, has_archive="否")

    found = report(run.envs[1], org.actor("d1_lead").id)
    [section] = [s for s in found.sections if s.key == KEY]
    rows = {r.label: r for r in section.rows}
    assert section.title == "优待证申领"
    assert rows["申领件数"].value == "3"
    assert (rows["申领完成率"].value, rows["申领完成率"].basis) == ("66.7%", "2/3")
    assert (rows["激活率"].value, rows["激活率"].basis) == ("50.0%", "1/2")
    assert rows["申领至发放用时"].basis == "2 件"
    elsewhere = report(env, org.actor("city_lead").id, unit_id=org.units["d2"])
    assert {r.label: r.value for s in elsewhere.sections if s.key == KEY for r in s.rows}["申领件数"] == "0"
    with pytest.raises(PermissionDenied):
        report(env, org.actor("t1_cw").id)
