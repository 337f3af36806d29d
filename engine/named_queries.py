"""Named read-only queries that BPMN expressions, scripts and DMN tables may call, e.g.
`petitions_terminated_for(id_number, 2) >= 1`.

Defined here, in the engine; a process lists the ones it calls (a package's `callable_queries`
in process.toml, `ProcessConfig.callable_queries`), and the deploy check refuses a call to a
registered query that the process does not list (engine.sandbox.deploy_check.check_query_calls).
At run time each command that runs a case's engine binds a `QueryScope` (the command's session,
the engine's clock at the command, the case and the queries its process lists): the sandbox
offers exactly those functions (engine.scripting), nothing else. Each answer is one COUNT over
indexed columns of other cases (the case itself never counts), read without flushing the
command's pending changes; arguments are checked (a year window of 0..10, an ID number of at
most 32 characters) and a command may make at most MAX_CALLS calls. Without a database (the
smoke run of `workflows check`) every query answers 0.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.calendar import BEIJING, to_local_date
from engine.models import InstanceStatus, ProcessInstance

MAX_CALLS = 50
MAX_YEARS = 10
PETITION = "petition"
CLOSED_OUT = (InstanceStatus.cancelled, InstanceStatus.terminated)  # cases that never counted


@dataclass
class QueryScope:
    """What the queries of one command may use: its session (None: no database, answers 0), the
    engine's clock at the command, the case (excluded from every count) and the allowed names."""
    session: Session | None
    now: datetime
    allowed: frozenset[str]
    instance_id: int | None = None
    calls: int = field(default=0)

    @property
    def today(self) -> date:
        return to_local_date(self.now)


_SCOPE: ContextVar[QueryScope | None] = ContextVar("rongflow_query_scope", default=None)


@contextmanager
def query_scope(scope: QueryScope) -> Iterator[QueryScope]:
    """Bind the scope for the scripts and expressions run inside the block."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def _years(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_YEARS:
        raise ValueError(f"years must be a whole number from 0 to {MAX_YEARS}")
    return value


def _text(value: Any, what: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise ValueError(f"{what} must be a non-empty text of at most {longest} characters")
    return value.strip().upper() if what == "id_number" else value.strip()


def _since(scope: QueryScope, years: int) -> datetime:
    """The start (Beijing midnight) of the day `years` years before the case's today."""
    today = scope.today
    day = date(today.year - years, today.month, min(today.day, 28))
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def _count(scope: QueryScope, process_key: str, id_number: str, *where: ColumnElement[bool]) -> int:
    if scope.session is None:
        return 0
    stmt = select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_key == process_key, ProcessInstance.subject_id_no == id_number, *where)
    if scope.instance_id is not None:
        stmt = stmt.where(ProcessInstance.id != scope.instance_id)
    with scope.session.no_autoflush:  # read only: the command's pending changes stay unflushed
        return int(scope.session.scalar(stmt) or 0)


def petitions_registered_by(scope: QueryScope, id_number: Any, years: Any = 2) -> int:
    """信访件数: petitions this person registered in the last `years` years (withdrawn ones aside)."""
    id_no, n = _text(id_number, "id_number", 32), _years(years)
    return _count(scope, PETITION, id_no, ProcessInstance.status != InstanceStatus.cancelled,
                  ProcessInstance.created_at >= _since(scope, n))


def petitions_terminated_for(scope: QueryScope, id_number: Any, years: Any = 2) -> int:
    """被终止办理的信访件数: this person's petitions terminated (终止办理, e.g. for disrupting order)
    in the last `years` years."""
    id_no, n = _text(id_number, "id_number", 32), _years(years)
    return _count(scope, PETITION, id_no, ProcessInstance.status == InstanceStatus.terminated,
                  ProcessInstance.closed_at >= _since(scope, n))


def cases_this_year(scope: QueryScope, process_key: Any, id_number: Any) -> int:
    """本年度件数: cases of a process for this person registered this calendar year (Beijing time),
    cancelled and terminated ones aside."""
    key, id_no = _text(process_key, "process_key", 64), _text(id_number, "id_number", 32)
    new_year = datetime.combine(date(scope.today.year, 1, 1), time(0), tzinfo=BEIJING)
    return _count(scope, key, id_no, ProcessInstance.status.not_in(CLOSED_OUT),
                  ProcessInstance.created_at >= new_year)


def cases_within_years(scope: QueryScope, process_key: Any, id_number: Any, years: Any = 1) -> int:
    """近 N 年件数: cases of a process for this person registered in the last `years` years,
    cancelled and terminated ones aside."""
    key, id_no, n = _text(process_key, "process_key", 64), _text(id_number, "id_number", 32), _years(years)
    return _count(scope, key, id_no, ProcessInstance.status.not_in(CLOSED_OUT),
                  ProcessInstance.created_at >= _since(scope, n))


QUERIES: dict[str, Callable[..., int]] = {
    "petitions_registered_by": petitions_registered_by,
    "petitions_terminated_for": petitions_terminated_for,
    "cases_this_year": cases_this_year,
    "cases_within_years": cases_within_years,
}


def scope_functions() -> dict[str, Callable[..., int]]:
    """The callables the sandbox offers now: the bound scope's allowed queries (none unbound)."""
    scope = _SCOPE.get()
    if scope is None:
        return {}
    return {name: _bound(scope, name, QUERIES[name]) for name in sorted(scope.allowed) if name in QUERIES}


def _bound(scope: QueryScope, name: str, query: Callable[..., int]) -> Callable[..., int]:
    def call(*args: Any, **kwargs: Any) -> int:
        scope.calls += 1
        if scope.calls > MAX_CALLS:
            raise RuntimeError(f"more than {MAX_CALLS} named query calls in one step")
        return query(scope, *args, **kwargs)
    call.__name__ = name
    return call
