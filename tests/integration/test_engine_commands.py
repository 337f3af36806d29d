"""Claim, unclaim, complete, cancel and terminate: who may, and what a failure leaves behind."""

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidState, PermissionDenied, FormInvalid
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.runtime import (cancel_case, claim_task, complete_task, reassign_task, start_case,
                            terminate_case, unclaim_task)
from tests.factories import build_org, plain_config, setup_plain


@pytest.fixture
def case(env):
    org = build_org(env)
    setup_plain(env)
    started = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"})
    task = inbox(env, org.actor("t1_cw").id).items[0]
    return org, started, task


def test_case_numbers_count_up_per_year(env, case):
    org, started, _task = case
    second = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {})
    assert (started.case_no, second.case_no) == ("PL2026-00001", "PL2026-00002")
    assert len(started.query_code) == 6 and started.query_code.isdigit()


def test_user_without_role_at_unit_cannot_start_or_act(env, case):
    org, _started, task = case
    with pytest.raises(PermissionDenied):
        start_case(env, "plain", org.actor("t2_cw"), org.units["t1"], {})
    for other in ("t2_cw", "d1_cw", "city_lead", "admin"):
        with pytest.raises(PermissionDenied):
            complete_task(env, task.id, org.actor(other), {})
        with pytest.raises(PermissionDenied):
            claim_task(env, task.id, org.actor(other))
    assert inbox(env, org.actor("t2_cw").id).items == []


def test_claimed_task_leaves_the_pool_until_unclaimed(env, case):
    org, started, task = case
    cw = org.actor("t1_cw")
    with env.db.write() as s:  # a colleague at the same station
        from engine.orgs import create_user
        from engine.models import OrgUnit, Role
        mate = create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(),
                           [(Role.caseworker, s.get(OrgUnit, org.units["t1"]))])
        from engine.orgs import Actor
        mate = Actor(mate.id, mate.full_name)
    claim_task(env, task.id, cw)
    assert inbox(env, mate.id).items == []
    with pytest.raises(Conflict):
        complete_task(env, task.id, mate, {})
    with pytest.raises(Conflict):
        unclaim_task(env, task.id, mate)
    unclaim_task(env, task.id, cw)
    assert [t.id for t in inbox(env, mate.id).items] == [task.id]
    complete_task(env, task.id, mate, {})
    with pytest.raises(Conflict):
        complete_task(env, task.id, cw, {})


def test_a_failing_hook_rolls_the_step_back_and_puts_the_case_in_error(env, case):
    """A bug in a process hook is the case's error state (see engine.stepguard): the workflow is
    as committed, the completion is recorded, no new task, and the admin can retry."""
    org, started, task = case

    def broken(step_id, data, ctx):
        raise RuntimeError("rule failed")

    env.extra_processes["plain"] = plain_config().__class__(**{**plain_config().__dict__, "on_complete": broken})
    result = complete_task(env, task.id, org.actor("t1_cw"), {"amount": 1}, opinion="同意")
    assert result.status == InstanceStatus.error and "RuntimeError: rule failed" in result.error
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
        row = s.get(HumanTask, task.id)
        actions = s.scalars(select(HistoryEvent.action).order_by(HistoryEvent.seq)).all()
        tasks = s.scalar(select(func.count()).select_from(HumanTask))
    assert (inst.status, inst.error_step) == (InstanceStatus.error, "step1")
    assert row.status == TaskStatus.completed and row.completed_by_id == org.actor("t1_cw").id
    assert (actions, tasks) == (["start", "complete", "error"], 1)


def test_cancel_by_initiator_and_terminate_by_admin_need_a_reason(env, case):
    org, started, task = case
    with pytest.raises(FormInvalid):
        cancel_case(env, started.instance_id, org.actor("t1_cw"), "  ")
    with pytest.raises(PermissionDenied):
        cancel_case(env, started.instance_id, org.actor("t2_cw"), "不是我的")
    cancel_case(env, started.instance_id, org.actor("t1_cw"), "群众撤回诉求")
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
        row = s.get(HumanTask, task.id)
        last = s.scalars(select(HistoryEvent).order_by(HistoryEvent.id.desc())).first()
    assert inst.status == InstanceStatus.cancelled and row.status == TaskStatus.cancelled
    assert (last.action, last.opinion) == ("cancel", "群众撤回诉求")
    with pytest.raises(InvalidState):
        terminate_case(env, started.instance_id, org.actor("admin"), "重复")
    other = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {})
    with pytest.raises(PermissionDenied):
        terminate_case(env, other.instance_id, org.actor("t1_cw"), "试试")
    terminate_case(env, other.instance_id, org.actor("admin"), "重复立案")
    with env.db.read() as s:
        assert s.get(ProcessInstance, other.instance_id).status == InstanceStatus.terminated


def test_admin_reassigns_only_to_someone_who_holds_the_role(env, case):
    org, _started, task = case
    with pytest.raises(PermissionDenied):
        reassign_task(env, task.id, org.actor("admin"), org.actor("t2_cw").id, "调整")
    reassign_task(env, task.id, org.actor("admin"), org.actor("t1_cw").id, "指定专人")
    with env.db.read() as s:
        row = s.get(HumanTask, task.id)
    assert (row.status, row.assignee_id) == (TaskStatus.claimed, org.actor("t1_cw").id)
