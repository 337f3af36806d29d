"""Timeout policies per step (超时), fired by the worker (`run_due_policies`), each exactly once per
task: the history event (remind / escalate / auto_act) is the mark, checked under the case's lock.

settings["verbs"][step]["timeout"] = {
    "remind_before_days": N (working days before the due day, on the business calendar)
        or "remind_before_hours": N,               -> a 即将到期 message to the holders
    "escalate": True,                              -> overdue: 已超期 to the holders and the leaders
                                                      of the task's unit (or the nearest unit above)
    "auto": {"after_days": N (working days after the task opened) or "after_hours": N,
             "action": "approve" | "return", "data": {...}}}   -> the system acts on the task
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import BEIJING, is_overdue, to_local_date
from engine.commands import finish_step, load_task_case, run_tx
from engine.env import Env
from engine.history import append_event
from engine.models import HistoryEvent, HumanTask, Role, RoleGrant, TaskStatus, User
from engine.notify.centre import post, task_holders
from engine.orgs import unit_and_above
from engine.stepper import OPEN_STATUSES, Case, find_spiff_task, process_config
from engine.verbs.common import step_setting
from engine.verbs.returning import nearest_target, return_in_case

BATCH = 2000
log = logging.getLogger(__name__)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def _working_days_before(env: Env, last_day: date, n: int) -> date:
    day, count = last_day, 0
    while count < n:
        day -= timedelta(days=1)
        if env.calendar.is_workday(day):
            count += 1
    return day


def remind_at(env: Env, policy: dict[str, Any], due_at: datetime | None) -> datetime | None:
    if due_at is None:
        return None
    if "remind_before_hours" in policy:
        return due_at - timedelta(hours=float(policy["remind_before_hours"]))
    if "remind_before_days" in policy:
        last_day = to_local_date(due_at - timedelta(microseconds=1))  # due_at: the instant after it ends
        return _start_of(_working_days_before(env, last_day, int(policy["remind_before_days"])))
    return None


def auto_at(env: Env, auto: dict[str, Any], opened: datetime) -> datetime | None:
    if "after_hours" in auto:
        return opened + timedelta(hours=float(auto["after_hours"]))
    if "after_days" in auto:
        day = env.calendar.add_working_days(to_local_date(opened), int(auto["after_days"])).due
        return env.calendar.deadline_end(day)
    return None


def due_actions(env: Env, row: HumanTask, policy: dict[str, Any], now: datetime) -> list[str]:
    """The policy's actions that are due on this task now (whether already fired or not)."""
    out = []
    at = remind_at(env, policy, row.due_at)
    if at is not None and now >= at:
        out.append("remind")
    if policy.get("escalate") and row.due_at is not None and is_overdue(now, row.due_at):
        out.append("escalate")
    auto = policy.get("auto") or {}
    at = auto_at(env, auto, row.created_at) if auto else None
    if at is not None and now >= at:
        out.append("auto_act")
    return out


def run_due_policies(env: Env, limit: int = BATCH) -> int:
    """Fire every due timeout action of open tasks, each in its own transaction; returns how many.

    One task's failure (a conflict, a broken policy, an auto-act the engine refuses) is logged and
    counted, rolls back only that action and does not stop the others; the failing action is then
    left alone for a while (BACKOFF_FIRST, doubling up to BACKOFF_MAX, on the engine's clock) so
    the worker does not retry it every poll."""
    now = env.clock.now()
    with env.db.read() as session:
        rows = list(session.scalars(select(HumanTask).where(HumanTask.status.in_(OPEN_STATUSES))
                                    .order_by(HumanTask.id).limit(limit)))
    backoff = _backoff(env)
    fired = failed = 0
    for row in rows:
        try:
            policy = step_setting(env, process_config(env, row.process_key), row.step_id, "timeout")
        except Exception:  # noqa: BLE001 - a process without a package has no policies
            continue
        if not policy:
            continue
        try:
            actions = due_actions(env, row, policy, now)
        except Exception:  # noqa: BLE001 - a malformed policy: the task's other actions cannot be known
            if _waiting(backoff, row.id, "policy", now):
                continue
            failed += 1
            _failed(backoff, row, "policy", now)
            continue
        for action in actions:
            if _waiting(backoff, row.id, action, now):
                continue
            try:
                fired += run_tx(env, lambda s, a=action, r=row: _fire(env, s, r.id, a, policy, now))
            except Exception:  # noqa: BLE001 - that action rolled back; the next task goes on
                failed += 1
                _failed(backoff, row, action, now)
            else:
                backoff.pop((row.id, action), None)
    if failed:
        log.warning("timeout policies: %d fired, %d failed (retried after a back-off)", fired, failed)
    return fired


BACKOFF_FIRST = timedelta(minutes=10)
BACKOFF_MAX = timedelta(hours=6)


def _backoff(env: Env) -> dict[tuple[int, str], tuple[int, datetime]]:
    """This engine's failed actions: (task, action) -> (failures so far, not before). Kept in the
    process (another worker keeps its own): a back-off, not a record; the history is the record."""
    table = env.__dict__.get("_timeout_backoff")
    if table is None:
        table = env.__dict__["_timeout_backoff"] = {}
    return table  # type: ignore[no-any-return]


def _waiting(backoff: dict[tuple[int, str], tuple[int, datetime]], task_id: int, action: str,
             now: datetime) -> bool:
    entry = backoff.get((task_id, action))
    return entry is not None and now < entry[1]


def _failed(backoff: dict[tuple[int, str], tuple[int, datetime]], row: HumanTask, action: str,
            now: datetime) -> None:
    count = backoff.get((row.id, action), (0, now))[0] + 1
    wait = min(BACKOFF_FIRST * 2 ** (count - 1), BACKOFF_MAX)
    backoff[(row.id, action)] = (count, now + wait)
    log.exception("timeout policy %s of task %s (case %s, step %s) failed (%d time(s)); next try after %s",
                  action, row.id, row.case_no, row.step_id, count, now + wait)


def _fired(session: Session, row: HumanTask, action: str) -> bool:
    return session.scalar(select(HistoryEvent.id).where(
        HistoryEvent.instance_id == row.instance_id, HistoryEvent.task_id == row.id,
        HistoryEvent.action == action).limit(1)) is not None


def _fire(env: Env, session: Session, task_id: int, action: str, policy: dict[str, Any], now: datetime) -> int:
    case, row, _granted = load_task_case(env, session, task_id)
    if row.status not in OPEN_STATUSES or case.instance.status.value != "running" or _fired(session, row, action):
        return 0
    label = f"{row.step_name}（{row.case_no}）"
    if action == "remind":
        append_event(session, case.instance, at=now, action="remind", step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id, data={"due": row.due_at})
        post(session, task_holders(session, row), "due_soon", f"即将到期：{label}", now,
             instance_id=row.instance_id, task_id=row.id)
    elif action == "escalate":
        leaders = unit_leaders(session, row.org_unit_id)
        append_event(session, case.instance, at=now, action="escalate", step_id=row.step_id,
                     step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                     data={"due": row.due_at, "leaders": _names(session, leaders)})
        post(session, [*task_holders(session, row), *leaders], "overdue", f"已超期：{label}", now,
             instance_id=row.instance_id, task_id=row.id)
    else:
        _auto_act(env, case, row, policy.get("auto") or {}, now)
    case.instance.updated_at = now
    return 1


def unit_leaders(session: Session, unit_id: int) -> list[int]:
    """The active leaders of the unit, else of the nearest unit above it that has any."""
    path = unit_and_above(session, unit_id)
    for uid in reversed(path):
        found = list(session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
            RoleGrant.role == Role.leader, RoleGrant.org_unit_id == uid, User.active.is_(True))))
        if found:
            return found
    return []


def _names(session: Session, ids: list[int]) -> list[str]:
    return list(session.scalars(select(User.full_name).where(User.id.in_(ids)).order_by(User.id)))


def _auto_act(env: Env, case: Case, row: HumanTask, auto: dict[str, Any], now: datetime) -> None:
    """The system approves the task with the policy's data, or returns it one step back."""
    if auto.get("action") == "return":
        target = nearest_target(env, case, row)
        if target is not None:
            append_event(case.session, case.instance, at=now, action="auto_act", step_id=row.step_id,
                         step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                         data={"action": "return", "to_step": target})
            return_in_case(env, case, row, target, "超时未办理，系统自动退回", None)
        return
    data = dict(auto.get("data") or {})
    spiff_task = find_spiff_task(case, row.spiff_task_id)
    spiff_task.set_data(**data)
    row.status, row.completed_at = TaskStatus.completed, now
    case.completed_row = row
    append_event(case.session, case.instance, at=now, action="auto_act", step_id=row.step_id,
                 step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                 opinion="超时未办理，系统自动通过",
                 data={"action": "approve", **{k: [None, v] for k, v in data.items()}})
    finish_step(env, case, now, spiff_task.run)
