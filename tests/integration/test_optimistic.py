"""A submit reads its case without the row lock on PostgreSQL (engine.optimistic): its first write
is the case row at the version it read; a case changed meanwhile, a write or a lock wanted before
that write, and writes without the case row all run the command again with the lock, and the
outcome is the locked command's. SQLite always holds the database (BEGIN IMMEDIATE)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm.exc import StaleDataError

from engine import fastflush, optimistic
from engine.commands import run_tx
from engine.drafts import save_draft
from engine.errors import Conflict
from engine.models import FormDraft, HumanTask, ProcessInstance, TaskStatus
from engine.runtime import complete_task
from tests.integration.verbs_support import (actions, chain_ok, drop_cache, open_task, parallel_case,
                                             plain_case, second_env)


def _statements(env: Any) -> list[str]:
    seen: list[str] = []

    @event.listens_for(env.db.engine, "before_cursor_execute")
    def _log(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))
    return seen


def _locking_reads(seen: list[str]) -> int:
    return sum(1 for s in seen if s.startswith("SELECT") and "FOR UPDATE" in s)


def _case_reads(seen: list[str]) -> int:
    """Reads of the task's case with its open rows (engine.commands.load_task_case)."""
    return sum(1 for s in seen if s.startswith("SELECT human_task.id") and "human_task.status IN" in s)


@pytest.fixture
def sqlite_cannot_race(env):
    if env.db.is_sqlite:
        pytest.skip("SQLite's BEGIN IMMEDIATE: no other writer between the read and the write")


def test_a_submit_reads_its_case_once_without_the_lock_on_postgresql(env):
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    seen = _statements(env)
    complete_task(env, task_id, org.actor("t1_cw"), {})
    assert _case_reads(seen) == 1
    assert _locking_reads(seen) == 0  # SQLite: BEGIN IMMEDIATE holds the database instead
    assert seen[0].startswith("BEGIN IMMEDIATE" if env.db.is_sqlite else "SELECT human_task.id")
    if not env.db.is_sqlite:  # the case row first: it checks the version read and takes the lock
        writes = [s for s in seen if s.startswith(("UPDATE", "INSERT"))]
        assert writes[0].startswith("UPDATE process_instance SET")
        assert "lock_version" in writes[0].split("WHERE", 1)[1]


def test_unlocked_only_on_postgresql_and_only_when_asked(env):
    seen: list[bool] = []
    run_tx(env, lambda s: seen.append(optimistic.active(s)), unlocked=True)
    run_tx(env, lambda s: seen.append(optimistic.active(s)))
    assert seen == [not env.db.is_sqlite, False]


def test_a_case_changed_by_another_engine_after_the_read_is_read_again_with_the_lock(env, sqlite_cannot_race):
    """Two people complete the two parallel branches at the same moment, in two processes: the
    second one's write finds the case moved on, and it runs again with the lock, on the case as
    the first left it. Both steps count; the join sees both."""
    org, iid = parallel_case(env)
    cw, cw2 = org.actor("t1_cw"), org.actor("t1_cw2")
    complete_task(env, open_task(env, iid, "draft").id, cw, {})
    complete_task(env, open_task(env, iid, "check_a").id, cw, {})
    other = second_env(env)
    drop_cache(env)
    sign_a, check_b = open_task(env, iid, "sign_a").id, open_task(env, iid, "check_b").id
    seen = _statements(env)
    fired: list[int] = []

    @event.listens_for(env.db.engine, "after_cursor_execute")
    def _meanwhile(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if not fired and statement.startswith("SELECT human_task.id") and "human_task.status IN" in statement:
            fired.append(1)  # after the first read of the case: the other branch, in another engine
            complete_task(other, check_b, cw2, {})
    try:
        complete_task(env, sign_a, cw, {})
    finally:
        event.remove(env.db.engine, "after_cursor_execute", _meanwhile)
        other.db.dispose()
    if not env.db.is_sqlite:  # read unlocked, found stale at its write, read again with the lock
        assert _case_reads(seen) == 2 and _locking_reads(seen) == 1
    assert open_task(env, iid).step_id == "approve"  # the join saw both branches
    assert actions(env, iid).count("complete") == 4
    with env.db.read() as s:
        done = s.scalars(select(HumanTask.step_id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.completed)).all()
    assert sorted(done) == ["check_a", "check_b", "draft", "sign_a"]
    assert chain_ok(env, iid)


def _changed_behind_its_back(monkeypatch: Any, iid: int, times: int) -> list[bool]:
    """The case's version moved on by another writer just before each of the first `times` step
    flushes; returns, per flush, whether the command was then still unlocked."""
    real, calls = fastflush.flush, []

    def bumped(session: Any) -> None:
        calls.append(optimistic.active(session))
        if len(calls) <= times:
            bump = (update(ProcessInstance.__table__).where(ProcessInstance.id == iid)
                    .values(lock_version=ProcessInstance.lock_version + 1))
            if calls[-1]:  # unlocked: another writer, on a connection of its own, commits
                with session.get_bind().connect() as other:
                    other.execute(bump)
                    other.commit()
            else:  # locked: only a writer that ignores the lock could (here: the same connection)
                session.connection().execute(bump)
        real(session)
    monkeypatch.setattr(fastflush, "flush", bumped)
    return calls


def test_a_case_changed_twice_is_a_conflict_and_nothing_is_written(env, sqlite_cannot_race, monkeypatch):
    """The retry takes the lock; a case still changed under it (only a writer that ignores the
    lock could) is a Conflict, after exactly one retry."""
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    calls = _changed_behind_its_back(monkeypatch, iid, times=2)
    with pytest.raises(Conflict):
        complete_task(env, task_id, org.actor("t1_cw"), {})
    assert calls == [True, False]
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.open
        assert s.get(ProcessInstance, iid).event_count == 1


def test_a_write_before_the_case_row_takes_the_lock_first(env, monkeypatch):
    """A command that writes before its case row (here a check made to write): it runs again with
    the lock, taken before any write; the early write is made once, by the locked run."""
    import engine.runtime as runtime
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    real = runtime.check_turn

    def writing_check(session: Any, row: Any) -> None:
        session.execute(update(HumanTask).where(HumanTask.id == task_id).values(title="早写"))
        real(session, row)
    monkeypatch.setattr(runtime, "check_turn", writing_check)
    seen = _statements(env)
    complete_task(env, task_id, org.actor("t1_cw"), {})
    if not env.db.is_sqlite:
        assert _case_reads(seen) == 2 and _locking_reads(seen) == 1
        first_write = next(i for i, s in enumerate(seen) if s.startswith(("UPDATE", "INSERT", "DELETE")))
        assert any("FOR UPDATE" in s for s in seen[:first_write])  # the lock before any write
    assert sum(1 for s in seen if s.startswith("UPDATE human_task SET title")) == 1
    with env.db.read() as s:
        row = s.get(HumanTask, task_id)
        assert row.status == TaskStatus.completed and row.title == "早写"
    assert actions(env, iid).count("complete") == 1


def test_a_tasks_drafts_go_after_the_case_row_without_the_lock(env):
    """暂存 drafts of the completed task: deleted with the step's writes, after the case row (no
    second run, no lock), in the same transaction."""
    org, iid = plain_case(env)
    cw = org.actor("t1_cw")
    task_id = open_task(env, iid).id
    save_draft(env, cw.id, task_id, {"note": "草稿"})
    seen = _statements(env)
    complete_task(env, task_id, cw, {})
    assert _case_reads(seen) == 1 and _locking_reads(seen) == 0
    deletes = [i for i, s in enumerate(seen) if s.startswith("DELETE FROM form_draft")]
    assert len(deletes) == 1
    if not env.db.is_sqlite:
        case_row = next(i for i, s in enumerate(seen) if s.startswith("UPDATE process_instance"))
        assert case_row < deletes[0]
    with env.db.read() as s:
        assert s.scalars(select(FormDraft).where(FormDraft.task_id == task_id)).all() == []
        row = s.get(HumanTask, task_id)
        assert row.status == TaskStatus.completed and row.has_draft is False
    assert actions(env, iid).count("complete") == 1


def test_drafts_deleted_with_a_stale_step_are_deleted_again_locked(env, sqlite_cannot_race, monkeypatch):
    """The case changed after the read: the DELETE went in the pipeline with the stale writes and
    is rolled back with them; the locked run deletes the drafts again."""
    org, iid = plain_case(env)
    cw = org.actor("t1_cw")
    task_id = open_task(env, iid).id
    save_draft(env, cw.id, task_id, {"note": "草稿"})
    calls = _changed_behind_its_back(monkeypatch, iid, times=1)
    seen = _statements(env)
    complete_task(env, task_id, cw, {})
    assert calls == [True, False]
    assert sum(1 for s in seen if s.startswith("DELETE FROM form_draft")) == 2  # sent stale, then again
    with env.db.read() as s:
        assert s.scalars(select(FormDraft).where(FormDraft.task_id == task_id)).all() == []


def test_a_write_before_the_deferred_begin_runs_the_command_again_locked(env, sqlite_cannot_race, monkeypatch):
    """Unlocked, the transaction begins with the first writes (engine.optimistic.defer_begin): a
    statement that writes before them would commit on its own, so it is refused before it is sent
    and the command runs again, locked, in an ordinary transaction, where the write goes with the
    rest. Nothing of the first run is written."""
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    with env.db.read() as s:
        version = s.get(ProcessInstance, iid).lock_version
    real, runs = fastflush.flush, []

    def writes_first(session: Any) -> None:
        runs.append(optimistic.active(session))
        session.connection().execute(update(HumanTask.__table__).where(HumanTask.id == task_id)
                                     .values(title=f"run {len(runs)}"))
        real(session)
    monkeypatch.setattr(fastflush, "flush", writes_first)
    seen = _statements(env)
    complete_task(env, task_id, org.actor("t1_cw"), {})
    assert runs == [True, False]
    assert sum(1 for s in seen if s.startswith("UPDATE human_task SET title")) == 1  # the locked run's
    assert _locking_reads(seen) == 1
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title == "run 2"
        assert s.get(HumanTask, task_id).status == TaskStatus.completed
        assert s.get(ProcessInstance, iid).lock_version == version + 1  # the locked run's step alone


@pytest.mark.parametrize("statement, refused", [
    ("SELECT 1", False), ("  select\n x FROM t", False), ("UPDATE t SET a = 1", True),
    ("INSERT INTO t VALUES (1)", True), ("DELETE FROM t", True),
    ("WITH x AS (DELETE FROM t RETURNING 1) SELECT 1", True), ("SELECTED", True), ("", True),
    ("-- SELECT\nDELETE FROM t", True)])
def test_only_a_select_may_come_before_the_deferred_begin(statement, refused):
    assert optimistic._is_select(statement) is not refused


def test_unlocked_reads_run_outside_a_transaction_until_the_first_writes(env, sqlite_cannot_race):
    """The read sends no BEGIN (psycopg would wait for its answer alone): the connection is in
    autocommit mode and idle after it, and in a transaction after the first writes."""
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    states: list[tuple[bool, str]] = []

    def read_then_write(session: Any) -> None:
        driver = session.connection().connection.driver_connection
        session.execute(select(HumanTask).where(HumanTask.id == task_id)).all()
        states.append((driver.autocommit, driver.info.transaction_status.name))
        task = session.get(HumanTask, task_id)
        case = session.get(ProcessInstance, iid)
        task.title = "改"
        case.updated_at += timedelta(seconds=1)  # the case row, written first (its version checked)
        fastflush.flush(session)
        states.append((driver.autocommit, driver.info.transaction_status.name))
    run_tx(env, read_then_write, unlocked=True)
    assert states == [(True, "IDLE"), (True, "INTRANS")], states
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title == "改"


def test_a_transaction_already_open_is_left_as_it_is(env, sqlite_cannot_race):
    """defer_begin on a connection whose driver has begun already (a statement ran before it)
    changes nothing: the command stays one ordinary transaction."""
    seen: list[tuple[bool, bool]] = []

    def body(session: Any) -> None:
        session.execute(update(HumanTask).where(HumanTask.id == -1).values(title="x"))  # begins it
        optimistic.defer_begin(session)
        entry = session.connection().connection
        seen.append((entry.driver_connection.autocommit, optimistic.BEGIN_PENDING in entry.info))
    with env.db.write() as session:
        body(session)
    assert seen == [(False, False)]


def test_a_write_before_the_deferred_begin_is_refused_by_name(env, sqlite_cannot_race):
    with pytest.raises(optimistic.UnsafeWrite, match="^UPDATE before the transaction's deferred BEGIN$"):
        with env.db.write() as session:
            optimistic.begin(session)
            optimistic.defer_begin(session)
            session.connection().exec_driver_sql("UPDATE human_task SET title = 'x' WHERE id = -1")


def test_no_deferred_begin_on_a_connection_in_a_transaction(env, sqlite_cannot_race):
    """The flag without autocommit mode (it cannot happen: defer_begin sets both) is an error, not
    a BEGIN in the middle of a transaction."""
    with pytest.raises(RuntimeError, match="^a deferred BEGIN on a connection already in a transaction$"):
        with env.db.write() as session:
            conn = session.connection()
            conn.connection.info[optimistic.BEGIN_PENDING] = True
            optimistic.begin_now(conn)


def test_a_locked_command_sends_no_begin_of_its_own(env, sqlite_cannot_race):
    """Locked (here every command but a submit), psycopg begins the transaction and the writes'
    pipeline adds no BEGIN: the server would only warn of one inside a transaction."""
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    notices: list[str] = []

    @event.listens_for(env.db.engine, "checkout")
    def _listen(dbapi_conn: Any, _entry: Any, _proxy: Any) -> None:
        dbapi_conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))

    def touch(session: Any) -> None:
        session.get(HumanTask, task_id).title = "改"
        session.get(ProcessInstance, iid).updated_at += timedelta(seconds=1)
        fastflush.flush(session)
    env.db.engine.dispose()  # every connection is checked out anew, with the handler
    try:
        run_tx(env, touch)
        run_tx(env, touch, unlocked=True)
    finally:
        event.remove(env.db.engine, "checkout", _listen)
    assert notices == []
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title == "改"


def test_the_deferred_begin_leaves_no_connection_in_autocommit(env, sqlite_cannot_race):
    """After a submit, and after a submit refused before its writes, every pooled connection is
    back in an ordinary transaction mode: the next command's writes are one transaction again."""
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    complete_task(env, task_id, org.actor("t1_cw"), {})
    with pytest.raises(Conflict):  # a double submit: refused after the read, before any write
        complete_task(env, task_id, org.actor("t1_cw"), {})
    with env.db.write() as s:
        driver = s.connection().connection.driver_connection
        assert driver.autocommit is False
        assert optimistic.BEGIN_PENDING not in s.connection().connection.info
    pool = env.db.engine.pool
    for entry in list(pool._pool.queue):  # every connection the pool holds
        assert entry.dbapi_connection.autocommit is False


def _unlocked_session(env: Any, body: Any) -> None:
    with env.db.write() as s:
        optimistic.begin(s)
        body(s)


def test_while_unlocked_a_write_a_lock_or_an_orm_flush_needs_the_lock(env):
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    refused = [
        lambda s: s.execute(update(HumanTask).where(HumanTask.id == task_id).values(title="x")),
        lambda s: s.execute(select(ProcessInstance).where(ProcessInstance.id == iid).with_for_update()),
        lambda s: (setattr(s.get(HumanTask, task_id), "title", "x"), s.flush()),
    ]
    for body in refused:
        with pytest.raises(optimistic.LockNeeded):
            _unlocked_session(env, body)
    # a plain read is fine, and nothing of the refused ones was written
    _unlocked_session(env, lambda s: s.execute(select(HumanTask).where(HumanTask.id == task_id)).all())
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title != "x"


def test_writes_without_the_case_row_need_the_lock(env):
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id

    def only_a_task(s: Any) -> None:
        s.get(HumanTask, task_id).title = "改"
        fastflush.flush(s)
    with pytest.raises(optimistic.LockNeeded):
        _unlocked_session(env, only_a_task)
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title != "改"


def test_once_the_case_row_is_written_the_transaction_is_locked_and_may_write_on(env):
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    seen = _statements(env)

    def body(s: Any) -> None:
        task, case = s.get(HumanTask, task_id), s.get(ProcessInstance, iid)
        # the task changed first, written second
        task.title, case.updated_at = "改", env.clock.now() + timedelta(seconds=1)
        fastflush.flush(s)
        assert not optimistic.active(s)
        s.get(HumanTask, task_id).title = "再改"
        s.flush()  # the ORM's own flush: allowed now
    _unlocked_session(env, body)
    writes = [w for w in seen if w.startswith("UPDATE")]
    assert writes[0].startswith("UPDATE process_instance") and writes[1].startswith("UPDATE human_task")
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title == "再改"


def test_a_stale_read_is_not_a_conflict_when_the_locked_retry_succeeds(env, sqlite_cannot_race, monkeypatch):
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    calls = _changed_behind_its_back(monkeypatch, iid, times=1)
    result = complete_task(env, task_id, org.actor("t1_cw"), {})
    assert calls == [True, False] and result.new_task_ids
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.completed
    assert actions(env, iid).count("complete") == 1 and chain_ok(env, iid)


def test_stale_outside_unlocked_mode_is_not_retried(env):
    calls: list[int] = []

    def stale(_s: Any) -> None:
        calls.append(1)
        raise StaleDataError("UPDATE statement on table 'process_instance' expected to update 1 row(s); "
                             "0 were matched.")
    with pytest.raises(Conflict):
        run_tx(env, stale)
    assert calls == [1]
    with pytest.raises(Conflict):
        run_tx(env, stale, unlocked=True)
    assert len(calls) == (2 if env.db.is_sqlite else 3)


def test_the_one_read_brings_the_case_row_once_whatever_the_open_rows(env):
    """The case's state comes back beside the task's own row only, not once per open row (a
    countersign of many signers would otherwise carry its state many times)."""
    from engine.commands import _TASK_STATEMENTS
    org, iid = parallel_case(env)
    complete_task(env, open_task(env, iid, "draft").id, org.actor("t1_cw"), {})
    check_a = open_task(env, iid, "check_a").id
    with env.db.write() as s:
        rows = s.execute(_TASK_STATEMENTS[True, False, False], {"task_id": check_a, "actor_id": None}).all()
    assert sorted(r.HumanTask.step_id for r in rows) == ["check_a", "check_b"]
    assert [r.HumanTask.step_id for r in rows if r.ProcessInstance is not None] == ["check_a"]
    assert next(r.ProcessInstance for r in rows if r.ProcessInstance is not None).id == iid


def test_inside_a_step_without_a_savepoint_drafts_are_not_kept_for_later(env):
    """A step run without a savepoint is undone in Python if it fails, and a write kept for the
    flush could not be taken back with it: a draft DELETE from inside such a step asks for the
    savepoint or the lock, as any write does, and nothing is kept."""
    from engine import faststep
    from engine.stepper import drop_drafts
    org, iid = plain_case(env)
    task_id = open_task(env, iid).id
    save_draft(env, org.actor("t1_cw").id, task_id, {"note": "草稿"})

    def ended_in_a_step(s: Any) -> None:
        row = s.get(HumanTask, task_id)
        row.status = TaskStatus.cancelled
        with pytest.raises((faststep.SavepointNeeded, optimistic.LockNeeded)):
            with faststep.guarded(s):
                drop_drafts(s, [row])
        assert fastflush.STEP_WRITES not in s.info
        raise RuntimeError("rolled back")
    with pytest.raises(RuntimeError):
        _unlocked_session(env, ended_in_a_step)

    def ended_before_the_step(s: Any) -> None:
        row = s.get(HumanTask, task_id)
        row.status = TaskStatus.cancelled
        drop_drafts(s, [row])
        assert len(s.info[fastflush.STEP_WRITES]) == 1 and row.has_draft is False
        raise RuntimeError("rolled back")
    with pytest.raises(RuntimeError):
        _unlocked_session(env, ended_before_the_step)
    with env.db.read() as s:
        assert s.scalars(select(FormDraft).where(FormDraft.task_id == task_id)).all() != []
