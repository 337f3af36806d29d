"""Deploying files drawn in common modelers: a generated process id under a key the admin chooses,
lanes checked against roles at deploy, and every parser failure refused with file, element and
line (never a crash), nothing deployed on error."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import admin_ops, definitions
from engine.definitions import SpecCache, parse_files
from engine.errors import DefinitionError
from engine.inbox import inbox
from engine.models import InstanceStatus, ProcessDefinition
from engine.runtime import complete_task, start_case
from tests.factories import DATA, build_org, case_row, simple_config

CAMUNDA = (DATA / "modeler" / "veteran_subsidy_camunda.bpmn").read_bytes()


def _definitions(env) -> int:
    with env.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(ProcessDefinition)))


def _upload(env, org, key, files):
    return admin_ops.upload_definition(env, org.actor("admin"), key, files)


def test_a_camunda_modeler_file_deploys_under_the_chosen_key_and_runs(env):
    org = build_org(env)
    result = _upload(env, org, "veteran_subsidy_x", {"subsidy.bpmn": CAMUNDA})
    assert (result.key, result.version, result.created) == ("veteran_subsidy_x", 1, True)
    env.specs = SpecCache()  # parsed again elsewhere: the same main process
    with env.db.read() as s:
        definition = s.scalar(select(ProcessDefinition))
        parsed = env.specs.get(s, definition.id)
    assert definition.name == "优抚补助审批"
    assert parsed.process_id == "Process_1l85e0n"
    assert b'id="Process_1l85e0n"' in parsed.main_bpmn()
    assert [s.step_id for s in parsed.steps.values()] == ["Activity_0f5s2ld", "Activity_1q9m0xk"]

    env.extra_processes["veteran_subsidy_x"] = simple_config("veteran_subsidy_x", "VS")
    case_id = start_case(env, "veteran_subsidy_x", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    [intake] = inbox(env, org.actor("t1_cw").id).items
    assert intake.step_name == "受理登记"
    complete_task(env, intake.id, org.actor("t1_cw"), {"amount": 300})
    assert inbox(env, org.actor("t1_cw").id).items == []  # 审核人 lane: the reviewer's
    with env.db.write() as s:  # a reviewer at the station
        from engine.models import OrgUnit, Role
        from engine.orgs import Actor, create_user
        user = create_user(s, "t1_rev", "站审核", "secret-pass", env.clock.now(),
                           [(Role.reviewer, s.get(OrgUnit, org.units["t1"]))])
        reviewer = Actor(user.id, "站审核")
    [review] = inbox(env, reviewer.id).items
    complete_task(env, review.id, reviewer, {})
    assert case_row(env, case_id).status == InstanceStatus.completed


def test_an_unknown_lane_is_refused_at_deploy_with_element_and_line(env):
    org = build_org(env)
    bad = CAMUNDA.replace('name="审核人"'.encode(), 'name="会计"'.encode())
    with pytest.raises(DefinitionError) as caught:
        _upload(env, org, "veteran_subsidy_x", {"subsidy.bpmn": bad})
    err = caught.value
    assert err.element == "bpmn:userTask id=Activity_1q9m0xk" and err.file == "subsidy.bpmn"
    assert err.line == 24
    assert "会计" in err.user_message and "泳道" in err.user_message
    assert _definitions(env) == 0


def test_a_step_whose_role_the_package_sets_may_sit_in_any_lane(env):
    from dataclasses import replace

    from engine.models import Role
    org = build_org(env)
    bad = CAMUNDA.replace('name="审核人"'.encode(), 'name="会计"'.encode())
    env.extra_processes["veteran_subsidy_x"] = replace(simple_config("veteran_subsidy_x", "VS"),
                                                       roles={"Activity_1q9m0xk": Role.reviewer})
    assert _upload(env, org, "veteran_subsidy_x", {"subsidy.bpmn": bad}).created


def test_several_executable_processes_and_none_named_by_the_key_is_refused(env):
    org = build_org(env)
    second = CAMUNDA.replace(b"Process_1l85e0n", b"Process_0other").replace(
        b"Collaboration_1d2b0ap", b"Collaboration_x").replace(b"Participant_0v9xw3k", b"Participant_x")
    with pytest.raises(DefinitionError) as caught:
        _upload(env, org, "veteran_subsidy_x", {"a.bpmn": CAMUNDA, "b.bpmn": second})
    assert "several executable processes" in caught.value.message
    assert caught.value.line == 6
    assert _definitions(env) == 0


def test_the_key_still_selects_a_process_of_that_id(env):
    org = build_org(env)
    files = {"plain.bpmn": (DATA / "plain" / "plain.bpmn").read_bytes(), "subsidy.bpmn": CAMUNDA}
    spec, _subs = parse_files("plain", files)
    assert spec.name == "plain"
    assert _upload(env, org, "plain", {"plain.bpmn": files["plain.bpmn"]}).created


def _chain(n: int) -> bytes:
    tasks = "".join(f'<bpmn:userTask id="t{i}" name="第{i}步" />' for i in range(n))
    ids = ["start", *[f"t{i}" for i in range(n)], "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
            'targetNamespace="t">\n<bpmn:process id="long_chain" isExecutable="true">\n'
            f'<bpmn:startEvent id="start" />{tasks}<bpmn:endEvent id="end" />{flows}'
            '</bpmn:process></bpmn:definitions>').encode()


def test_a_model_too_long_for_the_parser_is_refused_cleanly(env):
    org = build_org(env)
    with pytest.raises(DefinitionError) as caught:
        _upload(env, org, "long_chain", {"long.bpmn": _chain(600)})
    err = caught.value
    assert "too long" in err.message and err.file == "long.bpmn" and err.line == 4
    assert err.element.startswith("bpmn:userTask id=t")  # where the parser gave up
    assert "流程过长" in err.user_message
    assert _definitions(env) == 0
    assert _upload(env, org, "long_chain", {"long.bpmn": _chain(200)}).created  # still works after


def test_any_other_parser_failure_is_a_definition_error(env, monkeypatch):
    org = build_org(env)

    def broken(spec):
        raise ValueError("timeCycle timers are not supported (task t0)")

    monkeypatch.setattr(definitions, "use_engine_clock", broken)
    with pytest.raises(DefinitionError) as caught:
        _upload(env, org, "long_chain", {"long.bpmn": _chain(3)})
    assert caught.value.message.startswith("ValueError: timeCycle timers are not supported")
    assert caught.value.file == "long.bpmn" and caught.value.line == 3
    assert _definitions(env) == 0


def test_a_time_cycle_timer_deploys(env):
    org = build_org(env)
    source = _chain(2).replace(
        b'<bpmn:userTask id="t1" name="\xe7\xac\xac1\xe6\xad\xa5" />',
        b'<bpmn:intermediateCatchEvent id="t1"><bpmn:timerEventDefinition><bpmn:timeCycle>"R2/PT1H"'
        b'</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    assert b"timeCycle" in source
    assert _upload(env, org, "long_chain", {"long.bpmn": source}).created


def test_shipped_processes_still_deploy_with_the_lane_check(env):
    root = Path(__file__).resolve().parents[2] / "bpmn"
    org = build_org(env)
    for key in ("petition", "home_renovation", "settlement_handover", "job_placement"):
        files = definitions.read_process_dir(root / key)
        assert _upload(env, org, key, files).created, key
