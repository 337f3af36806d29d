"""代理: a user away names a proxy; tasks assigned to them go to the proxy, who acts within the
absent user's rights only and only during the period; the history says "张三 代 李四"."""
from datetime import timedelta

import pytest

from engine.errors import Conflict, FormInvalid, InvalidState, PermissionDenied
from engine.notify.centre import messages
from engine.runtime import claim_task, complete_task, case_history
from engine.verbs.proxy import end_proxy, move_open_tasks, set_proxy
from engine.verbs.returning import return_task
from tests.integration.verbs_support import chain_ok, complete_step, open_task, plain_case


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
    pool = open_task(env, iid, "step1")  # an unclaimed pool task is not the absent user's to give
    with pytest.raises(PermissionDenied):
        complete_task(env, pool.id, lead, {})
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
