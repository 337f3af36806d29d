"""The timer worker: fire due timers and run the engine on, one transaction per case.

Several workers may run at once: on PostgreSQL each picks a due case with
SELECT … FOR UPDATE SKIP LOCKED, so no timer fires twice; on SQLite writers are serialised.
"""
from __future__ import annotations

import logging
import threading
from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import faststep
from engine.env import Env
from engine.faults import StepFailure
from engine.integrity.service import checkpoint_when_due
from engine.models import InstanceStatus, ProcessInstance
from engine.notify.senders import deliver_pending
from engine.ops.heartbeat import beat, worker_name
from engine.ops.logs import logged_command
from engine.stepguard import run_step
from engine.stepper import lock_case, mark_error
from engine.verbs.timeouts import run_due_policies

log = logging.getLogger(__name__)


def _pick_due(env: Env, session: Session) -> int | None:
    stmt = (select(ProcessInstance.id)
            .where(ProcessInstance.status == InstanceStatus.running,
                   ProcessInstance.next_timer_at <= env.clock.now())
            .order_by(ProcessInstance.next_timer_at).limit(1))
    if not env.db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


@logged_command(returns_case=True)
def fire_due_timer(env: Env) -> int | None:
    """Handle one due case, if any; returns its id. One transaction."""
    try:
        return _fire(env, fast=True)
    except faststep.SavepointNeeded:  # the step does SQL inside, or the case must be parked
        return _fire(env, fast=False)


def _fire(env: Env, *, fast: bool) -> int | None:
    """Fast: no savepoints, the step rolls back in Python (engine.faststep); anything else runs
    again with them, so that a case that cannot be run is parked in its own savepoint."""
    with env.db.write() as session:
        instance_id = _pick_due(env, session)
        if instance_id is None:
            return None
        session.info[faststep.FAST] = fast
        try:
            with nullcontext() if fast else session.begin_nested():
                case = lock_case(env, session, instance_id)
                run_step(env, case, env.clock.now())  # records each fired timer; a failure: case in error
        except SQLAlchemyError:
            raise  # the database, not the case: the next poll tries again
        except Exception as exc:  # noqa: BLE001 - the case cannot even be loaded: park it, move on
            if fast:
                raise faststep.SavepointNeeded() from exc
            _park(env, session, instance_id, exc)
        return instance_id


def _park(env: Env, session: Session, instance_id: int, exc: Exception) -> None:
    """Put a case that cannot be loaded or saved (e.g. its process package is gone) in error, so
    that it is not picked again and again ahead of every other due case."""
    log.exception("case %s cannot be run; set to error", instance_id)
    instance = session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is not None:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        mark_error(session, instance, StepFailure(message, None, None, None, None, rolled_back=True),
                   env.clock.now())
        instance.next_timer_at = None


def run_due_timers(env: Env, limit: int = 1000) -> int:
    """Fire every due timer (up to `limit` cases); returns how many cases were handled."""
    handled = 0
    while handled < limit and fire_due_timer(env) is not None:
        handled += 1
    return handled


def run_forever(env: Env, poll_seconds: float, batch: int, stop: threading.Event | None = None,
                name: str | None = None) -> int:
    """The long-running loop behind `rongflow worker`: each poll writes the heartbeat, then fires
    up to `batch` due cases, one transaction each. Setting `stop` (the worker's SIGTERM) ends the
    loop between two cases: the case in hand commits, no new one is taken. Returns cases handled."""
    stop = stop or threading.Event()
    name = name or worker_name()
    total = 0
    while not stop.is_set():
        handled = _poll(env, name, batch, stop)
        total += handled
        checkpoint_when_due(env)  # sign the chain heads outside the database (daily by default)
        if handled < batch:
            stop.wait(poll_seconds)
    _beat(env, name, 0, stopped=True)
    log.info("worker %s stopped after %d case(s)", name, total)
    return total


def _poll(env: Env, name: str, batch: int, stop: threading.Event) -> int:
    _beat(env, name, 0)
    handled = 0
    try:
        while handled < batch and not stop.is_set() and fire_due_timer(env) is not None:
            handled += 1
    except Exception:  # keep the worker alive; the failed case rolled back whole
        log.exception("timer run failed")
    try:  # the steps' timeout policies (remind, escalate, auto-act), each fired once
        handled += run_due_policies(env)
    except Exception:  # noqa: BLE001 - as above: that task's transaction rolled back
        log.exception("timeout policies failed")
    try:  # the message centre's outbox: new messages to the SMS / e-mail senders
        deliver_pending(env)
    except Exception:  # noqa: BLE001 - the claim rolled back; the next poll takes them again
        log.exception("message delivery failed")
    if handled:
        log.info("fired timers on %d case(s)", handled)
        _beat(env, name, handled)
    return handled


def _beat(env: Env, name: str, handled: int, *, stopped: bool = False) -> None:
    try:
        beat(env, name, handled, stopped=stopped)
    except Exception:  # the database may be away for a moment; the next poll tries again
        log.exception("worker heartbeat failed")
