"""Signer rounds on one SpiffWorkflow user task, without drawing multi-instance: the approval modes
of a step (会签 "all", optionally a pass ratio; 或签 "any": the first decision wins and the rest are
withdrawn; 依次 "seq": in order) and 加签/减签 on any task. Each signer has a task row of their own
(same SpiffWorkflow task); the SpiffWorkflow task completes, with the merged decision, once the
round's rule is met. A step's mode: settings["verbs"][step]["approval"] = {"mode": "all", "ratio":
1.0, "people": [usernames] | "role": "reviewer" (at the task's unit) | "people_from": "<field of user
ids>", "field": "<decision field>", "approve": ["同意"]}."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands import StepResult, finish_step, load_task_case, require_open, require_running, run_tx
from engine.env import Env
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.history import append_event
from engine.models import HumanTask, OrgUnit, ProcessInstance, Role, RoleGrant, TaskStatus, User
from engine.notify.centre import post
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role, has_role_in, path_ids, unit_and_above
from engine.stepper import OPEN_STATUSES, Case, find_spiff_task
from engine.verbs.common import require_reason, step_setting

WORKING = (Role.caseworker, Role.reviewer, Role.leader)
POSITIONS = {"before": "前加签", "after": "后加签", "alongside": "并加签"}


# ----------------------------------------------------------------------------- rows of a round

def round_rows(session: Session, row: HumanTask) -> list[HumanTask]:
    """The rows of the row's round (itself alone when it has none), cancelled ones left out."""
    if not row.sign:
        return [row]
    lead = row.sign["round"]
    rows = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == row.instance_id, HumanTask.spiff_task_id == row.spiff_task_id,
        HumanTask.status != TaskStatus.cancelled).order_by(HumanTask.id))
    return [r for r in rows if r.sign and r.sign.get("round") == lead]


def _post_of(session: Session, user_id: int, prefer: Role) -> tuple[Role, int] | None:
    """The role and unit a signer signs as: the task's role if they hold it anywhere, else their
    first working role."""
    grants = list(session.execute(select(RoleGrant.role, RoleGrant.org_unit_id).join(
        User, User.id == RoleGrant.user_id).where(
        RoleGrant.user_id == user_id, RoleGrant.role.in_(WORKING), User.active.is_(True))
        .order_by(RoleGrant.id)))
    same = [g for g in grants if g[0] == prefer]
    return (same or grants or [None])[0]  # type: ignore[return-value]


def _signer_row(session: Session, case: Case, lead: HumanTask, user_id: int, sign: dict[str, Any],
                now: datetime) -> HumanTask:
    post_ = _post_of(session, user_id, lead.role)
    if post_ is None:
        raise PermissionDenied(f"user {user_id} holds no working role", "该人员没有可办理任务的角色")
    role, unit_id = post_
    row = HumanTask(spiff_task_id=lead.spiff_task_id, instance_id=lead.instance_id, process_key=lead.process_key,
                    case_no=lead.case_no, title=lead.title, step_id=lead.step_id, step_name=lead.step_name,
                    role=role, org_unit_id=unit_id, due_at=lead.due_at, due_provisional=lead.due_provisional,
                    status=TaskStatus.claimed, assignee_id=user_id, created_at=now, sign=sign)
    session.add(row)
    if case.open_rows is not None:  # so the task mirror keeps it (engine.stepper.sync_tasks)
        case.open_rows.append(row)
    scope = case.instance.unit_ids or "/"
    if f"/{unit_id}/" not in scope:
        case.instance.unit_ids = f"{scope}{unit_id}/"
    session.flush()
    return row


def lead_sign(row: HumanTask, mode: str, **extra: Any) -> dict[str, Any]:
    if not row.sign:
        row.sign = {"round": row.id, "mode": mode, **extra}
    return dict(row.sign)


# ----------------------------------------------------------------------------- approval modes

def _people(session: Session, case: Case, row: HumanTask, spec: dict[str, Any], data: dict[str, Any]) -> list[int]:
    if "people" in spec:
        found = dict(session.execute(select(User.username, User.id).where(User.username.in_(spec["people"]))).all())
        return [found[u] for u in spec["people"] if u in found]
    if "people_from" in spec:
        return [int(v) for v in data.get(spec["people_from"]) or [] if str(v).isdigit()]
    if "role" in spec:
        return list(session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
            RoleGrant.role == str(spec["role"]), RoleGrant.org_unit_id == row.org_unit_id,
            User.active.is_(True)).order_by(RoleGrant.user_id)))
    return []


def expand_modes(env: Env, case: Case, now: datetime) -> None:
    """Give each new task row of a step with an approval mode its round of signers (a hook run when
    task rows are created, engine.stepper.NEW_ROW_HOOKS)."""
    for row in list(case.new_rows):
        spec = step_setting(env, case.config, row.step_id, "approval")
        if not spec or row.sign:
            continue
        people = _people(case.session, case, row, spec, find_spiff_task(case, row.spiff_task_id).data)
        if not people:
            continue
        case.session.flush()
        mode = spec.get("mode", "all")
        row.sign = {"round": row.id, "mode": mode, "ratio": spec.get("ratio", 1), "field": spec.get("field"),
                    "approve": spec.get("approve", ["同意"]), "queue": people[1:] if mode == "seq" else []}
        _assign(case.session, row, people[0])
        if mode != "seq":
            for uid in people[1:]:
                case.new_rows.append(_signer_row(case.session, case, row, uid, {"round": row.id, "mode": mode}, now))


def _assign(session: Session, row: HumanTask, user_id: int) -> None:
    post_ = _post_of(session, user_id, row.role)
    if post_ is not None:
        row.role, row.org_unit_id = post_
    row.status, row.assignee_id = TaskStatus.claimed, user_id


# ----------------------------------------------------------------------------- completing a signer's row

def is_fix(row: HumanTask) -> bool:
    """A fix row of a direct 退回 (engine.verbs.returning): an earlier step's form on a later task."""
    return bool(row.sign and row.sign.get("mode") == "fix")


def check_turn(session: Session, row: HumanTask) -> None:
    """Refuse a signer whose 前加签 signers have not signed yet."""
    waiting = (row.sign or {}).get("wait_for") or []
    if not waiting:
        return
    open_ = session.scalars(select(HumanTask).where(HumanTask.id.in_(waiting),
                                                    HumanTask.status.in_(OPEN_STATUSES))).all()
    if open_:
        names = session.scalars(select(User.full_name).where(User.id.in_([r.assignee_id for r in open_]))).all()
        raise InvalidState(f"task {row.id} waits for signers {[r.id for r in open_]}",
                           f"请待{'、'.join(names)}办理后再办理")


def hold_for_signers(env: Env, case: Case, row: HumanTask, spiff_task: SpiffTask, data: dict[str, Any],
                     opinion: str | None, now: datetime) -> StepResult | None:
    """After a signer's completion is recorded: the step's result while the round goes on, or None
    when the round is decided (the merged decision is then on the task, which runs on)."""
    if not row.sign:
        return None
    session = case.session
    rows = round_rows(session, row)
    lead = next(r for r in rows if r.id == row.sign["round"])
    rule = dict(lead.sign or {})
    field = rule.get("field")
    row.sign = {**row.sign, "decision": data.get(field) if field else None, "opinion": opinion}
    then = list(row.sign.get("then") or [])
    queue = list(rule.get("queue") or [])
    approves = _approves(rule, row.sign["decision"])
    if then:
        row.sign = {**row.sign, "then": []}
        for uid in then:
            _signer_row(session, case, lead, uid, {"round": lead.id, "mode": "added"}, now)
        return finish_step(env, case, now)
    if rule.get("mode") == "seq" and queue and approves:
        lead.sign = {**(lead.sign or {}), "queue": queue[1:]}  # the lead may be this row: keep its decision
        _signer_row(session, case, lead, queue[0], {"round": lead.id, "mode": "seq"}, now)
        return finish_step(env, case, now)
    done, decided = _decide(rule, rows, row)
    if not done:
        return finish_step(env, case, now)
    if field:
        spiff_task.set_data(**{field: decided})
    spiff_task.set_data(**{f"{row.step_id}_signs": _signs(session, rows)})
    return None


def _approves(rule: dict[str, Any], decision: Any) -> bool:
    return not rule.get("field") or decision in (rule.get("approve") or ["同意"])


def _decide(rule: dict[str, Any], rows: list[HumanTask], current: HumanTask) -> tuple[bool, Any]:
    """(True, the merged decision) once the round's rule is met, else (False, None): wait on."""
    mode, field = rule.get("mode"), rule.get("field")
    decisions = [r.sign.get("decision") for r in rows if r.status == TaskStatus.completed and r.sign]
    pending = [r for r in rows if r.status in OPEN_STATUSES and r.id != current.id]
    rejects = [d for d in decisions if not _approves(rule, d)]
    if mode == "any":
        return True, (current.sign or {}).get("decision")
    if not field:
        return not pending, None
    needed = math.ceil(float(rule.get("ratio") or 1) * len(rows))
    if len(decisions) - len(rejects) >= needed:
        return True, (rule.get("approve") or ["同意"])[0]
    if rejects and (len(rows) - len(rejects) < needed or mode == "seq" or not pending):
        return True, rejects[0]  # the pass mark cannot be reached any more
    return False, None


def _signs(session: Session, rows: list[HumanTask]) -> list[dict[str, Any]]:
    names = dict(session.execute(select(User.id, User.full_name).where(
        User.id.in_([r.assignee_id for r in rows if r.assignee_id]))).all())
    return [{"name": names.get(r.assignee_id or 0, ""), "decision": (r.sign or {}).get("decision"),
             "opinion": (r.sign or {}).get("opinion")} for r in rows if r.status == TaskStatus.completed]


# ----------------------------------------------------------------------------- 加签 / 减签

def _may_manage(session: Session, actor: Actor, row: HumanTask, granted: bool) -> bool:
    """The task's holder, or a leader at its unit or above it."""
    if granted and (row.status == TaskStatus.open or row.assignee_id == actor.id):
        return True
    return has_role_in(session, actor.id, (Role.leader,), unit_and_above(session, row.org_unit_id))


@logged_command
def add_signer(env: Env, task_id: int, actor: Actor, user_id: int, position: str, reason: str) -> None:
    """加签: add a signer before, after or alongside the task's holder, with a reason."""
    why = require_reason(reason, "reason", "请填写加签原因")
    if position not in POSITIONS:
        raise InvalidState(f"unknown position {position!r}", "请选择加签方式")

    def body(session: Session) -> None:
        case, row, granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        if not _may_manage(session, actor, row, granted):
            raise PermissionDenied(f"user {actor.id} may not add signers to task {task_id}",
                                   "只有任务办理人或上级领导可以加签")
        rows = round_rows(session, row)
        if user_id in {r.assignee_id for r in rows if r.status in OPEN_STATUSES} | {row.assignee_id}:
            raise InvalidState(f"user {user_id} already signs task {task_id}", "该人员已在本轮办理中")
        user = session.get(User, user_id)
        now = env.clock.now()
        current = lead_sign(row, "added")
        if position == "after":
            row.sign = {**current, "then": [*current.get("then", []), user_id]}
        else:
            new = _signer_row(session, case, row, user_id, {"round": current["round"], "mode": "added"}, now)
            new.mark, new.mark_note, new.mark_by_id = "signer", why, actor.id
            if position == "before":
                row.sign = {**current, "wait_for": [*current.get("wait_for", []), new.id]}
            post(session, [user_id], "signer", f"加签：{actor.name}请您办理{row.step_name}（{row.case_no}）", now,
                 body=why, instance_id=row.instance_id, task_id=new.id)
        case.instance.updated_at = now
        append_event(session, case.instance, at=now, action="add_signer", actor_id=actor.id, actor_name=actor.name,
                     step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                     opinion=why, data={"user": user.full_name if user else user_id, "position": POSITIONS[position]})
    run_tx(env, body)


@logged_command
def remove_signer(env: Env, task_id: int, actor: Actor, reason: str) -> StepResult | None:
    """减签: withdraw a pending added signer's row (by whoever added them, or a leader above); a
    round left with nobody pending is decided and runs on."""
    why = require_reason(reason, "reason", "请填写减签原因")

    def body(session: Session) -> StepResult | None:
        case, row, _granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        if not row.sign or row.sign.get("round") == row.id:
            raise InvalidState(f"task {task_id} is not an added signer's", "只能减去尚未办理的加签人")
        if row.mark_by_id != actor.id and not _may_manage(session, actor, row, False):
            raise PermissionDenied(f"user {actor.id} may not remove signer task {task_id}",
                                   "只有加签人或上级领导可以减签")
        now = env.clock.now()
        row.status, row.completed_at = TaskStatus.cancelled, now
        for other in round_rows(session, row):  # nobody waits for a removed signer
            if other.sign and task_id in (other.sign.get("wait_for") or []):
                other.sign = {**other.sign, "wait_for": [i for i in other.sign["wait_for"] if i != task_id]}
        append_event(session, case.instance, at=now, action="remove_signer", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name, task_id=row.id,
                     org_unit_id=row.org_unit_id, opinion=why, data={"assignee": row.assignee_id})
        post(session, [row.assignee_id] if row.assignee_id else [], "withdrawn",
             f"减签：{row.step_name}（{row.case_no}）无需您再办理", now, instance_id=row.instance_id, task_id=row.id)
        rows = round_rows(session, row)
        if any(r.status in OPEN_STATUSES for r in rows):
            case.instance.updated_at = now
            return None
        spiff_task = find_spiff_task(case, row.spiff_task_id)
        last = max((r for r in rows if r.status == TaskStatus.completed), key=lambda r: r.id)
        rule = dict(next(r for r in rows if r.id == row.sign["round"]).sign or {})
        _done, decided = _decide(rule, rows, last)
        field = rule.get("field")
        if field:
            spiff_task.set_data(**{field: decided})
        return finish_step(env, case, now, spiff_task.run)
    return run_tx(env, body)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- what the task page offers

def signer_choices(env: Env, task_id: int, user_id: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(who this user may add as a signer, [(row id, name)] of the added signers they may remove);
    both empty when they may not manage the task's signers. Candidates hold a working role at the
    task's unit, a unit above it, or a unit the case went through."""
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        instance = session.get(ProcessInstance, row.instance_id) if row is not None else None
        if row is None or instance is None:
            raise NotFound(f"task {task_id} does not exist", "任务不存在")
        granted = has_role(session, user_id, row.role, row.org_unit_id)
        return signer_choices_in(session, row, instance, user_id, granted)


def signer_choices_in(session: Session, row: HumanTask, instance: ProcessInstance, user_id: int,
                      granted: bool) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """signer_choices in the caller's read session (the task page's), `granted`: the user holds
    the task's role at its unit. Added signers share the round of their task (`sign`), so a task
    without one has none to remove."""
    if row.status not in OPEN_STATUSES or not _may_manage(session, Actor(user_id, ""), row, granted):
        return [], []
    unit = session.get(OrgUnit, row.org_unit_id)
    units = set(path_ids(unit.path if unit else None)) | set(path_ids(instance.unit_ids))
    rows = round_rows(session, row)
    busy = {r.assignee_id for r in rows if r.status in OPEN_STATUSES} | {user_id}
    users = session.execute(select(User.id, User.full_name).join(RoleGrant, RoleGrant.user_id == User.id).where(
        RoleGrant.role.in_(WORKING), RoleGrant.org_unit_id.in_(units), User.active.is_(True))
        .distinct().order_by(User.id)).all()
    removable = [r for r in rows if r.status in OPEN_STATUSES and r.mark == "signer" and r.id != row.id]
    names = dict(session.execute(select(User.id, User.full_name).where(
        User.id.in_([r.assignee_id for r in removable if r.assignee_id]))).all()) if removable else {}
    return ([(i, n) for i, n in users if i not in busy],
            [(r.id, names.get(r.assignee_id or 0, "")) for r in removable])
