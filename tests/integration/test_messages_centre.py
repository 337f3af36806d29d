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


# ----------------------------------------------------------------------------- SMS / e-mail outbox

class _Broken:
    def send(self, user, message):
        raise RuntimeError("gateway down")


def test_the_worker_hands_each_new_message_to_the_configured_senders_once(env, db_url, clock):
    from engine.env import make_env
    from engine.notify.senders import deliver_pending
    from tests.conftest import ROOT
    org, iid = plain_case(env)
    with env.db.write() as s:
        s.get(User, org.actor("t1_cw").id).phone = "13912345678"
    sms, mail = LogSender("sms"), LogSender("email")
    env.senders = [_Broken(), sms, mail]  # a failing gateway does not stop the others
    first = open_task(env, iid, "step1")
    title = f"新任务：登记（{first.case_no}）"
    other = make_env(db_url, clock=clock, bpmn_dir=ROOT / "bpmn")  # a second worker process
    other.senders = [LogSender("sms")]
    assert deliver_pending(env, limit=1) == 1 and deliver_pending(other) == 1  # disjoint claims
    assert deliver_pending(env) == 0 and deliver_pending(other) == 0  # nothing is sent twice
    assert sorted(sms.sent + other.senders[0].sent) == sorted([("13912345678", title), ("t1_cw2", title)])
    assert len(mail.sent) == len(sms.sent) == 1  # e-mail to the user name, SMS to the phone
    complete_task(env, first.id, org.actor("t1_cw"), {})  # the next step's messages
    with pytest.raises(Conflict):  # a double submit: rolled back, it writes no message to send
        complete_task(env, first.id, org.actor("t1_cw"), {})
    with env.db.read() as s:
        pending = s.query(AppMessage).filter(AppMessage.delivered_at.is_(None)).count()
    sent_before = len(sms.sent)
    assert pending >= 1 and deliver_pending(env) == pending
    assert len(sms.sent) == sent_before + pending
    with env.db.read() as s:
        assert s.query(AppMessage).filter(AppMessage.delivered_at.is_(None)).count() == 0
    other.db.dispose()


def test_with_no_sender_configured_messages_are_only_marked(env):
    from engine.notify.senders import deliver_pending
    org, _iid = plain_case(env)
    assert env.senders == []
    assert deliver_pending(env) == 2
    sms = LogSender("sms")
    env.senders = [sms]
    assert deliver_pending(env) == 0 and sms.sent == []  # turning a gateway on sends no backlog


def test_notify_senders_setting_names_the_channels_or_a_gateway_class():
    from engine.notify.senders import InAppSender as InApp, senders_from
    got = senders_from(" sms, email ,, engine.notify.senders:InAppSender")
    assert [(type(s).__name__, getattr(s, "channel", None)) for s in got] == \
        [("LogSender", "sms"), ("LogSender", "email"), ("InAppSender", None)]
    assert isinstance(got[2], InApp) and senders_from("") == [] and senders_from(None) == []
    for bad, says in (("fax", "unknown sender 'fax'"), ("nosuch.module:Gateway", "cannot load"),
                      ("engine.notify.senders:Nope", "cannot load")):
        with pytest.raises(ValueError, match=says):
            senders_from(bad)
