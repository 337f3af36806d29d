"""Support for the operations drills: an old release's demo city built by that release's own code,
database copies, row snapshots, and driving every running case to its end."""
from __future__ import annotations

import os
import random
import re
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
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.calendar import to_local_date
from engine.errors import EngineError
from engine.forms import load_form
from engine.runtime import deliver_message, waiting_messages
from engine.worker import run_due_timers
from workflows.demo_city import CaseRun, Driver, _real_units, _scenario_answers

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


def waiting_points(env: Env) -> dict[tuple[str, str], int]:
    """One running case per point where a case can wait: (process, its open steps), or
    (process, "timer"/"message") when no task is open. The lowest case id stands for each."""
    with env.db.read() as s:
        steps: dict[int, set[str]] = {}
        for iid, step in s.execute(select(HumanTask.instance_id, HumanTask.step_id)
                                   .where(HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))):
            steps.setdefault(iid, set()).add(step)
        points: dict[tuple[str, str], int] = {}
        for iid, key, timer in s.execute(select(ProcessInstance.id, ProcessInstance.process_key,
                                                ProcessInstance.next_timer_at)
                                         .where(ProcessInstance.status == InstanceStatus.running)
                                         .order_by(ProcessInstance.id)):
            where = "+".join(sorted(steps.get(iid, ()))) or ("timer" if timer else "message")
            points.setdefault((key, where), iid)
    return points


def run_to_end(env: Env, clock: ManualClock, only: list[int] | None = None, max_rounds: int = 80,
               max_steps: int = 80, progress: Any = None) -> dict[int, str]:
    """Work every running case on: staff answer open tasks with the process's own demo/smoke
    answers, register the messages a case waits for (e.g. the army unit's reply); when nobody
    can act, the clock jumps to the next due timer and the worker fires it. A case that takes
    more than `max_steps` steps is left where it is (a loop). Returns each case's status."""
    rng = random.Random(15)
    driver = Driver(env, rng)
    ids = only if only is not None else running_cases(env)
    with env.db.read() as s:
        rows = s.execute(select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.org_unit_id)
                         .where(ProcessInstance.id.in_(ids))).all()
    units = {i: unit for i, _key, unit in rows}
    runs = {i: CaseRun(i, env.process(key), _scenario_answers(env.process(key), rng), max_steps)
            for i, key, _unit in rows}
    for round_no in range(max_rounds):
        moved = 0
        for i, run in runs.items():
            moved += _deliver_waiting(env, driver, run, units[i], clock)
            while sum(run.seen.values()) < max_steps and _work_case(env, driver, run, clock, rng):
                moved += 1
        still = set(running_cases(env))
        runs = {i: run for i, run in runs.items() if i in still and sum(run.seen.values()) < max_steps}
        fired = 0 if moved else _fire_next_timer(env, clock, set(runs))
        if progress:
            progress(round_no, moved, fired, len(runs))
        if not runs or (moved == 0 and fired == 0):
            break
    with env.db.read() as s:
        return {i: st.value for i, st in s.execute(select(ProcessInstance.id, ProcessInstance.status)
                                                    .where(ProcessInstance.id.in_(ids))).all()}


def _work_case(env: Env, driver: Driver, run: CaseRun, clock: ManualClock, rng: random.Random) -> int:
    """One step on the case: the first open task that a holder of its role completes with one of
    the step's answers (the next unused one first: e.g. the next post when one is full)."""
    with env.db.read() as s:
        tasks = s.scalars(select(HumanTask).where(HumanTask.instance_id == run.instance_id,
                                                  HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))
                          .order_by(HumanTask.id)).all()
    for task in tasks:
        queue = run.answers.get(task.step_id) or [{}]
        start = min(run.seen.get(task.step_id, 0), len(queue) - 1)
        for answer in queue[start:] + queue[:start]:
            if answer is None:  # this step is left to its timer
                break
            clock.advance(timedelta(minutes=rng.randrange(5, 40)))
            if driver.act(task, _real_units(_dated_today(answer, clock), driver, rng)):
                run.seen[task.step_id] = run.seen.get(task.step_id, 0) + 1
                return 1
    return 0


def _dated_today(answer: dict[str, Any], clock: ManualClock) -> dict[str, Any]:
    """Staff write today's date where the smoke answers have a fixed one (a date in the past
    would make a deadline computed from it fall due at once, looping a chase step forever)."""
    today = to_local_date(clock.now()).isoformat()
    return {k: today if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) else v
            for k, v in answer.items()}


def _deliver_waiting(env: Env, driver: Driver, run: CaseRun, unit_id: int, clock: ManualClock) -> int:
    """Register one message the case waits for, as a holder of the message's role, with a
    payload filled from the message's form (dates today, text for text)."""
    names = [n for n in waiting_messages(env, run.instance_id) if n in run.config.message_roles]
    for name in names[:1]:
        role = run.config.message_roles[name]
        actors = driver.holders.get((role, unit_id)) or [a for (r, _u), acts in driver.holders.items()
                                                        if r == role for a in acts]
        payload = _payload(load_form(run.config.forms_dir, f"message_{name}") or {}, clock)
        for actor in actors[:3]:
            try:
                deliver_message(env, run.instance_id, name, payload, actor)
            except EngineError:
                continue
            run.seen[name] = run.seen.get(name, 0) + 1
            return 1
    return 0


def _payload(schema: dict[str, Any], clock: ManualClock) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field_name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type")
        if spec.get("enum"):
            out[field_name] = spec["enum"][0]
        elif kind == "string":
            out[field_name] = to_local_date(clock.now()).isoformat() if spec.get("format") == "date" else "演练答复"
        elif kind == "boolean":
            out[field_name] = True
        elif kind in ("integer", "number"):
            out[field_name] = max(1, int(spec.get("minimum", 1)))
    return out


def _fire_next_timer(env: Env, clock: ManualClock, ids: set[int]) -> int:
    """Move the clock to the next timer of one of `ids` and fire what is due (for every case)."""
    if not ids:
        return 0
    with env.db.read() as s:
        due = s.scalar(select(ProcessInstance.next_timer_at)
                       .where(ProcessInstance.status == InstanceStatus.running,
                              ProcessInstance.id.in_(ids), ProcessInstance.next_timer_at.is_not(None))
                       .order_by(ProcessInstance.next_timer_at).limit(1))
    if due is None:
        return 0
    clock.set(max(clock.now(), due + timedelta(seconds=1)))
    return run_due_timers(env)
