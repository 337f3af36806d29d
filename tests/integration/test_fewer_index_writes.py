"""Migration 0025: human_task without its index on instance_id alone (the (instance_id, status)
index serves those lookups); on PostgreSQL the case row, rewritten at every step, keeps room on
its page (fillfactor 80) so a step's new row version is a HOT update, and its state is compressed
with lz4 where the server has it; downgrading restores all of it."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from engine.schema import alembic_config
from engine.models import ProcessInstance, TaskStatus
from engine.runtime import complete_task
from tests.integration.verbs_support import open_task, plain_case


def _storage(env) -> tuple[list[str] | None, str]:
    with env.db.engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'process_instance'")).scalar()
        method = conn.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                   "'process_instance'::regclass AND attname = 'state'")).scalar()
    return options, method


@pytest.fixture
def pg(env):
    if env.db.is_sqlite:
        pytest.skip("PostgreSQL's storage parameters")
    return env


def test_the_case_row_keeps_room_for_its_next_version_and_its_state_is_lz4(pg):
    options, method = _storage(pg)
    assert options == ["fillfactor=80"]
    with pg.db.engine.connect() as conn:
        has_lz4 = conn.execute(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                    "WHERE name = 'default_toast_compression'")).scalar()
    assert method == ("l" if has_lz4 else "")


def test_a_state_written_by_a_step_is_stored_with_lz4(pg):
    org, iid = plain_case(pg)
    complete_task(pg, open_task(pg, iid).id, org.actor("t1_cw"), {})
    with pg.db.engine.connect() as conn:
        method, length, has_lz4 = conn.execute(text(
            "SELECT pg_column_compression(state), length(state), (SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
            "WHERE name = 'default_toast_compression') FROM process_instance WHERE id = :id"), {"id": iid}).one()
    assert length > 2100  # PostgreSQL compresses a row's values above about 2 KB
    assert method == ("lz4" if has_lz4 else "pglz")
    with pg.db.read() as s:  # and it reads back whole: the case goes on
        assert len(s.get(ProcessInstance, iid).state) == length
    assert open_task(pg, iid).status == TaskStatus.open


def test_downgrade_restores_the_defaults_and_upgrade_sets_them_again(pg):
    cfg = alembic_config(pg.db.url)
    command.downgrade(cfg, "0024")
    assert _storage(pg) == (None, "")
    command.upgrade(cfg, "head")
    assert _storage(pg)[0] == ["fillfactor=80"]


def _task_indexes(env) -> set[str]:
    return {ix["name"] for ix in inspect(env.db.engine).get_indexes("human_task")}


def test_a_task_has_no_index_on_its_case_alone_and_its_lookups_still_use_one(env):
    assert "ix_human_task_instance_id" not in _task_indexes(env)
    assert "ix_task_instance_status" in _task_indexes(env)
    org, iid = plain_case(env)
    if env.db.is_sqlite:  # the planner's choice for a case's rows (PostgreSQL's depends on the table's size)
        with env.db.engine.connect() as conn:
            plan = " ".join(str(r) for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT id FROM human_task WHERE instance_id = {iid}").all())
        assert "ix_task_instance_status" in plan
    assert open_task(env, iid).instance_id == iid


def test_downgrade_gives_the_task_its_index_back(env):
    cfg = alembic_config(env.db.url)
    command.downgrade(cfg, "0024")
    assert "ix_human_task_instance_id" in _task_indexes(env)
    command.upgrade(cfg, "head")
    assert "ix_human_task_instance_id" not in _task_indexes(env)
