"""The timer worker fires a batch of due cases in one transaction: a case that fails is parked
alone and the others fire; two workers on one due set fire each case once; a batch costs a
fixed number of statements plus the same few per case, in one commit."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import worker
from engine.errors import InvalidState
from engine.history import verify_chain
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.runtime import complete_task, start_case
from engine.worker import fire_due_timers, run_due_timers
from tests.factories import build_org, case_row, deploy_files, simple_config, together
from tests.integration.step_error_models import model

KEY = "step_errors"  # fill → a timer of `wait_period` → check
# Statements of one batch on top of its cases' own: the due cases' ids locked, their rows, their
# open task rows; on PostgreSQL also the history events and the new task rows, one multi-row
# INSERT each; on SQLite BEGIN IMMEDIATE.
BATCH_STATEMENTS = {"sqlite": 4, "postgresql": 5}
# Each fired case: its row's UPDATE (versioned, so one each) and its new task's messages (one
# INSERT … SELECT); on SQLite also its history event and its new task row (SQLite cannot return
# the ids of a multi-row INSERT in order, so SQLAlchemy inserts those rows one by one).
CASE_STATEMENTS = {"sqlite": 4, "postgresql": 2}


def _waiting_cases(env, org, n: int, key: str = KEY, amounts: dict[int, int] | None = None) -> list[int]:
    """`n` cases of `key` waiting on their timer (due in an hour), in start order."""
    cw = org.actor("t1_cw")
    ids = []
    for i in range(n):
        iid = start_case(env, key, cw, org.units["t1"], {}).instance_id
        [task] = [t for t in inbox(env, cw.id, per_page=100).items if t.instance_id == iid]
        complete_task(env, task.id, cw, {"amount": (amounts or {}).get(i, 10), "wait_period": "PT1H"})
        ids.append(iid)
    return ids


def _setup(env, n: int, amounts: dict[int, int] | None = None, **config) -> tuple[object, list[int]]:
    org = build_org(env)
    env.extra_processes[KEY] = simple_config(KEY, "SE", **config)
    deploy_files(env, KEY, {f"{KEY}.bpmn": model("timer_expr")})
    return org, _waiting_cases(env, org, n, amounts=amounts)


def _timers(env) -> Counter[int]:
    with env.db.read() as s:
        return Counter(s.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.action == "timer")))


def _checks(env) -> Counter[int]:
    """The open 复核 task rows per case: what each fired timer opens."""
    with env.db.read() as s:
        return Counter(s.scalars(select(HumanTask.instance_id).where(
            HumanTask.step_id == "check", HumanTask.status == TaskStatus.open)))


def _still_due(env) -> list[int]:
    with env.db.read() as s:
        return list(s.scalars(select(ProcessInstance.id).where(
            ProcessInstance.status == InstanceStatus.running, ProcessInstance.next_timer_at <= env.clock.now())))


def _fail_for_amount(amount: int):
    """An assign hook that fails for the cases whose data holds `amount` (a bug in a process
    package that only some cases meet)."""
    def assign(step_id, data, ctx):
        if data.get("amount") == amount:
            raise ZeroDivisionError("division by zero")
        return ctx.case_unit_id
    return assign


def test_a_step_that_fails_puts_its_case_alone_in_error_and_the_batch_fires_the_others(env):
    # the hook's bug meets the third case's data only
    org, ids = _setup(env, 5, amounts={2: 13}, assign=_fail_for_amount(13))
    bad = ids[2]
    env.clock.advance(timedelta(hours=2))
    env.db.counter.reset()

    assert sorted(fire_due_timers(env, size=10)) == ids  # all five, in one transaction
    assert env.db.counter.commits == 1
    inst = case_row(env, bad)
    assert inst.status == InstanceStatus.error and "ZeroDivisionError" in inst.error_message
    assert _timers(env) == Counter({i: 1 for i in ids if i != bad})
    assert _checks(env) == Counter({i: 1 for i in ids if i != bad})
    assert all(case_row(env, i).status == InstanceStatus.running for i in ids if i != bad)
    assert run_due_timers(env) == 0  # the case in error waits for the admin
    with env.db.read() as s:
        assert all(verify_chain(s, i).ok for i in ids)


def test_a_case_that_cannot_be_loaded_is_parked_alone_and_the_batch_fires_the_others(env):
    org, ids = _setup(env, 2)
    env.extra_processes["orphan"] = simple_config("orphan", "OR")
    deploy_files(env, "orphan", {"orphan.bpmn": model("timer_expr")})  # the same model, another key
    [orphan] = _waiting_cases(env, org, 1, key="orphan")
    ids += _waiting_cases(env, org, 2)
    del env.extra_processes["orphan"]  # its package is gone: the case cannot be loaded
    env.clock.advance(timedelta(hours=2))
    env.db.counter.reset()

    assert sorted(fire_due_timers(env, size=10)) == sorted([*ids, orphan])
    assert env.db.counter.commits == 1  # the batch without savepoints rolled back, then ran with them
    parked = case_row(env, orphan)
    assert parked.status == InstanceStatus.error and "no process package" in parked.error_message
    assert parked.next_timer_at is None
    assert _timers(env) == Counter({i: 1 for i in ids})  # the rolled-back attempt left no event
    assert _checks(env) == Counter({i: 1 for i in ids})
    assert _still_due(env) == []


def test_a_hook_refusal_in_the_timers_step_parks_that_case_alone(env):
    def assign(step_id, data, ctx):  # a refusal (EngineError) where no user can be refused
        if data.get("amount") == 13:
            raise InvalidState("no unit for this case", "无办理单位")
        return ctx.case_unit_id
    org, ids = _setup(env, 3, amounts={1: 13}, assign=assign)
    bad = ids[1]
    env.clock.advance(timedelta(hours=2))
    assert sorted(fire_due_timers(env, size=10)) == ids
    parked = case_row(env, bad)
    assert parked.status == InstanceStatus.error and parked.error_message == "no unit for this case"
    assert _timers(env) == Counter({i: 1 for i in ids if i != bad})  # its firing rolled back
    assert _checks(env) == Counter({i: 1 for i in ids if i != bad})
    with env.db.read() as s:
        assert all(verify_chain(s, i).ok for i in ids)


def test_two_workers_at_once_fire_each_case_once(env):
    org, ids = _setup(env, 8)
    env.clock.advance(timedelta(hours=2))

    def work() -> list[int]:
        mine = []
        while fired := fire_due_timers(env, size=3):
            mine += fired
        return mine

    first, second = together(work, work)
    assert not set(first) & set(second)
    assert sorted(first + second) == ids
    assert _timers(env) == Counter({i: 1 for i in ids})
    assert _checks(env) == Counter({i: 1 for i in ids})


def test_a_worker_skips_the_cases_another_worker_holds(env):
    if env.db.is_sqlite:
        pytest.skip("SQLite serialises writers: no worker runs while another holds a batch")
    org, ids = _setup(env, 4)
    env.clock.advance(timedelta(hours=2))
    held = ids[:2]
    fired: list[list[int]] = []
    with env.db.write() as other:  # another worker, in the middle of its batch
        other.execute(select(ProcessInstance.id).where(ProcessInstance.id.in_(held)).with_for_update())
        runner = threading.Thread(target=lambda: fired.extend([sorted(fire_due_timers(env, size=10)),
                                                               fire_due_timers(env, size=10)]))
        runner.start()
        runner.join(timeout=60)  # a backstop only: a worker waiting on the held rows never ends
        assert not runner.is_alive(), "the worker waited for the cases another worker holds"
    assert fired == [ids[2:], []]
    assert _timers(env) == Counter({i: 1 for i in ids[2:]})
    assert sorted(fire_due_timers(env, size=10)) == held  # released, still due: fired now
    assert _timers(env) == Counter({i: 1 for i in ids})


def test_steps_that_read_the_database_run_each_in_its_savepoint_in_one_batch(env):
    def assign(step_id, data, ctx):  # a hook that reads other cases: SQL inside the step
        assert ctx.cases.by_case_no("XX-NONE") is None
        return ctx.case_unit_id
    org, ids = _setup(env, 3, assign=assign)
    env.clock.advance(timedelta(hours=2))
    env.db.counter.reset()
    assert sorted(fire_due_timers(env, size=10)) == ids
    assert env.db.counter.commits == 1
    assert _timers(env) == Counter({i: 1 for i in ids})
    assert _checks(env) == Counter({i: 1 for i in ids})
    assert all(case_row(env, i).status == InstanceStatus.running for i in ids)


def test_a_stop_between_two_cases_commits_the_cases_in_hand(env, monkeypatch):
    org, ids = _setup(env, 4)
    env.clock.advance(timedelta(hours=2))
    stop = threading.Event()
    run_step = worker.run_step

    def run_step_then_stop(*args, **kwargs):
        try:
            return run_step(*args, **kwargs)
        finally:
            stop.set()  # SIGTERM while the first case runs

    monkeypatch.setattr(worker, "run_step", run_step_then_stop)
    [first] = fire_due_timers(env, size=4, stop=stop)
    assert _timers(env) == Counter({first: 1})
    assert sorted(_still_due(env)) == sorted(set(ids) - {first})


def _batch_cost(env, n: int) -> tuple[int, int]:
    env.clock.advance(timedelta(hours=2))
    assert len(_still_due(env)) == n
    env.db.counter.reset()
    assert len(fire_due_timers(env, size=n)) == n
    return env.db.counter.statements, env.db.counter.commits


def test_a_batch_costs_a_fixed_number_of_statements_plus_a_few_per_case(env):
    org, _ = _setup(env, 3)
    small = _batch_cost(env, 3)
    _waiting_cases(env, org, 12)
    large = _batch_cost(env, 12)
    kind = "sqlite" if env.db.is_sqlite else "postgresql"
    assert small == (BATCH_STATEMENTS[kind] + 3 * CASE_STATEMENTS[kind], 1), small
    assert large == (BATCH_STATEMENTS[kind] + 12 * CASE_STATEMENTS[kind], 1), large
