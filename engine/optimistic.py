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

Since nothing but reads comes before that UPDATE, the transaction need not start before it
either (`defer_begin`): psycopg would send its BEGIN alone and wait for the answer, one more round
trip. The connection reads in autocommit mode (each read its own snapshot, as each statement of a
READ COMMITTED transaction is), and the `BEGIN` goes at the head of the first pipeline of writes
(engine.fastflush), so the UPDATE and everything after it are one transaction. A statement other
than a SELECT on such a connection before that BEGIN raises `UnsafeWrite` before it is sent (it
would commit on its own): the command runs again, locked, in an ordinary transaction. The
connection leaves autocommit mode when it goes back to the pool (engine.db).
"""
from __future__ import annotations

import re
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, event
from sqlalchemy.orm import ORMExecuteState, Session

KEY = "rongflow_optimistic"  # session.info: the case was read without its row lock
# the pool entry's info: the connection is in autocommit mode for a deferred BEGIN (BEGIN_PENDING
# until the BEGIN is sent; AUTOCOMMIT until the connection is back in the pool)
BEGIN_PENDING = "rongflow_begin_pending"
AUTOCOMMIT = "rongflow_autocommit"


class LockNeeded(BaseException):  # noqa: N818 - a signal, not an error; BaseException so no hook
    """The command must lock its case before this: run it again with the lock."""  # swallows it


def begin(session: Session) -> None:
    """Read the case without its lock in this transaction (engine.commands.load_task_case)."""
    _listen()
    session.info[KEY] = True


def defer_begin(session: Session) -> None:
    """PostgreSQL: no BEGIN before the first write (see above). Nothing if the connection's driver
    has a transaction open already."""
    conn = session.connection()
    entry = conn.connection
    driver = entry.driver_connection
    if driver.info.transaction_status != TransactionStatus.IDLE or driver.autocommit:
        return
    driver.autocommit = True
    entry.info[AUTOCOMMIT] = entry.info[BEGIN_PENDING] = True


def begin_now(conn: Connection) -> bool:
    """Whether this connection's first write must send the deferred BEGIN (once: the flag goes)."""
    if not conn.connection.info.pop(BEGIN_PENDING, False):
        return False
    driver = conn.connection.driver_connection
    if not driver.autocommit or driver.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("a deferred BEGIN on a connection already in a transaction")
    return True


def end_autocommit(dbapi_conn: Any, entry: Any, *_proxy: Any) -> None:
    """The pool's check-in and check-out (engine.db): a connection left in autocommit mode by
    `defer_begin` leaves it (the transaction is over: committed or rolled back)."""
    entry.info.pop(BEGIN_PENDING, None)
    if entry.info.pop(AUTOCOMMIT, False) and dbapi_conn.autocommit:
        dbapi_conn.autocommit = False


def refuse_unsafe_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    """The engine's before_cursor_execute (PostgreSQL): before the deferred BEGIN, only a SELECT
    may run; anything else would commit on its own."""
    if conn.connection.info.get(BEGIN_PENDING) and not _is_select(statement):
        word = statement.split(None, 1)[0] if statement.strip() else repr(statement)
        raise UnsafeWrite(f"{word} before the transaction's deferred BEGIN")


class UnsafeWrite(Exception):
    """A statement other than a SELECT before the deferred BEGIN: run again, locked."""


_SELECT = re.compile(r"\s*SELECT\s", re.IGNORECASE)


def _is_select(statement: str) -> bool:
    """A SELECT writes nothing (a locking one, which `_on_execute` refuses while unlocked, locks
    only for its own statement in autocommit mode: nothing to commit on its own either)."""
    return _SELECT.match(statement) is not None


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
