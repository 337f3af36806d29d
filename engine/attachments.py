"""附件: files on a case (and optionally on one of its tasks), stored by content hash.

Files live under an upload directory outside the web root, at <dir>/<aa>/<bb>/<sha256>; the
database row keeps the original name. Only an allow-list of types is accepted, checked by
extension and by the file's leading bytes, and every upload is recorded in the case history.
The same bytes twice on one case and step are refused; the uploader may remove a file while its
step is open (recorded too); PDF and images may be shown inline (`PREVIEW_TYPES`).
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.access import visible_attachment, visible_case, visible_task
from engine.env import Env
from engine.errors import Conflict, FormInvalid, InvalidState, PermissionDenied
from engine.filestore import storage_path, store_bytes
from engine.history import append_event
from engine.models import Attachment, CaseDocument, HumanTask, InstanceStatus, ProcessInstance
from engine.orgs import Actor
from engine.runtime import StartResult, can_act, start_case
from engine.stepper import OPEN_STATUSES
from engine.ops.logs import logged_command

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (doc, xls)
ZIP = b"PK\x03\x04"                         # OOXML (docx, xlsx)
# extension -> (content type, accepted leading bytes)
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "doc": ("application/msword", (OLE,)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (ZIP,)),
    "xls": ("application/vnd.ms-excel", (OLE,)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
}


@dataclass(frozen=True)
class UploadPolicy:
    directory: Path
    max_bytes: int
    extensions: frozenset[str] = frozenset(ALLOWED_TYPES)


def check_upload(filename: str, data: bytes, policy: UploadPolicy) -> str:
    """The content type of an acceptable file; FormInvalid (field "file") otherwise."""
    ext = Path(filename).suffix.lower().lstrip(".")
    if not filename.strip() or not data:
        raise FormInvalid({"file": "请选择要上传的文件"})
    if len(data) > policy.max_bytes:
        raise FormInvalid({"file": f"文件不能超过 {policy.max_bytes // (1024 * 1024)} MB"})
    if ext not in policy.extensions or ext not in ALLOWED_TYPES:
        raise FormInvalid({"file": "只能上传 PDF、JPG、PNG、Word（doc/docx）或 Excel（xls/xlsx）文件"})
    content_type, magics = ALLOWED_TYPES[ext]
    if not any(data.startswith(m) for m in magics):
        raise FormInvalid({"file": "文件内容与扩展名不符"})
    return content_type


def _may_attach(session: Session, actor: Actor, instance: ProcessInstance,
                task_id: int | None) -> tuple[HumanTask | None, int]:
    """The initiator, or whoever may act on an open task of the case, may add files. Returns the
    task (when named) and the actor's acting unit for the history: the task's unit, else the
    unit of an open task the actor may act on, else (the initiator) the unit the case was
    started in."""
    if instance.status not in (InstanceStatus.running, InstanceStatus.suspended):
        raise PermissionDenied(f"case {instance.case_no} is closed", "案件已结束，不能再上传附件")
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                   HumanTask.status.in_(OPEN_STATUSES))).all()
    mine = [r for r in rows if can_act(session, actor.id, r)]
    task = next((r for r in mine if r.id == task_id), None) if task_id else None
    if task_id and task is None:
        raise PermissionDenied(f"user {actor.id} cannot act on task {task_id}", "您不能在该任务上上传附件")
    if not mine and instance.initiator_id != actor.id:
        raise PermissionDenied(f"user {actor.id} may not attach to {instance.case_no}",
                               "只有发起人或当前办理人可以上传附件")
    acting = task or (mine[0] if mine else None)
    return task, acting.org_unit_id if acting else instance.org_unit_id


# Unicode categories a stored file name drops: controls, format characters (the bidi overrides
# such as U+202E that make "exe.pdf" read as "fdp.exe", zero-width characters), surrogates,
# private-use and unassigned code points.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
MAX_FILENAME = 255  # the column's length


def _clean_name(filename: str) -> str:
    """The name a file is stored under: the last part of the path, NFC, without the characters
    above, at most 255 characters with the extension kept (a long name is cut in its stem)."""
    name = Path(unicodedata.normalize("NFC", filename).replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c) not in _DROPPED_CATEGORIES).strip()
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return f"{stem[:MAX_FILENAME - len(ext) - 1].rstrip()}.{ext}"
    return name[:MAX_FILENAME]


def _refuse_twice(session: Session, instance: ProcessInstance, task: HumanTask | None, digest: str) -> None:
    """The same bytes are stored once per case and step (task); a second upload is a FormInvalid."""
    same_step = Attachment.task_id == task.id if task else Attachment.task_id.is_(None)
    earlier = session.scalar(select(Attachment.filename).where(
        Attachment.instance_id == instance.id, same_step, Attachment.sha256 == digest).limit(1))
    if earlier is not None:
        raise FormInvalid({"file": f"该文件已上传过（{earlier}），请勿重复上传"})


def _save(session: Session, env: Env, instance: ProcessInstance, actor: Actor, name: str,
          data: bytes, policy: UploadPolicy, task: HumanTask | None, unit_id: int) -> Attachment:
    """Check and store one file, add its row and its history event under the actor's acting
    unit (caller holds the lock)."""
    content_type = check_upload(name, data, policy)
    _refuse_twice(session, instance, task, hashlib.sha256(data).hexdigest())
    digest = store_bytes(policy.directory, data)
    now = env.clock.now()
    att = Attachment(instance_id=instance.id, task_id=task.id if task else None, filename=name,
                     content_type=content_type, size=len(data), sha256=digest,
                     uploaded_by_id=actor.id, uploaded_at=now)
    session.add(att)
    session.flush()
    append_event(session, instance, at=now, action="attach", actor_id=actor.id,
                 actor_name=actor.name, task_id=task.id if task else None,
                 step_id=task.step_id if task else None,
                 step_name=task.step_name if task else None, org_unit_id=unit_id,
                 data={"attachment_id": att.id, "filename": name, "size": len(data),
                       "sha256": digest})
    return att


@logged_command
def add_attachment(env: Env, instance_id: int, actor: Actor, filename: str, data: bytes,
                   policy: UploadPolicy, task_id: int | None = None) -> int:
    """Store a file for a case (one transaction: the row and the history event)."""
    name = _clean_name(filename)
    try:
        with env.db.write() as session:
            _lock_row(env, session, instance_id)
            instance = visible_case(session, actor.id, instance_id)
            task, unit_id = _may_attach(session, actor, instance, task_id)
            return _save(session, env, instance, actor, name, data, policy, task, unit_id).id
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc


# ----------------------------------------------------------------------------- form file fields

@dataclass(frozen=True)
class Upload:
    """A file chosen in a form's file field (x-widget "file")."""
    filename: str
    data: bytes


FieldFiles = dict[str, list[Upload]]  # form field -> the files chosen in it


def _check_all(files: FieldFiles, policy: UploadPolicy) -> None:
    """Every file acceptable, or FormInvalid on the field of the first bad one."""
    for field_name, uploads in files.items():
        for up in uploads:
            try:
                check_upload(_clean_name(up.filename), up.data, policy)
            except FormInvalid as exc:
                raise FormInvalid({field_name: f"{_clean_name(up.filename)}：{exc.errors['file']}"}) from exc


def _save_fields(session: Session, env: Env, instance: ProcessInstance, actor: Actor,
                 files: FieldFiles, policy: UploadPolicy,
                 task: HumanTask | None, unit_id: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name, uploads in files.items():
        for up in uploads:
            try:
                att = _save(session, env, instance, actor, _clean_name(up.filename), up.data, policy, task,
                            unit_id)
            except FormInvalid as exc:  # the same file twice: said on the form's own field
                raise FormInvalid({name: f"{_clean_name(up.filename)}：{exc.errors['file']}"}) from exc
            out.setdefault(name, []).append(att.id)
    return out


@logged_command
def add_files(env: Env, instance_id: int, actor: Actor, files: FieldFiles, policy: UploadPolicy,
              task_id: int | None = None) -> dict[str, list[int]]:
    """Store the files of a step form's file fields (one transaction, all or none); returns
    {field: [attachment ids]} for the form data. A bad file is a FormInvalid on its field."""
    if not any(files.values()):
        return {}
    _check_all(files, policy)
    try:
        with env.db.write() as session:
            _lock_row(env, session, instance_id)
            instance = visible_case(session, actor.id, instance_id)
            task, unit_id = _may_attach(session, actor, instance, task_id)
            return _save_fields(session, env, instance, actor, files, policy, task, unit_id)
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc


def start_case_with_files(env: Env, process_key: str, actor: Actor, org_unit_id: int,
                          data: dict[str, Any], files: FieldFiles,
                          policy: UploadPolicy) -> StartResult:
    """Start a case whose start form has file fields: the files are stored on the new case in
    the start's own transaction and their attachment ids put into the start data."""
    if not any(files.values()):
        return start_case(env, process_key, actor, org_unit_id, data)
    _check_all(files, policy)

    def attach(session: Session, instance: ProcessInstance) -> dict[str, Any]:
        return _save_fields(session, env, instance, actor, files, policy, None, org_unit_id)
    return start_case(env, process_key, actor, org_unit_id, data, attach)


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    content_type: str

    @property
    def previewable(self) -> bool:
        return self.content_type in PREVIEW_TYPES


# Types a browser shows by itself, safely, inside the page (<iframe> for PDF, <img> for images).
PREVIEW_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def attachment_download(env: Env, user_id: int, attachment_id: int, directory: Path) -> Download:
    """The stored file of an attachment the user may see (NotFound otherwise)."""
    with env.db.read() as session:
        att = visible_attachment(session, user_id, attachment_id)
        return Download(storage_path(directory, att.sha256), att.filename, att.content_type)


def _lock_row(env: Env, session: Session, instance_id: int) -> None:
    """Serialize history appends on PostgreSQL (SQLite writers are serialized already)."""
    if not env.db.is_sqlite:
        session.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
                        .with_for_update())


# ----------------------------------------------------------------------------- a task's files

@logged_command
def add_task_attachment(env: Env, task_id: int, actor: Actor, filename: str, data: bytes,
                        policy: UploadPolicy) -> int:
    """Store a file on the step a user is doing (the task page's in-place upload)."""
    with env.db.read() as session:
        instance_id = visible_task(session, actor.id, task_id).instance_id
    return add_attachment(env, instance_id, actor, filename, data, policy, task_id)


def task_files(env: Env, user_id: int, task_id: int) -> tuple[HumanTask, list[Attachment]]:
    """A task and the files of its case, oldest first (what the task page lists)."""
    with env.db.read() as session:
        row = visible_task(session, user_id, task_id)
        return row, list(session.scalars(select(Attachment).where(Attachment.instance_id == row.instance_id)
                                         .order_by(Attachment.id)))


def may_remove(att: Attachment, user_id: int, task: HumanTask | None) -> bool:
    """Whether the page offers 删除: the uploader's own file of a step still open."""
    return (att.uploaded_by_id == user_id and task is not None and att.task_id == task.id
            and task.status in OPEN_STATUSES)


def _removable(session: Session, actor: Actor, att: Attachment) -> tuple[ProcessInstance, HumanTask]:
    if att.uploaded_by_id != actor.id:
        raise PermissionDenied(f"user {actor.id} did not upload attachment {att.id}", "只有上传人可以删除该附件")
    task = session.get(HumanTask, att.task_id) if att.task_id else None
    if task is None or task.status not in OPEN_STATUSES:
        raise InvalidState(f"attachment {att.id}: its step is over", "该附件所在步骤已办结，不能再删除")
    instance = session.get(ProcessInstance, att.instance_id)
    assert instance is not None
    if instance.status not in (InstanceStatus.running, InstanceStatus.suspended):
        raise InvalidState(f"case {instance.case_no} is closed", "案件已结束，附件不能再删除")
    used = session.scalar(select(CaseDocument.id).where(
        (CaseDocument.docx_attachment_id == att.id) | (CaseDocument.pdf_attachment_id == att.id)).limit(1))
    if used is not None:
        raise InvalidState(f"attachment {att.id} is an issued document", "该附件是已生成的文书，不能删除")
    return instance, task


@logged_command
def remove_attachment(env: Env, attachment_id: int, actor: Actor) -> tuple[str, int]:
    """The uploader removes their file while its step is open (the row goes, the history keeps
    the event with the file's hash; the stored bytes stay, as a hash in history names them).
    Returns the file's name and its task."""
    try:
        with env.db.write() as session:
            att = visible_attachment(session, actor.id, attachment_id)
            _lock_row(env, session, att.instance_id)
            instance, task = _removable(session, actor, att)
            name, digest = att.filename, att.sha256
            session.execute(delete(Attachment).where(Attachment.id == att.id))
            append_event(session, instance, at=env.clock.now(), action="detach", actor_id=actor.id,
                         actor_name=actor.name, task_id=task.id, step_id=task.step_id,
                         step_name=task.step_name, org_unit_id=task.org_unit_id,
                         data={"attachment_id": attachment_id, "filename": name, "sha256": digest})
            return name, task.id
    except StaleDataError as exc:
        raise Conflict("the case was changed by someone else at the same time",
                       "该案件刚被他人修改，请刷新后重试") from exc
