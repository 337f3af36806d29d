"""Administration of processes and cases: deployed versions, uploads, and the case operations
page (suspend, resume, terminate, reassign, retry are engine.runtime commands).

Admins see no case content: `admin_case` returns the case number, status, step names and
assignees only, never the business data, title or petitioner. Cases are in an admin's scope
when the case's unit is in the admin's subtree (as engine.runtime checks for its commands).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from engine.admin import covers, log_admin, require_admin, require_system_admin
from engine.admin_scope import events_in_scope
from engine.definitions import deploy
from engine.env import Env
from engine.errors import DefinitionError, FormInvalid, NotFound
from engine.models import (AdminEvent, HumanTask, InstanceStatus, OrgUnit, ProcessDefinition, ProcessInstance,
                           RoleGrant, User)
from engine.orgs import Actor, role_names
from engine.runtime import StepResult, retry_case
from engine.stepper import OPEN_STATUSES

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# ----------------------------------------------------------------------------- definitions

@dataclass(frozen=True)
class VersionRow:
    id: int
    version: int
    name: str
    deployed_at: datetime
    deployed_by: str | None
    content_hash: str
    files: list[str]
    cases: int


@dataclass(frozen=True)
class DefinitionGroup:
    key: str
    versions: list[VersionRow]  # newest first

    @property
    def latest(self) -> VersionRow:
        return self.versions[0]


def list_definitions(env: Env, user_id: int) -> list[DefinitionGroup]:
    """Every deployed process key with its versions and how many cases run on each."""
    with env.db.read() as session:
        require_admin(session, user_id)
        counts = {r[0]: r[1] for r in session.execute(
            select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id))}
        rows = session.execute(select(ProcessDefinition, User.full_name)
                               .outerjoin(User, User.id == ProcessDefinition.deployed_by_id)
                               .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
        groups: dict[str, list[VersionRow]] = {}
        for d, by in rows:
            groups.setdefault(d.key, []).append(VersionRow(
                d.id, d.version, d.name, d.deployed_at, by, d.content_hash[:12], sorted(d.files),
                counts.get(d.id, 0)))
        return [DefinitionGroup(k, v) for k, v in groups.items()]


@dataclass(frozen=True)
class DeployResult:
    key: str
    version: int
    created: bool


def _clean_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """Base names only; every file must be UTF-8 (it is stored as text)."""
    clean: dict[str, bytes] = {}
    for raw_name, data in files.items():
        name = PurePath(raw_name.replace("\\", "/")).name
        if not name:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError("the file is not UTF-8 encoded", file=name) from exc
        clean[name] = data
    return clean


def upload_definition(env: Env, actor: Actor, key: str, files: dict[str, bytes]) -> DeployResult:
    """Validate and deploy a BPMN/DMN set as the next version of `key` (city admins only).

    The main process is the one whose id is `key`, or else the files' one executable process
    (a modeler's generated id, e.g. Process_1l85e0n, deployed under the key the admin chose).
    Every user task's lane must name a role, unless the process package sets that step's role.
    Raises DefinitionError (file, element, line) and deploys nothing when any file is bad;
    the same content as an existing version deploys nothing and returns created=False.
    """
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise FormInvalid({"key": "流程标识为小写字母开头的字母、数字或下划线，如 veteran_subsidy"})
    clean = _clean_files(files)
    if not clean:
        raise FormInvalid({"files": "请选择要上传的 .bpmn / .dmn 文件"})
    with env.db.write() as session:
        require_system_admin(session, actor.id)
        if session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.key == key, ProcessDefinition.package.is_not(None)).limit(1)):
            raise FormInvalid({"key": "该流程是流程包（含表单和 process.toml），请在“流程包”页面上传整个 zip"})
        now = env.clock.now()
        definition, created = deploy(session, key, clean, now, actor_id=actor.id,
                                     role_steps=_role_steps(env, key))
        if created:
            log_admin(session, actor, now, "deploy", "definition", definition.id,
                      f"{key} v{definition.version}", key=key, version=definition.version,
                      files=sorted(clean), content_hash=definition.content_hash)
        return DeployResult(key, definition.version, created)


def _role_steps(env: Env, key: str) -> frozenset[str]:
    """The steps whose role the key's process package sets (none without a package)."""
    try:
        return frozenset(env.process(key).roles)
    except KeyError:
        return frozenset()


# ----------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class AdminTask:
    id: int
    step_name: str
    role_label: str
    unit_name: str
    status: str
    assignee_id: int | None
    assignee_name: str | None
    created_at: datetime
    due_at: datetime | None
    candidates: list[tuple[int, str]]  # who it can be reassigned to


@dataclass(frozen=True)
class AdminCase:
    """What the case operations page shows: no business data."""
    id: int
    case_no: str
    process_key: str
    process_name: str
    version: int
    status: InstanceStatus
    status_reason: str | None
    error_step: str | None
    error_message: str | None
    unit_name: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    tasks: list[AdminTask]


def _in_scope(session: Session, user_id: int, instance: ProcessInstance | None) -> ProcessInstance:
    paths = require_admin(session, user_id)
    unit = session.get(OrgUnit, instance.org_unit_id) if instance is not None else None
    if instance is None or unit is None or not covers(paths, unit.path):
        raise NotFound(f"case not in admin {user_id}'s scope", "案件不存在或不在您的管辖范围内")
    return instance


def _admin_case(session: Session, instance: ProcessInstance) -> AdminCase:
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    rows = session.execute(
        select(HumanTask, OrgUnit.name, User.full_name)
        .join(OrgUnit, OrgUnit.id == HumanTask.org_unit_id)
        .outerjoin(User, User.id == HumanTask.assignee_id)
        .where(HumanTask.instance_id == instance.id, HumanTask.status.in_(OPEN_STATUSES))
        .order_by(HumanTask.id)).all()
    names = role_names(session) if rows else {}
    tasks = [AdminTask(t.id, t.step_name, names.get(t.role, t.role), unit_name, t.status.value,
                       t.assignee_id, assignee, t.created_at, t.due_at, _candidates(session, t))
             for t, unit_name, assignee in rows]
    unit_name = session.scalar(select(OrgUnit.name).where(OrgUnit.id == instance.org_unit_id)) or ""
    return AdminCase(instance.id, instance.case_no, instance.process_key, definition.name,
                     definition.version, instance.status, instance.status_reason, instance.error_step,
                     instance.error_message, unit_name, instance.created_at, instance.updated_at,
                     instance.closed_at, tasks)


def find_case(env: Env, user_id: int, case_no: str) -> AdminCase:
    """A case by its number, in the admin's scope (NotFound otherwise)."""
    with env.db.read() as session:
        instance = session.scalar(select(ProcessInstance).options(defer(ProcessInstance.state))
                                  .where(ProcessInstance.case_no == (case_no or "").strip().upper()))
        return _admin_case(session, _in_scope(session, user_id, instance))


def admin_case(env: Env, user_id: int, instance_id: int) -> AdminCase:
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id, options=[defer(ProcessInstance.state)])
        return _admin_case(session, _in_scope(session, user_id, instance))


@dataclass(frozen=True)
class ErrorCase:
    id: int
    case_no: str
    error_step: str | None
    updated_at: datetime


def error_cases(env: Env, user_id: int, limit: int = 20) -> list[ErrorCase]:
    """Cases in error in the admin's scope, newest first (for the admin home page)."""
    with env.db.read() as session:
        return _error_cases(session, require_admin(session, user_id), limit)


def _error_cases(session: Session, paths: list[str], limit: int) -> list[ErrorCase]:
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.case_no, ProcessInstance.error_step,
               ProcessInstance.updated_at)
        .join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id)
        .where(ProcessInstance.status == InstanceStatus.error,
               or_(*[OrgUnit.path.startswith(p) for p in paths]))
        .order_by(ProcessInstance.updated_at.desc()).limit(limit)).all()
    return [ErrorCase(*r) for r in rows]


@dataclass(frozen=True)
class Overview:
    """The admin home page: counts, cases waiting for an admin, the newest admin actions."""
    users: int
    active_users: int
    units: int
    processes: int
    error_cases: list[ErrorCase]
    suspended: int
    recent: list[AdminEvent]


def overview(env: Env, user_id: int) -> Overview:
    with env.db.read() as session:
        paths = require_admin(session, user_id)

        def count(stmt: Any) -> int:
            return int(session.scalar(stmt) or 0)

        in_scope = (select(func.count()).select_from(ProcessInstance)
                    .join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id)
                    .where(ProcessInstance.status == InstanceStatus.suspended,
                           or_(*[OrgUnit.path.startswith(p) for p in paths])))
        return Overview(
            users=count(select(func.count()).select_from(User)),
            active_users=count(select(func.count()).select_from(User).where(User.active.is_(True))),
            units=count(select(func.count()).select_from(OrgUnit).where(OrgUnit.active.is_(True))),
            processes=count(select(func.count(func.distinct(ProcessDefinition.key)))),
            error_cases=_error_cases(session, paths, 20), suspended=count(in_scope),
            recent=_recent_events(session, user_id, paths))


def _recent_events(session: Session, user_id: int, paths: list[str]) -> list[AdminEvent]:
    """The last ten admin events this admin may see (engine.admin_scope)."""
    where = events_in_scope(user_id, paths)
    stmt = select(AdminEvent) if where is None else select(AdminEvent).where(where)
    return list(session.scalars(stmt.order_by(AdminEvent.id.desc()).limit(10)))


def _candidates(session: Session, task: HumanTask) -> list[tuple[int, str]]:
    rows = session.execute(select(User.id, User.full_name).join(RoleGrant, RoleGrant.user_id == User.id)
                           .where(RoleGrant.role == task.role, RoleGrant.org_unit_id == task.org_unit_id,
                                  User.active.is_(True)).order_by(User.full_name)).all()
    return [(r[0], r[1]) for r in rows]


def reassign_candidates(env: Env, user_id: int, task_id: int) -> list[tuple[int, str]]:
    """Active users who hold the task's role at its unit: who a task can be handed to."""
    with env.db.read() as session:
        task = session.get(HumanTask, task_id)
        instance = session.get(ProcessInstance, task.instance_id) if task is not None else None
        _in_scope(session, user_id, instance)
        assert task is not None
        return _candidates(session, task)


def parse_data_fix(text: str) -> dict[str, Any]:
    """The retry box: empty, or a JSON object of variables to set on the failed step."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormInvalid({"data_fix": f"JSON 格式有误（第 {exc.lineno} 行第 {exc.colno} 列）"}) from exc
    if not isinstance(value, dict):
        raise FormInvalid({"data_fix": "请填写 JSON 对象，例如 {\"amount\": 100}"})
    return value


def retry_with_fix(env: Env, actor: Actor, instance_id: int, data_fix_text: str,
                   reason: str) -> StepResult:
    """Retry a case in error after setting the corrected data (engine.runtime.retry_case)."""
    data_fix = parse_data_fix(data_fix_text)
    return retry_case(env, instance_id, actor, data_fix, (reason or "").strip() or "管理员重试")
