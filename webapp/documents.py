"""文书 and the half-year report: a case's generated documents on the case page and the auditor's
case view (Word and PDF, downloaded through the attachment route), drafts made on demand (the 回执
at registration); the half-year report (Word) and its companion table (.xlsx) for the unit and
period chosen on 统计指标."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.documents.drafts import case_documents, draft_document, draftable, may_draft
from engine.documents.render import cn_date
from engine.calendar import to_local_date
from engine.documents.issue import DOCX
from engine.errors import FormInvalid
from webapp.errors import error_page
from webapp.inputs import parse_id
from webapp.stats import StatsArgs
from workflows.half_year import HalfYear, build, to_docx, to_xlsx
from webapp.security import actor, current_env

bp = Blueprint("documents", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


# ----------------------------------------------------------------------------- the half-year report

def _half_year() -> HalfYear:
    args = StatsArgs.from_request()
    date_from, date_to = args.dates()
    return build(current_env(), current_user.id, parse_id(args.unit), date_from, date_to)


def _download(data: bytes, mimetype: str, name: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


@bp.get("/stats/half-year.docx")
def half_year_docx() -> Response | tuple[str, int]:
    """The half-year report (Word) of the unit and period chosen on 统计指标."""
    try:
        found = _half_year()
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    return _download(to_docx(found), DOCX, f"{found.title}.docx")


@bp.get("/stats/half-year.xlsx")
def half_year_xlsx() -> Response | tuple[str, int]:
    """Its companion table: every figure and the cases behind each section."""
    try:
        found = _half_year()
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    return _download(to_xlsx(found), XLSX, f"{found.title}-数据明细.xlsx")
