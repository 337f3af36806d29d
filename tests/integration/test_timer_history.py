"""Every fired timer leaves one 时限到期 (`timer`) event, whoever runs the step that fires it: the
worker, or a user's completion that finds a timer already due."""
from datetime import timedelta

from engine.definitions import SpecCache
from engine.inbox import inbox
from engine.models import InstanceStatus
from engine.runtime import case_history, complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import build_org, case_row, deploy_files, simple_config

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
  <bpmn:process id="remind_case" name="提醒测试" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="caseworker">
      <bpmn:flowNodeRef>fill</bpmn:flowNodeRef><bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="fill" name="填报" />
    <bpmn:intermediateCatchEvent id="remind" name="一小时后提醒">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="follow_up" name="跟进" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="fill" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="remind" />
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="follow_up" />
    <bpmn:sequenceFlow id="f5" sourceRef="fill" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="follow_up" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def _start(env):
    org = build_org(env)
    env.extra_processes["remind_case"] = simple_config("remind_case", "RM")
    deploy_files(env, "remind_case", {"remind_case.bpmn": MODEL})
    case_id = start_case(env, "remind_case", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    return org, case_id


def _actions(env, case_id):
    return [e.action for e in case_history(env, case_id)]


def test_a_timer_fired_by_a_users_completion_is_recorded_once(env, clock):
    org, case_id = _start(env)
    clock.advance(timedelta(hours=2))  # due, but no worker has run yet
    [fill] = inbox(env, org.actor("t1_cw").id).items
    env.specs = SpecCache()
    complete_task(env, fill.id, org.actor("t1_cw"), {})
    assert _actions(env, case_id) == ["start", "complete", "timer"]
    timer = case_history(env, case_id)[-1]
    assert (timer.step_id, timer.step_name) == ("remind", "一小时后提醒")
    assert timer.data["due"].startswith("2026-03-02T02:00")
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["follow_up"]
    assert run_due_timers(env) == 0  # the worker fires nothing twice
    assert _actions(env, case_id).count("timer") == 1


def test_the_worker_records_the_timer_it_fires(env, clock):
    org, case_id = _start(env)
    clock.advance(timedelta(minutes=59))
    assert run_due_timers(env) == 0
    clock.advance(timedelta(minutes=2))
    assert run_due_timers(env) == 1
    assert run_due_timers(env) == 0
    assert _actions(env, case_id) == ["start", "timer"]
    [fill, follow] = sorted(inbox(env, org.actor("t1_cw").id).items, key=lambda t: t.step_id)
    complete_task(env, fill.id, org.actor("t1_cw"), {})
    complete_task(env, follow.id, org.actor("t1_cw"), {})
    assert _actions(env, case_id) == ["start", "timer", "complete", "complete"]
    assert case_row(env, case_id).status == InstanceStatus.completed


def test_a_boundary_timer_cancelled_by_the_completion_is_not_recorded(env, clock):
    from tests.factories import DATA
    org = build_org(env)
    env.extra_processes["timer_case"] = simple_config("timer_case", "TC")
    deploy_files(env, "timer_case", {"timer_case.bpmn": (DATA / "timer_case" / "timer_case.bpmn").read_bytes()})
    due = (clock.now() + timedelta(days=3)).isoformat()
    case_id = start_case(env, "timer_case", org.actor("t1_cw"), org.units["t1"],
                         {"decide_due_at": due}).instance_id
    [decide] = inbox(env, org.actor("t1_cw").id).items
    complete_task(env, decide.id, org.actor("t1_cw"), {})
    assert _actions(env, case_id) == ["start", "complete"]
    clock.advance(timedelta(days=5))
    assert run_due_timers(env) == 0
    assert case_row(env, case_id).status == InstanceStatus.completed
