"""Backup and restore drill: the last release's demo city, upgraded, backed up (database, uploads,
holiday data) and restored into an empty database; every case, task, timer, history event and
file comes back, and the restored database fires the same timers. Damaged sets are refused."""
from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from engine.attachments import UploadPolicy, add_attachment
from engine.clock import ManualClock, SystemClock
from engine.env import make_env
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.ops.backup import BackupError, backup, restore
from engine.orgs import Actor
from engine.schema import upgrade
from engine.worker import run_due_timers
from tests.integration.ops_support import ROOT, copy_database, drop_database, empty_database, snapshot
from tests.factories import DATA, build_org, deploy_dir
from tests.web.conftest import make_app, start_plain, web_plain_config

PDF = b"%PDF-1.4\n% RongFlow backup drill\n%%EOF\n"
HOLIDAYS = ROOT / "engine" / "data" / "holidays.json"


def cases_view(env, spiff_ids: bool = True) -> dict[str, tuple]:
    """Case by case: status, next timer, history head, and its open tasks (with the workflow's
    task ids, or without: tasks made after the restore get new random ids on each side)."""
    with env.db.read() as s:
        tasks: dict[int, list[tuple]] = {}
        for t in s.scalars(select(HumanTask).where(HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))):
            tasks.setdefault(t.instance_id, []).append(
                (t.spiff_task_id if spiff_ids else "", t.step_id, t.role.value, t.org_unit_id, t.due_at,
                 t.status.value, t.assignee_id))
        return {c.case_no: (c.status.value, c.next_timer_at, c.event_count, c.last_event_hash,
                            sorted(tasks.get(c.id, []), key=str))
                for c in s.scalars(select(ProcessInstance))}


def _attach_one(env, uploads: Path) -> None:
    with env.db.read() as s:
        case = s.scalars(select(ProcessInstance).where(ProcessInstance.status == InstanceStatus.running)
                         .order_by(ProcessInstance.id)).first()
    add_attachment(env, case.id, Actor(case.initiator_id, "发起人"), "材料.pdf", PDF,
                   UploadPolicy(uploads, 1 << 20))


def test_backup_and_restore_of_the_demo_city_keep_every_case(release_db, tmp_path):
    pid = os.getpid()
    source = copy_database(release_db, f"rongflow_bk_src_{pid}", tmp_path)
    target = empty_database(release_db, f"rongflow_bk_dst_{pid}", tmp_path)
    clock = ManualClock(SystemClock().now())
    env = make_env(source, clock=clock, bpmn_dir=ROOT / "bpmn")
    restored = make_env(target, clock=clock, bpmn_dir=ROOT / "bpmn")
    try:
        upgrade(env.db.engine)
        uploads = tmp_path / "uploads"
        _attach_one(env, uploads)
        folder = backup(env, tmp_path / "backups", uploads, HOLIDAYS, clock.now())
        report = restore(restored, folder, tmp_path / "uploads2", tmp_path / "etc" / "holidays.json")
        assert report.ok, report.problems
        before, after = cases_view(env), cases_view(restored)
        assert report.cases == len(before) >= 150
        assert sum(1 for v in before.values() if v[4]) >= 50, "open tasks to compare"
        assert sum(1 for v in before.values() if v[1] is not None) >= 20, "waiting timers to compare"
        assert [k for k in before if before[k] != after.get(k)] == [] and before.keys() == after.keys()
        assert snapshot(source) == snapshot(target)  # every row of every table
        assert sorted(p.name for p in (tmp_path / "uploads2").rglob("*") if p.is_file()) == \
            sorted(p.name for p in uploads.rglob("*") if p.is_file())
        assert (tmp_path / "etc" / "holidays.json").read_bytes() == HOLIDAYS.read_bytes()

        clock.advance(timedelta(days=45))  # the restored database fires exactly what the source fires
        fired = run_due_timers(env)
        assert fired > 0 and run_due_timers(restored) == fired
        ours, theirs = cases_view(env, False), cases_view(restored, False)
        assert [k for k in ours if ours[k] != theirs[k]] == []
    finally:
        env.db.dispose()
        restored.db.dispose()
        drop_database(source)
        drop_database(target)


# ----------------------------------------------------------------------------- refusals (small data)

@pytest.fixture
def small_set(env, tmp_path):
    """A backup set of two cases (one with a file) and an empty database to restore into."""
    plain = build_org(env)
    env.extra_processes["plain"] = web_plain_config()
    deploy_dir(env, "plain", DATA / "plain")
    uploads = tmp_path / "uploads"
    first = start_plain(env, plain)
    start_plain(env, plain)
    add_attachment(env, first.instance_id, plain.actor("t1_cw"), "材料.pdf", PDF, UploadPolicy(uploads, 1 << 20))
    folder = backup(env, tmp_path / "backups", uploads, HOLIDAYS, env.clock.now())
    target = empty_database(env.db.url, f"rongflow_bk_small_{os.getpid()}", tmp_path)
    empty = make_env(target, clock=env.clock)
    empty.extra_processes.update(env.extra_processes)
    yield folder, empty
    empty.db.dispose()
    drop_database(target)


def _tables(env) -> list[str]:
    names = inspect(env.db.engine).get_table_names()
    env.db.dispose()
    return names


def test_restore_of_a_small_set_verifies(small_set, tmp_path):
    folder, empty = small_set
    report = restore(empty, folder, tmp_path / "restored", None)
    assert report.ok and report.cases == 2


@pytest.mark.parametrize("damage", ["changed", "missing", "added"])
def test_a_damaged_set_is_refused_before_anything_is_written(small_set, tmp_path, damage):
    folder, empty = small_set
    [upload] = [p for p in (folder / "uploads").rglob("*") if p.is_file()]
    if damage == "changed":
        upload.write_bytes(upload.read_bytes() + b" ")
    elif damage == "missing":
        upload.unlink()
    else:
        (folder / "uploads" / "extra.bin").write_bytes(b"x")
    expected = {"changed": "checksum differs", "missing": "missing", "added": "not in the manifest"}[damage]
    with pytest.raises(BackupError, match=expected):
        restore(empty, folder, tmp_path / "restored", None)
    assert _tables(empty) == [] and not (tmp_path / "restored").exists()


def test_a_damaged_database_file_is_refused(small_set, tmp_path):
    folder, empty = small_set
    manifest = json.loads((folder / "manifest.json").read_text())
    database = folder / manifest["database"]["file"]
    data = bytearray(database.read_bytes())
    data[len(data) // 2] ^= 0xFF
    database.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum differs"):
        restore(empty, folder, tmp_path / "restored", None)
    assert _tables(empty) == []


def test_restore_refuses_a_database_that_is_not_empty(small_set, env, tmp_path):
    folder, _empty = small_set
    with pytest.raises(BackupError, match="not empty"):
        restore(env, folder, tmp_path / "restored", None)


def test_restore_refuses_an_upload_folder_that_is_not_empty(small_set, tmp_path):
    folder, empty = small_set
    (tmp_path / "restored").mkdir()
    (tmp_path / "restored" / "old.pdf").write_bytes(PDF)
    with pytest.raises(BackupError, match="upload folder"):
        restore(empty, folder, tmp_path / "restored", None)
    assert _tables(empty) == []


def test_a_folder_without_manifest_is_not_a_set(env, tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(BackupError, match="not a RongFlow backup set"):
        restore(env, tmp_path / "junk", tmp_path / "restored", None)


def test_backup_and_restore_commands(small_set, env, tmp_path):
    _folder, empty = small_set
    source_app = make_app(env, tmp_path, UPLOAD_DIR=tmp_path / "uploads", HOLIDAYS_FILE=str(HOLIDAYS))
    made = source_app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "cli")])
    assert made.exit_code == 0, made.output
    folder = Path(made.output.split("backup written: ")[1].strip())
    target_app = make_app(empty, tmp_path, UPLOAD_DIR=tmp_path / "cli_uploads",
                          HOLIDAYS_FILE=str(tmp_path / "cli_etc" / "holidays.json"))
    done = target_app.test_cli_runner().invoke(args=["restore", str(folder)])
    assert done.exit_code == 0, done.output
    assert "restored 2 case(s)" in done.output and "checks passed" in done.output
    assert (tmp_path / "cli_etc" / "holidays.json").read_bytes() == HOLIDAYS.read_bytes()
    again = target_app.test_cli_runner().invoke(args=["restore", str(folder)])
    assert again.exit_code != 0 and "not empty" in again.output
    shutil.rmtree(folder)
