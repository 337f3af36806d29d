"""The worker heartbeat: each running `rongflow worker` keeps one row up to date, so /readyz and
the worker-lag metric can tell whether timers are being fired."""
from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import func, select

from engine.env import Env
from engine.models import WorkerHeartbeat


def worker_name() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def beat(env: Env, name: str, handled: int = 0, *, stopped: bool = False) -> None:
    """Record that worker `name` is alive now (and how many cases it handled since the last beat);
    `stopped` marks a graceful stop. One short write transaction."""
    now = env.clock.now()
    with env.db.write() as session:
        row = session.get(WorkerHeartbeat, name)
        if row is None:
            host, _, pid = name.rpartition(":")
            row = WorkerHeartbeat(name=name, host=host or name, pid=int(pid) if pid.isdigit() else 0,
                                  started_at=now, beat_at=now, cases_handled=0)
            session.add(row)
        row.beat_at = now
        row.cases_handled = (row.cases_handled or 0) + handled
        row.stopped_at = now if stopped else None


def last_beat(env: Env) -> datetime | None:
    """The newest heartbeat of a worker that has not stopped, if any."""
    with env.db.read() as session:
        newest: datetime | None = session.scalar(
            select(func.max(WorkerHeartbeat.beat_at)).where(WorkerHeartbeat.stopped_at.is_(None)))
    return newest
