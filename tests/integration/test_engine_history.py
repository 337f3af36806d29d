"""History is append-only (the database refuses changes) and its hash chain proves it."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.history import verify_chain
from engine.inbox import inbox
from engine.runtime import case_history, complete_task, start_case
from tests.factories import build_org, setup_plain


def _case_with_events(env):
    org = build_org(env)
    setup_plain(env)
    cw = org.actor("t1_cw")
    started = start_case(env, "plain", cw, org.units["t1"], {"subject": "历史"})
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"amount": 3}, opinion="已核实")
    return started.instance_id


def test_events_record_who_what_when_and_the_data_changed(env):
    instance_id = _case_with_events(env)
    start, done = case_history(env, instance_id)
    assert (start.action, start.actor_name) == ("start", "镇经办")
    assert (done.action, done.step_id, done.step_name, done.opinion) == ("complete", "step1", "登记", "已核实")
    assert done.data == {"amount": [None, 3]}
    assert done.prev_hash == start.hash


@pytest.mark.parametrize("statement", [
    "UPDATE history_event SET opinion = '改过了'",
    "DELETE FROM history_event",
])
def test_database_refuses_to_change_history(env, statement):
    _case_with_events(env)
    with pytest.raises(DBAPIError, match="append-only"):
        with env.db.engine.begin() as conn:
            conn.execute(text(statement))
    with env.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM history_event")).scalar() == 2


def test_chain_check_finds_an_event_changed_behind_the_triggers(env):
    instance_id = _case_with_events(env)
    with env.db.read() as s:
        assert verify_chain(s, instance_id).ok
    # Someone with raw database access drops the guard and edits an opinion.
    with env.db.engine.begin() as conn:
        if env.db.is_sqlite:
            conn.execute(text("DROP TRIGGER history_event_no_update"))
        else:
            conn.execute(text("ALTER TABLE history_event DISABLE TRIGGER history_event_no_update"))
        conn.execute(text("UPDATE history_event SET opinion = '同意' WHERE seq = 2"))
    with env.db.read() as s:
        check = verify_chain(s, instance_id)
    assert not check.ok
    assert (check.first_bad_seq, check.reason) == (2, "content changed")
