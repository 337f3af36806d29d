"""Tampering with the case history and the admin log, as someone holding database write access
(or a superuser) would: each attack is refused by the database or found by `audit verify`
(and by the auditor's chain check where the chain itself shows it)."""
import hashlib
import hmac
import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import admin, audit
from engine.history import canonical
from engine.integrity import checkpoint as cp
from engine.integrity import service
from engine.integrity.adminlog import admin_canonical
from engine.integrity.keys import Keyring, key_id
from engine.inbox import inbox
from engine.models import AdminEvent, AdminLogHead, HistoryEvent, ProcessInstance
from engine.runtime import complete_task, start_case
from tests.factories import build_org, setup_plain
from webapp import create_app


@pytest.fixture
def world(env, tmp_path):
    """Two cases of two events each, two admin events, and a checkpoint of all of it."""
    org = build_org(env)
    setup_plain(env)
    cw, boss = org.actor("t1_cw"), org.actor("admin")
    cases = []
    for subject in ("甲", "乙"):
        started = start_case(env, "plain", cw, org.units["t1"], {"subject": subject})
        task = next(t for t in inbox(env, cw.id).items if t.instance_id == started.instance_id)
        complete_task(env, task.id, cw, {"amount": 3}, opinion="已核实")
        cases.append(started)
    admin.create_user(env, boss, "new_one", "新用户", "secret-pass-1")
    admin.create_user(env, boss, "new_two", "新用户二", "secret-pass-2")
    directory = tmp_path / "checkpoints"
    service.write_checkpoint(env, directory)
    env.checkpoint_dir = directory  # the auditor's case view compares with it too
    return {"org": org, "cases": cases, "dir": directory, "a": cases[0].instance_id,
            "a_no": cases[0].case_no}


def problems(env, directory, path=None):
    return [p.line() for p in service.verify(env, directory, path).report.problems]


@contextmanager
def unguarded(env):
    """A connection with the append-only triggers out of the way, as a superuser could."""
    with env.db.engine.begin() as conn:
        if env.db.is_sqlite:
            for table in ("history_event", "admin_event"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        with Session(bind=conn) as session:
            yield session
            session.flush()


def rehash(events, seal, start_prev=""):
    """Recompute a chain over the (edited) events with `seal(body) -> (alg, key_id, hash)`."""
    prev = start_prev
    for e in events:
        e.prev_hash = prev
        e.hash_alg, e.key_id, e.hash = seal(canonical(e))
        prev = e.hash
    return prev


def case_events(session, instance_id):
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                .order_by(HistoryEvent.seq)))


def plain_sha256(body):
    return "sha256", None, hashlib.sha256(body).hexdigest()


def wrong_key(kid=None):
    forged = b"a key the attacker made up, not the bureau's one"
    return lambda body: ("hmac-sha256", kid or key_id(forged), hmac.new(forged, body, hashlib.sha256).hexdigest())


def edit_and_rehash(env, instance_id, seal):
    with unguarded(env) as s:
        events = case_events(s, instance_id)
        events[1].opinion = "不予受理"
        head = rehash(events, seal)
        s.get(ProcessInstance, instance_id).last_event_hash = head


def auditor_view(env, world, instance_id):
    return audit.audit_case(env, world["org"].actor("city_audit").id, instance_id)


# ----------------------------------------------------------------------------- the clean state

def test_untouched_database_verifies_against_its_checkpoint(env, world):
    verified = service.verify(env, world["dir"])
    assert verified.checkpoint_path == cp.latest_path(world["dir"])
    assert verified.report.ok
    assert (verified.report.cases, verified.report.events, verified.report.admin_events) == (2, 4, 2)


def test_new_events_are_keyed_and_name_their_key(env, world):
    with env.db.read() as s:
        algs = {(e.hash_alg, e.key_id) for e in s.scalars(select(HistoryEvent))}
        admin_algs = {(e.hash_alg, e.key_id) for e in s.scalars(select(AdminEvent))}
    assert algs == admin_algs == {("hmac-sha256", env.db.keyring.current_id)}


# ----------------------------------------------------------------------------- case history attacks

def test_edit_with_triggers_off_is_found_by_verify_and_the_auditor(env, world):
    with unguarded(env) as s:
        case_events(s, world["a"])[1].opinion = "同意"
    assert problems(env, world["dir"]) == [f"case {world['a_no']} seq 2: content changed"]
    assert auditor_view(env, world, world["a"]).chain_label == "校验失败 第2条"


def test_rehash_with_plain_sha256_is_found_through_the_checkpoint(env, world):
    edit_and_rehash(env, world["a"], plain_sha256)
    found = problems(env, world["dir"])
    assert f"case {world['a_no']} seq 1: unkeyed event newer than the checkpoint's last unkeyed one " \
           "(chain re-hashed without the key)" in found
    assert f"case {world['a_no']} seq 2: hash differs from the checkpoint (chain rewritten)" in found
    view = auditor_view(env, world, world["a"])
    assert (view.chain_label, view.chain_reason) == ("校验失败 第1条", "检查点之后出现未加密事件（链被重算）")
    summary = audit.verify_scope(env, world["org"].actor("city_audit").id)
    assert [(b.case_no, b.first_bad_seq) for b in summary.broken] == [(world["a_no"], 1)]


def test_rehash_of_part_of_a_keyed_chain_with_plain_sha256_breaks_the_chain(env, world):
    with unguarded(env) as s:
        events = case_events(s, world["a"])
        events[1].opinion = "不予受理"
        s.get(ProcessInstance, world["a"]).last_event_hash = rehash(events[1:], plain_sha256, events[0].hash)
    assert problems(env, None) == [f"case {world['a_no']} seq 2: unkeyed event after keyed ones"]
    assert auditor_view(env, world, world["a"]).chain_reason == "加密链之后出现未加密事件"


def test_rehash_under_a_made_up_key_is_found(env, world):
    edit_and_rehash(env, world["a"], wrong_key())
    assert f"case {world['a_no']} seq 1: unknown key" in problems(env, None)
    assert auditor_view(env, world, world["a"]).chain_reason == "密钥无法识别"


def test_rehash_under_a_made_up_key_claiming_the_real_key_id_is_found(env, world):
    edit_and_rehash(env, world["a"], wrong_key(env.db.keyring.current_id))
    assert f"case {world['a_no']} seq 1: content changed" in problems(env, None)


def test_deleting_the_last_event_and_moving_the_head_back_is_found_through_the_checkpoint(env, world):
    with unguarded(env) as s:
        first, last = case_events(s, world["a"])
        s.delete(last)
        case = s.get(ProcessInstance, world["a"])
        case.event_count, case.last_event_hash = 1, first.hash
    env.checkpoint_dir = None  # the chain alone cannot tell
    assert auditor_view(env, world, world["a"]).chain.ok
    env.checkpoint_dir = world["dir"]
    view = auditor_view(env, world, world["a"])
    assert (view.chain_label, view.chain_reason) == ("校验失败 第2条", "少于检查点记录的事件（末尾事件被删除）")
    assert problems(env, world["dir"]) == [
        f"case {world['a_no']} seq 2: event missing: the checkpoint holds more events"]


def test_deleting_the_last_event_without_moving_the_head_is_found_by_the_chain(env, world):
    with unguarded(env) as s:
        s.delete(case_events(s, world["a"])[-1])
    assert problems(env, None) == [f"case {world['a_no']} seq 2: events missing at the end"]


def test_deleting_an_event_in_the_middle_is_found(env, world):
    complete_third_event(env, world)
    with unguarded(env) as s:
        s.delete(case_events(s, world["a"])[1])
    assert f"case {world['a_no']} seq 2: missing event" in problems(env, world["dir"])


def complete_third_event(env, world):
    """A third event on case A (a claim/unclaim pair is not needed: an attachment-free cc)."""
    from engine.history import append_event
    with env.db.write() as s:
        case = s.get(ProcessInstance, world["a"])
        append_event(s, case, at=env.clock.now(), action="cc", actor_name="系统", data={"to": [1]})


def test_reordering_events_is_found(env, world):
    with unguarded(env) as s:
        first, second = case_events(s, world["a"])
        first.seq, second.seq = 99, 98
        s.flush()
        first.seq, second.seq = 2, 1
    assert problems(env, None) == [f"case {world['a_no']} seq 1: broken link"]


def test_a_forged_event_appended_with_a_wrong_key_is_found(env, world):
    with unguarded(env) as s:
        case = s.get(ProcessInstance, world["a"])
        last = case_events(s, world["a"])[-1]
        forged = HistoryEvent(instance_id=case.id, seq=3, at=last.at, actor_name="领导", action="complete",
                              step_id="step1", opinion="同意补发", data={}, prev_hash=last.hash)
        forged.hash_alg, forged.key_id, forged.hash = wrong_key(env.db.keyring.current_id)(canonical(forged))
        s.add(forged)
        case.event_count, case.last_event_hash = 3, forged.hash
    assert problems(env, world["dir"]) == [f"case {world['a_no']} seq 3: content changed"]


def test_truncate_of_the_logs_is_refused_on_postgresql(env, world):
    if env.db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; DELETE is refused (test_engine_history)")
    for table in ("history_event", "admin_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with env.db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
    assert problems(env, world["dir"]) == []


def test_emptied_history_is_found(env, world):
    with unguarded(env) as s:
        s.execute(text("TRUNCATE history_event" if not env.db.is_sqlite else "DELETE FROM history_event"))
    found = problems(env, world["dir"])
    assert f"case {world['a_no']} seq 1: events missing at the end" in found
    assert f"case {world['a_no']} seq 2: event missing: the checkpoint holds more events" in found


def remove_case_rows(env, instance_id, tables):
    """Delete a case's rows from `tables` as a superuser: no triggers, no foreign keys."""
    statements = [f"DELETE FROM {t} WHERE {'id' if t == 'process_instance' else 'instance_id'} = :i" for t in tables]
    if env.db.is_sqlite:  # a plain connection: foreign keys are off unless asked for, triggers dropped
        raw = sqlite3.connect(env.db.url.split("///", 1)[1])
        raw.execute("DROP TRIGGER IF EXISTS history_event_no_delete")
        for statement in statements:
            raw.execute(statement.replace(":i", "?"), (instance_id,))
        raw.commit()
        raw.close()
        return
    with unguarded(env) as s:  # replica mode skips the foreign key triggers too
        for statement in statements:
            s.execute(text(statement), {"i": instance_id})


def test_a_case_removed_whole_is_found_through_the_checkpoint(env, world):
    remove_case_rows(env, world["a"], ["history_event", "human_task", "process_instance"])
    assert problems(env, world["dir"]) == [f"case {world['a_no']}: in the checkpoint with 2 events, "
                                           "missing from the database"]


# ----------------------------------------------------------------------------- admin log attacks

def admin_events(session):
    return list(session.scalars(select(AdminEvent).order_by(AdminEvent.seq)))


def test_admin_event_edit_is_found(env, world):
    with unguarded(env) as s:
        admin_events(s)[0].target = "someone_else"
    assert problems(env, world["dir"]) == ["admin log seq 1: content changed"]


def test_admin_log_rehash_with_plain_sha256_is_found_through_the_checkpoint(env, world):
    with unguarded(env) as s:
        events = admin_events(s)
        events[0].details = {"full_name": "改过的名字"}
        prev = ""
        for e in events:
            e.prev_hash = prev
            e.hash_alg, e.key_id, e.hash = plain_sha256(admin_canonical(e))
            prev = e.hash
        head = s.get(AdminLogHead, 1)
        head.last_hash = prev
    assert problems(env, None) == []  # an unkeyed log re-hashed whole looks like a pre-0005 one
    assert problems(env, world["dir"]) == [
        "admin log seq 1: unkeyed event newer than the checkpoint's last unkeyed one (chain re-hashed "
        "without the key)", "admin log seq 2: hash differs from the checkpoint (chain rewritten)"]


def test_admin_log_last_event_deleted_and_head_moved_back_is_found(env, world):
    with unguarded(env) as s:
        first, last = admin_events(s)
        s.delete(last)
        head = s.get(AdminLogHead, 1)
        head.event_count, head.last_hash = 1, first.hash
    assert problems(env, None) == []
    assert problems(env, world["dir"]) == ["admin log seq 2: event missing: the checkpoint holds more events"]


def test_admin_log_forged_event_is_found(env, world):
    with unguarded(env) as s:
        last = admin_events(s)[-1]
        forged = AdminEvent(seq=3, at=last.at, actor_id=None, actor_name="系统管理员", action="grant_add",
                            target_type="grant", target_id=1, target="new_one", details={}, prev_hash=last.hash)
        forged.hash_alg, forged.key_id, forged.hash = wrong_key()(admin_canonical(forged))
        s.add(forged)
        head = s.get(AdminLogHead, 1)
        head.event_count, head.last_hash = 3, forged.hash
    assert problems(env, world["dir"]) == ["admin log seq 3: unknown key"]


def test_database_refuses_to_change_the_admin_log(env, world):
    for statement in ("UPDATE admin_event SET target = 'x'", "DELETE FROM admin_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with env.db.engine.begin() as conn:
                conn.execute(text(statement))


# ----------------------------------------------------------------------------- checkpoints

def test_an_altered_checkpoint_file_is_refused(env, world):
    path = cp.latest_path(world["dir"])
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["payload"]["cases"][0][2] = 1   # pretend case A had one event
    forged = world["dir"].parent / "forged.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(cp.CheckpointInvalid, match="signature does not verify"):
        service.verify(env, world["dir"], forged)


def test_the_auditor_view_says_when_the_newest_checkpoint_is_forged(env, world):
    newest = cp.latest_path(world["dir"])
    doc = json.loads(newest.read_text(encoding="utf-8"))
    doc["payload"]["admin"][0] = 1   # "the admin log had one event"
    (world["dir"] / (newest.stem[:-2] + "9Z.json")).write_text(json.dumps(doc), encoding="utf-8")
    assert cp.latest_path(world["dir"]) != newest
    view = auditor_view(env, world, world["a"])
    assert (view.chain_label, view.chain_reason) == ("校验失败", "检查点文件无效")
    with pytest.raises(cp.CheckpointInvalid, match="signature does not verify"):
        service.verify(env, world["dir"])


def test_a_checkpoint_from_another_key_is_refused(env, world):
    other = Keyring.of("another bureau's history key, 32+ chars long")
    with env.db.read() as s:
        text_ = cp.dumps(cp.take_checkpoint(s, env.clock.now()), other)
    with pytest.raises(cp.CheckpointInvalid, match="unknown key"):
        cp.loads(text_, env.db.keyring)


def test_no_checkpoint_is_signed_over_a_broken_database(env, world):
    with unguarded(env) as s:
        case_events(s, world["a"])[0].opinion = "改"
    before = sorted(world["dir"].iterdir())
    with pytest.raises(service.IntegrityBroken):
        service.write_checkpoint(env, world["dir"])
    assert sorted(world["dir"].iterdir()) == before


# ----------------------------------------------------------------------------- the command line

@pytest.fixture
def runner(env, world):
    app = create_app({"ENV_NAME": "test", "DATABASE_URL": env.db.url, "CHECKPOINT_DIR": world["dir"]}, env=env)
    return app.test_cli_runner()


def test_cli_verify_passes_on_an_untouched_database(runner, world):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 2 cases (4 events), 2 admin log events, 0 problem(s); checkpoint ")


def test_cli_verify_prints_each_break_and_exits_non_zero(runner, env, world):
    with unguarded(env) as s:
        case_events(s, world["a"])[1].opinion = "同意"
        admin_events(s)[1].target = "x"
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [f"case {world['a_no']} seq 2: content changed",
                                              "admin log seq 2: content changed"]
    assert "FAILED: 2 cases (4 events), 2 admin log events, 2 problem(s)" in result.output


def test_cli_verify_refuses_a_forged_checkpoint(runner, world, tmp_path):
    forged = tmp_path / "forged.json"
    forged.write_text('{"payload": {"format": "rongflow-checkpoint/1", "key_id": "x"}, "signature": ""}')
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(forged)])
    assert result.exit_code == 2
    assert result.output == "checkpoint: checkpoint signed with unknown key x\n"


def test_cli_checkpoint_writes_a_copy_for_the_auditor(runner, env, world, tmp_path):
    complete_third_event(env, world)
    out = tmp_path / "auditor" / "copy.json"
    result = runner.invoke(args=["audit", "checkpoint", "--out", str(out)])
    assert result.exit_code == 0, result.output
    newest = cp.latest_path(world["dir"])
    assert out.read_text() == newest.read_text()
    assert cp.load(out, env.db.keyring).cases[world["a"]].event_count == 3
    with unguarded(env) as s:  # now the third event goes, head moved back
        first, second, third = case_events(s, world["a"])
        s.delete(third)
        case = s.get(ProcessInstance, world["a"])
        case.event_count, case.last_event_hash = 2, second.hash
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(out)])
    assert result.exit_code == 1
    assert f"case {world['a_no']} seq 3: event missing: the checkpoint holds more events" in result.output


def test_cli_checkpoint_refuses_a_broken_database(runner, env, world):
    with unguarded(env) as s:
        admin_events(s)[0].action = "deploy"
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "admin log seq 1: content changed" in result.output and "no checkpoint written" in result.output


def test_cli_checkpoint_if_due_waits_for_its_interval(runner, env, world, clock):
    assert runner.invoke(args=["audit", "checkpoint", "--if-due"]).output == "checkpoint not due\n"
    clock.advance(timedelta(hours=24))
    result = runner.invoke(args=["audit", "checkpoint", "--if-due"])
    assert result.output.startswith("checkpoint written: ")


# ----------------------------------------------------------------------------- the worker's checkpoints

def test_the_worker_checkpoints_once_per_interval(env, world, clock, tmp_path):
    env.checkpoint_dir, env.checkpoint_every = tmp_path / "worker", timedelta(hours=24)
    first = service.checkpoint_when_due(env)
    assert first is not None and cp.latest_path(env.checkpoint_dir) == first
    clock.advance(timedelta(hours=23))
    assert service.checkpoint_when_due(env) is None
    clock.advance(timedelta(hours=1))
    second = service.checkpoint_when_due(env)
    assert second is not None and second != first and len(list(env.checkpoint_dir.iterdir())) == 2


def test_the_worker_logs_a_broken_database_and_signs_nothing(env, world, clock, caplog):
    env.checkpoint_every = timedelta(hours=24)
    clock.advance(timedelta(hours=24))
    with unguarded(env) as s:
        case_events(s, world["a"])[1].opinion = "同意"
    before = sorted(world["dir"].iterdir())
    assert service.checkpoint_when_due(env) is None
    assert f"case {world['a_no']} seq 2: content changed" in caplog.text
    assert sorted(world["dir"].iterdir()) == before


def test_the_worker_loop_writes_the_checkpoint(env, world, tmp_path):
    from engine.worker import run_forever
    env.checkpoint_dir, env.checkpoint_every = tmp_path / "loop", timedelta(hours=24)
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(env, 0.05, 10, stop, "test-worker"))
    worker.start()
    try:
        for _ in range(200):  # wait for the first poll to finish (at most ~10 s)
            if cp.latest_path(env.checkpoint_dir) is not None:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert cp.load(cp.latest_path(env.checkpoint_dir), env.db.keyring).cases[world["a"]].event_count == 2


def test_cli_verify_without_any_checkpoint_says_heads_are_not_anchored(env, world, tmp_path):
    empty = tmp_path / "none-yet"
    app = create_app({"ENV_NAME": "test", "DATABASE_URL": env.db.url, "CHECKPOINT_DIR": empty}, env=env)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert result.output == (f"ok: 2 cases (4 events), 2 admin log events, 0 problem(s); "
                             f"no checkpoint (none in {empty}): chain heads not anchored\n")


def test_cli_create_app_role_needs_postgresql_and_a_plain_role_name(runner, env):
    result = runner.invoke(args=["audit", "create-app-role", "--role", 'x"; DROP TABLE history_event; --'])
    assert result.exit_code == 1
    assert ("needs PostgreSQL" if env.db.is_sqlite else "must match") in result.output


def test_a_case_row_removed_under_its_events_is_found_without_a_checkpoint(env, world):
    remove_case_rows(env, world["a"], ["human_task", "process_instance"])
    assert problems(env, None) == [f"case id {world['a']} seq 1: events of a case missing from the database"]
