"""Named read-only queries (engine.named_queries) called from BPMN scripts, gateway conditions and
DMN tables inside the sandbox: only those the process lists, answered from other cases on the
case's clock, bounded; a package calling one it does not list is refused at upload."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import DefinitionError
from engine.models import InstanceStatus, ProcessDefinition
from engine.named_queries import MAX_CALLS, QUERIES, QueryScope, query_scope, scope_functions
from engine.packages.upload import upload_package
from engine.runtime import case_data, start_case, terminate_case
from tests.factories import (DATA, act, build_org_with_sections, case_row, deploy_dir, deploy_files, open_tasks,
                             register_petition, simple_config)
from tests.integration.test_package_upload import package_files, zipped
from tests.package_helpers import BPMN, Alternating, deploy_key

ID = "320621196502030012"
APPLY = {"applicant_name": "赵志刚", "id_number": ID, "hardship_type": "因病", "difficulty_level": "较重困难",
         "situation": "本人患慢性病，医疗支出较大", "apply_date": "2026-03-02"}
CALLS = frozenset({"petitions_registered_by", "petitions_terminated_for"})


@pytest.fixture
def org(env):
    org = build_org_with_sections(env)
    deploy_dir(env, "petition", BPMN / "petition")
    return org


def _query_case(env, org, calls=CALLS) -> int:
    env.extra_processes["query_calls"] = simple_config("query_calls", "QC", callable_queries=calls)
    deploy_files(env, "query_calls", {"query_calls.bpmn": (DATA / "query_calls" / "query_calls.bpmn").read_bytes()})
    case_id = start_case(env, "query_calls", org.actor("t1_cw"), org.units["t1"], {"id_number": ID}).instance_id
    act(env, org, case_id, "fill", "t1_cw", {})
    return case_id


def test_a_script_and_a_condition_call_the_queries_the_process_lists(env, org):
    first = register_petition(env, org, id_number=ID)
    register_petition(env, org, id_number=ID)
    register_petition(env, org, id_number="110101199003074514")  # someone else's
    terminate_case(env, first, org.actor("admin"), "反复缠访、扰乱秩序，终止办理")
    env.clock.advance(timedelta(days=1))
    case_id = _query_case(env, org)
    data = case_data(env, case_id)
    assert (data["registered"], data["registered_now"]) == (2, 0)  # 0 years: since today only
    assert [t.step_id for t in open_tasks(env, case_id, "review")] == ["review"]  # the condition's call
    assert not any(callable(v) for v in data.values())  # the functions never become case data


def test_a_call_the_process_does_not_list_fails_the_step(env, org):
    case_id = _query_case(env, org, calls=frozenset({"petitions_terminated_for"}))
    row = case_row(env, case_id)
    assert row.status == InstanceStatus.error and row.error_step == "count"
    assert "petitions_registered_by" in (row.error_message or "")


def test_arguments_and_calls_are_bounded_and_nothing_is_offered_outside_a_command(env, org):
    assert scope_functions() == {}
    with env.db.read() as s:
        with query_scope(QueryScope(s, env.clock.now(), CALLS)) as scope:
            offered = scope_functions()
            assert set(offered) == CALLS
            for bad in ({"years": 11}, {"years": -1}, {"years": True}, {"years": "2"}):
                with pytest.raises(ValueError):
                    offered["petitions_registered_by"](ID, **bad)
            with pytest.raises(ValueError):
                offered["petitions_registered_by"]("1" * 33)
            scope.calls = MAX_CALLS
            with pytest.raises(RuntimeError):
                offered["petitions_registered_by"](ID)
    with query_scope(QueryScope(None, env.clock.now(), CALLS)):  # the smoke run: no database
        assert scope_functions()["petitions_terminated_for"](ID) == 0


def test_each_query_counts_other_cases_of_the_person_on_the_cases_clock(env, org):
    first, second = register_petition(env, org, id_number=ID), register_petition(env, org, id_number=ID)
    terminate_case(env, second, org.actor("admin"), "扰乱秩序，终止办理")
    everything = frozenset(QUERIES)

    def ask(name, *args, at=None, instance_id=None):
        with env.db.read() as s, query_scope(QueryScope(s, at or env.clock.now(), everything, instance_id)):
            return scope_functions()[name](*args)
    assert ask("petitions_registered_by", ID) == 2
    assert ask("petitions_registered_by", ID.lower(), instance_id=first) == 1  # the case itself never counts
    assert ask("petitions_terminated_for", ID) == 1
    assert (ask("cases_this_year", "petition", ID), ask("cases_within_years", "petition", ID, 1)) == (1, 1)
    assert ask("cases_this_year", "hardship_aid", ID) == 0
    next_year = env.clock.now() + timedelta(days=300)  # 2026-12-27 is still this year; 2027 is not
    assert ask("cases_this_year", "petition", ID, at=next_year) == 1
    assert ask("cases_this_year", "petition", ID, at=env.clock.now() + timedelta(days=400)) == 0
    assert ask("cases_within_years", "petition", ID, 1, at=env.clock.now() + timedelta(days=400)) == 0
    assert ask("petitions_terminated_for", ID, 2, at=env.clock.now() + timedelta(days=366 * 2)) == 0


def _hardship(env, org) -> int:
    return start_case(env, "hardship_aid", org.actor("v1_cw"), org.units["v1"], APPLY).instance_id


def _to_check(run, case_id):
    run.act(case_id, "village_check", "v1_cw", {"village_decision": "符合"})
    run.act(case_id, "town_visit", "t1_cw", {"visit_date": "2026-03-04", "visit_result": "属实",
                                             "visit_note": "情况属实"})


def test_hardship_aid_checks_the_petition_record_through_its_dmn_table(env, org):
    """自动审核 (aid_checks.dmn) calls petitions_terminated_for(id_number, 2): a petition terminated
    while the application runs ends it as 不予补助; two years on it no longer counts."""
    deploy_key(env, "hardship_aid")
    run = Alternating(env, org)
    petition = register_petition(env, org, id_number=ID)
    passed, refused = _hardship(env, org), _hardship(env, org)
    _to_check(run, passed)
    assert case_data(env, passed)["check_result"] == "通过" and open_tasks(env, passed, "district_approval")
    terminate_case(env, petition, org.actor("admin"), "反复缠访、扰乱秩序，终止办理")
    _to_check(run, refused)
    data = case_data(env, refused)
    assert (data["check_result"], data["check_reason"]) == ("不予补助", "近2年有信访事项被终止办理，不予补助")
    assert case_row(env, refused).status == InstanceStatus.completed
    assert open_tasks(env, refused, "district_approval") == []
    env.clock.advance(timedelta(days=366 * 2))  # the case's clock: the termination is over two years old
    later = _hardship(env, org)
    _to_check(run, later)
    assert case_data(env, later)["check_result"] == "通过"


def test_a_package_calling_a_query_it_does_not_list_is_refused_at_upload(env, org):
    files = package_files("hardship_aid")
    files["process.toml"], listed = re.subn(rb"(?m)^callable_queries = .*\n", b"", files["process.toml"])
    assert listed == 1
    with pytest.raises(DefinitionError) as refused:
        upload_package(env, org.actor("admin"), zipped(files))
    err = refused.value
    assert (err.file, err.element, err.line) == ("aid_checks.dmn", "dmn:inputExpression id=in_terminated_expr", 8)
    assert err.user_message == ("流程定义调用了未在 process.toml 的 callable_queries 中声明的查询"
                                "“petitions_terminated_for”（文件 aid_checks.dmn，"
                                "元素 dmn:inputExpression id=in_terminated_expr，第 8 行）")
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.key == "hardship_aid")) == 0
