"""A command that reads its case without the row lock, on PostgreSQL (engine.commands.run_tx).

On PostgreSQL a command locks its case row (SELECT … FOR UPDATE) and then reads the case's rows:
two round trips before any work, the read only after the lock. A submit instead reads the case
and its rows in one statement without the lock, and its first write is the case row's UPDATE at
the version it read (engine.fastflush). A case changed meanwhile by another command matches no
row: the command then runs again from the start, this time with the lock. Once that UPDATE has
matched, the transaction holds the case's row lock as if it had taken it first, and everything it
read before was still current (every command on a case moves the case's version on).

Nothing may be written, and no other row locked, before that UPDATE: a write first would not be
checked, and a lock taken out of the usual order (the case row first) could deadlock with a
command that took the case's lock. So while a session is optimistic, a write, a flush by the ORM
or a SELECT … FOR UPDATE raises `LockNeeded`, and the command runs again with the lock. SQLite
never needs this: its BEGIN IMMEDIATE holds the whole database for the transaction.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

KEY = "rongflow_optimistic"  # session.info: the case was read without its row lock


class LockNeeded(BaseException):  # noqa: N818 - a signal, not an error; BaseException so no hook
    """The command must lock its case before this: run it again with the lock."""  # swallows it


def begin(session: Session) -> None:
    """Read the case without its lock in this transaction (engine.commands.load_task_case)."""
    _listen()
    session.info[KEY] = True


def active(session: Session) -> bool:
    return bool(session.info.get(KEY))


def validated(session: Session) -> None:
    """The case row's UPDATE matched the version read: the transaction holds the lock now."""
    session.info.pop(KEY, None)


def _before_flush(session: Session, ctx: Any, _objects: Any) -> None:
    # engine.fastflush dispatches before_flush without a flush context; the ORM's own flush has one
    if ctx is not None and session.info.get(KEY):
        raise LockNeeded()


def _on_execute(state: ORMExecuteState) -> None:
    if not state.session.info.get(KEY):
        return
    if not state.is_select or getattr(state.statement, "_for_update_arg", None) is not None:
        raise LockNeeded()


def _listen() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
