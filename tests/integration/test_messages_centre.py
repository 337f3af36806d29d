"""站内消息: new tasks tell their holders at commit (a rolled-back command tells nobody), a marked
task (退回) tells only its person, read marks are per user, and extra senders see each message."""
import pytest

from engine.copies import copy_case
from engine.errors import Conflict, NotFound
from engine.models import AppMessage, User
from engine.notify.centre import mark_read, messages, post, unread_count
from engine.notify.senders import InAppSender, LogSender
from engine.runtime import complete_task
from tests.integration.verbs_support import open_task, plain_case


def test_a_new_task_tells_the_holders_of_its_role_at_its_unit(env):
    org, iid = plain_case(env)
    first = open_task(env, iid, "step1")
    for holder in ("t1_cw", "t1_cw2"):
        got = messages(env, org.actor(holder).id)
        assert [(m.kind, m.task_id) for m in got] == [("new_task", first.id)]
        assert got[0].title == f"新任务：登记（{first.case_no}）"
    for outsider in ("t2_cw", "d1_cw", "city_lead", "admin"):
        assert messages(env, org.actor(outsider).id) == []


def test_a_refused_completion_tells_nobody(env):
    org, iid = plain_case(env)
    first = open_task(env, iid, "step1")
    complete_task(env, first.id, org.actor("t1_cw"), {})
    before = unread_count(env, org.actor("t1_cw2").id)
    with pytest.raises(Conflict):
        complete_task(env, first.id, org.actor("t1_cw"), {})  # a double submit: rolled back
    assert unread_count(env, org.actor("t1_cw2").id) == before == 2


def test_read_marks_are_per_user_and_private(env):
    org, iid = plain_case(env)
    cw, mate = org.actor("t1_cw"), org.actor("t1_cw2")
    mine = messages(env, cw.id)[0]
    with pytest.raises(NotFound):
        mark_read(env, mate.id, mine.id)
    assert unread_count(env, cw.id) == 1
    assert mark_read(env, cw.id, mine.id).read_at == env.clock.now()
    assert (unread_count(env, cw.id), unread_count(env, mate.id)) == (0, 1)
    mark_read(env, mate.id)
    assert unread_count(env, mate.id) == 0 and messages(env, mate.id, unread_only=True) == []


def test_extra_senders_carry_each_message(env):
    org, _iid = plain_case(env)
    sms = LogSender("sms")
    with env.db.write() as s:
        s.get(User, org.actor("t1_cw").id).phone = "13912345678"
        post(s, [org.actor("t1_cw").id, org.actor("t1_cw").id, org.actor("d1_cw").id], "urged", "催办：测试",
             env.clock.now(), senders=[InAppSender(), sms])
    assert sms.sent == [("13912345678", "催办：测试"), ("d1_cw", "催办：测试")]
    with env.db.read() as s:
        assert s.query(AppMessage).filter_by(kind="urged").count() == 2


def test_a_copy_tells_each_new_recipient_once(env):
    org, iid = plain_case(env)
    copy_case(env, iid, org.actor("t1_cw"), [org.actor("d1_lead").id], "请阅知")
    copy_case(env, iid, org.actor("t1_cw"), [org.actor("d1_lead").id, org.actor("city_lead").id], "请阅知")
    for leader in ("d1_lead", "city_lead"):
        got = [m for m in messages(env, org.actor(leader).id) if m.kind == "copied"]
        assert [(m.instance_id, m.body) for m in got] == [(iid, "请阅知")]
        assert got[0].title.startswith("抄送：镇经办抄送PL2026-00001")
