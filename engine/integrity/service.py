"""The integrity commands behind `flask audit`: verify everything, write checkpoints.

Each reads one consistent snapshot of the database (REPEATABLE READ on PostgreSQL; a SQLite read
transaction is one already), so cases changing meanwhile never look broken.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from engine.env import Env
from engine.integrity import checkpoint as cp
from engine.integrity.verify import Report, verify_database

log = logging.getLogger(__name__)


class IntegrityBroken(Exception):
    """The database fails verification, so no checkpoint is signed over it."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"{len(report.problems)} integrity problem(s); no checkpoint written")
        self.report = report


@dataclass(frozen=True)
class Verified:
    report: Report
    checkpoint_path: Path | None    # the checkpoint compared against, if any


@contextmanager
def snapshot(env: Env) -> Iterator[Session]:
    with env.db.read() as session:
        if not env.db.is_sqlite:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def verify(env: Env, directory: Path | None, path: Path | None = None) -> Verified:
    """Verify every chain against the given checkpoint, else the newest in `directory`.

    Raises CheckpointInvalid for a checkpoint file that is unreadable, forged or altered."""
    path = path or (cp.latest_path(directory) if directory else None)
    checkpoint = cp.load(path, env.db.keyring) if path else None
    with snapshot(env) as session:
        return Verified(verify_database(session, checkpoint), path)


def write_checkpoint(env: Env, directory: Path, export: Path | None = None) -> Path:
    """Verify (against the newest checkpoint), then sign the current heads into `directory`
    and, if given, `export` (a copy for an auditor to keep). IntegrityBroken if anything fails."""
    newest = cp.latest_path(directory)
    previous = cp.load(newest, env.db.keyring) if newest else None
    with snapshot(env) as session:
        report = verify_database(session, previous)
        if not report.ok:
            raise IntegrityBroken(report)
        taken = cp.take_checkpoint(session, env.clock.now(), previous)
    path = cp.save(directory, taken, env.db.keyring)
    if export is not None:
        cp.write_file(export, path.read_text(encoding="utf-8"))
    return path


def checkpoint_if_due(env: Env, directory: Path, every: timedelta) -> Path | None:
    """Write a checkpoint when the newest one is `every` old (or none exists); for the worker."""
    newest = cp.latest_path(directory)
    if newest is not None:
        taken = cp.load(newest, env.db.keyring).created_at
        if env.clock.now() - taken < every:
            return None
    return write_checkpoint(env, directory)


_attempted: dict[str, datetime] = {}


def checkpoint_when_due(env: Env) -> Path | None:
    """The worker's periodic checkpoint: when `env.checkpoint_every` has passed since the newest
    checkpoint (and since the last attempt), write one. Never raises: a broken database or an
    unreadable checkpoint is logged as an error and tried again an interval later."""
    if env.checkpoint_dir is None or env.checkpoint_every is None:
        return None
    now, key = env.clock.now(), str(env.checkpoint_dir)
    if key in _attempted and now - _attempted[key] < env.checkpoint_every:
        return None
    _attempted[key] = now
    try:
        return checkpoint_if_due(env, env.checkpoint_dir, env.checkpoint_every)
    except IntegrityBroken as exc:
        log.error("history integrity check failed, no checkpoint written: %s",
                  "; ".join(p.line() for p in exc.report.problems[:20]))
    except cp.CheckpointInvalid as exc:
        log.error("newest checkpoint in %s is invalid: %s", env.checkpoint_dir, exc.message)
    except Exception:  # keep the worker alive; the next interval tries again
        log.exception("writing a checkpoint failed")
    return None
