"""A step without a savepoint, when the step itself needs no SQL (engine.stepguard.run_step).

A step (the engine running on after a command's change) must roll back alone when it fails: the
command's own history event stays, the case goes to error. A SAVEPOINT does that, but costs two
statements and splits the case row's update in two (the command's part is flushed before it).
Most steps write nothing until the transaction ends: the state, the new task rows and the
history are flushed together at commit. For those the rollback is done in Python instead: the
ORM objects of the session are snapshot before the step and put back (new ones expunged) when it
fails; nothing of the step reached the database.

A step that does need SQL inside (a hook's query of a table with pending changes, an explicit
flush, a write) raises `SavepointNeeded` at that point; `engine.commands.run_tx` then rolls the
whole transaction back and runs the command again with the savepoint (`SAVEPOINT_ONLY`). So every
outcome is the one the savepoint gives, only cheaper when the step is pure Python.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

FAST = "rongflow_fast_step"        # session.info: run_tx allows steps without a savepoint
_ACTIVE = "rongflow_fast_step_on"  # session.info: a step is running without a savepoint now


class SavepointNeeded(BaseException):  # noqa: N818 - a signal, not an error; BaseException so
    """The step needs SQL inside: run the command again with a savepoint."""  # no hook swallows it


def allowed(session: Session) -> bool:
    return bool(session.info.get(FAST))


def running(session: Session) -> bool:
    """A step is running without a savepoint now (what it leaves must be undone in Python)."""
    return bool(session.info.get(_ACTIVE))


@contextmanager
def guarded(session: Session) -> Iterator[None]:
    """Run a step with no SQL inside: autoflush off; a read of a table with pending changes, an
    explicit flush or a write raises SavepointNeeded."""
    _listen()
    session.info[_ACTIVE] = True
    try:
        with session.no_autoflush:
            yield
    finally:
        session.info.pop(_ACTIVE, None)


class Snapshot:
    """The column values of every object of the session (and the case's open rows) before a step."""

    def __init__(self, session: Session, open_rows: list[Any] | None) -> None:
        self.session = session
        self.objects = [(o, _columns(o)) for o in [*session.identity_map.values(), *session.new]]
        self.known = {id(o) for o, _ in self.objects}
        self.deleted = {id(o) for o in session.deleted}
        self.open_rows = list(open_rows) if open_rows is not None else None

    def undo(self) -> list[Any] | None:
        """Put every object back as it was; returns the open rows list to use again."""
        if any(id(o) not in self.deleted for o in self.session.deleted):
            raise SavepointNeeded()  # a delete cannot be taken back in Python: use the savepoint
        for obj in list(self.session.new):
            if id(obj) not in self.known:
                self.session.expunge(obj)
        for obj, values in self.objects:
            current = obj.__dict__
            for key, value in values.items():
                if current.get(key, _MISSING) is not value:
                    setattr(obj, key, copy.deepcopy(value) if isinstance(value, (dict, list)) else value)
        return self.open_rows


_MISSING = object()


_COLUMN_KEYS: dict[type, tuple[str, ...]] = {}


def _columns(obj: Any) -> dict[str, Any]:
    keys = _COLUMN_KEYS.get(type(obj))
    if keys is None:  # a mapped class's columns are fixed once it is configured
        keys = _COLUMN_KEYS[type(obj)] = tuple(inspect(obj).mapper.column_attrs.keys())
    loaded = obj.__dict__
    return {k: copy.deepcopy(loaded[k]) if isinstance(loaded[k], (dict, list)) else loaded[k]
            for k in keys if k in loaded}


def _pending_tables(session: Session) -> set[Any]:
    return {inspect(o).mapper.local_table for o in [*session.new, *session.dirty, *session.deleted]}


def _before_flush(session: Session, _ctx: Any, _objects: Any) -> None:
    if session.info.get(_ACTIVE):
        raise SavepointNeeded()


def _on_execute(state: ORMExecuteState) -> None:
    session = state.session
    if not session.info.get(_ACTIVE):
        return
    if not state.is_select:
        raise SavepointNeeded()  # a write inside the step
    tables = set(find_tables(state.statement, include_joins=True, include_aliases=True))
    tables |= {m.local_table for m in state.all_mappers}
    if tables & _pending_tables(session):
        raise SavepointNeeded()  # the read must see this transaction's pending changes: flush first


def _listen() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_execute)

