"""The timer worker: fire due timers and run the engine on, one transaction per case.

Several workers may run at once: on PostgreSQL each picks a due case with
SELECT … FOR UPDATE SKIP LOCKED, so no timer fires twice; on SQLite writers are serialised.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.env import Env
from engine.history import append_event
from engine.models import InstanceStatus, ProcessInstance
from engine.stepper import lock_case, record_error, run_engine, save_case, timer_values

log = logging.getLogger(__name__)


def _pick_due(env: Env, session: Session) -> int | None:
    stmt = (select(ProcessInstance.id)
            .where(ProcessInstance.status == InstanceStatus.running,
                   ProcessInstance.next_timer_at <= env.clock.now())
            .order_by(ProcessInstance.next_timer_at).limit(1))
    if not env.db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def fire_due_timer(env: Env) -> int | None:
    """Handle one due case, if any; returns its id. One transaction."""
    with env.db.write() as session:
        instance_id = _pick_due(env, session)
        if instance_id is None:
            return None
        case = lock_case(env, session, instance_id)
        now = env.clock.now()
        waiting = {t.id: (t, due) for t, due in timer_values(case.workflow)}
        error = run_engine(case)
        for task_id, (t, due) in waiting.items():
            if t.state != TaskState.WAITING:
                append_event(session, case.instance, at=now, action="timer",
                             step_id=t.task_spec.bpmn_id, step_name=t.task_spec.bpmn_name,
                             data={"due": due})
        if error is not None:
            record_error(case, error, now)
        save_case(env, case, now)
        return instance_id


def run_due_timers(env: Env, limit: int = 1000) -> int:
    """Fire every due timer (up to `limit` cases); returns how many cases were handled."""
    handled = 0
    while handled < limit and fire_due_timer(env) is not None:
        handled += 1
    return handled


def run_forever(env: Env, poll_seconds: float, batch: int,
                should_stop: Callable[[], bool] = lambda: False) -> None:
    """The long-running loop behind `flask worker`."""
    while not should_stop():
        try:
            n = run_due_timers(env, batch)
            if n:
                log.info("fired timers on %d case(s)", n)
        except Exception:  # keep the worker alive; the failed case rolled back whole
            log.exception("timer run failed")
            n = 0
        if n < batch:
            time.sleep(poll_seconds)
