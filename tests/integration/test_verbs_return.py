"""退回: the holder returns a case to an earlier step of its path, with an opinion; the step opens
for whoever completed it, marked; refusals for who may not, a parallel branch, a multi-instance."""
import pytest

from engine.errors import Conflict, FormInvalid, InvalidState, PermissionDenied
from engine.definitions import deploy, read_process_dir
from engine.models import HumanTask, Role, TaskStatus
from engine.notify.centre import messages
from engine.runtime import case_data, claim_task, complete_task, start_case
from engine.verbs.returning import return_targets, return_task
from tests.factories import DATA, build_org, simple_config
from tests.integration.verbs_support import (actions, chain_ok, complete_step, drop_cache, open_task,
                                             parallel_case, plain_case, second_env)


def _to_step3(env):
    org, iid = plain_case(env)
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    complete_step(env, iid, "step2", org.actor("t1_cw2"), {"amount": 5})
    return org, iid


def test_holder_returns_to_an_earlier_step_which_opens_for_its_completer(env):
    org, iid = _to_step3(env)
    task = open_task(env, iid, "step3")
    targets = return_targets(env, task.id, org.actor("t1_cw").id)
    assert [(t.step_id, t.completed_by_name) for t in targets] == [("step1", "镇经办"),
                                                                   ("step2", "镇经办二")]
    result = return_task(env, task.id, org.actor("t1_cw"), "step1", "身份证复印件缺失")
    back = open_task(env, iid, "step1")
    assert result.new_task_ids == [back.id]
    assert (back.status, back.assignee_id, back.mark, back.mark_note) == (
        TaskStatus.claimed, org.actor("t1_cw").id, "returned", "身份证复印件缺失")
    with env.db.read() as s:
        assert s.get(HumanTask, task.id).status == TaskStatus.completed
    assert actions(env, iid)[-1] == "return" and chain_ok(env, iid)
    assert [m.kind for m in messages(env, org.actor("t1_cw").id)][0] == "returned"
    # the path is walked again: step1, then step2 opens anew
    complete_task(env, back.id, org.actor("t1_cw"), {})
    assert open_task(env, iid).step_id == "step2"


def test_return_keeps_the_earlier_answers_on_the_step(env):
    org, iid = _to_step3(env)
    return_task(env, open_task(env, iid, "step3").id, org.actor("t1_cw"), "step2", "金额有误")
    back = open_task(env, iid, "step2")
    assert back.assignee_id == org.actor("t1_cw2").id
    assert case_data(env, iid)["amount"] == 5


def test_return_refusals(env):
    org, iid = _to_step3(env)
    task = open_task(env, iid, "step3")
    with pytest.raises(FormInvalid):
        return_task(env, task.id, org.actor("t1_cw"), "step1", "  ")
    for outsider in ("t2_cw", "d1_lead", "admin"):
        with pytest.raises(PermissionDenied):
            return_task(env, task.id, org.actor(outsider), "step1", "理由")
        assert return_targets(env, task.id, org.actor(outsider).id) == []
    with pytest.raises(InvalidState, match="returned") as exc:
        return_task(env, task.id, org.actor("t1_cw"), "step4", "理由")
    assert exc.value.user_message == "该步骤尚未办理过，不能退回到该步骤"
    claim_task(env, task.id, org.actor("t1_cw2"))
    with pytest.raises(Conflict):
        return_task(env, task.id, org.actor("t1_cw"), "step1", "理由")
    return_task(env, task.id, org.actor("t1_cw2"), "step1", "理由")
    with pytest.raises(Conflict):  # too late: the task is gone
        return_task(env, task.id, org.actor("t1_cw2"), "step1", "理由")
    assert chain_ok(env, iid)


def test_a_step_may_forbid_returning(env):
    org, iid = plain_case(env, verbs={"step2": {"return": False}})
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    task = open_task(env, iid, "step2")
    assert return_targets(env, task.id, org.actor("t1_cw").id) == []
    with pytest.raises(PermissionDenied):
        return_task(env, task.id, org.actor("t1_cw"), "step1", "理由")


def test_return_with_the_spec_cache_dropped_and_two_engines(env):
    org, iid = _to_step3(env)
    other = second_env(env)
    drop_cache(env)
    return_task(other, open_task(env, iid, "step3").id, org.actor("t1_cw"), "step2", "再核")
    drop_cache(other)
    complete_task(env, open_task(env, iid, "step2").id, org.actor("t1_cw2"), {"amount": 7})
    return_task(other, open_task(env, iid, "step3").id, org.actor("t1_cw"), "step1", "重新登记")
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    assert open_task(other, iid).step_id == "step2"
    assert actions(env, iid).count("return") == 2 and chain_ok(other, iid)
    other.db.dispose()


def test_return_within_a_parallel_branch_leaves_the_other_branch(env):
    org, iid = parallel_case(env)
    complete_step(env, iid, "draft", org.actor("t1_cw"))
    complete_step(env, iid, "check_a", org.actor("t1_cw2"))
    check_b = open_task(env, iid, "check_b")
    sign_a = open_task(env, iid, "sign_a")
    assert [t.step_id for t in return_targets(env, sign_a.id, org.actor("t1_cw").id)] == ["draft", "check_a"]
    return_task(env, sign_a.id, org.actor("t1_cw"), "check_a", "甲方材料不全")
    assert open_task(env, iid, "check_a").assignee_id == org.actor("t1_cw2").id
    with env.db.read() as s:
        assert s.get(HumanTask, check_b.id).status == TaskStatus.open  # the other branch is untouched
    assert chain_ok(env, iid)


def test_return_before_the_fork_is_refused_while_the_other_branch_is_open(env):
    org, iid = parallel_case(env)
    complete_step(env, iid, "draft", org.actor("t1_cw"))
    check_b = open_task(env, iid, "check_b")
    with pytest.raises(InvalidState) as exc:
        return_task(env, check_b.id, org.actor("t1_cw2"), "draft", "理由")
    assert "其他并行分支仍在办理" in exc.value.user_message
    complete_step(env, iid, "check_a", org.actor("t1_cw2"))
    sign_a = open_task(env, iid, "sign_a")
    with pytest.raises(InvalidState) as exc:  # a step of the other branch is not on this path
        complete_step(env, iid, "check_b", org.actor("t1_cw"))
        return_task(env, sign_a.id, org.actor("t1_cw"), "check_b", "理由")
    assert exc.value.user_message == "该步骤在另一并行分支或会签中，不能从本任务退回到该步骤"


def test_a_step_pruned_from_a_long_loop_is_refused_cleanly(env):
    """After many rounds the finished part of the tree is dropped (engine.pruning): the history still
    has the first step, the workflow cannot go back to it, and the return says so."""
    org = build_org(env)
    env.extra_processes["verbs_loop"] = simple_config("verbs_loop", "VL", roles={"draft": Role.caseworker,
                                                                                 "review": Role.caseworker})
    with env.db.write() as s:
        deploy(s, "verbs_loop", read_process_dir(DATA / "verbs_loop"), env.clock.now(), role_steps=("draft", "review"))
    iid = start_case(env, "verbs_loop", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    complete_step(env, iid, "draft", org.actor("t1_cw"))
    task = open_task(env, iid, "review")
    assert [t.step_id for t in return_targets(env, task.id, org.actor("t1_cw").id)] == ["draft"]
    for _round in range(60):
        complete_step(env, iid, "review", org.actor("t1_cw"), {"decision": "again"})
    task = open_task(env, iid, "review")
    assert "draft" not in [t.step_id for t in return_targets(env, task.id, org.actor("t1_cw").id)]
    with pytest.raises(InvalidState) as exc:
        return_task(env, task.id, org.actor("t1_cw"), "draft", "重新拟稿")
    assert exc.value.user_message == "该步骤的办理记录已归档（流程已多次往返），不能退回到该步骤"
    return_task(env, task.id, org.actor("t1_cw"), "review", "上一轮审核有误")  # the last round is still there
    assert open_task(env, iid, "review").mark == "returned" and chain_ok(env, iid)


def test_direct_return_comes_straight_back_to_the_returner_after_the_fix(env):
    org, iid = plain_case(env, verbs={"step3": {"return_mode": "direct"}})
    cw, mate = org.actor("t1_cw"), org.actor("t1_cw2")
    complete_step(env, iid, "step1", cw)
    complete_step(env, iid, "step2", mate, {"amount": 5})
    step3 = open_task(env, iid, "step3")
    other = second_env(env)
    result = return_task(env, step3.id, cw, "step2", "金额有误")
    fix = open_task(env, iid, "step2")
    assert result.new_task_ids == [fix.id]
    assert (fix.assignee_id, fix.mark, fix.mark_note) == (mate.id, "returned", "金额有误")
    with pytest.raises(InvalidState) as exc:  # the returner waits for the fix
        complete_task(env, step3.id, cw, {})
    assert exc.value.user_message == "请待镇经办二办理后再办理"
    drop_cache(env)
    complete_task(other, fix.id, mate, {"amount": 7})
    assert [t.step_id for t in (open_task(env, iid),)] == ["step3"]   # no walk through the path again
    assert case_data(env, iid)["amount"] == 7
    complete_task(env, step3.id, cw, {})
    assert open_task(env, iid).step_id == "step4"
    assert actions(env, iid)[-3:] == ["return", "complete", "complete"] and chain_ok(env, iid)
    other.db.dispose()
