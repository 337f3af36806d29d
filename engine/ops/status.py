"""Readiness and the engine's gauges, read from the database (for /readyz and /metrics).

Nothing here returns case data: only counts, ages and the schema revision.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from engine.env import Env
from engine.lapses import deployed_window_steps, overdue as late
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.ops.heartbeat import last_beat
from engine.schema import alembic_config

OPEN = (TaskStatus.open, TaskStatus.claimed)


@functools.cache
def head_revision() -> str | None:
    """The newest migration of this code (read once: the files do not change while running)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(env: Env) -> str | None:
    with env.db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]   # check name -> "ok" or a short English reason

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


def readiness(env: Env, max_heartbeat_age: timedelta) -> Readiness:
    """Database reachable, schema at the newest revision, a worker heartbeat recent enough."""
    checks: dict[str, str] = {}
    try:
        with env.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        return Readiness({"database": f"unreachable ({type(exc).__name__})", "migrations": "unknown",
                          "worker": "unknown"})
    checks["database"] = "ok"
    current, head = current_revision(env), head_revision()
    checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
    if current != head:
        checks["worker"] = "unknown"
        return Readiness(checks)
    beat = last_beat(env)
    if beat is None:
        checks["worker"] = "no worker heartbeat"
    elif env.clock.now() - beat > max_heartbeat_age:
        checks["worker"] = f"last heartbeat {int((env.clock.now() - beat).total_seconds())} s ago"
    else:
        checks["worker"] = "ok"
    return Readiness(checks)


@dataclass(frozen=True)
class Gauges:
    open_tasks: int
    overdue_tasks: int
    due_timers: int            # cases whose next timer is due and not yet fired
    cases_in_error: int
    worker_lag_seconds: float  # how long the oldest due timer has waited (0 when none)
    heartbeat_age_seconds: float | None


def gauges(env: Env) -> Gauges:
    now = env.clock.now()
    with env.db.read() as s:
        open_tasks = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status.in_(OPEN)))
        overdue = s.scalar(select(func.count()).select_from(HumanTask)  # option windows are no one's delay
                           .where(HumanTask.status.in_(OPEN), late(deployed_window_steps(env, s), now)))
        due_filter = (ProcessInstance.status == InstanceStatus.running, ProcessInstance.next_timer_at <= now)
        due = s.scalar(select(func.count()).select_from(ProcessInstance).where(*due_filter))
        oldest: datetime | None = s.scalar(select(func.min(ProcessInstance.next_timer_at)).where(*due_filter))
        errors = s.scalar(select(func.count()).select_from(ProcessInstance)
                          .where(ProcessInstance.status == InstanceStatus.error))
    beat = last_beat(env)
    return Gauges(int(open_tasks or 0), int(overdue or 0), int(due or 0), int(errors or 0),
                  max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                  (now - beat).total_seconds() if beat else None)
