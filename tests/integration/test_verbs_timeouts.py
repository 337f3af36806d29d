"""Timeout policies fired by the worker on the business calendar, each exactly once: a reminder
before the due day, escalation to the leaders above when overdue, and automatic approval or return."""
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

from engine.calendar import BEIJING, to_local_date
from engine.models import HistoryEvent, Role, TaskStatus
from engine.notify.centre import messages
from engine.runtime import start_case
from engine.verbs.timeouts import auto_at, remind_at, run_due_policies
from engine.worker import _poll, run_due_timers
from tests.factories import build_org, plain_config, setup_plain
from tests.integration.verbs_support import actions, add_user, chain_ok, complete_step, open_task, second_env


def _case(env, **timeouts):
    org = build_org(env)
    setup_plain(env)

    def on_start(data, ctx):  # step1 is due at the end of the 3rd working day
        return {"step1_due_at": ctx.calendar.deadline_end(ctx.calendar.add_working_days(ctx.today, 3).due)
                .isoformat()}
    env.extra_processes["plain"] = replace(plain_config(), on_start=on_start, due_keys={"step1": "step1_due_at"},
                                           settings={"verbs": {k: {"timeout": v} for k, v in timeouts.items()}})
    add_user(env, org, "t1_cw2", "镇经办二", Role.caseworker, "t1")
    started = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"})
    return org, started.instance_id


def _at(day, hour=9):
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=BEIJING)


def _events(env, iid, action):
    with env.db.read() as s:
        return s.query(HistoryEvent).filter_by(instance_id=iid, action=action).count()


def test_remind_before_the_due_day_then_escalate_once_overdue_each_once(env, clock):
    org, iid = _case(env, step1={"remind_before_days": 1, "escalate": True})
    task = open_task(env, iid, "step1")
    assert to_local_date(task.due_at - timedelta(microseconds=1)).isoformat() == "2026-03-05"
    clock.set(_at("2026-03-03", 23))                      # Tuesday night: nothing due yet
    assert run_due_policies(env) == 0
    clock.set(_at("2026-03-04", 0))                       # Wednesday 00:00: one working day before
    other = second_env(env)
    assert run_due_policies(env) == 1 and run_due_policies(other) == 0
    assert [m.kind for m in messages(env, org.actor("t1_cw2").id)][0] == "due_soon"
    assert messages(env, org.actor("d1_lead").id) == []
    clock.set(_at("2026-03-05", 23))                      # still the last day
    assert run_due_policies(env) == 0
    clock.set(_at("2026-03-06", 0))                       # 24:00 of the last day: late
    assert run_due_policies(other) == 1 and run_due_policies(env) == 0
    assert messages(env, org.actor("d1_lead").id)[0].kind == "overdue"  # no leader at the town: the district's
    assert messages(env, org.actor("city_lead").id) == []
    assert (_events(env, iid, "remind"), _events(env, iid, "escalate")) == (1, 1) and chain_ok(env, iid)
    other.db.dispose()


def test_reminder_and_auto_act_days_are_working_days(env):
    monday_end = env.calendar.deadline_end(date(2026, 3, 9))
    assert remind_at(env, {"remind_before_days": 1}, monday_end) == _at("2026-03-06", 0)   # Friday
    assert remind_at(env, {"remind_before_hours": 6}, monday_end) == _at("2026-03-09", 18)
    assert remind_at(env, {}, monday_end) is None and remind_at(env, {"remind_before_days": 1}, None) is None
    opened_friday = _at("2026-03-06", 15)
    assert auto_at(env, {"after_days": 1}, opened_friday) == _at("2026-03-10", 0)           # end of Monday


def test_auto_approve_after_working_days_and_auto_return(env, clock):
    org, iid = _case(env, step2={"auto": {"after_days": 2, "action": "approve", "data": {"decision": "同意"}}},
                     step3={"auto": {"after_hours": 4, "action": "return"}})
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    clock.set(_at("2026-03-04", 12))
    assert run_due_policies(env) == 0
    clock.set(_at("2026-03-05", 0))                       # the end of the 2nd working day
    assert run_due_policies(env) == 1
    step3 = open_task(env, iid, "step3")
    clock.set(clock.now() + timedelta(hours=4))
    assert run_due_policies(env) == 1 and run_due_policies(env) == 0
    back = open_task(env, iid)
    assert (back.step_id, back.mark, back.assignee_id) == ("step2", "returned", None)
    with env.db.read() as s:
        assert s.get(type(step3), step3.id).status == TaskStatus.completed
    assert actions(env, iid).count("auto_act") == 2 and chain_ok(env, iid)


def test_the_worker_loop_runs_the_policies(env, clock):
    org, iid = _case(env, step1={"remind_before_hours": 200})
    assert run_due_timers(env) == 0
    assert _poll(env, "test:1", 10, threading.Event()) == 1
    assert _events(env, iid, "remind") == 1


def test_two_workers_at_the_same_instant_fire_each_policy_once(env, clock):
    """Two engines (two worker processes), two threads each, reach the due reminder and then the
    escalation at the same moment: one remind and one escalate event, one message each."""
    org, iid = _case(env, step1={"remind_before_days": 1, "escalate": True})
    other = second_env(env)
    for moment, action in ((_at("2026-03-04", 0), "remind"), (_at("2026-03-06", 0), "escalate")):
        clock.set(moment)
        barrier = threading.Barrier(4)
        fired: list[int] = []
        errors: list[str] = []

        def work(engine) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            try:
                fired.append(run_due_policies(engine))
            except Exception as exc:  # noqa: BLE001 - anything raised is a bug: fail below
                errors.append(f"{type(exc).__name__}: {exc}")
        threads = [threading.Thread(target=work, args=(e,)) for e in (env, other, env, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and sum(fired) == 1, (errors, fired)
        assert _events(env, iid, action) == 1
    assert [m.kind for m in messages(env, org.actor("t1_cw2").id)].count("due_soon") == 1
    assert [m.kind for m in messages(env, org.actor("d1_lead").id)].count("overdue") == 1
    assert chain_ok(env, iid)
    other.db.dispose()


def test_a_failing_policy_does_not_stop_the_others_and_backs_off(env, clock, caplog):
    """Two cases whose step1 is auto-approved after 1 hour; the first case's task no longer matches
    its workflow (its auto-act raises a Conflict). The poll logs it, fires the second case's policy
    all the same, and leaves the failed one alone until its back-off has passed."""
    from uuid import uuid4

    from engine.models import HumanTask
    from engine.verbs.timeouts import BACKOFF_FIRST
    org, broken_iid = _case(env, step1={"auto": {"after_hours": 1, "action": "approve"}})
    good_iid = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "y"}).instance_id
    broken = open_task(env, broken_iid, "step1")
    with env.db.write() as s:
        s.get(HumanTask, broken.id).spiff_task_id = str(uuid4())
    clock.set(clock.now() + timedelta(hours=1))
    with caplog.at_level("WARNING", logger="engine.verbs.timeouts"):
        assert run_due_policies(env) == 1
    assert open_task(env, good_iid).step_id == "step2" and "auto_act" in actions(env, good_iid)
    assert "auto_act" not in actions(env, broken_iid) and open_task(env, broken_iid).id == broken.id
    failures = [r for r in caplog.records if r.levelname == "ERROR" and f"of task {broken.id}" in r.getMessage()]
    assert len(failures) == 1
    caplog.clear()
    with caplog.at_level("WARNING", logger="engine.verbs.timeouts"):
        assert run_due_policies(env) == 0                     # the next poll: backing off, not retried
        assert [r for r in caplog.records if r.levelname == "ERROR"] == []
        clock.set(clock.now() + BACKOFF_FIRST)                # after the back-off: tried again, once
        assert run_due_policies(env) == 0
        assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1
    assert chain_ok(env, broken_iid) and chain_ok(env, good_iid)
