"""代理: a user away names a proxy; tasks assigned to them go to the proxy, who acts within the
absent user's rights only and only during the period; the history says "张三 代 李四". Pool tasks of
the absent user's roles and tasks returned to them reach the proxy too; nobody else gets in."""
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.access import check_task_visible
from engine.errors import Conflict, FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.models import Role
from engine.notify.centre import messages
from engine.runtime import claim_task, complete_task, case_history
from engine.verbs.proxy import end_proxy, move_open_tasks, set_proxy
from engine.verbs.returning import return_task
from tests.factories import plain_config
from tests.integration.verbs_support import (actions, add_user, chain_ok, complete_step, inbox_ids, open_task,
                                            plain_case)


def test_open_tasks_move_to_the_proxy_who_acts_for_the_absent_user(env, clock):
    org, iid = plain_case(env)
    cw, lead = org.actor("t1_cw"), org.actor("d1_lead")  # the district leader holds no caseworker role
    task = open_task(env, iid, "step1")
    claim_task(env, task.id, cw)
    now = clock.now()
    set_proxy(env, cw, lead.id, now, now + timedelta(days=3))
    assert move_open_tasks(env, cw) == 1
    row = open_task(env, iid)
    assert (row.assignee_id, row.mark) == (lead.id, "proxy")
    assert messages(env, lead.id)[0].title.startswith("代理：镇经办不在岗")
    with pytest.raises(Conflict):  # the absent user has handed it over
        complete_task(env, task.id, cw, {})
    complete_task(env, task.id, lead, {"note": "代办"})
    done = [e for e in case_history(env, iid) if e.action == "complete"][-1]
    assert (done.actor_id, done.actor_name) == (lead.id, "区领导 代 镇经办") and chain_ok(env, iid)


def test_a_proxy_never_acts_beyond_the_absent_users_rights_or_period(env, clock):
    org, iid = plain_case(env)
    cw, mate, lead = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("d1_lead")
    now = clock.now()
    set_proxy(env, cw, lead.id, now, now + timedelta(days=1))
    pool = open_task(env, iid, "step1")
    claim_task(env, pool.id, cw)
    move_open_tasks(env, cw)
    clock.set(now + timedelta(days=2))  # the period is over
    with pytest.raises(PermissionDenied):
        complete_task(env, pool.id, lead, {})
    with pytest.raises(InvalidState):
        move_open_tasks(env, mate)  # nobody named a proxy for the colleague


def test_pool_tasks_are_not_routed_and_an_ended_proxy_gives_tasks_back_to_the_person(env, clock):
    org, iid = plain_case(env)
    cw, mate, lead = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("d1_lead")
    complete_step(env, iid, "step1", cw)
    complete_step(env, iid, "step2", mate)
    proxy_id = set_proxy(env, mate, lead.id, clock.now(), clock.now() + timedelta(days=5))
    complete_step(env, iid, "step3", cw)   # step4 is a pool task: nobody's in particular
    assert open_task(env, iid).assignee_id is None
    end_proxy(env, mate, proxy_id)
    with pytest.raises(FormInvalid):
        set_proxy(env, mate, lead.id, clock.now(), clock.now() - timedelta(days=1))
    with pytest.raises(InvalidState):
        set_proxy(env, mate, mate.id, clock.now(), clock.now() + timedelta(days=1))
    return_task(env, open_task(env, iid).id, cw, "step2", "金额有误")
    assert open_task(env, iid).assignee_id == mate.id  # the proxy was ended: back to the person


def test_pool_tasks_of_the_absent_users_role_reach_the_proxy_and_nobody_else(env, clock):
    """A pool task (the absent user's role at its unit) is in the proxy's inbox during the period;
    the proxy, who holds no role there and could not see the case, takes and completes it "代" the
    absent user. A colleague at another district, not named proxy, stays out."""
    org, iid = plain_case(env)
    cw, proxy, outsider = org.actor("t1_cw"), org.actor("t2_cw"), org.actor("d2_cw")
    now = clock.now()
    pool = open_task(env, iid, "step1")
    assert pool.assignee_id is None and pool.id not in inbox_ids(env, proxy)
    with pytest.raises(NotFound):
        check_task_visible(env, proxy.id, pool.id)
    set_proxy(env, cw, proxy.id, now, now + timedelta(days=2))
    assert pool.id in inbox_ids(env, proxy) and pool.id not in inbox_ids(env, outsider)
    check_task_visible(env, proxy.id, pool.id)
    with pytest.raises(NotFound):
        check_task_visible(env, outsider.id, pool.id)
    with pytest.raises(PermissionDenied):
        claim_task(env, pool.id, outsider)
    with pytest.raises(PermissionDenied):
        complete_task(env, pool.id, outsider, {})
    claim_task(env, pool.id, proxy)
    row = open_task(env, iid, "step1")
    assert (row.assignee_id, row.mark, row.mark_by_id, row.mark_note) == (proxy.id, "proxy", cw.id, "代镇经办办理")
    complete_task(env, pool.id, proxy, {})
    claimed, done = [e for e in case_history(env, iid) if e.action in ("claim", "complete")][-2:]
    as_proxy = "二镇经办 代 镇经办"
    assert (claimed.actor_name, done.actor_name, done.actor_id) == (as_proxy, as_proxy, proxy.id)
    # the next pool task: the proxy completes it straight from the pool, in the absent user's name
    complete_task(env, open_task(env, iid, "step2").id, proxy, {})
    assert [e for e in case_history(env, iid) if e.action == "complete"][-1].actor_name == "二镇经办 代 镇经办"
    clock.set(now + timedelta(days=3))  # the period is over: out of the inbox, out of reach
    step3 = open_task(env, iid, "step3")
    assert step3.id not in inbox_ids(env, proxy)
    with pytest.raises(PermissionDenied):
        claim_task(env, step3.id, proxy)
    with pytest.raises(NotFound):
        check_task_visible(env, proxy.id, step3.id)
    assert chain_ok(env, iid)


def test_a_proxy_takes_no_pool_task_beyond_the_absent_users_roles(env, clock):
    org, iid = plain_case(env)
    reviewer = add_user(env, org, "t1_rev", "镇审核", Role.reviewer, "t1")  # no caseworker role at the town
    proxy = org.actor("t2_cw")
    set_proxy(env, reviewer, proxy.id, clock.now(), clock.now() + timedelta(days=2))
    pool = open_task(env, iid, "step1")  # a caseworker task: not the reviewer's to hand on
    assert pool.id not in inbox_ids(env, proxy)
    with pytest.raises(PermissionDenied):
        claim_task(env, pool.id, proxy)
    with pytest.raises(PermissionDenied):
        complete_task(env, pool.id, proxy, {})


def test_a_task_returned_to_an_absent_user_goes_to_their_proxy_marked_returned(env, clock):
    org, iid = plain_case(env)
    cw, mate, proxy = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("t2_cw")
    complete_step(env, iid, "step1", cw)
    complete_step(env, iid, "step2", mate)
    set_proxy(env, cw, proxy.id, clock.now(), clock.now() + timedelta(days=5))
    return_task(env, open_task(env, iid, "step3").id, mate, "step1", "登记信息有误")
    row = open_task(env, iid, "step1")
    assert (row.assignee_id, row.mark, row.mark_by_id) == (proxy.id, "returned", mate.id)
    assert row.mark_note == "登记信息有误（镇经办不在岗，由代理人代办）"
    assert row.id in inbox_ids(env, proxy) and row.id not in inbox_ids(env, cw)
    assert messages(env, proxy.id)[0].title.startswith("退回：登记")
    assert actions(env, iid)[-2:] == ["return", "proxy"]
    with pytest.raises(Conflict):  # handed over while away
        complete_task(env, row.id, cw, {})
    for other in (mate, org.actor("d2_cw")):  # nobody else takes it over either
        with pytest.raises((Conflict, PermissionDenied)):
            claim_task(env, row.id, other)
    complete_task(env, row.id, proxy, {})
    done = [e for e in case_history(env, iid) if e.action == "complete"][-1]
    assert (done.step_id, done.actor_name) == ("step1", "二镇经办 代 镇经办")
    assert chain_ok(env, iid)


def test_a_proxy_may_not_do_what_the_four_eyes_rule_forbids_the_absent_user(env, clock):
    org, iid = plain_case(env)
    env.extra_processes["plain"] = replace(plain_config(), four_eyes={"step2": "step1"})
    cw, mate, proxy = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("t2_cw")
    complete_step(env, iid, "step1", cw)
    set_proxy(env, cw, proxy.id, clock.now(), clock.now() + timedelta(days=2))
    step2 = open_task(env, iid, "step2")
    with pytest.raises(PermissionDenied) as refused:  # 镇经办 did step1: neither they nor their proxy
        complete_task(env, step2.id, proxy, {})
    assert "同一人" in refused.value.user_message
    complete_task(env, step2.id, mate, {})
    assert chain_ok(env, iid)
