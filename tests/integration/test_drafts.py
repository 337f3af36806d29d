"""暂存 (engine.drafts): a user's unsent form input per task, private to that user, gone when the
task ends; tasks without drafts pay nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.drafts import MAX_DRAFT_BYTES, discard_draft, drafts_of_task, load_draft, save_draft
from engine.errors import FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.models import FormDraft, HumanTask, OrgUnit, Role
from engine.orgs import Actor, create_user
from engine.runtime import cancel_case, complete_task, start_case
from tests.factories import Org, build_org, setup_plain


@pytest.fixture
def org(env) -> Org:
    built = build_org(env)
    setup_plain(env)
    with env.db.write() as s:  # a second caseworker of the same town
        t1 = s.get(OrgUnit, built.units["t1"])
        user = create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(), [(Role.caseworker, t1)])
        built.users["t1_cw2"] = Actor(user.id, "镇经办二")
    return built


def _open_task(env, org: Org) -> int:
    started = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {})
    with env.db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.instance_id))


def test_a_draft_is_kept_for_its_owner_and_replaced_by_the_next_save(env, org, clock):
    task = _open_task(env, org)
    me = org.actor("t1_cw").id
    assert load_draft(env, me, task) is None
    save_draft(env, me, task, {"note": "已电话联系", "csrf_token": "x", "_next": "home"}, "初步意见")
    clock.advance(timedelta(minutes=3))
    saved_at = save_draft(env, me, task, {"note": "已电话联系，约定周三面谈", "tags": ["甲", "乙"]}, "同意")
    draft = load_draft(env, me, task)
    assert draft is not None
    assert draft.values == {"note": "已电话联系，约定周三面谈", "tags": ["甲", "乙"]}  # page fields dropped
    assert (draft.opinion, draft.saved_at) == ("同意", saved_at)
    assert drafts_of_task(env, task) == [me]


def test_another_user_of_the_same_unit_never_reads_it(env, org):
    task = _open_task(env, org)
    save_draft(env, org.actor("t1_cw").id, task, {"note": "只给自己看的草稿"})
    colleague = org.actor("t1_cw2").id
    assert load_draft(env, colleague, task) is None  # same unit, same role: still not theirs
    save_draft(env, colleague, task, {"note": "同事的草稿"})  # their own draft is separate
    assert load_draft(env, org.actor("t1_cw").id, task).values == {"note": "只给自己看的草稿"}
    assert load_draft(env, colleague, task).values == {"note": "同事的草稿"}


def test_who_may_not_act_may_not_save_and_a_hidden_task_stays_hidden(env, org):
    task = _open_task(env, org)
    with pytest.raises(PermissionDenied):
        save_draft(env, org.actor("city_lead").id, task, {"note": "越权"})  # sees the case, not its step
    with pytest.raises(NotFound):
        save_draft(env, org.actor("t2_cw").id, task, {"note": "别区"})  # the other district's case
    with pytest.raises(NotFound):
        discard_draft(env, org.actor("t2_cw").id, task)
    assert drafts_of_task(env, task) == []


def test_bad_or_oversized_drafts_are_refused(env, org):
    task = _open_task(env, org)
    me = org.actor("t1_cw").id
    with pytest.raises(FormInvalid):
        save_draft(env, me, task, {"note": {"nested": 1}})
    with pytest.raises(FormInvalid):
        save_draft(env, me, task, {"note": "长" * MAX_DRAFT_BYTES})
    assert load_draft(env, me, task) is None


def test_completing_the_task_deletes_every_draft_of_it(env, org):
    task = _open_task(env, org)
    me, colleague = org.actor("t1_cw"), org.actor("t1_cw2")
    save_draft(env, me.id, task, {"note": "草稿"})
    save_draft(env, colleague.id, task, {"note": "同事草稿"})
    complete_task(env, task, me, {"note": "办结"})
    assert drafts_of_task(env, task) == []
    with env.db.read() as s:
        assert s.get(HumanTask, task).has_draft is False
    assert load_draft(env, me.id, task) is None
    with pytest.raises(InvalidState):
        save_draft(env, me.id, task, {"note": "迟到的草稿"})


def test_cancelling_the_case_deletes_the_drafts_of_its_open_tasks(env, org):
    task = _open_task(env, org)
    save_draft(env, org.actor("t1_cw").id, task, {"note": "草稿"})
    with env.db.read() as s:
        case_id = s.get(HumanTask, task).instance_id
    cancel_case(env, case_id, org.actor("t1_cw"), "申请人撤回")
    with env.db.read() as s:
        assert s.scalars(select(FormDraft)).all() == []


def test_discard_removes_only_the_users_own_draft(env, org):
    task = _open_task(env, org)
    save_draft(env, org.actor("t1_cw").id, task, {"note": "我的"})
    save_draft(env, org.actor("t1_cw2").id, task, {"note": "同事的"})
    assert discard_draft(env, org.actor("t1_cw").id, task) is True
    assert discard_draft(env, org.actor("t1_cw").id, task) is False
    assert drafts_of_task(env, task) == [org.actor("t1_cw2").id]


def test_a_task_without_drafts_costs_no_draft_statement(env, org):
    """The step's end reads has_draft from the row it already holds: no form_draft statement."""
    task = _open_task(env, org)
    seen: list[str] = []
    from sqlalchemy import event
    engine = env.db.engine

    def watch(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", watch)
    try:
        complete_task(env, task, org.actor("t1_cw"), {"note": "办结"})
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert not [s for s in seen if "form_draft" in s]


def test_table_rows_are_kept_as_typed(env, org):
    task = _open_task(env, org)
    me = org.actor("t1_cw").id
    rows = [{"name": "张三", "relation": "父亲"}, {"name": "李四"}]
    save_draft(env, me, task, {"members": rows, "note": ""})
    assert load_draft(env, me, task).values == {"members": rows, "note": ""}
    with pytest.raises(FormInvalid):
        save_draft(env, me, task, {"members": [{"name": 3}]})


def test_a_draft_saved_by_one_engine_is_read_and_ended_by_another(env, db_url, clock, org):
    """Two engine instances on one database (as two app processes): nothing lives in memory."""
    from engine.env import make_env
    from tests.conftest import ROOT
    task = _open_task(env, org)
    other = make_env(db_url, clock=clock, bpmn_dir=ROOT / "bpmn")
    other.script_limits = env.script_limits  # the second engine as the first (a wall-time backstop)
    other.extra_processes.update(env.extra_processes)
    try:
        save_draft(env, org.actor("t1_cw").id, task, {"note": "甲进程暂存"})
        assert load_draft(other, org.actor("t1_cw").id, task).values == {"note": "甲进程暂存"}
        complete_task(other, task, org.actor("t1_cw"), {"note": "乙进程办结"})
        assert drafts_of_task(env, task) == []
    finally:
        other.db.dispose()


def test_completing_a_task_with_a_draft_costs_one_delete_more(env, org):
    """complete_task drops its row's drafts before the step runs, so the step stays free of SQL
    (engine.faststep: no savepoint and no second run); counted, not timed."""
    plain_task, drafted_task = _open_task(env, org), _open_task(env, org)
    me = org.actor("t1_cw")
    save_draft(env, me.id, drafted_task, {"note": "草稿"})
    costs = []
    for task in (plain_task, drafted_task):
        env.db.counter.reset()
        complete_task(env, task, me, {"note": "办结"})
        costs.append(env.db.counter.statements)
    assert costs[1] - costs[0] <= 2, costs
    assert drafts_of_task(env, drafted_task) == []
