"""The end of a step written with statements compiled once, instead of the ORM's unit of work.

A step leaves the same few changes nearly every time: the case row updated (state, chain head,
version), a task row or two updated, new task rows and history events inserted. The ORM's flush
of those four rows cost more Python than everything else a submit does in SQLAlchemy (issue 12:
it sorts dependencies, collects history per attribute and builds each statement per flush).
`flush` writes exactly the same rows: one Core statement per table (and set of changed columns),
compiled by SQLAlchemy once, its values bound by SQLAlchemy's own type processors, sent on the
transaction's driver connection and seen by the engine's statement events as any other. On
SQLite they run one by one; on PostgreSQL they go together in one psycopg pipeline, a single
round trip. It checks the case's version the way the ORM does (a concurrent writer is a
StaleDataError, hence a Conflict), raises a refused row as SQLAlchemy raises it, then marks the
objects persistent and clean as a flush would, and fires `before_flush` and `after_flush`
(without a flush context: their listeners here, engine.faststep and engine.notify.centre, take
none) so that the new tasks' messages are written as after a flush. Marking the objects clean is
the ORM's own last step of a flush, `Session._register_persistent` (so a rollback afterwards
also undoes them as the ORM's would); SQLAlchemy is pinned (pyproject.toml) and
tests/integration/test_fastflush.py checks the result column by column.

Anything else pending (another kind of object, a delete, a column without a value or with a
server default, a key or version set by hand) goes through `Session.flush` unchanged: this is a
faster flush for the common shape, never a second way of writing a case.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, inspect, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError

from engine import optimistic
from engine.models import HistoryEvent, HumanTask, ProcessInstance

_INSERTED = (HumanTask, HistoryEvent)            # may be new
_UPDATED = (HumanTask, ProcessInstance)          # may be changed
_VERSION = ProcessInstance.__mapper__.version_id_col


# The statements, built once per table (and set of changed columns): their construction costs
# more than their run.

@cache
def insert_statement(table: Table) -> Any:
    """One row, every column but the id, which comes back."""
    return insert(table).returning(table.c.id)


@cache
def update_statement(table: Table, keys: frozenset[str]) -> Any:
    """The changed columns of one row by its id (the case row: and its version, moved on)."""
    where = table.c.id == bindparam("_id", type_=table.c.id.type)
    values = {k: bindparam(k, type_=table.c[k].type) for k in keys}
    if table is _VERSION.table:
        where = and_(where, _VERSION == bindparam("_version", type_=_VERSION.type))
        values[_VERSION.key] = bindparam("_next_version", type_=_VERSION.type)
    return update(table).where(where).values(values)


def flush(session: Session) -> None:
    """Write what is pending, as `session.flush()` would."""
    if not (session.new or session.dirty or session.deleted):
        return
    session.dispatch.before_flush(session, None, None)  # as a flush would (listeners may add)
    new, dirty = list(session.new), list(session.dirty)
    rows = _insert_values(new)
    changes = [_changes(o) for o in dirty]
    if rows is None or session.deleted or any(c is None for c in changes):
        session.flush()
        return
    writes = [_update(obj, keys) for obj, keys in zip(dirty, changes) if keys]
    unlocked = optimistic.active(session)
    if unlocked:  # the case row's UPDATE first: it checks the version read and takes the row lock
        writes.sort(key=lambda w: not isinstance(w.changed, ProcessInstance))
        if not writes or not isinstance(writes[0].changed, ProcessInstance):
            raise optimistic.LockNeeded()  # nothing would check what was read without the lock
    for table in dict.fromkeys(obj.__table__ for obj, _values in rows):  # a table's rows together
        writes += [_Write(insert_statement(table), values, new_row=obj) for obj, values in rows
                   if obj.__table__ is table]
    writes += session.info.pop(STEP_WRITES, [])
    conn = session.connection()
    results = _pipelined(conn, writes) if conn.dialect.name == "postgresql" else _one_by_one(conn, writes)
    if unlocked:
        optimistic.validated(session)
    for write, new_id in zip(writes, results, strict=True):
        if write.new_row is not None:
            write.new_row.id = new_id
    session.dispatch.after_flush(session, None)  # listeners see the new objects still pending
    # persistent and clean, keyed by their ids, recorded in the transaction: the ORM's own last
    # step of a flush (its rollback then expunges the new rows and expires the changed ones)
    session._register_persistent({inspect(o) for o in [*dirty, *new]})


@dataclass
class _Write:
    """One statement, one row: the UPDATE of a changed object or the INSERT of a new one."""
    statement: Any
    values: dict[str, Any]
    new_row: Any = None
    changed: Any = None

    def bound(self, conn: Connection) -> tuple[str, Any]:
        """Its SQL and its values as the driver takes them."""
        sql, bind = _compiled(self.statement, conn.dialect, frozenset(self.values))
        return sql, bind(self.values)


# session.info: writes kept for the step's own (`with_step_writes`)
STEP_WRITES = "rongflow_step_writes"


def with_step_writes(session: Session, statement: Any, values: dict[str, Any]) -> None:
    """One more write without RETURNING, sent by the next `flush` after the step's own (a task's
    drafts deleted while the case is read without its lock, engine.optimistic: a write before the
    case row's would need the lock). The object changes that go with it make that flush happen;
    if it falls to the ORM's flush, the command runs again with the lock and this is dropped with
    the session."""
    session.info.setdefault(STEP_WRITES, []).append(_Write(statement, values))


# Connection.info: writes of this transaction to be sent with its COMMIT (PostgreSQL; `at_commit`)
AT_COMMIT = "rongflow_at_commit"


def at_commit(conn: Connection, statement: Any, values: dict[str, Any]) -> None:
    """One more write of the transaction without RETURNING (engine.notify.centre's messages of a
    new task, at commit), compiled once, seen by the statement events, a refusal raised as
    SQLAlchemy raises it. On PostgreSQL it waits for the COMMIT and goes with it in one pipeline,
    one round trip for both (`commit_with_writes`); on SQLite, with no round trips to save, now."""
    if conn.dialect.name != "postgresql":
        _send(conn, _Write(statement, values), fetch=False)
        return
    conn.info.setdefault(AT_COMMIT, []).append(_Write(statement, values))


def commit_with_writes(conn: Connection) -> None:
    """The engine's `commit` event on PostgreSQL: the writes kept for the COMMIT, then the COMMIT
    itself, in one psycopg pipeline. The driver's own commit that follows finds the transaction
    over and sends nothing. A refused write is raised as SQLAlchemy raises it; the COMMIT after it
    is then skipped by the server (the pipeline is aborted) and the transaction rolled back."""
    writes = conn.info.pop(AT_COMMIT, None)
    if not writes:
        return
    _pipelined(conn, writes, commit=True)


def drop_writes(conn: Connection) -> None:
    """The engine's `rollback` event: writes kept for a COMMIT that will not come are dropped (an
    invalidated connection's are dropped with its pool record's info when it reconnects)."""
    if not conn.invalidated:
        conn.info.pop(AT_COMMIT, None)


def _send(conn: Connection, w: _Write, fetch: bool) -> Any:
    """One statement on the driver's connection: its first column (fetch) or its row count."""
    sql, params = w.bound(conn)
    cursor = conn.connection.driver_connection.cursor()
    conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
    try:
        cursor.execute(sql, params)
        result = cursor.fetchone()[0] if fetch else cursor.rowcount
    except conn.dialect.loaded_dbapi.Error as exc:
        conn._handle_dbapi_exception(exc, sql, params, cursor, None)
        raise  # not reached: the line above raises SQLAlchemy's error for it
    finally:
        cursor.close()
    conn.dispatch.after_cursor_execute(conn, cursor, sql, params, None, False)
    return result


def _one_by_one(conn: Connection, writes: list[_Write]) -> list[int | None]:
    """SQLite: each statement in turn on the driver's connection (a stale case row: nothing
    more is sent); each new row's id (None for an UPDATE)."""
    out: list[int | None] = []
    for w in writes:
        result = _send(conn, w, fetch=w.new_row is not None)
        if w.new_row is None:
            _check_matched(w, result)
        out.append(result if w.new_row is not None else None)
    return out


def _pipelined(conn: Connection, writes: list[_Write], commit: bool = False) -> list[int | None]:
    """PostgreSQL: the statements sent together in a psycopg pipeline, their results read
    after the last (one round trip instead of one per statement; they run in order, in the
    transaction). A new row is an INSERT of its own (a batch would wait for its RETURNING).
    Each is compiled by SQLAlchemy once, its values bound by SQLAlchemy's own processors, and
    seen by the engine's statement events as if sent alone. An error comes back as SQLAlchemy
    raises it, a stale case row first (whatever failed after it then is moot)."""
    driver = conn.connection.driver_connection
    sent: list[tuple[_Write | None, Any, str, Any]] = []
    sending = None  # the statement being sent: the driver may refuse its values before sending
    try:
        with driver.pipeline():
            if optimistic.begin_now(conn):  # the transaction starts here (engine.optimistic)
                driver.cursor().execute("BEGIN")
            for w in writes:
                sql, params = w.bound(conn)
                cursor = driver.cursor()
                conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
                sending = (w, cursor, sql, params)
                cursor.execute(sql, params)
                sent.append(sending)
            sending = None
            if commit:  # after the last write, in the same round trip (the commit event counts it)
                cursor = driver.cursor()
                sending = (None, cursor, "COMMIT", None)
                cursor.execute("COMMIT")
                sent.append(sending)
                sending = None
    except conn.dialect.loaded_dbapi.Error as exc:
        for w, cursor, _sql, _params in sent:
            if w is not None and w.changed is not None and cursor.pgresult is not None and cursor.rowcount == 0:
                _check_matched(w, 0)  # the stale case row, whatever failed after it
        # the failed statement: the one being sent if the driver refused its values (no SQLSTATE:
        # never sent), else the first whose result did not come (the server's answer to an
        # earlier one may arrive while a later one is being sent)
        failed = sending if exc.sqlstate is None and sending is not None \
            else next(s for s in [*sent, sending] if s is not None and s[1].pgresult is None)
        conn._handle_dbapi_exception(exc, failed[2], failed[3], failed[1], None)
        raise  # not reached: the line above raises SQLAlchemy's error for it
    out: list[int | None] = []
    for w, cursor, sql, params in sent:
        if w is None:
            continue  # the COMMIT
        conn.dispatch.after_cursor_execute(conn, cursor, sql, params, None, False)
        if w.changed is not None:
            _check_matched(w, cursor.rowcount)
        out.append(cursor.fetchone()[0] if w.new_row is not None else None)
    return out


@cache
def _compiled(statement: Any, dialect: Any, keys: frozenset[str]) -> tuple[str, Any]:
    """A statement compiled for these values, and how it binds them: SQLAlchemy's processors,
    in its order where the driver takes positions (SQLite)."""
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
    processors = compiled._bind_processors
    order = compiled.positiontup

    def bind(values: dict[str, Any]) -> Any:
        params = {k: processors[k](v) if k in processors else v
                  for k, v in compiled.construct_params(values).items()}
        return tuple(params[k] for k in order) if order is not None else params
    return compiled.string, bind


def _insert_values(new: list[Any]) -> list[tuple[Any, dict[str, Any]]] | None:
    """Each new object with the values of its row (column defaults applied, as the ORM would,
    and set on the object); None when one is of another kind or a column has no value."""
    out = []
    for obj in new:
        if not isinstance(obj, _INSERTED):
            return None
        values = {}
        state = obj.__dict__
        for col in obj.__table__.columns:
            key = col.key
            if key == "id":
                if state.get("id") is not None:
                    return None  # an explicit id: the ORM's business
                continue
            if key in state:
                values[key] = state[key]
                continue
            default = col.default
            if default is None or not (default.is_scalar or default.is_callable):
                if col.nullable and col.server_default is None:
                    values[key] = None
                    setattr(obj, key, None)
                    continue
                return None  # a server default or no value at all: the ORM's business
            value = default.arg if default.is_scalar else default.arg(None)
            setattr(obj, key, value)
            values[key] = value
        out.append((obj, values))
    return out


def _changes(obj: Any) -> frozenset[str] | None:
    """The columns of a changed object whose value differs from the loaded one (the ORM's own
    rule: a value set again to what it was is no change); None: not one this module writes."""
    if not isinstance(obj, _UPDATED):
        return None
    committed, current, table = inspect(obj).committed_state, obj.__dict__, obj.__table__
    keys = frozenset(k for k, old in committed.items() if old is NO_VALUE or old != current.get(k, NO_VALUE))
    if not all(k in table.c and k in current for k in keys) or _VERSION.key in keys or "id" in keys \
            or (table is _VERSION.table and _VERSION.key not in current):
        return None  # a relationship, an expired value, a version or key set by hand
    return keys


def _update(obj: Any, keys: frozenset[str]) -> _Write:
    table = obj.__table__
    values = {k: obj.__dict__[k] for k in keys}
    values["_id"] = obj.id
    version = obj.__dict__[_VERSION.key] if table is _VERSION.table else None
    if version is not None:
        values["_version"], values["_next_version"] = version, version + 1
    return _Write(update_statement(table, keys), values, changed=obj)


def _check_matched(write: _Write, matched: int) -> None:
    """The row was there, at its version; the object's version moves on with it."""
    obj, table = write.changed, write.changed.__table__
    if matched != 1:  # the ORM's own message (engine.commands.run_tx makes it a Conflict)
        raise StaleDataError(f"UPDATE statement on table '{table.name}' expected to update 1 row(s); "
                             f"{matched} were matched.")
    if table is _VERSION.table:
        obj.__dict__[_VERSION.key] = write.values["_next_version"]
