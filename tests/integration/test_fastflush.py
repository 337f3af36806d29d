"""The end of a step written with prebuilt Core statements (engine.fastflush): the same rows as
the ORM's flush, objects left clean, the case's version checked, new task rows told about, and
everything of another shape handed to the ORM unchanged."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, inspect, select, text, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import fastflush
from engine.errors import Conflict
from engine.history import append_event, verify_chain
from engine.models import AppMessage, HistoryEvent, HumanTask, ProcessInstance, TaskStatus
from engine.runtime import complete_task, start_case
from tests.factories import Org, build_org, setup_plain

KEY = "plain"


@pytest.fixture
def org(env: Any) -> Org:
    setup_plain(env)
    return build_org(env)


@pytest.fixture
def orm_flushes() -> Iterator[list[Any]]:
    """The ORM's own flushes while the test runs (fastflush writes without one)."""
    seen: list[Any] = []

    def flushed(_session: Any, ctx: Any) -> None:
        seen.append(ctx)
    event.listen(Session, "after_flush_postexec", flushed)
    yield seen
    event.remove(Session, "after_flush_postexec", flushed)


def _statements(env: Any) -> list[str]:
    seen: list[str] = []

    @event.listens_for(env.db.engine, "before_cursor_execute")
    def _log(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]).upper())
    return seen


def _case(env: Any, org: Org) -> tuple[int, int]:
    iid = start_case(env, KEY, org.actor("t1_cw"), org.units["t1"], {}).instance_id
    with env.db.read() as s:
        task = s.scalars(select(HumanTask.id).where(HumanTask.instance_id == iid)).one()
    return iid, task


def _columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _step(env: Any, session: Any, iid: int, task_id: int,
          actor_id: int) -> tuple[ProcessInstance, HumanTask, HumanTask, HistoryEvent]:
    """What a step leaves: the case and a task changed, a new task and an event added."""
    instance = session.get(ProcessInstance, iid)
    row = session.get(HumanTask, task_id)
    now = env.clock.now()
    row.status, row.completed_at, row.completed_by_id = TaskStatus.completed, now, actor_id
    instance.state, instance.updated_at = instance.state + " ", now
    new = HumanTask(spiff_task_id="0" * 36, instance_id=iid, process_key=KEY, case_no=instance.case_no,
                    step_id="next", step_name="下一步", role=row.role, org_unit_id=row.org_unit_id,
                    status=TaskStatus.open, created_at=now)  # title, due_provisional, has_draft: defaults
    session.add(new)
    added = append_event(session, instance, at=now, action="complete", step_id=row.step_id, task_id=row.id,
                         data={"备注": ["", "同意"]})
    return instance, row, new, added


def test_a_step_is_written_as_the_orm_would_and_left_clean(env, org, orm_flushes):
    iid, task_id = _case(env, org)
    seen = _statements(env)
    with env.db.write() as s:
        instance, row, new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
        version = instance.lock_version
        seen.clear()
        orm_flushes.clear()
        fastflush.flush(s)
        assert orm_flushes == [], "written without the ORM's flush"
        assert sorted(seen) == sorted(["UPDATE PROCESS_INSTANCE SET", "UPDATE HUMAN_TASK SET",
                                       "INSERT INTO HUMAN_TASK", "INSERT INTO HISTORY_EVENT"]), seen
        assert not s.new and not s.dirty and all(inspect(o).persistent for o in (new, added))
        assert new.id and added.id and instance.lock_version == version + 1
        assert new.title == "" and new.due_provisional is False and new.has_draft is False
        written = {type(o): _columns(o) for o in (instance, row, added)} | {"new": _columns(new)}
        seen.clear()
    assert seen == ["INSERT INTO APP_MESSAGE"], "the commit wrote nothing again but the new task's message"
    with env.db.read() as s:  # every column as the objects held it, defaults included
        assert _columns(s.get(ProcessInstance, iid)) == written[ProcessInstance]
        assert _columns(s.get(HumanTask, task_id)) == written[HumanTask]
        assert _columns(s.get(HistoryEvent, added.id)) == written[HistoryEvent]
        assert _columns(s.get(HumanTask, new.id)) == written["new"]
        assert verify_chain(s, iid).ok


def _branching_step(env: Any, org: Org, flush: Any, orm_flushes: list[Any],
                    also: list[Any] | None = None) -> tuple[list[str], list[int], list[int], int]:
    """A step that adds three task rows and two events, written by `flush`: its statements and
    the new rows' ids (tasks, events)."""
    iid, task_id = _case(env, org)
    seen = _statements(env)
    with env.db.write() as s:
        instance, row, new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
        more = [HumanTask(spiff_task_id=f"{n}" * 36, instance_id=iid, process_key=KEY, case_no=instance.case_no,
                          step_id=f"branch{n}", step_name=f"分支{n}", role=row.role, org_unit_id=row.org_unit_id,
                          status=TaskStatus.open, created_at=env.clock.now()) for n in (1, 2)]
        s.add_all(more)
        timer = append_event(s, instance, at=env.clock.now(), action="timer", step_id="t")
        seen.clear()
        orm_flushes.clear()
        if also is not None:
            also.clear()
        flush(s)
        statements, by_orm = list(seen), len(orm_flushes)
    with env.db.read() as s:
        assert [s.get(HumanTask, t.id).step_id for t in (new, *more)] == ["next", "branch1", "branch2"]
        assert verify_chain(s, iid).ok and s.get(HistoryEvent, timer.id).action == "timer"
    return statements, [t.id for t in (new, *more)], [added.id, timer.id], by_orm


def test_several_new_rows_take_one_insert_each_with_their_ids_in_order(env, org, orm_flushes):
    """SQLite: the statements the ORM takes (one INSERT per row). PostgreSQL: one INSERT per row
    too, where the ORM batches a table's rows, but every statement in one pipeline."""
    orm, orm_tasks, _events, _ = _branching_step(env, org, lambda s: s.flush(), orm_flushes)
    pipelined = _pipelined_statements(env)
    fast, tasks, events, by_orm = _branching_step(env, org, fastflush.flush, orm_flushes, pipelined)
    assert by_orm == 0
    per_row = ["UPDATE PROCESS_INSTANCE SET", "UPDATE HUMAN_TASK SET"] + ["INSERT INTO HUMAN_TASK"] * 3 \
        + ["INSERT INTO HISTORY_EVENT"] * 2
    assert sorted(fast) == sorted(per_row)
    if env.db.is_sqlite:
        assert sorted(fast) == sorted(orm)
        assert pipelined == []
    else:
        assert len(orm) == 4, orm  # the ORM: one INSERT per table, each a round trip
        # the flush's statements went in the pipeline, and the commit's messages in their own
        # with the COMMIT (fastflush.at_commit)
        assert pipelined[:len(per_row)] == [True] * len(per_row), pipelined
    assert tasks == sorted(tasks) and events == sorted(events) and tasks[0] > orm_tasks[-1]


def _pipelined_statements(env: Any) -> list[bool]:
    """PostgreSQL: whether each statement sent from here on went in a pipeline."""
    seen: list[bool] = []

    @event.listens_for(env.db.engine, "before_cursor_execute")
    def _log(_conn: Any, cursor: Any, *_args: Any) -> None:
        if not env.db.is_sqlite:
            seen.append(bool(cursor.connection.pgconn.pipeline_status))
    return seen


def _rolled_back(env: Any, org: Org, flush: Any) -> dict[str, Any]:
    """A step written by `flush`, then its transaction rolled back: what the session holds."""
    iid, task_id = _case(env, org)
    with env.db.write_session() as s:
        s.begin()
        instance, row, new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
        flush(s)
        in_tx = {"persistent": [inspect(o).persistent for o in (new, added)], "id": bool(new.id)}
        s.rollback()
        return {**in_tx, "transient": [inspect(o).transient for o in (new, added)],
                "in session": [o in s for o in (instance, row, new, added)],
                "expired": [bool(inspect(o).expired_attributes) for o in (instance, row)]}


def test_a_rollback_after_it_leaves_the_session_as_after_the_orms_flush(env, org):
    """The new rows were recorded in the transaction as the ORM records them: a rollback takes
    them out of the session again and expires the changed rows."""
    orm = _rolled_back(env, org, lambda s: s.flush())
    fast = _rolled_back(env, org, fastflush.flush)
    assert fast == orm == {"persistent": [True, True], "id": True, "transient": [True, True],
                           "in session": [True, True, False, False], "expired": [True, True]}


def test_a_value_set_to_what_it_was_is_no_change(env, org, orm_flushes):
    iid, task_id = _case(env, org)
    seen = _statements(env)
    with env.db.write() as s:
        row = s.get(HumanTask, task_id)
        row.status, row.title = row.status, row.title
        seen.clear()
        orm_flushes.clear()
        fastflush.flush(s)
        assert seen == [] and not s.dirty and orm_flushes == []


def test_a_case_changed_meanwhile_is_stale_and_a_command_meeting_it_conflicts(env, org, monkeypatch):
    iid, task_id = _case(env, org)
    with pytest.raises(StaleDataError, match=r"^UPDATE statement on table 'process_instance' expected to "
                                             r"update 1 row\(s\); 0 were matched\.$"):
        with env.db.write() as s:
            instance = s.get(ProcessInstance, iid)
            instance.updated_at = env.clock.now() + timedelta(seconds=1)
            s.connection().execute(update(ProcessInstance.__table__).where(ProcessInstance.id == iid)
                      .values(lock_version=ProcessInstance.lock_version + 1))  # another writer, unseen
            fastflush.flush(s)

    real = fastflush.flush

    def bumped_first(session: Any) -> None:
        session.connection().execute(update(ProcessInstance.__table__).where(ProcessInstance.id == iid)
                        .values(lock_version=ProcessInstance.lock_version + 1))
        real(session)
    monkeypatch.setattr(fastflush, "flush", bumped_first)
    with pytest.raises(Conflict):
        complete_task(env, task_id, org.actor("t1_cw"), {})
    monkeypatch.setattr(fastflush, "flush", real)
    with env.db.read() as s:  # nothing of the refused command stayed
        assert s.get(HumanTask, task_id).status == TaskStatus.open
        assert s.get(ProcessInstance, iid).event_count == 1


def test_a_refused_row_is_sqlalchemys_error_naming_its_statement_and_nothing_is_written(env, org):
    """On PostgreSQL the statements go together (a pipeline); a row the database refuses is
    still SQLAlchemy's IntegrityError for that row's INSERT, as when sent one by one."""
    iid, task_id = _case(env, org)
    with pytest.raises(IntegrityError) as refused:
        with env.db.write() as s:
            _instance, _row, new, _added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
            new.instance_id = 10**9  # no such case
            fastflush.flush(s)
    assert refused.value.statement.startswith("INSERT INTO human_task")
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.open
        assert s.get(ProcessInstance, iid).event_count == 1
        assert s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == iid)) == 1


def test_a_value_the_driver_refuses_is_sqlalchemys_error_naming_its_statement(env, org):
    """PostgreSQL's text takes no NUL: the driver refuses the value before sending it, in the
    middle of the pipeline; SQLite stores it."""
    iid, task_id = _case(env, org)
    with pytest.raises(DataError) if not env.db.is_sqlite else nullcontext() as refused:
        with env.db.write() as s:
            _instance, _row, _new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
            added.opinion = "同意\x00"
            fastflush.flush(s)
    if env.db.is_sqlite:
        with env.db.read() as s:
            assert s.scalar(select(HistoryEvent.opinion).where(HistoryEvent.instance_id == iid,
                                                                HistoryEvent.seq == 2)) == "同意\x00"
    else:
        assert refused.value.statement.startswith("INSERT INTO history_event")
        with env.db.read() as s:
            assert s.get(ProcessInstance, iid).event_count == 1


def test_a_value_refused_while_an_earlier_statement_waits_is_named_by_its_own_statement(env, org):
    """PostgreSQL: the driver refuses a value while the step's first statement still waits for
    rows another transaction holds (so its answer cannot have come): the error names the
    statement refused, not the one waiting."""
    if env.db.is_sqlite:
        pytest.skip("SQLite sends a statement only when the one before it is done")
    iid, task_id = _case(env, org)
    with env.db.engine.connect() as other:  # holds the case and task rows the step updates
        other.execute(select(ProcessInstance.id).where(ProcessInstance.id == iid).with_for_update())
        other.execute(select(HumanTask.id).where(HumanTask.id == task_id).with_for_update())
        with pytest.raises(DataError) as refused:
            with env.db.write() as s:
                # the wait ends when the step gives up: long enough that the refusal, microseconds
                # after the first statement is sent, comes first even on a loaded machine (at 200 ms
                # a stalled CI machine once got the lock timeout first)
                s.execute(text("SET LOCAL lock_timeout = '2s'"))
                _instance, _row, _new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
                added.opinion = "同意\x00"
                fastflush.flush(s)
        other.rollback()
    assert refused.value.statement.startswith("INSERT INTO history_event")


def test_each_statement_is_seen_alone_by_the_statement_events(env, org):
    iid, task_id = _case(env, org)
    seen: list[tuple[str, bool]] = []

    def before(_conn: Any, _cur: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append(("before", many))

    def after(_conn: Any, _cur: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append(("after", many))
    with env.db.write() as s:
        _step(env, s, iid, task_id, org.actor("t1_cw").id)
        event.listen(env.db.engine, "before_cursor_execute", before)
        event.listen(env.db.engine, "after_cursor_execute", after)
        try:
            fastflush.flush(s)
        finally:
            event.remove(env.db.engine, "before_cursor_execute", before)
            event.remove(env.db.engine, "after_cursor_execute", after)
    assert sorted(seen) == [("after", False)] * 4 + [("before", False)] * 4


def test_a_stale_case_row_is_stale_even_when_a_row_after_it_is_refused(env, org):
    """Sent together, the case row's UPDATE and an INSERT the database refuses (an event of a
    number the case already has, as a concurrent writer would leave) both come back: the stale
    case is the cause reported, as when the UPDATE goes first alone."""
    iid, task_id = _case(env, org)
    with pytest.raises(StaleDataError):
        with env.db.write() as s:
            taken = s.scalar(select(func.min(HistoryEvent.seq)).where(HistoryEvent.instance_id == iid))
            _instance, _row, _new, added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
            added.seq = taken
            s.connection().execute(update(ProcessInstance.__table__).where(ProcessInstance.id == iid)
                                   .values(lock_version=ProcessInstance.lock_version + 1))  # another writer
            fastflush.flush(s)


def test_the_new_task_rows_are_told_about(env, org):
    iid, task_id = _case(env, org)
    holder = org.actor("t1_cw").id
    with env.db.read() as s:
        before = s.scalar(select(AppMessage.id).order_by(AppMessage.id.desc()).limit(1)) or 0
    seen = _statements(env)
    result = complete_task(env, task_id, org.actor("t1_cw"), {})
    assert not any(x.startswith(("SAVEPOINT", "UPDATE APP_MESSAGE")) for x in seen)
    with env.db.read() as s:
        told = s.scalars(select(AppMessage).where(AppMessage.id > before)).all()
        assert [(m.task_id, m.kind) for m in told if m.user_id == holder] == [(result.new_task_ids[0], "new_task")]


@pytest.mark.parametrize("shape", ["other kind", "delete", "new row's id", "version by hand",
                                   "version not loaded", "not a column"])
def test_every_other_shape_goes_to_the_orm_whole(env, org, orm_flushes, shape):
    iid, task_id = _case(env, org)
    with env.db.write() as s:
        instance, row, new, _added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
        if shape == "other kind":
            s.add(AppMessage(user_id=org.actor("t1_cw").id, kind="urged", title="催办", at=env.clock.now()))
        elif shape == "delete":
            s.delete(s.scalars(select(AppMessage)).first())
        elif shape == "new row's id":
            new.id = 10_000
        elif shape == "version by hand":
            instance.lock_version = instance.lock_version + 5
        elif shape == "version not loaded":
            s.expire(instance, ["lock_version"])
        else:  # a change the ORM tracks that is no column of the table (a relationship's)
            inspect(row).committed_state["no_such_column"] = None
            row.__dict__["no_such_column"] = 1
        orm_flushes.clear()
        fastflush.flush(s)
        assert orm_flushes and not s.new and not s.dirty and not s.deleted
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.completed
        assert s.get(ProcessInstance, iid).event_count == 2 and verify_chain(s, iid).ok


def test_a_key_set_by_hand_is_the_orms(env, org):
    iid, task_id = _case(env, org)
    with env.db.write() as s:
        row = s.get(HumanTask, task_id)
        row.title = "新标题"
        assert fastflush._changes(row) == {"title"}
        row.id = task_id + 100_000
        assert fastflush._changes(row) is None
        s.rollback()


def test_statements_are_built_once(env):
    table = HumanTask.__table__
    assert fastflush.insert_statement(table) is fastflush.insert_statement(table)
    keys = frozenset({"status", "assignee_id"})
    assert fastflush.update_statement(table, keys) is fastflush.update_statement(table, keys)
    statement, dialect = fastflush.update_statement(table, keys), env.db.engine.dialect
    # and compiled once per statement and set of values
    assert fastflush._compiled(statement, dialect, keys | {"_id"}) is fastflush._compiled(statement, dialect,
                                                                                          keys | {"_id"})


def test_a_column_without_value_or_default_is_refused_by_the_orm_and_nothing_is_written(env, org):
    iid, task_id = _case(env, org)
    with pytest.raises(IntegrityError):
        with env.db.write() as s:
            _instance, _row, new, _added = _step(env, s, iid, task_id, org.actor("t1_cw").id)
            del new.step_name  # NOT NULL, no default
            fastflush.flush(s)
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.open
        assert s.get(ProcessInstance, iid).event_count == 1


# ----------------------------------------------------------------------------- at_commit

def _message_values(iid: int, task_id: int, at: Any, unit_id: int) -> dict[str, Any]:
    return {"kind": "new_task", "title": "新任务", "instance_id": iid, "task_id": task_id, "at": at,
            "role": "caseworker", "unit_id": unit_id}


def _messages(env: Any, iid: int) -> int:
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(AppMessage).where(AppMessage.instance_id == iid))


def test_a_write_kept_for_the_commit_goes_with_it_in_one_round_trip(env, org, monkeypatch):
    """PostgreSQL: the write waits for the COMMIT and goes in one pipeline with it; the driver's
    own commit then finds nothing to commit. SQLite: sent at once. Either way it is committed,
    seen by the statement events once, and the commit is counted once."""
    from engine.notify.centre import _POOL_MESSAGES
    iid, task_id = _case(env, org)
    before = _messages(env, iid)
    statements = _statements(env)
    pipelined = _pipelined_statements(env)
    left_to_commit: list[bool] = []
    if not env.db.is_sqlite:
        import psycopg
        real_commit = psycopg.Connection.commit

        def commit(conn: Any) -> None:
            left_to_commit.append(conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)
            real_commit(conn)
        monkeypatch.setattr(psycopg.Connection, "commit", commit)
    env.db.counter.reset()
    with env.db.write() as s:
        fastflush.at_commit(s.connection(), _POOL_MESSAGES, _message_values(iid, task_id, env.clock.now(),
                                                                            org.units["t1"]))
        sent_before_commit = len(statements)
    in_pipeline, at_driver_commit = list(pipelined), list(left_to_commit)
    assert sent_before_commit == (2 if env.db.is_sqlite else 0)  # SQLite: at once, after its BEGIN
    assert statements[-1].startswith("INSERT INTO APP_MESSAGE")
    assert env.db.counter.commits == 1
    assert _messages(env, iid) == before + 1  # the one holder of the role at the unit
    if not env.db.is_sqlite:
        assert in_pipeline == [True] and at_driver_commit == [False]


def test_a_refused_write_at_commit_is_sqlalchemys_error_and_nothing_is_written(env, org):
    from engine.notify.centre import _POOL_MESSAGES
    iid, task_id = _case(env, org)
    before = _messages(env, iid)
    with pytest.raises(IntegrityError, match="(?s)app_message"):
        with env.db.write() as s:
            s.get(HumanTask, task_id).title = "改"
            s.flush()
            fastflush.at_commit(s.connection(), _POOL_MESSAGES, _message_values(10**9, task_id, env.clock.now(),
                                                                                org.units["t1"]))
    with env.db.read() as s:  # the transaction's other write went too, and the database is usable
        assert s.get(HumanTask, task_id).title != "改"
    assert _messages(env, iid) == before


def test_writes_kept_for_a_commit_that_does_not_come_are_dropped(env, org):
    from engine.notify.centre import _POOL_MESSAGES
    iid, task_id = _case(env, org)
    before = _messages(env, iid)
    with pytest.raises(RuntimeError):
        with env.db.write() as s:
            fastflush.at_commit(s.connection(), _POOL_MESSAGES, _message_values(iid, task_id, env.clock.now(),
                                                                                org.units["t1"]))
            raise RuntimeError("the command failed")
    with env.db.write() as s:  # the same pooled connection commits again: the dropped write stays dropped
        s.get(HumanTask, task_id).title = "改"
    assert _messages(env, iid) == before
    with env.db.read() as s:
        assert s.get(HumanTask, task_id).title == "改"
