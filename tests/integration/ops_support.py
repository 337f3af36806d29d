"""Support for the operations drills: an old release's demo city built by that release's own code,
database copies, row snapshots, and driving every running case to its end."""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import tarfile
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, select, text

from engine.clock import ManualClock
from engine.env import Env
from engine.models import InstanceStatus, ProcessInstance
from engine.worker import run_due_timers
from workflows.demo_city import CaseRun, Driver, _scenario_answers, drive_case

ROOT = Path(__file__).resolve().parents[2]
# The last landed release: schema 0004, before this round's migrations 0005-0009 (reserved as
# no-ops in the next commit, so their ids would look applied already).
RELEASE_COMMIT = "dba3dd6"
RELEASE_REVISION = "0004"
CLOSED = (InstanceStatus.completed, InstanceStatus.cancelled, InstanceStatus.terminated)


def extract_release(target: Path) -> Path:
    """The release's code (engine, webapp, workflows, bpmn, config.py) from git, under target."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", RELEASE_COMMIT,
                              "engine", "webapp", "workflows", "bpmn", "config.py"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def build_release_demo(code: Path, url: str) -> str:
    """Run the release's own schema, deployment and demo city on `url`, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(code), "RONGFLOW_ENV": "development"}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("release_build.py")), url,
                           str(code / "bpmn")], cwd=code, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def snapshot(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (or of the given tables and columns), sorted, as text."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        wanted = columns or {t: [c["name"] for c in found.get_columns(t)] for t in found.get_table_names()}
        out = {}
        with engine.connect() as conn:
            for table, cols in wanted.items():
                names = ", ".join(f'"{c}"' for c in cols)
                rows = conn.execute(text(f'SELECT {names} FROM "{table}"')).all()
                out[table] = sorted(tuple(_plain(v) for v in row) for row in rows)
        return out
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """One text form per value, whatever the driver returns (SQLite strings, PostgreSQL types)."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        from datetime import timezone
        if getattr(value, "tzinfo", None) is None and hasattr(value, "hour"):
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat() if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, (dict, list)):
        import json
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in "{[":
        import json
        try:
            return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return value
    if isinstance(value, bool):
        return int(value)
    return value


def columns_of(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {t: [c["name"] for c in found.get_columns(t)] for t in found.get_table_names()}
    finally:
        engine.dispose()


def copy_database(source: str, name: str, tmp_path: Path) -> str:
    """A copy of database `source` under a new name: a file copy on SQLite, a template copy on
    PostgreSQL (nobody may be connected to the source meanwhile)."""
    url = make_url(source)
    if url.drivername.startswith("sqlite"):
        target = tmp_path / f"{name}.db"
        with sqlite3.connect(url.database) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return f"sqlite:///{target}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def empty_database(like: str, name: str, tmp_path: Path) -> str:
    url = make_url(like)
    if url.drivername.startswith("sqlite"):
        return f"sqlite:///{tmp_path / (name + '.db')}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url_text: str) -> None:
    url = make_url(url_text)
    if url.drivername.startswith("sqlite"):
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def running_cases(env: Env) -> list[int]:
    with env.db.read() as s:
        return list(s.scalars(select(ProcessInstance.id).where(ProcessInstance.status == InstanceStatus.running)
                              .order_by(ProcessInstance.id)))


def run_to_end(env: Env, clock: ManualClock, max_rounds: int = 80,
               progress: Any = None) -> dict[int, str]:
    """Work every running case on: staff answer open tasks with the process's own demo/smoke
    answers; when nobody can act, the clock jumps to the next due timer and the worker fires it.
    Returns the status of every case that was running at the start."""
    rng = random.Random(15)
    driver = Driver(env, rng)
    ids = running_cases(env)
    with env.db.read() as s:
        keys = dict(s.execute(select(ProcessInstance.id, ProcessInstance.process_key)
                              .where(ProcessInstance.id.in_(ids))).all())
    runs = {i: CaseRun(i, env.process(keys[i]), _scenario_answers(env.process(keys[i]), rng), 10_000)
            for i in ids}
    for round_no in range(max_rounds):
        moved = sum(drive_case(driver, run, clock, rng, max_steps=100) for run in runs.values())
        still = set(running_cases(env))
        runs = {i: run for i, run in runs.items() if i in still}
        for run in runs.values():
            run.remaining = 10_000  # a case that waited on a timer goes on after it fired
        fired = 0 if moved else _fire_next_timer(env, clock)
        if progress:
            progress(round_no, moved, fired, len(runs))
        if not runs or (moved == 0 and fired == 0):
            break
    with env.db.read() as s:
        return {i: st.value for i, st in s.execute(select(ProcessInstance.id, ProcessInstance.status)
                                                    .where(ProcessInstance.id.in_(ids))).all()}


def _fire_next_timer(env: Env, clock: ManualClock) -> int:
    with env.db.read() as s:
        due = s.scalar(select(ProcessInstance.next_timer_at)
                       .where(ProcessInstance.status == InstanceStatus.running,
                              ProcessInstance.next_timer_at.is_not(None))
                       .order_by(ProcessInstance.next_timer_at).limit(1))
    if due is None:
        return 0
    clock.set(max(clock.now(), due + timedelta(seconds=1)))
    return run_due_timers(env)
