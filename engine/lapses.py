"""Option windows never count as overdue.

A step whose clock is someone's option window (a citizen's 复查 request, an objection: the steps
of `ProcessConfig.lapse_labels`) lapses when the window ends unused; that is nobody's failure, so
the lists' 超期 filters, the ledger's overdue flag, the 超期 chart and the overdue gauge leave
those steps out, as the case page's clocks (engine.queries.legal_clocks) read them 期满, not 已超期.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.env import Env
from engine.models import HumanTask, ProcessDefinition


def window_steps(env: Env, keys: list[str]) -> dict[str, list[str]]:
    """process key -> its option-window step ids, for the given keys (unknown keys have none)."""
    out = {}
    for key in keys:
        try:
            labels = env.process(key).lapse_labels
        except KeyError:
            continue
        if labels:
            out[key] = sorted(labels)
    return out


def deployed_window_steps(env: Env, session: Session) -> dict[str, list[str]]:
    """The option-window steps of every deployed process (one statement)."""
    keys = session.scalars(select(ProcessDefinition.key).distinct()).all()
    return window_steps(env, sorted(keys))


def not_window(windows: dict[str, list[str]]) -> ColumnElement[bool] | None:
    """A task row that is not an option window, or None when no process has one."""
    if not windows:
        return None
    return not_(or_(*(and_(HumanTask.process_key == key, HumanTask.step_id.in_(steps))
                      for key, steps in sorted(windows.items()))))


def overdue(windows: dict[str, list[str]], now: datetime) -> ColumnElement[bool]:
    """A task row overdue at `now` (engine.calendar.is_overdue, in SQL), option windows excepted."""
    late = HumanTask.due_at <= now
    other = not_window(windows)
    return late if other is None else and_(late, other)
