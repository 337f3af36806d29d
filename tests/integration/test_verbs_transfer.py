"""转办, 委派 and 催办: who may hand a task to whom, who may urge, how often; each one history event."""
from datetime import timedelta

import pytest

from engine.errors import Conflict, FormInvalid, InvalidState, PermissionDenied
from engine.models import HumanTask, Role, TaskStatus
from engine.notify.centre import messages
from engine.runtime import claim_task, complete_task
from engine.verbs.signers import add_signer
from engine.verbs.transfer import (delegate_task, proposed_answers, receivers, return_delegation,
                                   transfer_task)
from engine.verbs.urging import can_urge, urge_task
from tests.integration.verbs_support import (actions, add_user, chain_ok, complete_step, open_task, parallel_case,
                                            plain_case, second_env)


def test_holder_transfers_to_a_colleague_who_then_holds_it(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, mate = org.actor("t1_cw"), org.actor("t1_cw2")
    assert receivers(env, task.id, cw.id) == [(mate.id, "镇经办二")]
    assert receivers(env, task.id, org.actor("t2_cw").id) == []
    transfer_task(env, task.id, cw, mate.id, "我出差")
    row = open_task(env, iid)
    assert (row.status, row.assignee_id, row.mark, row.mark_note) == (TaskStatus.claimed, mate.id,
                                                                      "transferred", "我出差")
    with pytest.raises(Conflict):  # the original holder is done with it
        complete_task(env, task.id, cw, {})
    complete_task(env, task.id, mate, {})
    assert actions(env, iid)[-2:] == ["transfer", "complete"] and chain_ok(env, iid)
    assert any(m.kind == "transferred" and m.task_id == task.id for m in messages(env, mate.id))


def test_transfer_refusals(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw = org.actor("t1_cw")
    with pytest.raises(FormInvalid):
        transfer_task(env, task.id, cw, org.actor("t1_cw2").id, " ")
    with pytest.raises(PermissionDenied):  # the receiver lacks the role at the unit
        transfer_task(env, task.id, cw, org.actor("t2_cw").id, "理由")
    with pytest.raises(PermissionDenied):  # an outsider cannot give it away
        transfer_task(env, task.id, org.actor("t2_cw"), org.actor("t1_cw2").id, "理由")
    with pytest.raises(InvalidState):
        transfer_task(env, task.id, cw, cw.id, "理由")
    claim_task(env, task.id, org.actor("t1_cw2"))
    with pytest.raises(Conflict):  # claimed by a colleague: not mine to give
        transfer_task(env, task.id, cw, org.actor("t1_cw2").id, "理由")
    complete_task(env, task.id, org.actor("t1_cw2"), {})
    with pytest.raises(Conflict):  # too late
        transfer_task(env, task.id, org.actor("t1_cw2"), cw.id, "理由")


def test_a_step_may_forbid_transfer(env):
    org, iid = plain_case(env, verbs={"*": {"transfer": False}})
    with pytest.raises(PermissionDenied):
        transfer_task(env, open_task(env, iid).id, org.actor("t1_cw"), org.actor("t1_cw2").id, "理由")


def test_delegation_comes_back_to_the_delegator_to_confirm(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, mate = org.actor("t1_cw"), org.actor("t1_cw2")
    other = second_env(env)
    delegate_task(env, task.id, cw, mate.id, "请代为核实")
    with pytest.raises(Conflict):  # lent out: the delegator waits
        complete_task(env, task.id, cw, {})
    with pytest.raises(PermissionDenied):  # only the delegate hands it back
        return_delegation(env, task.id, cw, {"subject": "y"})
    with pytest.raises(InvalidState):  # a delegated task is not passed on
        transfer_task(env, task.id, mate, cw.id, "理由")
    return_delegation(other, task.id, mate, {"subject": "核实无误"}, "已核实")
    row = open_task(env, iid)
    assert (row.assignee_id, row.mark) == (cw.id, "delegate_done")
    assert proposed_answers(env, task.id) == {"subject": "核实无误"}
    complete_task(env, task.id, cw, proposed_answers(env, task.id))
    assert actions(env, iid)[-3:] == ["delegate", "delegate_done", "complete"] and chain_ok(env, iid)
    other.db.dispose()


def test_urge_by_the_initiator_or_a_leader_above_rate_limited(env, clock):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    add_user(env, org, "t1_lead", "镇领导", Role.leader, "t1")
    assert can_urge(env, task.id, org.actor("t1_cw").id)        # the initiator
    assert can_urge(env, task.id, org.actor("d1_lead").id)      # a leader above the town
    assert not can_urge(env, task.id, org.actor("t1_cw2").id)   # a colleague
    assert not can_urge(env, task.id, org.actor("t2_cw").id)
    for outsider in ("t1_cw2", "d2_cw", "city_audit"):
        with pytest.raises(PermissionDenied):
            urge_task(env, task.id, org.actor(outsider))
    urge_task(env, task.id, org.actor("d1_lead"), "请尽快办理")
    with pytest.raises(InvalidState):
        urge_task(env, task.id, org.actor("t1_lead"))
    clock.advance(timedelta(hours=4))
    urge_task(env, task.id, org.actor("t1_lead"))
    assert actions(env, iid).count("urge") == 2 and chain_ok(env, iid)
    urged = [m for m in messages(env, org.actor("t1_cw2").id) if m.kind == "urged"]
    assert len(urged) == 2 and urged[-1].body == "请尽快办理"
    complete_task(env, task.id, org.actor("t1_cw"), {})
    with pytest.raises(Conflict):  # nothing left to urge
        urge_task(env, task.id, org.actor("d1_lead"))
    with env.db.read() as s:
        assert s.get(HumanTask, task.id).status == TaskStatus.completed


def test_transfer_signers_and_urging_in_one_parallel_branch_leave_the_other_alone(env, clock):
    """转办, 加签 and 催办 of a task in one branch touch only that branch; a transfer out of the
    other branch by someone who does not hold it is still refused."""
    org, iid = parallel_case(env)
    cw, mate, d1 = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("d1_cw")
    complete_step(env, iid, "draft", cw)
    check_a, check_b = open_task(env, iid, "check_a"), open_task(env, iid, "check_b")
    transfer_task(env, check_a.id, cw, mate.id, "甲方由同事核对")
    with env.db.read() as s:
        moved, other = s.get(HumanTask, check_a.id), s.get(HumanTask, check_b.id)
        assert (moved.assignee_id, moved.mark) == (mate.id, "transferred")
        assert (other.status, other.assignee_id, other.mark) == (TaskStatus.open, None, None)
    with pytest.raises(PermissionDenied):  # the other branch is not an outsider's to give away
        transfer_task(env, check_b.id, org.actor("t2_cw"), mate.id, "理由")
    add_signer(env, check_b.id, cw, d1.id, "alongside", "乙方请区局会签")
    urge_task(env, check_a.id, org.actor("d1_lead"), "甲方请尽快")
    complete_task(env, check_a.id, mate, {})
    assert open_task(env, iid, "sign_a").status == TaskStatus.open  # branch A runs on
    complete_task(env, check_b.id, cw, {})
    assert open_task(env, iid, "check_b").assignee_id == d1.id  # branch B waits for its signer
    complete_step(env, iid, "sign_a", cw)
    complete_task(env, open_task(env, iid, "check_b").id, d1, {})
    assert open_task(env, iid, "approve").status == TaskStatus.open and chain_ok(env, iid)
