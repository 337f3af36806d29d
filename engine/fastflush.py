"""The end of a step written with prebuilt Core statements instead of the ORM's unit of work.

A step leaves the same few changes nearly every time: the case row updated (state, chain head,
version), a task row or two updated, new task rows and history events inserted. The ORM's flush
of those four rows cost more Python than everything else a submit does in SQLAlchemy (issue 12:
it sorts dependencies, collects history per attribute and builds each statement per flush).
`flush` writes exactly the same rows with one cached statement each (new rows of a table in one
batched INSERT where the ORM batches them), checks the case's version the way the ORM does (a
concurrent writer is a StaleDataError, hence a Conflict), then marks the objects persistent and
clean as a flush would, and fires `before_flush` and `after_flush` (without a flush context:
their listeners here, engine.faststep and engine.notify.centre, take none) so that the new tasks'
messages are written as after a flush. Marking the objects clean is the ORM's own last step of
a flush, `Session._register_persistent` (so a rollback afterwards also undoes them as the ORM's
would); SQLAlchemy is pinned (pyproject.toml) and tests/integration/test_fastflush.py checks the
result column by column.

Anything else pending (another kind of object, a delete, a column without a value or with a
server default, a key or version set by hand) goes through `Session.flush` unchanged: this is a
faster flush for the common shape, never a second way of writing a case.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, inspect, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError

from engine.models import HistoryEvent, HumanTask, ProcessInstance

_INSERTED = (HumanTask, HistoryEvent)            # may be new
_UPDATED = (HumanTask, ProcessInstance)          # may be changed
_VERSION = ProcessInstance.__mapper__.version_id_col


# The statements, built once per table (and set of changed columns): their construction costs
# more than their run.

@cache
def insert_statement(table: Table) -> Any:
    """Every column but the id, which comes back (several rows in one statement where the ORM
    batches them, their ids in the order of the rows)."""
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


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
    conn = session.connection()
    for obj, keys in zip(dirty, changes):
        if keys:
            _update(conn, obj, keys)
    for table in dict.fromkeys(obj.__table__ for obj, _values in rows):  # in the order they were added
        batch = [(obj, values) for obj, values in rows if obj.__table__ is table]
        ids = conn.execute(insert_statement(table), [values for _obj, values in batch]).scalars().all()
        for (obj, _values), new_id in zip(batch, ids, strict=True):
            obj.id = new_id
    session.dispatch.after_flush(session, None)  # listeners see the new objects still pending
    # persistent and clean, keyed by their ids, recorded in the transaction: the ORM's own last
    # step of a flush (its rollback then expunges the new rows and expires the changed ones)
    session._register_persistent({inspect(o) for o in [*dirty, *new]})


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


def _update(conn: Any, obj: Any, keys: frozenset[str]) -> None:
    table = obj.__table__
    values = {k: obj.__dict__[k] for k in keys}
    values["_id"] = obj.id
    version = obj.__dict__[_VERSION.key] if table is _VERSION.table else None
    if version is not None:
        values["_version"], values["_next_version"] = version, version + 1
    result = conn.execute(update_statement(table, keys), values)
    if result.rowcount != 1:  # the ORM's own message (engine.commands.run_tx makes it a Conflict)
        raise StaleDataError(f"UPDATE statement on table '{table.name}' expected to update 1 row(s); "
                             f"{result.rowcount} were matched.")
    if version is not None:
        obj.__dict__[_VERSION.key] = version + 1
