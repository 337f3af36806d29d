"""撤回: the completer takes a step back while the next step is untouched; refused to anyone else,
once the next step is claimed or done, where the step forbids it, and across parallel branches."""
import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidState, PermissionDenied
from engine.models import HumanTask, TaskStatus
from engine.notify.centre import messages
from engine.process_api import ProcessConfig
from engine.runtime import claim_task, complete_task, start_case, unclaim_task
from engine.verbs.returning import return_targets, return_task
from engine.verbs.withdrawing import CLAIMED as WITHDRAW_CLAIMED
from engine.verbs.withdrawing import SAVED as WITHDRAW_SAVED
from engine.verbs.withdrawing import can_withdraw, withdraw_task
from tests.factories import DATA, build_org, deploy_dir
from tests.integration.verbs_support import (actions, chain_ok, complete_step, drop_cache, open_task,
                                             parallel_case, plain_case, second_env)


def _done_step1(env, **settings):
    org, iid = plain_case(env, **settings)
    step1 = open_task(env, iid, "step1")
    complete_task(env, step1.id, org.actor("t1_cw"), {})
    return org, iid, step1


def test_completer_withdraws_while_the_next_step_is_untouched(env):
    org, iid, step1 = _done_step1(env)
    step2 = open_task(env, iid, "step2")
    assert can_withdraw(env, step1.id, org.actor("t1_cw").id)
    assert not can_withdraw(env, step1.id, org.actor("t1_cw2").id)
    withdraw_task(env, step1.id, org.actor("t1_cw"), "漏填事项")
    back = open_task(env, iid)
    assert (back.step_id, back.status, back.assignee_id, back.mark) == (
        "step1", TaskStatus.claimed, org.actor("t1_cw").id, "withdrawn")
    with env.db.read() as s:
        assert s.get(HumanTask, step2.id).status == TaskStatus.cancelled
    assert actions(env, iid)[-1] == "withdraw" and chain_ok(env, iid)
    kinds = [m.kind for m in messages(env, org.actor("t1_cw2").id)]
    assert kinds[0] == "withdrawn" and "new_task" in kinds
    complete_task(env, back.id, org.actor("t1_cw"), {})
    assert open_task(env, iid).step_id == "step2"


def test_withdraw_refusals(env):
    org, iid, step1 = _done_step1(env)
    step2 = open_task(env, iid, "step2")
    for other in ("t1_cw2", "t2_cw", "d1_lead"):
        with pytest.raises(PermissionDenied):
            withdraw_task(env, step1.id, org.actor(other))
    claim_task(env, step2.id, org.actor("t1_cw2"))
    assert not can_withdraw(env, step1.id, org.actor("t1_cw").id)
    with pytest.raises(InvalidState) as exc:
        withdraw_task(env, step1.id, org.actor("t1_cw"))
    assert exc.value.user_message == "下一步骤已被认领办理，不能撤回"
    unclaim_task(env, step2.id, org.actor("t1_cw2"))
    complete_task(env, step2.id, org.actor("t1_cw2"), {})
    with pytest.raises(InvalidState) as exc:  # too late: the next step was done
        withdraw_task(env, step1.id, org.actor("t1_cw"))
    assert exc.value.user_message == "下一步骤已办理，不能撤回"
    with pytest.raises(PermissionDenied):  # an open task is not a completed one
        withdraw_task(env, open_task(env, iid).id, org.actor("t1_cw"))
    assert chain_ok(env, iid)


def test_withdrawing_twice_is_refused(env):
    org, iid, step1 = _done_step1(env)
    withdraw_task(env, step1.id, org.actor("t1_cw"))
    with pytest.raises((InvalidState, PermissionDenied, Conflict)):
        withdraw_task(env, step1.id, org.actor("t1_cw"))


def test_a_step_may_forbid_withdrawing(env):
    org, iid, step1 = _done_step1(env, verbs={"step1": {"withdraw": False}})
    assert not can_withdraw(env, step1.id, org.actor("t1_cw").id)
    with pytest.raises(PermissionDenied) as exc:
        withdraw_task(env, step1.id, org.actor("t1_cw"))
    assert exc.value.user_message == "本步骤不允许撤回"


def test_withdraw_with_the_spec_cache_dropped_and_two_engines(env):
    org, iid, step1 = _done_step1(env)
    other = second_env(env)
    drop_cache(env)
    withdraw_task(other, step1.id, org.actor("t1_cw"))
    again = open_task(env, iid, "step1")
    complete_task(env, again.id, org.actor("t1_cw"), {})
    drop_cache(other)
    withdraw_task(other, again.id, org.actor("t1_cw"))
    assert open_task(env, iid).step_id == "step1" and chain_ok(other, iid)
    other.db.dispose()


def test_withdraw_in_a_parallel_branch_needs_both_branches_untouched(env):
    org, iid = parallel_case(env)
    draft = open_task(env, iid, "draft")
    complete_task(env, draft.id, org.actor("t1_cw"), {})
    complete_step(env, iid, "check_b", org.actor("t1_cw2"))
    with pytest.raises(InvalidState):  # one branch after the fork has acted
        withdraw_task(env, draft.id, org.actor("t1_cw"))
    check_a = open_task(env, iid, "check_a")
    complete_task(env, check_a.id, org.actor("t1_cw2"), {})
    withdraw_task(env, check_a.id, org.actor("t1_cw2"))  # only its own branch goes back
    assert open_task(env, iid, "check_a").assignee_id == org.actor("t1_cw2").id
    assert chain_ok(env, iid)


def test_return_and_withdraw_inside_a_drawn_multi_instance_are_refused(env):
    """One instance of a drawn multi-instance (会签 of three) is neither returned nor withdrawn alone."""
    org = build_org(env)
    env.extra_processes["mi_countersign"] = ProcessConfig(key="mi_countersign", name="三方会签", case_prefix="HQ",
                                                          forms_dir=DATA / "mi_countersign" / "forms")
    deploy_dir(env, "mi_countersign", DATA / "mi_countersign")
    iid = start_case(env, "mi_countersign", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    with env.db.read() as s:
        first, second, _third = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid).order_by(HumanTask.id))
    assert return_targets(env, first.id, org.actor("t1_cw").id) == []
    with pytest.raises(InvalidState) as exc:
        return_task(env, first.id, org.actor("t1_cw"), "sign", "理由")
    assert exc.value.user_message == "会签（多实例）中的单个任务不能退回，请待会签结束后由下一步骤退回"
    complete_task(env, first.id, org.actor("t1_cw"), {"signature": "同意"})
    with pytest.raises(InvalidState) as exc:
        withdraw_task(env, first.id, org.actor("t1_cw"))
    assert exc.value.user_message == "会签（多实例）中的单个任务不能撤回"
    assert chain_ok(env, iid) and second.status == TaskStatus.open


def test_withdraw_is_refused_once_the_next_step_is_claimed(env):
    """A colleague claims the next step (in another engine): 撤回 is refused with the Chinese reason
    and changes nothing; once the colleague releases it, the step may be taken back again."""
    org, iid, step1 = _done_step1(env)
    step2 = open_task(env, iid, "step2")
    other = second_env(env)
    claim_task(other, step2.id, org.actor("t1_cw2"))
    before = actions(env, iid)
    assert not can_withdraw(env, step1.id, org.actor("t1_cw").id)
    drop_cache(env)
    with pytest.raises(InvalidState) as exc:
        withdraw_task(env, step1.id, org.actor("t1_cw"), "漏填事项")
    assert exc.value.user_message == WITHDRAW_CLAIMED == "下一步骤已被认领办理，不能撤回"
    with env.db.read() as s:
        assert s.get(HumanTask, step2.id).status == TaskStatus.claimed
        assert s.get(HumanTask, step2.id).assignee_id == org.actor("t1_cw2").id
        assert s.get(HumanTask, step1.id).status == TaskStatus.completed
    assert actions(env, iid) == before and chain_ok(env, iid)
    unclaim_task(other, step2.id, org.actor("t1_cw2"))
    assert can_withdraw(env, step1.id, org.actor("t1_cw").id)
    other.db.dispose()


def test_withdraw_is_refused_once_data_is_saved_on_the_next_step(env, tmp_path):
    """暂存 on the next step, or an attachment added to it, is data saved: 撤回 is refused; a
    discarded draft no longer counts."""
    from engine.attachments import UploadPolicy, add_attachment
    from engine.drafts import discard_draft, save_draft
    org, iid, step1 = _done_step1(env)
    step2 = open_task(env, iid, "step2")
    colleague = org.actor("t1_cw2")
    save_draft(env, colleague.id, step2.id, {"subject": "已开始填写"}, "初步意见")
    assert not can_withdraw(env, step1.id, org.actor("t1_cw").id)
    with pytest.raises(InvalidState) as exc:
        withdraw_task(env, step1.id, org.actor("t1_cw"))
    assert exc.value.user_message == WITHDRAW_SAVED
    discard_draft(env, colleague.id, step2.id)
    assert can_withdraw(env, step1.id, org.actor("t1_cw").id)
    add_attachment(env, iid, colleague, "材料.pdf", b"%PDF-1.4\n%%EOF\n", UploadPolicy(tmp_path, 1 << 20), step2.id)
    with pytest.raises(InvalidState) as exc:
        withdraw_task(env, step1.id, org.actor("t1_cw"))
    assert exc.value.user_message == WITHDRAW_SAVED and "withdraw" not in actions(env, iid) and chain_ok(env, iid)


def test_withdraw_after_a_signer_was_added_and_removed(env):
    """A 加签 row shares the step's workflow task: it does not count as the step having reopened."""
    from engine.verbs.signers import add_signer, remove_signer
    org, iid = plain_case(env)
    step1 = open_task(env, iid, "step1")
    add_signer(env, step1.id, org.actor("t1_cw"), org.actor("t1_cw2").id, "alongside", "请会签")
    with env.db.read() as s:
        signer = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.mark == "signer")).one()
    remove_signer(env, signer.id, org.actor("t1_cw"), "无需会签")
    complete_task(env, step1.id, org.actor("t1_cw"), {})
    assert can_withdraw(env, step1.id, org.actor("t1_cw").id)
    withdraw_task(env, step1.id, org.actor("t1_cw"), "补充材料")
    assert open_task(env, iid).step_id == "step1" and chain_ok(env, iid)
