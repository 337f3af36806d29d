"""Engine fidelity beyond the three-way suite: a shared spec carries no case's wiring, timers
(cycles, event-based gateways, boundaries on subprocesses and call activities) are due on the
engine's clock, a loop ends only at its end event, and compensation is refused at deploy."""
from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.definitions import SpecCache, parse_files
from engine.errors import DefinitionError
from engine.models import HistoryEvent, InstanceStatus, ProcessDefinition, ProcessInstance
from engine.runtime import case_data, complete_task, deliver_message, start_case
from engine.worker import run_due_timers
from tests.factories import build_org, deploy_files, open_tasks
from tests.integration.fidelity_runner import deploy_fixture, fixture_files, fixture_path, rongflow_state


def _setup(env, *constructs):
    org = build_org(env)
    for construct in constructs:
        deploy_fixture(env, construct)
    return org, org.actor("t1_cw"), org.units["t1"]


def _complete(env, iid, step, actor, data):
    row = open_tasks(env, iid, step)[0]
    result = complete_task(env, row.id, actor, data)
    assert result.error is None, result.error
    return result


def _instance(env, iid):
    with env.db.read() as s:
        return s.get(ProcessInstance, iid)


def test_two_multi_instance_cases_interleaved_on_one_shared_spec(env):
    _org, actor, unit = _setup(env, "mi_parallel")
    a = start_case(env, "mi_parallel", actor, unit, {}).instance_id
    b = start_case(env, "mi_parallel", actor, unit, {}).instance_id
    for sig in ("1", "2", "3"):
        _complete(env, a, "sign", actor, {"signature": f"A{sig}"})
        if sig != "3":
            _complete(env, b, "sign", actor, {"signature": f"B{sig}"})
    assert [r.step_id for r in open_tasks(env, a, "archive")] == ["archive"]
    assert [r.step_id for r in open_tasks(env, b, "sign")] == ["sign"]  # B is not carried along by A
    _complete(env, b, "sign", actor, {"signature": "B3"})
    assert case_data(env, a)["signatures"] == ["A1", "A2", "A3"]
    assert case_data(env, b)["signatures"] == ["B1", "B2", "B3"]
    with env.db.read() as s:
        spec = env.specs.get(s, _instance(env, a).definition_id).spec
    child = spec.task_specs["sign [child]"]
    assert child.completed_event.n_subscribers() == 1  # one merge, however many loads and cases


def test_an_event_subprocess_started_in_one_case_leaves_the_shared_spec_alone(env):
    _org, actor, unit = _setup(env, "esp_signal")
    a = start_case(env, "esp_signal", actor, unit, {}).instance_id
    with env.db.read() as s:
        spec = env.specs.get(s, _instance(env, a).definition_id).spec
    start_outputs = [t.name for t in spec.start.outputs]
    _complete(env, a, "draft", actor, {})
    assert open_tasks(env, a, "handle_alarm")
    b = start_case(env, "esp_signal", actor, unit, {}).instance_id
    assert [t.name for t in spec.start.outputs] == start_outputs
    assert [r.step_id for r in open_tasks(env, b, "draft")] == ["draft"]
    assert not open_tasks(env, b, "handle_alarm")
    env.specs = SpecCache()  # a restart: the alarm handler still finishes
    _complete(env, a, "handle_alarm", actor, {})
    _complete(env, a, "finish", actor, {})
    assert _instance(env, a).status == InstanceStatus.completed


def _timer_events(env, iid):
    with env.db.read() as s:
        return [e.step_id for e in s.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.action == "timer").order_by(HistoryEvent.seq))]


def test_a_cycle_timer_is_due_on_the_engine_clock_and_rearmed_after_each_firing(env, clock):
    _org, actor, unit = _setup(env, "timer_cycle")
    t0 = clock.now()
    iid = start_case(env, "timer_cycle", actor, unit, {}).instance_id
    assert _instance(env, iid).next_timer_at == t0 + timedelta(hours=1)
    clock.set(t0 + timedelta(minutes=59))
    assert run_due_timers(env) == 0
    clock.set(t0 + timedelta(hours=1))
    assert run_due_timers(env) == 1
    assert _instance(env, iid).next_timer_at == t0 + timedelta(hours=2)
    assert len(open_tasks(env, iid, "remind")) == 1
    clock.set(t0 + timedelta(hours=2))
    assert run_due_timers(env) == 1
    assert len(open_tasks(env, iid, "remind")) == 2
    assert _instance(env, iid).next_timer_at is None  # R2: two firings, then no more
    clock.set(t0 + timedelta(days=3))
    assert run_due_timers(env) == 0
    assert _timer_events(env, iid) == ["every_hour", "every_hour"]


def test_a_timer_behind_an_event_based_gateway_is_due_on_the_engine_clock(env, clock):
    _org, actor, unit = _setup(env, "timer_gateway")
    iid = start_case(env, "timer_gateway", actor, unit, {}).instance_id
    clock.advance(timedelta(hours=3))
    asked = clock.now()
    _complete(env, iid, "ask", actor, {})
    due = asked + timedelta(days=2)
    assert _instance(env, iid).next_timer_at == due
    clock.set(due - timedelta(seconds=1))
    assert run_due_timers(env) == 0
    clock.set(due)
    assert run_due_timers(env) == 1
    assert [r.step_id for r in open_tasks(env, iid, "chase")] == ["chase"]
    assert _timer_events(env, iid) == ["wait"]
    assert _instance(env, iid).next_timer_at is None


def test_a_reply_before_the_gateway_timer_fires_records_no_timer(env, clock):
    _org, actor, unit = _setup(env, "message_gateway")
    iid = start_case(env, "message_gateway", actor, unit, {}).instance_id
    _complete(env, iid, "ask", actor, {})
    assert _instance(env, iid).next_timer_at == clock.now() + timedelta(days=2)
    clock.advance(timedelta(days=1))
    deliver_message(env, iid, "reply", {"answer": "agreed"})
    assert _instance(env, iid).next_timer_at is None
    clock.advance(timedelta(days=2))
    assert run_due_timers(env) == 0
    assert _timer_events(env, iid) == []
    assert [r.step_id for r in open_tasks(env, iid, "read_reply")] == ["read_reply"]


@pytest.mark.parametrize("construct, hours", [("timer_subprocess", 4), ("timer_call", 1)])
def test_boundary_timers_on_subprocesses_and_call_activities_are_due(env, clock, construct, hours):
    _org, actor, unit = _setup(env, construct)
    t0 = clock.now()
    iid = start_case(env, construct, actor, unit, {}).instance_id
    assert _instance(env, iid).next_timer_at == t0 + timedelta(hours=hours)


def test_a_loop_completed_2000_times_runs_on_and_ends_only_at_its_end_event(env):
    # 2,000 rounds on SQLite; on PostgreSQL 500 rounds, well past the 333 where a case used to
    # close by itself, keep the suite's time down (the engine path is the same on both).
    rounds = 2000 if env.db.is_sqlite else 500
    _org, actor, unit = _setup(env, "loop_backflow")
    iid = start_case(env, "loop_backflow", actor, unit, {"title": "loop"}).instance_id
    task_id = open_tasks(env, iid, "review")[0].id
    size_at_10 = 0
    for n in range(1, rounds + 1):
        result = complete_task(env, task_id, actor, {"decision": "again", "round": n})
        assert result.status == InstanceStatus.running and len(result.new_task_ids) == 1, n
        task_id = result.new_task_ids[0]
        if n == 10:
            size_at_10 = len(_instance(env, iid).state)
    # The finished rounds left the live state (kept whole, it would be about 1.6 MB by now).
    assert len(_instance(env, iid).state) < 4 * size_at_10
    assert [r.id for r in open_tasks(env, iid, "review")] == [task_id]
    complete_task(env, task_id, actor, {"decision": "done", "round": 2001})
    completed, ends, data = rongflow_state(env, iid)
    assert completed and ends == ["done"]
    assert data["round"] == 2001 and data["title"] == "loop"


def test_a_deep_loop_is_not_mistaken_for_a_finished_case():
    """SpiffWorkflow's task iterator stops at depth 1,000 (about 333 rounds of this loop): with the
    limit lifted the open task is still found, even where no finished round is dropped."""
    spec, subs = parse_files("loop_backflow", fixture_files("loop_backflow"))
    wf = BpmnWorkflow(spec, subs)
    wf.do_engine_steps()
    for n in range(400):
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        assert task is not None, n
        task.set_data(decision="again")
        task.run()
        wf.do_engine_steps()
    assert not wf.is_completed()
    assert wf.get_next_task(state=TaskState.READY, manual=True).task_spec.bpmn_id == "review"


def test_compensation_is_refused_at_deploy_with_element_and_line(env):
    with pytest.raises(DefinitionError) as caught:
        deploy_files(env, "compensation", fixture_files("compensation"))
    err = caught.value
    assert err.file == "compensation.bpmn" and err.line == 6
    assert err.element == "bpmn:boundaryEvent id=undo_pay"
    assert "compensation is not supported" in err.message
    assert err.user_message.startswith("流程定义有误：本系统不支持补偿事件")
    assert "not supported" not in err.user_message and "第 6 行" in err.user_message


def test_a_case_rebuilt_around_a_spec_parsed_elsewhere_still_merges_its_instances():
    """Whatever the spec cache holds: even a spec parsed by SpiffWorkflow's own parser, never
    wired by RongFlow, is wired on load, and the multi-instance task merges and moves on."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

    from engine.persistence import dump_state, load_state

    def parsed():
        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_files([str(fixture_path("mi_parallel") / "mi_parallel.bpmn")])
        return parser.get_spec("mi_parallel"), parser.get_subprocess_specs("mi_parallel")

    spec, subs = parsed()
    wf = BpmnWorkflow(spec, subs)
    wf.do_engine_steps()
    state = dump_state(wf)
    for n in range(3):
        spec, subs = parsed()  # another process, another parse
        wf = load_state(state, spec, subs, PythonScriptEngine())
        task = wf.get_next_task(state=TaskState.READY, manual=True, spec_name="sign [child]")
        task.set_data(signature=f"S{n}")
        task.run()
        wf.do_engine_steps()
        state = dump_state(wf)
    assert [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)] == ["archive"]
    assert wf.get_next_task(state=TaskState.READY, manual=True).data["signatures"] == ["S0", "S1", "S2"]


def test_a_process_named_longer_than_its_column_deploys_on_every_database(env):
    files = fixture_files("manual_task")
    name = "很长的流程名称" * 30  # 210 characters, as a modeler may write
    files["manual_task.bpmn"] = files["manual_task.bpmn"].replace(
        b'name="A manual task between two user tasks"', f'name="{name}"'.encode())
    definition_id = deploy_files(env, "manual_task", files)
    with env.db.read() as s:
        assert s.get(ProcessDefinition, definition_id).name == name[:128]


@pytest.mark.parametrize("drop, element, line", [
    ([b'<bpmn:boundaryEvent id="undo_pay" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'],
     "bpmn:userTask id=refund", 7),
    ([b'<bpmn:boundaryEvent id="undo_pay" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>',
      b' isForCompensation="true"', b'<bpmn:association id="a1" sourceRef="undo_pay" targetRef="refund"/>'],
     "bpmn:intermediateThrowEvent id=comp", 8),
])
def test_each_kind_of_compensation_is_refused(env, drop, element, line):
    files = fixture_files("compensation")
    for text in drop:
        assert text in files["compensation.bpmn"]
        files["compensation.bpmn"] = files["compensation.bpmn"].replace(text, b"")
    with pytest.raises(DefinitionError) as caught:
        deploy_files(env, "compensation", files)
    assert (caught.value.element, caught.value.line) == (element, line)


def test_an_event_based_gateway_with_two_timers_is_refused_at_deploy(env):
    files = fixture_files("timer_gateway")
    reply = (b'<bpmn:messageEventDefinition messageRef="msg_reply"><bpmn:extensionElements>'
             b'<spiffworkflow:messageVariable>reply</spiffworkflow:messageVariable></bpmn:extensionElements>'
             b'</bpmn:messageEventDefinition>')
    assert reply in files["timer_gateway.bpmn"]
    files["timer_gateway.bpmn"] = files["timer_gateway.bpmn"].replace(
        reply, b'<bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>')
    with pytest.raises(DefinitionError) as caught:
        deploy_files(env, "timer_gateway", files)
    assert (caught.value.element, caught.value.line) == ("bpmn:eventBasedGateway id=wait", 7)
    assert "基于事件的网关后只能有一个定时事件" in caught.value.user_message
    deploy_files(env, "timer_gateway", fixture_files("timer_gateway"))  # one timer and a message: fine
