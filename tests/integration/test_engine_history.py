"""History is append-only (the database refuses changes) and its keyed hash chain proves it."""
import hashlib
import json
import os
import threading

import pytest
from alembic import command
from sqlalchemy import column, create_engine, insert, make_url, select, table, text
from sqlalchemy.exc import DBAPIError

from engine import admin as admin_engine
from engine.admin import log_admin
from engine.definitions import SpecCache
from engine.env import make_env
from engine.history import ChainCheck, append_event, canonical, verify_chain
from engine.integrity import checkpoint, service
from engine.integrity.adminlog import AdminLogCheck, verify_admin_log
from engine.integrity.keys import Keyring, key_id
from engine.models import AdminEvent, HistoryEvent, ProcessInstance
from engine.orgs import Actor
from engine.schema import alembic_config
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



# ----------------------------------------------------------------------------- keyed chains

OLD_KEY = "the bureau's history key of last year, long enough"
NEW_KEY = "the bureau's history key of this year, long enough"


def _cc(env, instance_id, to):
    """One more event on the case, written by `env` (as another process would)."""
    with env.db.write() as s:
        append_event(s, s.get(ProcessInstance, instance_id), at=env.clock.now(), action="cc", data={"to": to})


def _other_process(env, keyring):
    other = make_env(env.db.url, clock=env.clock, bpmn_dir=env.bpmn_dir, keyring=keyring)
    other.extra_processes = env.extra_processes
    return other


def test_two_processes_sharing_the_keys_write_one_chain(env):
    instance_id = _case_with_events(env)
    other = _other_process(env, env.db.keyring)
    other.specs = SpecCache()
    _cc(other, instance_id, [1])
    _cc(env, instance_id, [2])
    other.db.dispose()
    with env.db.read() as s:
        assert verify_chain(s, instance_id) == ChainCheck(True, 4)


def test_rotated_keys_keep_old_events_verifiable_while_the_old_key_stays_listed(env):
    instance_id = _case_with_events(env)
    old, rotated = _other_process(env, Keyring.of(OLD_KEY)), _other_process(env, Keyring.of(NEW_KEY, OLD_KEY))
    new_only = _other_process(env, Keyring.of(NEW_KEY))
    _cc(old, instance_id, [1])
    _cc(rotated, instance_id, [2])
    with rotated.db.read() as s:
        kids = [e.key_id for e in s.scalars(select(HistoryEvent).order_by(HistoryEvent.seq))]
        assert kids[2:] == [key_id(OLD_KEY.encode()), key_id(NEW_KEY.encode())]
        assert verify_chain(s, instance_id) == ChainCheck(False, 4, 1, "unknown key")  # the dev-key events
    with new_only.db.read() as s:
        assert verify_chain(s, instance_id).reason == "unknown key"
    for e in (old, rotated, new_only):
        e.db.dispose()


def test_a_process_with_the_wrong_key_writes_events_verify_rejects(env):
    instance_id = _case_with_events(env)
    stranger = _other_process(env, Keyring.of(OLD_KEY))
    _cc(stranger, instance_id, [1])
    stranger.db.dispose()
    with env.db.read() as s:
        assert verify_chain(s, instance_id) == ChainCheck(False, 3, 3, "unknown key")


def test_an_extra_event_beyond_the_head_is_found(env):
    instance_id = _case_with_events(env)
    with env.db.write() as s:
        case = s.get(ProcessInstance, instance_id)
        append_event(s, case, at=env.clock.now(), action="cc", data={})
        case.event_count, case.last_event_hash = 2, s.scalars(
            select(HistoryEvent.hash).where(HistoryEvent.instance_id == instance_id, HistoryEvent.seq == 2)).one()
    with env.db.read() as s:
        assert verify_chain(s, instance_id) == ChainCheck(False, 3, 3, "chain head does not match")


# ----------------------------------------------------------------------------- events from before 0005

@pytest.fixture
def legacy_url(env, tmp_path):
    """An empty database of its own at revision 0004 (before keyed chains)."""
    if env.db.is_sqlite:
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    name = f"rongflow_legacy_{os.getpid()}"
    server = create_engine(env.db.url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(env.db.url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    server.dispose()


def _legacy_rows(conn, at):
    """A case of two events and two admin events as revision 0004 stored them (plain SHA-256)."""
    t = {name: table(name, *[column(c) for c in cols]) for name, cols in {
        "org_unit": ("id", "code", "name", "level", "is_section", "path", "active"),
        "process_definition": ("id", "key", "version", "name", "content_hash", "files", "deployed_at"),
        "process_instance": ("id", "case_no", "query_code", "definition_id", "process_key", "status",
                             "lock_version", "state", "org_unit_id", "title", "unit_ids", "summary",
                             "last_event_hash", "event_count", "created_at", "updated_at"),
    }.items()}
    conn.execute(insert(t["org_unit"]).values(id=1, code="city", name="市局", level="city", is_section=False,
                                              path="/1/", active=True))
    conn.execute(insert(t["process_definition"]).values(id=1, key="plain", version=1, name="p", content_hash="c",
                                                        files="{}", deployed_at=at))
    events, prev = [], ""
    for seq, action in enumerate(["start", "complete"], start=1):
        e = HistoryEvent(instance_id=1, seq=seq, at=at, actor_id=None, actor_name="镇经办", action=action,
                         step_id=None, step_name=None, task_id=None, org_unit_id=1, opinion="旧", data={"n": seq},
                         prev_hash=prev)
        e.hash = prev = hashlib.sha256(canonical(e)).hexdigest()
        events.append(e)
    conn.execute(insert(t["process_instance"]).values(
        id=1, case_no="OLD-1", query_code="q", definition_id=1, process_key="plain", status="running",
        lock_version=0, state="{}", org_unit_id=1, title="旧案", unit_ids="/1/", summary="{}",
        last_event_hash=prev, event_count=2, created_at=at, updated_at=at))
    history = table("history_event", *[column(c) for c in (
        "instance_id", "seq", "at", "actor_name", "action", "org_unit_id", "opinion", "data", "prev_hash", "hash")])
    for e in events:
        conn.execute(insert(history).values(instance_id=1, seq=e.seq, at=at, actor_name=e.actor_name,
                                            action=e.action, org_unit_id=1, opinion=e.opinion,
                                            data=json.dumps(e.data), prev_hash=e.prev_hash, hash=e.hash))
    log = table("admin_event", *[column(c) for c in (
        "at", "actor_name", "action", "target_type", "target_id", "target", "details")])
    for n in (1, 2):
        conn.execute(insert(log).values(at=at, actor_name="管理员", action="user_create", target_type="user",
                                        target_id=n, target=f"user{n}", details=json.dumps({"n": n})))


def test_events_from_before_keyed_chains_still_verify_and_new_ones_are_keyed(env, legacy_url, tmp_path):
    cfg = alembic_config(legacy_url)
    command.upgrade(cfg, "0004")
    legacy = create_engine(legacy_url)
    with legacy.begin() as conn:
        _legacy_rows(conn, env.clock.now())
    legacy.dispose()
    command.upgrade(cfg, "head")
    migrated = make_env(legacy_url, clock=env.clock)
    with migrated.db.read() as s:
        assert verify_chain(s, 1) == ChainCheck(True, 2)
        assert {e.hash_alg for e in s.scalars(select(HistoryEvent))} == {"sha256"}
        assert [(e.seq, e.hash_alg) for e in s.scalars(select(AdminEvent).order_by(AdminEvent.id))] == [
            (1, "sha256"), (2, "sha256")]
    assert service.verify(migrated, None).report.ok
    _cc(migrated, 1, [1])
    with migrated.db.write() as s:
        log_admin(s, Actor(None, "管理员"), migrated.clock.now(), "unit_rename", "org_unit", 1, "市局")
    path = service.write_checkpoint(migrated, tmp_path)
    anchored = checkpoint.load(path, migrated.db.keyring)
    assert (anchored.unkeyed_admin_seq, anchored.admin_count, anchored.cases[1].event_count) == (2, 3, 3)
    with migrated.db.read() as s:
        assert [e.hash_alg for e in s.scalars(select(HistoryEvent).order_by(HistoryEvent.seq))] == [
            "sha256", "sha256", "hmac-sha256"]
        assert verify_chain(s, 1) == ChainCheck(True, 3)
    assert service.verify(migrated, tmp_path).report.ok
    migrated.db.dispose()


# ----------------------------------------------------------------------------- the admin log's chain

def test_concurrent_admin_writers_never_fork_the_admin_log(env):
    org = build_org(env)
    boss = org.actor("admin")
    errors = []

    def create_some(n):
        try:
            for i in range(4):
                admin_engine.create_user(env, boss, f"u{n}_{i}", f"用户{n}{i}", "secret-pass-1")
        except Exception as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=create_some, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with env.db.read() as s:
        check = verify_admin_log(s)
        assert check == AdminLogCheck(True, 16)
        assert [e.seq for e in s.scalars(select(AdminEvent).order_by(AdminEvent.id))] == list(range(1, 17))


def test_two_processes_alternating_write_one_admin_log(env):
    org = build_org(env)
    other = _other_process(env, env.db.keyring)
    for n, writer in enumerate([env, other, env, other]):
        admin_engine.create_user(writer, org.actor("admin"), f"alt{n}", f"交替{n}", "secret-pass-1")
    other.db.dispose()
    with env.db.read() as s:
        assert verify_admin_log(s) == AdminLogCheck(True, 4)
