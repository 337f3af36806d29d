"""Interrupting event subprocesses interrupt, through the engine's own commands (a message, a
user's completion, the timer worker), with the spec cache dropped before every command and two
engines alternating: the interrupted steps' task rows are cancelled and leave the inbox, their
timers leave the timer column, the case completes only when the event subprocess ends, and
another case of the same definition (same shared spec) goes on untouched."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.definitions import parse_files
from engine.env import make_env
from engine.errors import Conflict
from engine.inbox import inbox
from engine.interrupts import interrupting_of
from engine.models import HistoryEvent, InstanceStatus, ProcessInstance, TaskStatus
from engine.runtime import case_data, complete_task, deliver_message, start_case
from engine.worker import run_due_timers
from tests.factories import all_tasks, build_org, open_tasks
from tests.integration.fidelity_runner import Envs, deploy_fixture, fixture_files


class Alternating:
    """Two engines on one database, each with its spec cache dropped before every command."""

    def __init__(self, env, db_url, clock, construct):
        self.org = build_org(env)
        deploy_fixture(env, construct)
        self.actor, self.unit = self.org.actor("t1_cw"), self.org.units["t1"]
        self.other = make_env(db_url, clock=clock)
        self.other.extra_processes.update(env.extra_processes)
        self.envs = Envs([env, self.other], fresh=True)
        self.key = construct

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.other.db.dispose()

    def env(self):
        return self.envs.next()

    def start(self, data):
        return start_case(self.env(), self.key, self.actor, self.unit, data).instance_id

    def complete(self, iid, step, data):
        row = open_tasks(self.env(), iid, step)[0]
        result = complete_task(self.env(), row.id, self.actor, data)
        assert result.error is None, result.error

    def inbox_steps(self, iid):
        return sorted(r.step_id for r in inbox(self.env(), self.actor.id, per_page=100).items
                      if r.instance_id == iid)


def _instance(env, iid):
    with env.db.read() as s:
        return s.get(ProcessInstance, iid)


def _interrupts(env, iid):
    with env.db.read() as s:
        return [(e.step_id, e.data) for e in s.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.action == "interrupt").order_by(HistoryEvent.seq))]


def test_the_parser_reads_is_interrupting_with_its_bpmn_default():
    spec, _subs = parse_files("esp_message_interrupting", fixture_files("esp_message_interrupting"))
    assert interrupting_of(spec) == {"handler"}  # no attribute: interrupting; the reminder says false
    spec, _subs = parse_files("esp_message", fixture_files("esp_message"))
    assert interrupting_of(spec) == frozenset()


def test_a_message_interrupts_its_case_and_leaves_the_other_case_alone(env, db_url, clock):
    with Alternating(env, db_url, clock, "esp_message_interrupting") as run:
        a, b = run.start({"subject": "A"}), run.start({"subject": "B"})
        assert _instance(env, a).next_timer_at is not None  # the reminder's timer waits
        work_a = open_tasks(env, a, "work")[0]

        deliver_message(run.env(), a, "abort", {"reason": "withdrawn"})

        assert [r.status for r in all_tasks(env, a, "work")] == [TaskStatus.cancelled]
        assert run.inbox_steps(a) == ["handle"]
        assert work_a.id not in {r.id for r in inbox(env, run.actor.id, per_page=100).items}
        case_a = _instance(env, a)
        assert case_a.status == InstanceStatus.running and case_a.next_timer_at is None
        [(step, data)] = _interrupts(env, a)
        assert step == "handler" and data["cancelled"] == ["Work"]
        assert sorted(data["cancelled_steps"]) == ["reminder_start", "work"]
        events = _instance(env, a).event_count
        with pytest.raises(Conflict) as refused:  # a late submit of the cancelled step changes nothing
            complete_task(run.env(), work_a.id, run.actor, {"late": True})
        assert refused.value.user_message.startswith("该任务")
        assert _instance(env, a).event_count == events and run.inbox_steps(a) == ["handle"]
        # the other case of the same (shared) spec is not interrupted
        assert run.inbox_steps(b) == ["work"] and _interrupts(env, b) == []
        assert _instance(env, b).next_timer_at is not None

        clock.advance(timedelta(hours=6))
        run_due_timers(run.env())
        assert all_tasks(env, a, "remind") == []  # its reminder was cancelled with the rest
        assert run.inbox_steps(b) == ["remind", "work"]  # b's non-interrupting reminder fires

        run.complete(a, "handle", {"closed": True})
        assert _instance(env, a).status == InstanceStatus.completed
        assert case_data(env, a)["closed"] is True and case_data(env, a)["subject"] == "A"
        assert _instance(env, b).status == InstanceStatus.running
        assert run.inbox_steps(b) == ["remind", "work"]


def test_a_timer_interrupts_through_the_worker_and_the_case_ends_with_its_handler(env, db_url, clock):
    with Alternating(env, db_url, clock, "esp_timer_interrupting") as run:
        a = run.start({})
        run.complete(a, "work", {"worked": True})
        clock.advance(timedelta(hours=2))
        b = run.start({})  # its timer is due two hours after a's
        clock.advance(timedelta(hours=1, minutes=1))

        run_due_timers(run.env())

        assert [r.status for r in all_tasks(env, a, "review")] == [TaskStatus.cancelled]
        assert run.inbox_steps(a) == ["handle"]
        assert _instance(env, a).status == InstanceStatus.running  # not before the handler ends
        assert _instance(env, a).next_timer_at is None
        assert [d["cancelled"] for _s, d in _interrupts(env, a)] == [["Review"]]
        assert run.inbox_steps(b) == ["work"] and _interrupts(env, b) == []

        run.complete(a, "handle", {"late": True})
        assert _instance(env, a).status == InstanceStatus.completed
        assert case_data(env, a) | {"worked": True, "late": True} == case_data(env, a)
        assert all_tasks(env, a, "done") == [] and run.inbox_steps(b) == ["work"]


def test_an_error_end_interrupts_the_parallel_work_and_an_ok_check_does_not(env, db_url, clock):
    with Alternating(env, db_url, clock, "esp_error_interrupting") as run:
        bad, ok = run.start({}), run.start({})
        run.complete(ok, "check", {"verdict": "ok"})
        run.complete(bad, "check", {"verdict": "bad"})

        assert [r.status for r in all_tasks(env, bad, "work")] == [TaskStatus.cancelled]
        assert run.inbox_steps(bad) == ["handle"]
        assert run.inbox_steps(ok) == ["work"] and _interrupts(env, ok) == []
        run.complete(ok, "work", {})
        assert _instance(env, ok).status == InstanceStatus.completed
        assert _instance(env, bad).status == InstanceStatus.running
        run.complete(bad, "handle", {"repaired": True})
        assert _instance(env, bad).status == InstanceStatus.completed


def test_an_event_subprocess_in_an_embedded_subprocess_interrupts_only_that_subprocess(env, db_url, clock):
    with Alternating(env, db_url, clock, "esp_nested_interrupting") as run:
        a = run.start({})
        clock.advance(timedelta(hours=2, minutes=1))
        run_due_timers(run.env())

        assert [r.status for r in all_tasks(env, a, "inner_work")] == [TaskStatus.cancelled]
        assert run.inbox_steps(a) == ["inner_handle", "outer_work"]
        [(step, data)] = _interrupts(env, a)
        assert step == "inner_handler" and data["cancelled"] == ["Inner work"]
        run.complete(a, "inner_handle", {"inner": "late"})
        assert run.inbox_steps(a) == ["outer_work"]
        assert _instance(env, a).status == InstanceStatus.running
        run.complete(a, "outer_work", {"outer": True})
        assert _instance(env, a).status == InstanceStatus.completed
        assert len(_interrupts(env, a)) == 1


def test_the_case_page_names_the_interrupted_steps_and_no_element_id(env, db_url, clock, tmp_path):
    from tests.web.conftest import login, make_app
    with Alternating(env, db_url, clock, "esp_message_interrupting") as run:
        a = run.start({})
        deliver_message(run.env(), a, "abort", {"reason": "withdrawn"})
        with make_app(env, tmp_path).test_client() as client:
            login(client, "t1_cw")
            page = client.get(f"/cases/{a}").get_data(as_text=True)
    assert "中断办理" in page and "已撤销的办理步骤：Work" in page
    assert "reminder_start" not in page and "cancelled" not in page
