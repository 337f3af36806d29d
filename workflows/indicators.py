"""统计指标: every process's indicators for one unit's subtree and one period, as plain rows.

Leaders, reviewers and auditors read them for the subtree of a unit where they hold that role
(a district leader: the district; the city: everything). Each deployed process declares its own
indicators (`ProcessConfig.indicators`: a package's manifest, a Python process's declaration) and
`engine.indicators` computes them from what the history and the task rows say happened — nothing
here is typed in, and nothing here names a process: a new one shows up by being deployed. Each
row carries its basis next to a rate ("12/15"), and "—" where a rate has no denominator. The
period is a range of Beijing calendar days; each section says what it is applied to (cases
registered in it, or facts that happened in it).

Engine-neutral: session in, rows out; the web page and the CSV export read the same `Report`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import BEIJING
from engine.env import Env
from engine.errors import FormInvalid, PermissionDenied
from engine.indicators import (DASH, IndicatorSet, Row, Scope, Section, count_row, money, rate,
                               rate_row, section)
from engine.models import ProcessDefinition, Role
from engine.orgs import granted_subtrees

STATS_ROLES = frozenset({Role.leader, Role.reviewer, Role.auditor})
CSV_HEADERS = ["单位", "统计期间", "流程", "指标", "数值", "计算基数", "说明"]
__all__ = ["CSV_HEADERS", "DASH", "STATS_ROLES", "Report", "Row", "Scope", "Section", "count_row",
           "csv_rows", "money", "period", "rate", "rate_row", "report", "stats_units"]


@dataclass(frozen=True)
class Report:
    unit_id: int
    unit_name: str
    units: list[tuple[int, str, int]]  # (id, name, depth) the user may choose, in tree order
    date_from: date | None
    date_to: date | None               # inclusive
    as_of: datetime
    sections: list[Section]

    @property
    def period(self) -> str:
        if not (self.date_from or self.date_to):
            return "全部"
        return f"{self.date_from or '…'} 至 {self.date_to or '…'}"


def stats_units(session: Session, user_id: int) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the units whose indicators the user may read, in tree order; the
    subtrees of the units where they are leader, reviewer or auditor. PermissionDenied if none."""
    units = granted_subtrees(session, user_id, STATS_ROLES)
    if not units:
        raise PermissionDenied(f"user {user_id} may not read indicators",
                               "仅领导、审核人和审计人员可以查看统计指标")
    return units


def period(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) of a range of Beijing calendar days (both ends included)."""
    if date_from and date_to and date_to < date_from:
        raise FormInvalid({"date_to": "截止日期不能早于起始日期"})
    since = datetime.combine(date_from, time(), BEIJING) if date_from else None
    until = datetime.combine(date_to + timedelta(days=1), time(), BEIJING) if date_to else None
    return since, until


def report(env: Env, user_id: int, unit_id: int | None = None, date_from: date | None = None,
           date_to: date | None = None) -> Report:
    """The indicators of every deployed process for one unit's subtree (default: the user's
    highest) and one period (default: all time), as of now."""
    since, until = period(date_from, date_to)
    with env.db.read() as session:
        units = stats_units(session, user_id)
        names = {u: name for u, name, _d in units}
        chosen = units[0][0] if unit_id is None else unit_id
        if chosen not in names:
            raise PermissionDenied(f"unit {unit_id} is outside user {user_id}'s scope",
                                   "您无权查看该单位的统计指标")
        declared = _declared(env, session.scalars(select(ProcessDefinition.key).distinct()))
        scope = Scope(session, chosen, since, until, env.clock.now(),
                      lambda key: _settings(env, key))
        sections = [section(scope, key, found) for key, found in declared]
    return Report(chosen, names[chosen], units, date_from, date_to, scope.as_of, sections)


def _declared(env: Env, keys: Iterable[str]) -> list[tuple[str, IndicatorSet]]:
    """(key, indicators) of every deployed process that declares some, in the report's order."""
    out = []
    for key in keys:
        try:
            found = env.process(key).indicators
        except KeyError:  # a version deployed without its process (e.g. a test model)
            continue
        if found is not None:
            out.append((key, found))
    return sorted(out, key=lambda item: (item[1].order, item[0]))


def _settings(env: Env, key: str) -> dict[str, Any]:
    try:
        base = env.process(key).settings
    except KeyError:
        base = {}
    return {**base, **env.settings.get(key, {})}


def csv_rows(found: Report) -> list[list[str]]:
    """The report as a table: one line per indicator, headed by CSV_HEADERS."""
    lines: Iterable[list[str]] = ([found.unit_name, found.period, s.title, r.label, r.value, r.basis,
                                   r.note] for s in found.sections for r in s.rows)
    return [CSV_HEADERS, *lines]
