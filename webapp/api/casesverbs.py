"""API: what the case page offers besides messages and files: 抄送, 督办 (the 督办单 of every
process, the petition's too) and its feedback, the petition's 包案, and 文书 drafts."""
from __future__ import annotations

from typing import Any

from flask_login import current_user

from engine.access import check_case_visible
from engine.copies import copy_case
from engine.documents.drafts import draft_document
from engine.verbs.supervision import answer_order, open_order
from webapp.api import bp, spec
from webapp.api.schemas import CopyIn, CopyOut, FeedbackIn, IdOut, MessageIn, OkOut, SuperviseIn, responses
from webapp.security import actor, current_env
from workflows.petition.ownership import take_ownership


@bp.post("/cases/<int:case_id>/cc")
@spec.validate(json=CopyIn, resp=responses(CopyOut), tags=["cases"], operation_id="copy_case")
def cc(case_id: int, json: CopyIn) -> Any:
    """抄送: copy a case I can see to colleagues (auditors and admins only read)."""
    ids = [i for i in json.user_ids if 1 <= i <= 2_147_483_647]
    return {"copied_to": copy_case(current_env(), case_id, actor(), ids, json.note)}


@bp.post("/cases/<int:case_id>/supervise")
@spec.validate(json=SuperviseIn, resp=responses(IdOut, 201), tags=["verbs"], operation_id="supervise")
def supervise(case_id: int, json: SuperviseIn) -> Any:
    """督办: a supervision order to the unit that has the case in hand (default deadline if none)."""
    check_case_visible(current_env(), current_user.id, case_id)
    return {"id": open_order(current_env(), case_id, actor(), json.requirement, json.due_on, json.kind)}, 201


@bp.post("/cases/<int:case_id>/supervision/<int:order_id>")
@spec.validate(json=FeedbackIn, resp=responses(OkOut), tags=["verbs"], operation_id="answer_supervision")
def answer(case_id: int, order_id: int, json: FeedbackIn) -> Any:
    """The supervised unit's written feedback, once."""
    check_case_visible(current_env(), current_user.id, case_id)
    answer_order(current_env(), order_id, actor(), json.feedback, case_id)
    return {"ok": True}


@bp.post("/cases/<int:case_id>/ownership")
@spec.validate(json=MessageIn, resp=responses(OkOut), tags=["petition"], operation_id="petition_ownership")
def petition_ownership(case_id: int, json: MessageIn) -> Any:
    """领导包案: a leader above the case takes it."""
    check_case_visible(current_env(), current_user.id, case_id)
    take_ownership(current_env(), case_id, actor(), json.data)
    return {"ok": True}


@bp.post("/cases/<int:case_id>/documents/<doc_type>")
@spec.validate(resp=responses(IdOut, 201), tags=["cases"], operation_id="draft_document")
def draft(case_id: int, doc_type: str) -> Any:
    """文书: generate a document of the case now (stored as an attachment)."""
    return {"id": draft_document(current_env(), case_id, actor(), doc_type[:64])}, 201
