"""加签/减签 and the approval modes of a step (会签, 或签, 依次) without drawing multi-instance: each
signer has a row of their own on the one SpiffWorkflow task, which runs on once the round is decided."""
import pytest

from engine.errors import Conflict, FormInvalid, InvalidState, PermissionDenied
from engine.models import HumanTask, Role, TaskStatus
from engine.notify.centre import messages
from engine.runtime import case_data, complete_task
from engine.verbs.signers import add_signer, remove_signer
from tests.integration.verbs_support import (actions, add_user, chain_ok, drop_cache, open_task, plain_case,
                                             second_env)


def _open(env, iid):
    with env.db.read() as s:
        from sqlalchemy import select
        return list(s.scalars(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))
            .order_by(HumanTask.id)))


def test_alongside_signer_both_must_sign_before_the_step_moves_on(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, d1 = org.actor("t1_cw"), org.actor("d1_cw")
    add_signer(env, task.id, cw, d1.id, "alongside", "请区局会签")
    rows = _open(env, iid)
    added = [r for r in rows if r.assignee_id == d1.id][0]
    assert (added.step_id, added.mark, added.org_unit_id) == ("step1", "signer", org.units["d1"])
    assert messages(env, d1.id)[0].kind == "signer"
    result = complete_task(env, task.id, cw, {"note": "镇意见"})
    assert result.new_task_ids == [] and [r.step_id for r in _open(env, iid)] == ["step1"]
    complete_task(env, added.id, d1, {"note": "区意见"})
    assert [r.step_id for r in _open(env, iid)] == ["step2"]
    assert [s["name"] for s in case_data(env, iid)["step1_signs"]] == ["镇经办", "区经办"]
    assert actions(env, iid).count("add_signer") == 1 and chain_ok(env, iid)


def test_before_signer_signs_first_after_signer_signs_last(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, mate, d1 = org.actor("t1_cw"), org.actor("t1_cw2"), org.actor("d1_cw")
    other = second_env(env)
    add_signer(env, task.id, cw, d1.id, "before", "先请区局看")
    add_signer(other, task.id, cw, mate.id, "after", "再请同事复核")
    with pytest.raises(InvalidState) as exc:
        complete_task(env, task.id, cw, {})
    assert exc.value.user_message == "请待区经办办理后再办理"
    before = [r for r in _open(env, iid) if r.assignee_id == d1.id][0]
    drop_cache(env)
    complete_task(other, before.id, d1, {})
    complete_task(env, task.id, cw, {})
    after = [r for r in _open(env, iid) if r.assignee_id == mate.id]
    assert [r.step_id for r in after] == ["step1"]
    complete_task(other, after[0].id, mate, {})
    assert [r.step_id for r in _open(env, iid)] == ["step2"] and chain_ok(env, iid)
    other.db.dispose()


def test_add_signer_refusals(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, d1 = org.actor("t1_cw"), org.actor("d1_cw")
    with pytest.raises(FormInvalid):
        add_signer(env, task.id, cw, d1.id, "alongside", " ")
    for outsider in ("t2_cw", "d2_cw", "city_audit"):
        with pytest.raises(PermissionDenied):
            add_signer(env, task.id, org.actor(outsider), d1.id, "alongside", "理由")
    with pytest.raises(PermissionDenied):  # an auditor signs nothing
        add_signer(env, task.id, cw, org.actor("city_audit").id, "alongside", "理由")
    add_signer(env, task.id, org.actor("d1_lead"), d1.id, "alongside", "领导加签")  # a leader above
    with pytest.raises(InvalidState):
        add_signer(env, task.id, cw, d1.id, "alongside", "再加一次")
    complete_task(env, task.id, cw, {})
    with pytest.raises(Conflict):  # too late: the holder's row is done
        add_signer(env, task.id, cw, org.actor("t1_cw2").id, "alongside", "理由")


def test_remove_signer_by_whoever_added_and_the_round_runs_on(env):
    org, iid = plain_case(env)
    task = open_task(env, iid, "step1")
    cw, d1 = org.actor("t1_cw"), org.actor("d1_cw")
    add_signer(env, task.id, cw, d1.id, "alongside", "请区局会签")
    added = [r for r in _open(env, iid) if r.assignee_id == d1.id][0]
    with pytest.raises(InvalidState):  # the holder's own row is not an added signer's
        remove_signer(env, task.id, cw, "理由")
    complete_task(env, task.id, cw, {})
    for outsider in ("t2_cw", "t1_cw2", "d1_cw"):
        with pytest.raises(PermissionDenied):
            remove_signer(env, added.id, org.actor(outsider), "不需要了")
    remove_signer(env, added.id, cw, "不需要了")
    assert [r.step_id for r in _open(env, iid)] == ["step2"]
    assert messages(env, d1.id)[0].kind == "withdrawn"
    assert actions(env, iid)[-1] == "remove_signer" and chain_ok(env, iid)
    with pytest.raises(Conflict):  # too late: removed already
        remove_signer(env, added.id, cw, "不需要了")


def _mode_case(env, **approval):
    org, iid = plain_case(env, verbs={"step2": {"approval": {"field": "decision", **approval}}})
    add_user(env, org, "t1_rev", "镇审核", Role.reviewer, "t1")
    complete_task(env, open_task(env, iid, "step1").id, org.actor("t1_cw"), {})
    return org, iid


def test_countersign_all_must_agree_and_one_refusal_ends_it(env):
    org, iid = _mode_case(env, mode="all", people=["t1_cw", "t1_cw2", "d1_cw"])
    rows = _open(env, iid)
    assert sorted(r.assignee_id for r in rows) == sorted(org.actor(u).id for u in ("t1_cw", "t1_cw2", "d1_cw"))
    by = {r.assignee_id: r for r in rows}
    complete_task(env, by[org.actor("t1_cw").id].id, org.actor("t1_cw"), {"decision": "同意"})
    assert len(_open(env, iid)) == 2
    complete_task(env, by[org.actor("d1_cw").id].id, org.actor("d1_cw"), {"decision": "不同意"})
    assert [r.step_id for r in _open(env, iid)] == ["step3"]  # decided: the third row withdrawn
    assert case_data(env, iid)["decision"] == "不同意"
    with env.db.read() as s:
        assert s.get(HumanTask, by[org.actor("t1_cw2").id].id).status == TaskStatus.cancelled


def test_countersign_with_a_ratio(env):
    org, iid = _mode_case(env, mode="all", ratio=0.5, people=["t1_cw", "t1_cw2", "d1_cw", "d2_cw"])
    by = {r.assignee_id: r for r in _open(env, iid)}
    complete_task(env, by[org.actor("t1_cw").id].id, org.actor("t1_cw"), {"decision": "不同意"})
    complete_task(env, by[org.actor("d1_cw").id].id, org.actor("d1_cw"), {"decision": "同意"})
    assert len(_open(env, iid)) == 2
    complete_task(env, by[org.actor("d2_cw").id].id, org.actor("d2_cw"), {"decision": "同意"})
    assert case_data(env, iid)["decision"] == "同意" and [r.step_id for r in _open(env, iid)] == ["step3"]


def test_or_sign_first_decision_wins(env):
    org, iid = _mode_case(env, mode="any", role="caseworker")
    rows = _open(env, iid)
    assert sorted(r.assignee_id for r in rows) == sorted([org.actor("t1_cw").id, org.actor("t1_cw2").id])
    mate = org.actor("t1_cw2")
    complete_task(env, [r for r in rows if r.assignee_id == mate.id][0].id, mate, {"decision": "退回"})
    assert case_data(env, iid)["decision"] == "退回" and [r.step_id for r in _open(env, iid)] == ["step3"]


def test_sequential_signers_act_in_order(env):
    org, iid = _mode_case(env, mode="seq", people=["d1_cw", "t1_cw2"])
    rows = _open(env, iid)
    assert [r.assignee_id for r in rows] == [org.actor("d1_cw").id]
    with pytest.raises(Conflict):  # the second in line has nothing yet
        complete_task(env, rows[0].id, org.actor("t1_cw2"), {"decision": "同意"})
    complete_task(env, rows[0].id, org.actor("d1_cw"), {"decision": "同意"})
    rows = _open(env, iid)
    assert [(r.step_id, r.assignee_id) for r in rows] == [("step2", org.actor("t1_cw2").id)]
    complete_task(env, rows[0].id, org.actor("t1_cw2"), {"decision": "同意"})
    assert [r.step_id for r in _open(env, iid)] == ["step3"] and chain_ok(env, iid)
