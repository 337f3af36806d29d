"""Timers fire at the right moment on the injected clock, once, from the worker."""
from datetime import timedelta

from sqlalchemy import func, select

from engine.calendar import BusinessCalendar, to_local_date
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskStatus
from engine.runtime import start_case
from engine.worker import run_due_timers
from tests.factories import DATA, build_org, deploy_dir, simple_config, together


def _setup(env):
    org = build_org(env)

    def on_start(data, ctx):
        due = ctx.calendar.add_days(ctx.today, 15).due
        return {"decide_due_at": ctx.calendar.deadline_end(due).isoformat()}

    env.extra_processes["timer_case"] = simple_config("timer_case", "TM", on_start=on_start,
                                                      due_keys={"decide": "decide_due_at"})
    deploy_dir(env, "timer_case", DATA / "timer_case")
    return org


def test_overdue_path_runs_just_after_the_deadline_day_ends(env, clock):
    org = _setup(env)
    cw = org.actor("t1_cw")
    started = start_case(env, "timer_case", cw, org.units["t1"], {})
    deadline_day = to_local_date(clock.now()) + timedelta(days=15)
    end = BusinessCalendar.deadline_end(deadline_day)
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
        task = s.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id)).one()
    assert inst.next_timer_at == end
    assert task.due_at == end

    clock.set(end - timedelta(seconds=1))
    assert run_due_timers(env) == 0
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["decide"]

    clock.set(end)
    assert run_due_timers(env) == 1
    assert run_due_timers(env) == 0  # nothing fires twice
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["decide"]
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["decide"]
    with env.db.read() as s:
        timers = s.scalars(select(HistoryEvent).where(HistoryEvent.action == "timer")).all()
        supervise = s.scalars(select(HumanTask).where(HumanTask.step_id == "supervise")).one()
        inst = s.get(ProcessInstance, started.instance_id)
    assert [e.step_id for e in timers] == ["decide_due"]
    assert supervise.status == TaskStatus.open
    assert inst.next_timer_at is None


def test_several_workers_never_fire_one_timer_twice(env, clock):
    org = _setup(env)
    cw = org.actor("t1_cw")
    cases = 12
    for _ in range(cases):
        start_case(env, "timer_case", cw, org.units["t1"], {})
    clock.advance(timedelta(days=20))
    handled = together(*[lambda: run_due_timers(env)] * 4)
    assert sum(handled) == cases
    with env.db.read() as s:
        fired = s.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.action == "timer"))
        supervise = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.step_id == "supervise"))
    assert fired == cases
    assert supervise == cases
