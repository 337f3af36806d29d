"""The timer worker: fire due timers and run the engine on, a batch of cases per transaction.

Several workers may run at once: on PostgreSQL each locks its batch of due cases with
SELECT … FOR UPDATE SKIP LOCKED, so no timer fires twice; on SQLite writers are serialised.
Each case's state, task rows and history are written together, in its batch's one commit.

A batch runs its steps without savepoints (engine.faststep): a step that fails puts its own case
in error (engine.stepguard) and the others fire. A case that cannot run so (it cannot be loaded,
or its step needs SQL inside) rolls the whole batch back, and the batch runs again with each case
in its own SAVEPOINT, where a case that cannot be run is parked alone.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import faststep
from engine.commands import case_of
from engine.env import Env
from engine.faults import StepFailure
from engine.integrity.service import checkpoint_when_due
from engine.models import HumanTask, InstanceStatus, ProcessInstance
from engine.notify.senders import deliver_pending
from engine.ops.heartbeat import beat, worker_name
from engine.ops.logs import logged_command
from engine.orgs import SessionOrgLookup
from engine.stepguard import run_step
from engine.stepper import OPEN_STATUSES, mark_error
from engine.verbs.timeouts import run_due_policies

log = logging.getLogger(__name__)

# Cases per transaction at most. A batch holds its cases' row locks (SQLite: the write lock)
# until its commit, so it stays short; and each step's rollback snapshot (engine.faststep) copies
# every object of the session, so a step costs more the later it comes in its batch: past about
# 25 cases that outweighs the commits saved (bench/bench_scale.py).
BATCH = 25


class _RunWithSavepoints(Exception):  # noqa: N818 - a signal: roll the batch back, run it again
    def __init__(self, instance_ids: list[int]) -> None:
        super().__init__(instance_ids)
        self.instance_ids = instance_ids


def fire_due_timers(env: Env, size: int = BATCH, stop: threading.Event | None = None) -> list[int]:
    """Fire the due timers of up to `size` cases in one transaction; returns the cases handled
    (a case that could not be run is parked: it is handled too). Once `stop` is set, no further
    case is taken: those handled so far commit."""
    try:
        return _run_batch(env, size, stop, fast=True)
    except _RunWithSavepoints as again:
        return _run_batch(env, size, stop, fast=False, only=again.instance_ids)


def _run_batch(env: Env, size: int, stop: threading.Event | None, *, fast: bool,
               only: list[int] | None = None) -> list[int]:
    handled: list[int] = []
    with env.db.write() as session:
        session.info[faststep.FAST] = fast
        instances = _lock_due(env, session, size, only)
        open_rows = _open_rows(session, [i.id for i in instances])
        orgs = SessionOrgLookup(session)
        for instance in instances:
            if stop is not None and stop.is_set():
                break
            if fire_due_timer(env, session, instance, open_rows[instance.id], orgs, fast=fast) is None:
                raise _RunWithSavepoints([i.id for i in instances])  # rolls back what this batch did
            handled.append(instance.id)
    return handled


def _lock_due(env: Env, session: Session, size: int, only: list[int] | None) -> list[ProcessInstance]:
    """The first `size` due cases (of `only`, when given), locked; those another worker holds
    are skipped (PostgreSQL), and a case another worker fired meanwhile is no longer due.

    The lock takes ids only: when the planner misjudges how many cases are due (statistics not
    yet updated after many became due at once), it sorts narrow rows, not every due case's
    state. The rows are then read by id in a second statement, which sees them as locked."""
    due = (select(ProcessInstance.id)
           .where(ProcessInstance.status == InstanceStatus.running,
                  ProcessInstance.next_timer_at <= env.clock.now())
           .order_by(ProcessInstance.next_timer_at).limit(size))
    if only is not None:
        due = due.where(ProcessInstance.id.in_(only))
    if not env.db.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return []
    return list(session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))
                                .order_by(ProcessInstance.next_timer_at)))


def _open_rows(session: Session, instance_ids: list[int]) -> dict[int, list[HumanTask]]:
    """The open task rows of the batch's cases, in one statement (the step's task mirror)."""
    rows: dict[int, list[HumanTask]] = {i: [] for i in instance_ids}
    if instance_ids:
        for row in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                                           HumanTask.status.in_(OPEN_STATUSES))):
            rows[row.instance_id].append(row)
    return rows


@logged_command(returns_case=True)
def fire_due_timer(env: Env, session: Session, instance: ProcessInstance, open_rows: list[HumanTask],
                   orgs: SessionOrgLookup, *, fast: bool) -> int | None:
    """Fire the due timers of one locked case and run it on, in its batch's transaction (one log
    line per case; a batch run again with savepoints logs its cases again). Returns its id;
    None (not logged) when the batch must run with savepoints."""
    try:
        with nullcontext() if fast else session.begin_nested():
            case = case_of(env, session, instance, orgs, list(open_rows))
            run_step(env, case, env.clock.now())  # records each fired timer; a failure: case in error
    except SQLAlchemyError:
        raise  # the database, not the case: the batch rolls back, the next poll tries again
    except faststep.SavepointNeeded:  # the step does SQL inside
        return None
    except Exception as exc:  # noqa: BLE001 - the case cannot even be loaded: park it, move on
        if fast:
            return None
        _park(env, session, instance.id, exc)
    return instance.id


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


def run_due_timers(env: Env, limit: int = 1000, stop: threading.Event | None = None) -> int:
    """Fire every due timer (up to `limit` cases), batch after batch; returns how many cases were
    handled."""
    return sum(_batches(env, limit, stop))


def _batches(env: Env, limit: int, stop: threading.Event | None) -> Iterator[int]:
    """Run batches until no case is due (or `limit` cases, or `stop`); yields each one's count.
    Batches start at one case and double up to BATCH while cases remain due, so a poll that
    finds a few due cases holds few locks, and a backlog is worked off in full batches."""
    handled, size = 0, 1
    while handled < limit and not (stop is not None and stop.is_set()):
        fired = len(fire_due_timers(env, min(size, limit - handled), stop))
        if not fired:
            return
        handled += fired
        size = min(size * 2, BATCH)
        yield fired


def run_forever(env: Env, poll_seconds: float, batch: int, stop: threading.Event | None = None,
                name: str | None = None) -> int:
    """The long-running loop behind `rongflow worker`: each poll writes the heartbeat, then fires
    up to `batch` due cases (in transactions of up to BATCH cases). Setting `stop` (the worker's
    SIGTERM) ends the loop between two cases: the cases in hand commit, no new one is taken.
    Returns cases handled."""
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
        for fired in _batches(env, batch, stop):
            handled += fired
    except Exception:  # keep the worker alive; the failed batch rolled back whole
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
