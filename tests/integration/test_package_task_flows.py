"""The seed's simpler task flows as declarative packages with no Python — 服务站视频点验, 公益性岗位,
最美退役军人, 现役军人家庭困难帮扶: each step by the right role at the right level (others refused),
their rules, timers and indicators, with the spec cache dropped and two engine Envs alternating."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import FormInvalid, PermissionDenied
from engine.models import InstanceStatus, OrgUnit, Role, User
from engine.orgs import grant_role
from engine.runtime import complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import build_org_with_sections, case_row, open_tasks
from tests.package_helpers import Alternating, deploy_key
from workflows.indicators import report


@pytest.fixture
def org(env):
    org = build_org_with_sections(env)
    for key in ("station_inspection", "public_welfare_post", "model_veteran", "active_family_aid"):
        deploy_key(env, key)
    return org


def _rows(env, org, user, key):
    return {r.label: r.value for s in report(env, org.actor(user).id).sections if s.key == key for r in s.rows}


# ----------------------------------------------------------------------------- 服务站视频点验

def _inspection(env, org):
    return start_case(env, "station_inspection", org.actor("d1_cw"), org.units["d1"], {
        "station_unit_id": org.units["v1"], "inspect_date": "2026-03-02",
        "inspect_items": "阵地建设、人员在岗、服务台账"}).instance_id


def test_an_inspection_with_findings_loops_until_the_station_has_rectified(env, org):
    run = Alternating(env, org)
    case_id = _inspection(env, org)
    run.act(case_id, "video_check", "d1_cw", {"check_result": "需整改", "problems": "服务台账不全"},
            refused=("d2_cw", "t1_cw"))
    [rectify] = open_tasks(env, case_id, "rectify")
    assert rectify.org_unit_id == org.units["v1"] and rectify.due_at is not None
    run.act(case_id, "rectify", "v1_cw", {"rectify_report": "已补台账", "rectify_date": "2026-03-06"},
            refused=("t1_cw",))
    run.act(case_id, "recheck", "d1_rev", {"recheck_result": "未到位", "recheck_opinion": "仍缺两项"},
            refused=("d1_cw",))
    run.act(case_id, "rectify", "v1_cw", {"rectify_report": "已全部补齐", "rectify_date": "2026-03-09"})
    run.act(case_id, "recheck", "d1_rev", {"recheck_result": "整改到位"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    rows = _rows(env, org, "d1_lead", "station_inspection")
    assert (rows["点验次数"], rows["点验合格率"], rows["整改到位"]) == ("1", "0.0%", "1")


def test_whoever_inspected_may_not_recheck_the_same_station(env, org):
    with env.db.write() as s:  # a district caseworker who is also a reviewer
        user = s.get(User, org.actor("d1_cw").id)
        grant_role(s, user, Role.reviewer, s.get(OrgUnit, org.units["d1"]))
    run = Alternating(env, org)
    case_id = _inspection(env, org)
    run.act(case_id, "video_check", "d1_cw", {"check_result": "需整改", "problems": "服务台账不全"})
    run.act(case_id, "rectify", "v1_cw", {"rectify_report": "已补台账", "rectify_date": "2026-03-06"})
    [recheck] = open_tasks(env, case_id, "recheck")
    with pytest.raises(PermissionDenied):
        complete_task(env, recheck.id, org.actor("d1_cw"), {"recheck_result": "整改到位"})
    complete_task(env, recheck.id, org.actor("d1_rev"), {"recheck_result": "整改到位"})


def test_a_unit_field_takes_only_a_unit_its_picker_offers(env, org):
    """The station must be an active town or village unit (x-unit-levels), checked by the engine
    for any caller (the API included), not by the page's picker alone: a district, the city, an
    unknown id and a closed station are refused with the field's message and start nothing."""
    with env.db.write() as s:
        s.get(OrgUnit, org.units["t2"]).active = False
    before = len(_cases(env))
    for wrong in (org.units["d1"], org.units["city"], 999_999, org.units["t2"]):
        with pytest.raises(FormInvalid) as refused:
            start_case(env, "station_inspection", org.actor("d1_cw"), org.units["d1"], {
                "station_unit_id": wrong, "inspect_date": "2026-03-02", "inspect_items": "人员在岗"})
        assert refused.value.errors == {"station_unit_id": "请从列表中选择被点验服务站"}
    assert len(_cases(env)) == before
    for station in ("t1", "v1"):
        start_case(env, "station_inspection", org.actor("d1_cw"), org.units["d1"], {
            "station_unit_id": org.units[station], "inspect_date": "2026-03-02", "inspect_items": "人员在岗"})
    assert len(_cases(env)) == before + 2


def _cases(env):
    from sqlalchemy import select

    from engine.models import ProcessInstance
    with env.db.read() as s:
        return s.scalars(select(ProcessInstance.id)).all()


# ----------------------------------------------------------------------------- 公益性岗位

POST = {"applicant_name": "孙建军", "id_number": "320621197505050013", "difficulty": "大龄", "apply_year": 2026,
        "apply_date": "2026-03-02"}


def test_a_veteran_is_placed_on_a_public_welfare_post_once_a_year(env, org):
    run = Alternating(env, org)
    case_id = start_case(env, "public_welfare_post", org.actor("t1_cw"), org.units["t1"], POST).instance_id
    with pytest.raises(PermissionDenied):
        start_case(env, "public_welfare_post", org.actor("v1_cw"), org.units["v1"], POST)
    run.act(case_id, "district_review", "d1_rev", {"review_decision": "符合"}, refused=("d1_cw", "t1_cw"))
    [placement] = open_tasks(env, case_id, "placement")
    assert placement.org_unit_id == org.units["t1"] and placement.due_at is not None
    run.act(case_id, "placement", "t1_cw", {"post_name": "社区巡防员", "employer": "城东街道办事处",
                                            "on_post_date": "2026-03-20"}, refused=("t2_cw",))
    assert case_row(env, case_id).status == InstanceStatus.completed
    with pytest.raises(FormInvalid) as again:
        start_case(env, "public_welfare_post", org.actor("t1_cw"), org.units["t1"], POST)
    assert again.value.errors == {"apply_year": "该人员本年度已申请公益性岗位，不能重复申请"}
    start_case(env, "public_welfare_post", org.actor("t1_cw"), org.units["t1"], {**POST, "apply_year": 2027})
    rows = _rows(env, org, "d1_lead", "public_welfare_post")
    assert (rows["申请人数"], rows["符合条件人数"], rows["上岗率"]) == ("2", "1", "100.0%")


# ----------------------------------------------------------------------------- 最美退役军人

NOMINEE = {"nominee_name": "周海", "id_number": "32062119880808002X", "deeds": "退役后带领乡亲致富",
           "nomination_year": 2026}


def test_a_nominee_is_selected_after_publicity_by_the_bureau_leader(env, org):
    run = Alternating(env, org)
    case_id = start_case(env, "model_veteran", org.actor("t1_cw"), org.units["t1"], NOMINEE).instance_id
    run.act(case_id, "district_review", "d1_rev", {"district_decision": "推荐"}, refused=("d1_cw",))
    run.act(case_id, "city_selection", "city_yf_rev", {"city_decision": "入选"}, refused=("city_rev", "d1_rev"))
    [publicity] = open_tasks(env, case_id, "publicity")
    assert publicity.org_unit_id == org.units["city_yf"]
    env.clock.set(publicity.due_at + timedelta(seconds=1))
    assert run_due_timers(run.envs[1]) == 1
    run.act(case_id, "leader_approval", "city_lead", {"leader_decision": "同意"}, refused=("d1_lead", "city_yf_rev"))
    assert case_row(env, case_id).status == InstanceStatus.completed
    rows = _rows(env, org, "city_lead", "model_veteran")
    assert (rows["推荐人数"], rows["入选评审人数"], rows["当选人数"]) == ("1", "1", "1")
    with pytest.raises(FormInvalid):
        start_case(env, "model_veteran", org.actor("t1_cw"), org.units["t1"], NOMINEE)


# ----------------------------------------------------------------------------- 现役军人家庭困难帮扶

FAMILY = {"family_head": "吴秀英", "id_number": "320621197007070038", "soldier_name": "吴强", "survey_year": 2026,
          "in_difficulty": "是", "difficulty_note": "家属患病，收入低"}


def test_a_family_in_difficulty_is_helped_after_the_districts_approval(env, org):
    run = Alternating(env, org)
    case_id = start_case(env, "active_family_aid", org.actor("v1_cw"), org.units["v1"], FAMILY).instance_id
    with pytest.raises(FormInvalid) as over:
        run.act(case_id, "aid_plan", "t1_cw", {"aid_measures": "临时救助", "aid_amount": 12000})
    assert over.value.errors == {"aid_amount": "帮扶资金12000元超过上限10000元"}
    run.act(case_id, "aid_plan", "t1_cw", {"aid_measures": "临时救助", "aid_amount": 3000}, refused=("v1_cw",))
    run.act(case_id, "district_approval", "d1_lead", {"approval_decision": "退回", "approval_opinion": "补充票据"},
            refused=("d1_rev",))
    run.act(case_id, "aid_plan", "t1_cw", {"aid_measures": "临时救助并协调医疗报销", "aid_amount": 2000})
    run.act(case_id, "district_approval", "d1_lead", {"approval_decision": "同意"})
    run.act(case_id, "aid_delivery", "t1_cw", {"delivered_date": "2026-03-20", "delivery_note": "已发放"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    fine = start_case(env, "active_family_aid", org.actor("v1_cw"), org.units["v1"],
                      {**FAMILY, "id_number": "32062119900909004X", "in_difficulty": "否"}).instance_id
    assert case_row(env, fine).status == InstanceStatus.completed
    rows = _rows(env, org, "d1_lead", "active_family_aid")
    assert (rows["走访家庭"], rows["困难家庭"], rows["帮扶率"], rows["帮扶资金合计（元）"]) == (
        "2", "1", "100.0%", "2,000.00")
