"""Auditing: search the case history, read a whole case, verify hash chains, export.

Only users with the auditor role may call these (PermissionDenied otherwise), and they see
their scope only: the subtrees of the units where they are auditor (an auditor at the city sees
everything). An event is in scope when its unit — or, for events without one (timers, errors,
suspensions), its case's unit — lies in such a subtree; a case is in scope when one of the
units it was routed to does. Everything here reads; auditors change nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, defer

from engine.access import case_unit_ids
from engine.paging import Page
from engine.calendar import BEIJING
from engine.env import Env
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.history import ACTION_LABELS, ChainCheck, check_events
from engine.integrity.checkpoint import (FEWER_EVENTS, REWRITTEN, UNKEYED_LATE, CheckpointInvalid, case_faults,
                                        newest as newest_checkpoint)
from engine.integrity.adminlog import verify_admin_log
from engine.integrity.keys import Keyring, keyring_of
from engine.integrity.service import snapshot
from engine.models import HistoryEvent, OrgUnit, ProcessDefinition, ProcessInstance, Role, RoleGrant, User
from engine.orgs import tree_order
from engine.casefile import FACT_ACTIONS, CaseFile, FormCatalog, case_file, process_catalog
from engine.readable import is_internal, label_of, readable_text, value_text
from engine.runtime import case_data

CHAIN_REASONS = {"missing event": "缺少事件", "broken link": "前后哈希不衔接",
                 "content changed": "内容被改动", "events missing at the end": "末尾事件缺失",
                 "chain head does not match": "链头与末条事件不符", "unknown key": "密钥无法识别",
                 "unknown hash scheme": "哈希方式无法识别",
                 "unkeyed event after keyed ones": "加密链之后出现未加密事件",
                 FEWER_EVENTS: "少于检查点记录的事件（末尾事件被删除）", REWRITTEN: "与检查点记录不符（链被重算）",
                 UNKEYED_LATE: "检查点之后出现未加密事件（链被重算）", "checkpoint invalid": "检查点文件无效"}
EXPORT_HEADERS = ["案件编号", "流程", "序号", "时间", "操作人", "操作", "步骤", "单位", "意见",
                  "数据", "哈希"]
EXPORT_LIMIT = 100_000
VERIFY_BATCH = 200


# ----------------------------------------------------------------------------- scope

def auditor_paths(session: Session, user_id: int) -> list[str]:
    """Paths of the units where the user is auditor, or PermissionDenied when none."""
    paths = list(session.scalars(select(OrgUnit.path).join(RoleGrant, RoleGrant.org_unit_id == OrgUnit.id)
                                 .where(RoleGrant.user_id == user_id, RoleGrant.role == Role.auditor)))
    if not paths:
        raise PermissionDenied(f"user {user_id} is not an auditor", "仅审计人员可以查看审计内容")
    return paths


def check_auditor(env: Env, user_id: int) -> None:
    """PermissionDenied unless the user is an auditor somewhere (guards the whole audit area)."""
    with env.db.read() as session:
        auditor_paths(session, user_id)


def _in_paths(column: Any, paths: Iterable[str]) -> Any:
    return or_(*[column.startswith(p) for p in paths])


def _scope_unit_ids(session: Session, paths: list[str]) -> set[int]:
    return set(session.scalars(select(OrgUnit.id).where(_in_paths(OrgUnit.path, paths))))


def _case_in_scope(instance: ProcessInstance, unit_ids: set[int]) -> bool:
    return bool(({instance.org_unit_id} | set(case_unit_ids(instance))) & unit_ids)


def scope_units(env: Env, user_id: int) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the units in the auditor's scope, in tree order (for the filter)."""
    with env.db.read() as session:
        paths = auditor_paths(session, user_id)
        return tree_order(session.scalars(select(OrgUnit).where(_in_paths(OrgUnit.path, paths))).all())


# ----------------------------------------------------------------------------- history search

@dataclass(frozen=True)
class HistoryFilter:
    case_no: str | None = None
    person: str | None = None      # part of the actor's name, or their exact username
    action: str | None = None      # a key of ACTION_LABELS
    date_from: date | None = None  # Beijing dates, both inclusive
    date_to: date | None = None
    unit_id: int | None = None     # events of this unit and its subtree


@dataclass(frozen=True)
class AuditRow:
    event: HistoryEvent
    case_no: str
    process_key: str
    unit_name: str | None
    action_label: str


def _local_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=BEIJING)


def _search_stmt(session: Session, paths: list[str], f: HistoryFilter) -> Select[Any]:
    if f.date_from and f.date_to and f.date_to < f.date_from:
        raise FormInvalid({"date_to": "结束日期不能早于开始日期"})
    unit_col = func.coalesce(HistoryEvent.org_unit_id, ProcessInstance.org_unit_id)
    stmt = (select(HistoryEvent, ProcessInstance.case_no, ProcessInstance.process_key, OrgUnit.name)
            .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
            .join(OrgUnit, OrgUnit.id == unit_col)
            .where(_in_paths(OrgUnit.path, paths)))
    if f.case_no and f.case_no.strip():
        stmt = stmt.where(ProcessInstance.case_no.contains(f.case_no.strip().upper(), autoescape=True))
    if f.person and f.person.strip():
        term = f.person.strip()
        stmt = stmt.where(or_(HistoryEvent.actor_name.contains(term, autoescape=True),
                              HistoryEvent.actor_id.in_(select(User.id).where(User.username == term))))
    if f.action:
        stmt = stmt.where(HistoryEvent.action == f.action)
    if f.date_from:
        stmt = stmt.where(HistoryEvent.at >= _local_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(HistoryEvent.at < _local_start(f.date_to + timedelta(days=1)))
    if f.unit_id:
        unit = session.get(OrgUnit, f.unit_id)
        stmt = stmt.where(OrgUnit.path.startswith(unit.path) if unit else OrgUnit.id.is_(None))
    return stmt


def _row(r: Any) -> AuditRow:
    event, case_no, key, unit_name = r
    return AuditRow(event, case_no, key, unit_name, ACTION_LABELS.get(event.action, event.action))


def search_history(env: Env, user_id: int, f: HistoryFilter = HistoryFilter(), page: int = 1,
                   per_page: int = 20) -> Page[AuditRow]:
    """History events in the auditor's scope matching the filter, newest first."""
    with env.db.read() as session:
        stmt = _search_stmt(session, auditor_paths(session, user_id), f)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.execute(stmt.order_by(HistoryEvent.at.desc(), HistoryEvent.id.desc())
                               .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
        return Page([_row(r) for r in rows], total, page, per_page)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def export_rows(env: Env, user_id: int, f: HistoryFilter = HistoryFilter()) -> list[list[str]]:
    """The search as table rows for CSV: Chinese headers first, then events oldest first."""
    with env.db.read() as session:
        stmt = _search_stmt(session, auditor_paths(session, user_id), f)
        rows = session.execute(stmt.order_by(HistoryEvent.at, HistoryEvent.id).limit(EXPORT_LIMIT)).all()
        out = [list(EXPORT_HEADERS)]
        catalogs: dict[str, FormCatalog] = {}
        for r in rows:
            a = _row(r)
            e = a.event
            if a.process_key not in catalogs:
                catalogs[a.process_key] = process_catalog(env, a.process_key)
            catalog = catalogs[a.process_key]
            titles = {**catalog.titles, **catalog.own_titles(e)}
            out.append([a.case_no, process_name(env, a.process_key), str(e.seq),
                        e.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"), e.actor_name,
                        a.action_label, _cell(e.step_name), _cell(a.unit_name), _cell(e.opinion),
                        readable_text(e.data, titles, pairs=e.action in FACT_ACTIONS), e.hash])
        return out


# ----------------------------------------------------------------------------- one case

@dataclass(frozen=True)
class AuditCase:
    file: CaseFile
    data: dict[str, Any]         # every business variable of the case, as the engine holds it
    labels: dict[str, str]       # field titles from the process's forms and its label map
    chain: ChainCheck
    rows: list[tuple[str, str]] = field(default_factory=list)  # (label, value text) for the page

    @property
    def chain_label(self) -> str:
        if self.chain.ok:
            return "校验通过"
        return "校验失败" if self.chain.first_bad_seq is None else f"校验失败 第{self.chain.first_bad_seq}条"

    @property
    def chain_reason(self) -> str:
        return CHAIN_REASONS.get(self.chain.reason, self.chain.reason)




def _labels(env: Env, key: str) -> dict[str, str]:
    return process_catalog(env, key).titles


def process_name(env: Env, key: str) -> str:
    """A process's one Chinese name: its ProcessConfig's (a Python process's, or a package's
    manifest), else its newest deployed definition's (a bare BPMN upload), else the key."""
    try:
        return env.process(key).name
    except KeyError:
        with env.db.read() as session:
            name = session.scalar(select(ProcessDefinition.name).where(ProcessDefinition.key == key)
                                  .order_by(ProcessDefinition.version.desc()).limit(1))
        return name or key


def data_rows(session: Session, catalog: FormCatalog, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The case's data as (label, text) in the forms' order: unit fields by the unit's name,
    internal keys and keys without a Chinese label left out."""
    units = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(
        [v for k, v in data.items() if k in catalog.unit_fields and isinstance(v, int)]))).all())
    order = {k: i for i, k in enumerate(catalog.titles)}
    rows = []
    for key in sorted(data, key=lambda k: (order.get(k, len(order)), k)):
        value = data[key]
        if key in catalog.unit_fields and key in catalog.titles:
            rows.append((catalog.titles[key], units.get(value, value_text(value))
                         if isinstance(value, int) else value_text(value)))
        elif not is_internal(key) and (label := label_of(key, catalog.titles)):
            rows.append((label, value_text(value)))
    return rows


def audit_case(env: Env, user_id: int, instance_id: int, soon_days: int = 3) -> AuditCase:
    """A case in the auditor's scope with all its data, its timeline and its chain check."""
    with env.db.read() as session:
        paths = auditor_paths(session, user_id)
        instance = session.get(ProcessInstance, instance_id, options=[defer(ProcessInstance.state)])
        if instance is None or not _case_in_scope(instance, _scope_unit_ids(session, paths)):
            raise NotFound(f"case {instance_id} not in auditor {user_id}'s scope", "案件不存在或不在您的审计范围内")
        key = instance.process_key
        events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                 .order_by(HistoryEvent.seq)).all()
        chain = chain_check(env, list(events), instance, keyring_of(session))
        catalog = process_catalog(env, key)
        data = case_data(env, instance_id)
        rows = data_rows(session, catalog, data)
    return AuditCase(case_file(env, user_id, instance_id, soon_days), data, catalog.titles, chain, rows)


# ----------------------------------------------------------------------------- all chains

def chain_check(env: Env, events: list[HistoryEvent], instance: ProcessInstance, keyring: Keyring) -> ChainCheck:
    """The case's chain, then its head against the newest signed checkpoint (if any)."""
    check = check_events(events, instance, keyring)
    if not check.ok:
        return check
    try:
        anchor = newest_checkpoint(env.checkpoint_dir, keyring)
    except CheckpointInvalid:
        return ChainCheck(False, len(events), None, "checkpoint invalid")
    faults = case_faults(anchor, instance.id, events) if anchor else []
    return ChainCheck(False, len(events), *faults[0]) if faults else check


@dataclass(frozen=True)
class BrokenCase:
    id: int
    case_no: str
    first_bad_seq: int | None
    reason: str


@dataclass(frozen=True)
class AdminLogStatus:
    events: int
    ok: bool
    first_bad_seq: int | None
    reason: str                  # Chinese, empty when ok


@dataclass(frozen=True)
class ChainSummary:
    total: int
    ok: int
    broken: list[BrokenCase]
    # The city-wide admin log's chain: for auditors at a top unit only (None for the others).
    admin_log: AdminLogStatus | None = field(default=None, compare=False)


def _admin_log_status(session: Session, paths: list[str]) -> AdminLogStatus | None:
    if not any(p.count("/") == 2 for p in paths):
        return None
    check = verify_admin_log(session)
    return AdminLogStatus(check.events, check.ok, check.first_bad_seq, CHAIN_REASONS.get(check.reason, check.reason))


def verify_scope(env: Env, user_id: int) -> ChainSummary:
    """Verify the hash chain of every case in the auditor's scope, in batches, in one snapshot
    (and the admin log's chain for a city-level auditor)."""
    with snapshot(env) as session:
        paths = auditor_paths(session, user_id)
        units = _scope_unit_ids(session, paths)
        cases = [c for c in session.scalars(select(ProcessInstance).options(defer(ProcessInstance.state))
                                            .order_by(ProcessInstance.id))
                 if _case_in_scope(c, units)]
        broken: list[BrokenCase] = []
        keyring = keyring_of(session)
        for start in range(0, len(cases), VERIFY_BATCH):
            batch = cases[start:start + VERIFY_BATCH]
            events: dict[int, list[HistoryEvent]] = {c.id: [] for c in batch}
            for e in session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id.in_(list(events)))
                                     .order_by(HistoryEvent.instance_id, HistoryEvent.seq)):
                events[e.instance_id].append(e)
            for c in batch:
                check = chain_check(env, events[c.id], c, keyring)
                if not check.ok:
                    broken.append(BrokenCase(c.id, c.case_no, check.first_bad_seq,
                                             CHAIN_REASONS.get(check.reason, check.reason)))
        return ChainSummary(len(cases), len(cases) - len(broken), broken, _admin_log_status(session, paths))
