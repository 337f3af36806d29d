"""Documents on demand: an unnumbered draft of any of a case's types (the 回执 printed at
registration is one), and the list of a case's documents for the case page and the auditor."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import visible_case
from engine.documents.issue import Issuer, issue_document
from engine.env import Env
from engine.errors import NotFound, PermissionDenied
from engine.models import CaseDocument, HumanTask, InstanceStatus, ProcessInstance
from engine.ops.logs import logged_command
from engine.orgs import Actor, SessionOrgLookup
from engine.runtime import can_act, case_data
from engine.stepper import OPEN_STATUSES


@dataclass(frozen=True)
class DocumentRow:
    id: int
    title: str
    number: str | None  # None: a draft or an unnumbered document (回执)
    step_id: str | None
    created_at: datetime
    docx_attachment_id: int
    pdf_attachment_id: int


def _handler_task(session: Session, actor: Actor, instance: ProcessInstance) -> HumanTask | None:
    """An open task of the case the actor may act on, or None; PermissionDenied when the actor is
    neither such a handler nor the initiator."""
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                   HumanTask.status.in_(OPEN_STATUSES))).all()
    mine = next((r for r in rows if can_act(session, actor.id, r)), None)
    if mine is None and instance.initiator_id != actor.id:
        raise PermissionDenied(f"user {actor.id} may not draft documents of {instance.case_no}",
                               "只有发起人或当前办理人可以生成文书")
    return mine


@logged_command
def draft_document(env: Env, instance_id: int, actor: Actor, doc_type: str) -> int:
    """Generate an unnumbered document of the case now (one transaction: files, row, event)."""
    if env.upload_dir is None:
        raise NotFound("no upload directory is configured", "文书存储未配置")
    data = case_data(env, instance_id)  # returned only once the case proves visible below
    with env.db.write() as session:
        if not env.db.is_sqlite:  # serialize the case's history appends (SQLite serializes writers)
            session.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())
        instance = visible_case(session, actor.id, instance_id)
        if instance.status not in (InstanceStatus.running, InstanceStatus.suspended):
            raise PermissionDenied(f"case {instance.case_no} is closed", "案件已结束，不能再生成文书草稿")
        task = _handler_task(session, actor, instance)
        docs = env.process(instance.process_key).documents
        if docs is None or doc_type not in docs.types:
            raise NotFound(f"process {instance.process_key} has no document type {doc_type!r}", "没有该文书")
        unit = task.org_unit_id if task is not None else instance.org_unit_id
        issuer = Issuer(actor.id, actor.name, SessionOrgLookup(session).organ_of(unit))
        return issue_document(session, instance, docs, docs.types[doc_type], data, issuer,
                              env.upload_dir, env.clock.now(), numbered=False).id


def case_documents(env: Env, user_id: int, instance_id: int) -> list[DocumentRow]:
    """The documents of a case the user may see, oldest first."""
    with env.db.read() as session:
        visible_case(session, user_id, instance_id)
        rows = session.scalars(select(CaseDocument).where(CaseDocument.instance_id == instance_id)
                               .order_by(CaseDocument.id)).all()
        return [DocumentRow(r.id, r.title, r.number, r.step_id, r.created_at, r.docx_attachment_id,
                            r.pdf_attachment_id) for r in rows]


def may_draft(env: Env, actor: Actor, instance_id: int) -> bool:
    """Whether the actor may draft documents of the case now (for the case page)."""
    with env.db.read() as session:
        instance = visible_case(session, actor.id, instance_id)
        if instance.status not in (InstanceStatus.running, InstanceStatus.suspended):
            return False
        try:
            _handler_task(session, actor, instance)
        except PermissionDenied:
            return False
        return True


def draftable(env: Env, process_key: str) -> list[tuple[str, str]]:
    """(type key, title) of the documents a case of this process may draft."""
    docs = env.process(process_key).documents
    return [(t.key, t.title) for t in docs.types.values()] if docs is not None else []

