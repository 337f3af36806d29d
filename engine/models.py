"""The database schema: org tree, users and grants, definitions, cases, tasks, history.

Typed SQLAlchemy 2.x models. Schema changes go through Alembic (engine/migrations).
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; RongFlow stores aware datetimes only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class OrgLevel(str, enum.Enum):
    city = "city"
    district = "district"
    town = "town"
    village = "village"


class Role(str, enum.Enum):
    """The five built-in roles, as constants of their catalogue keys. Roles are data (the role
    catalogue, engine.packages.roles): a role column holds any catalogue key (`RoleKey`)."""
    caseworker = "caseworker"
    reviewer = "reviewer"
    leader = "leader"
    auditor = "auditor"
    admin = "admin"


class RoleKey(str):
    """A role's key as stored (role_grant.role, human_task.role): any key of the role catalogue,
    built-in or added by an admin. A plain string that also answers `.value`, like a `Role`, so
    code written against the five built-in roles keeps working (`row.role == Role.leader`)."""
    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)


class RoleType(TypeDecorator[str]):
    """A role column: the key of a role_catalogue row (migration 0014), read back as a RoleKey."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(value.value if isinstance(value, enum.Enum) else str.__str__(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else RoleKey(value)


class InstanceStatus(str, enum.Enum):
    running = "running"
    suspended = "suspended"
    error = "error"
    completed = "completed"
    cancelled = "cancelled"
    terminated = "terminated"


class TaskStatus(str, enum.Enum):
    open = "open"          # ready, nobody has claimed it
    claimed = "claimed"    # ready, one person has taken it
    completed = "completed"
    cancelled = "cancelled"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class OrgUnit(Base):
    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[OrgLevel] = mapped_column(_enum(OrgLevel))
    # A section (科室) of an organ at the same level, e.g. the city bureau's petition section.
    is_section: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Materialised path "/1/4/17/" so a subtree is one indexed LIKE query.
    path: Mapped[str] = mapped_column(String(255), index=True, default="/")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped at logout and password reset: every older session becomes invalid.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set by an admin's password reset: every page leads to the password change until it is done.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", lazy="selectin")


class RoleGrant(Base):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id"),
                      Index("ix_role_grant_unit_role", "org_unit_id", "role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(RoleType(), ForeignKey("role_catalogue.key", name="fk_role_grant_role"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    user: Mapped[User] = relationship(back_populates="grants")


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    # {filename: xml text} of every BPMN and DMN file of this version.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime]
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    # A declarative package's manifest text and forms ({"manifest": str, "forms": {step: schema}});
    # None for a process served by Python in workflows/<key>/ (engine.packages).
    package: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RoleCatalogue(Base):
    """The roles: grants, task rows, lanes and who starts name a key of it (migration 0014's
    foreign keys). Seeded with Role's values; admins add roles and rename them."""
    __tablename__ = "role_catalogue"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseSequence(Base):
    """The last case number issued per process prefix and year (row-locked while issuing)."""
    __tablename__ = "case_sequence"
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_key_created", "process_key", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    query_code: Mapped[str] = mapped_column(String(16))
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[InstanceStatus] = mapped_column(_enum(InstanceStatus), index=True)
    # Optimistic-lock counter, bumped by every command.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(Text)  # workflow JSON, without the spec
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    initiator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    subject_name: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    subject_id_no: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    # The start form's first cn-mobile field (the case ledger searches and masks it; 0017).
    subject_phone: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    # Units whose staff may see this case (routing so far), e.g. "/3/17/"; for scope checks.
    unit_ids: Mapped[str] = mapped_column(String(255), default="/")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_timer_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_step: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Hash of the newest history event of this case: the next event chains onto it.
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # No ORM relationship to the definition (nor from a task to its case): nothing navigated them,
    # and each one made every flush of the hot path sort out a dependency (3 % of a submit's calls).
    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A READY user task of a case, mirrored from the workflow after each step (the inbox reads this)."""
    __tablename__ = "human_task"
    # the inbox reads one range per (role, unit) grant in due-date order (migration 0024, engine.inbox)
    __table_args__ = (Index("ix_task_inbox_due", "status", "org_unit_id", "role", "due_at", "id"),
                      Index("ix_task_assignee", "assignee_id", "status"),
                      # a case's open rows without its completed ones (migration 0018); it serves
                      # every lookup by case too (its own index went in migration 0025)
                      Index("ix_task_instance_status", "instance_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    process_key: Mapped[str] = mapped_column(String(64))
    case_no: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255), default="")
    step_id: Mapped[str] = mapped_column(String(128))
    step_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(RoleType(), ForeignKey("role_catalogue.key", name="fk_human_task_role"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    # Why the task is where it is (migration 0011, engine.verbs): "returned" (退回), "withdrawn"
    # (撤回), "transferred" (转办), with the reason and who did it; the inbox and task page show it.
    mark: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mark_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    mark_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    # A signer round on one SpiffWorkflow task (engine.verbs.signers): {"round": lead row id,
    # "mode": "all" | "any" | "seq" | "added", ...}; None for a task one person completes.
    sign: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Someone keeps a 暂存 of this task's form (migration 0016, engine.drafts): the task page and
    # the step's end read or delete form_draft rows only when this is set (no cost otherwise).
    has_draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class HistoryEvent(Base):
    """One appended fact about a case. Never updated or deleted (database triggers refuse it).

    Events of a case form a hash chain: `hash` covers the event's content and the previous
    event's hash, so an auditor can prove nothing was changed afterwards.
    """
    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),
                      Index("ix_history_actor_at", "actor_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64), default="系统")
    action: Mapped[str] = mapped_column(String(32), index=True)
    step_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    step_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), nullable=True)
    opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    # {"field": [before, after]} for form data; free details for other actions.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # How `hash` was made (migration 0005): "hmac-sha256" under the key `key_id`, or "sha256"
    # (no key) for events written before keyed chains.
    hash_alg: Mapped[str] = mapped_column(String(16), server_default="sha256")
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Attachment(Base):
    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # None: a document the system issued (a timer or an automatic step completed its step; 0019)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    uploaded_at: Mapped[datetime]


__all__ = ["Base", "OrgUnit", "OrgLevel", "User", "Role", "RoleKey", "RoleType", "RoleGrant",
           "RoleCatalogue", "ProcessDefinition", "CaseSequence", "ProcessInstance", "InstanceStatus",
           "HumanTask", "TaskStatus",
           "HistoryEvent", "Attachment"]


class DocumentSequence(Base):
    """The last document number (文号) issued per unit, year and document type (row-locked)."""
    __tablename__ = "document_sequence"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseDocument(Base):
    """A document generated for a case from its template: a .docx and a .pdf attachment."""
    __tablename__ = "case_document"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    number: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: a draft
    issuer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    docx_attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    pdf_attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[datetime]
    __table_args__ = (Index("ix_case_document_number", "number", unique=True),)


class CaseCopy(Base):
    """抄送: a read-only copy of a case to a named user, with a read mark (web layer, 0002)."""
    __tablename__ = "case_copy"
    __table_args__ = (UniqueConstraint("instance_id", "user_id"),
                      Index("ix_case_copy_user_read", "user_id", "read_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


__all__ += ["CaseCopy"]


class AdminEvent(Base):
    """One administrative action (users, org units, grants, deployments). Append-only like the
    case history: database triggers refuse UPDATE and DELETE (migration 0003)."""
    __tablename__ = "admin_event"
    __table_args__ = (Index("ix_admin_event_target", "target_type", "target_id"),
                      UniqueConstraint("seq", name="uq_admin_event_seq"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    target_type: Mapped[str] = mapped_column(String(32))   # "user" | "org_unit" | "grant" | "definition"
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target: Mapped[str] = mapped_column(String(255), default="")  # a readable label, e.g. the username
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # One keyed hash chain over the whole log, like a case's history (engine.integrity.adminlog).
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    hash_alg: Mapped[str] = mapped_column(String(16), server_default="sha256")
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AdminLogHead(Base):
    """The head of the admin log's chain (one row, id 1): locked by each writer, so the log
    never forks; the next event chains onto `last_hash`."""
    __tablename__ = "admin_log_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


__all__ += ["AdminEvent", "AdminLogHead"]


class RateLimitHit(Base):
    """One failed attempt counted by engine/ratelimit.py (e.g. a wrong query code), per bucket:
    "ip:<address>" or "case:<case no>". Rows older than the window are deleted as new ones come;
    this is a counter, not history (the case history records what happened to cases)."""
    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_bucket_at", "bucket", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(96))
    at: Mapped[datetime]


__all__ += ["RateLimitHit"]


class WorkerHeartbeat(Base):
    """A running timer worker (`rongflow worker`), named host:pid: it writes `beat_at` every poll
    and `stopped_at` when it stops gracefully. /readyz and the worker-lag metric read it. Not
    history: rows of stopped workers may be pruned."""
    __tablename__ = "worker_heartbeat"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    cases_handled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stopped_at: Mapped[datetime | None] = mapped_column(nullable=True)


__all__ += ["WorkerHeartbeat"]


class AppMessage(Base):
    """站内消息: one message to one user (new task, returned, urged, …) with a read mark
    (migration 0011, engine.notify). Not history: the case history records what happened."""
    __tablename__ = "app_message"
    __table_args__ = (Index("ix_app_message_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the worker handed it to the configured senders (SMS, e-mail; migration 0023,
    # engine.notify.senders.deliver_pending); None: not yet.
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)


__all__ += ["AppMessage"]


class ApiToken(Base):
    """A personal access token for the JSON API (migration 0013, engine.tokens): stored as the
    SHA-256 of its secret, scoped to "read" or "act", with an expiry; revoked, never deleted."""
    __tablename__ = "api_token"
    __table_args__ = (Index("ux_api_token_hash", "token_hash", unique=True),
                      Index("ix_api_token_user", "user_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)


__all__ += ["ApiToken"]


class AbsenceProxy(Base):
    """代理: while `user_id` is away (starts_at..ends_at), tasks assigned to them go to `proxy_id`,
    who acts within the absent user's rights (migration 0011, engine.verbs.proxy)."""
    __tablename__ = "absence_proxy"
    __table_args__ = (Index("ix_absence_proxy_user", "user_id", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    proxy_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)  # ended early by the user


__all__ += ["AbsenceProxy"]


class SupervisionOrder(Base):
    """督办: a supervision order on a case to the unit that has it in hand, with its own deadline,
    answered once by written feedback (migrations 0011 and 0015, engine.verbs.supervision)."""
    __tablename__ = "supervision_order"
    __table_args__ = (Index("ix_supervision_order_instance", "instance_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    requirement: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    opened_at: Mapped[datetime]
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    fed_back_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    fed_back_at: Mapped[datetime | None] = mapped_column(nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # 督办事由 (a process's `supervision_kinds`, e.g. 久拖未决) and the step whose completion opened
    # the order (e.g. a missed deadline's 超期督办), None when opened by hand (migration 0015)
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


__all__ += ["SupervisionOrder"]


class LedgerFilter(Base):
    """A saved filter of the case ledger (台账), per user and process (migration 0017): the
    ledger's query arguments as typed; applying one never widens the user's own scope."""
    __tablename__ = "ledger_filter"
    __table_args__ = (Index("ux_ledger_filter_user_name", "user_id", "process_key", "name", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    process_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


__all__ += ["LedgerFilter"]


class FormDraft(Base):
    """暂存: one user's unsent input on one task's form (migration 0016, engine.drafts), readable
    by that user only and deleted when the task ends."""
    __tablename__ = "form_draft"
    __table_args__ = (Index("ix_form_draft_task", "task_id"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    opinion: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime]


__all__ += ["FormDraft"]


class StockOpinion(Base):
    """常用意见: one user's stock opinion text (migration 0021, engine.opinions), offered on the
    leader workbench and readable and removable by that user only."""
    __tablename__ = "stock_opinion"
    __table_args__ = (UniqueConstraint("user_id", "text", name="uq_stock_opinion_user_text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


__all__ += ["StockOpinion"]
