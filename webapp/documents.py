"""文书: a case's generated documents on the case page and the auditor's case view (Word and PDF,
downloaded through the attachment route), and drafts made on demand (the 回执 at registration)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.documents.drafts import case_documents, draft_document, draftable, may_draft
from engine.documents.render import cn_date
from engine.calendar import to_local_date
from webapp.security import actor, current_env

bp = Blueprint("documents", __name__)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    """For the case pages: `case_documents_of(case_id)`, `draftable_of(key)`, `may_draft(case_id)`,
    `doc_date(dt)`."""
    return {"case_documents_of": lambda case_id: case_documents(current_env(), current_user.id, case_id),
            "draftable_of": lambda key: draftable(current_env(), key),
            "may_draft": lambda case_id: may_draft(current_env(), actor(), case_id),
            "doc_date": lambda dt: cn_date(to_local_date(dt))}


@bp.post("/cases/<int:case_id>/documents/<doc_type>")
def draft(case_id: int, doc_type: str) -> Response:
    draft_document(current_env(), case_id, actor(), doc_type)
    flash("文书已生成，可在“文书”中下载", "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#documents")
