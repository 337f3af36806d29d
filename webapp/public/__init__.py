"""信访事项查询 — the petitioner's public page (no sign-in): case number + query code show the
case's status and the answers served, and take the satisfaction evaluation once.

Thin views over workflows.petition.public; the query code check and its rate limit (failures per
address and per case number, shared by all app processes) are engine.public's. An unknown case
number and a wrong code get the same message. CSRF-protected like every form of the app."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, render_template, request

from engine.errors import FormInvalid, InvalidState, NotFound
from engine.public import QueryLocked
from engine.ratelimit import Limit
from webapp.security import current_env
from webapp.templating import local_dt
from workflows.petition import public as petition

bp = Blueprint("public", __name__)
RATINGS = petition.RATINGS
STAGES = (("intake_satisfaction", "受理环节"), ("handling_satisfaction", "办理环节"))


def _credentials() -> tuple[str, str]:
    return (request.form.get("case_no", "").strip().upper()[:32],
            request.form.get("query_code", "").strip()[:16])


def _client() -> str:
    return request.remote_addr or "unknown"


def _limit() -> Limit:
    cfg = current_app.config
    return Limit(int(cfg.get("PUBLIC_QUERY_MAX_FAILURES", 5)),
                 timedelta(minutes=int(cfg.get("PUBLIC_QUERY_LOCK_MINUTES", 15))))


def _refused(case_no: str, exc: NotFound | QueryLocked) -> tuple[str, int]:
    if isinstance(exc, QueryLocked):
        message = f"查询失败次数过多，已暂时锁定。请于 {local_dt(exc.until, '%H:%M')} 后再试。"
        return render_template("public/query.html", case_no=case_no, error=message), 429
    return render_template("public/query.html", case_no=case_no, error=exc.user_message), 404


def _case_page(view: petition.PublicCase, code: str, errors: dict[str, str] | None = None,
               message: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("public/case.html", case=view, query_code=code, stages=STAGES,
                           ratings=RATINGS, errors=errors or {}, message=message), status


@bp.route("/query", methods=["GET", "POST"])
def query() -> str | tuple[str, int]:
    if request.method == "GET":
        return render_template("public/query.html", case_no="", error=None)
    case_no, code = _credentials()
    try:
        view = petition.lookup(current_env(), case_no, code, _client(), _limit())
    except (NotFound, QueryLocked) as exc:
        return _refused(case_no, exc)
    return _case_page(view, code)


@bp.post("/query/evaluate")
def evaluate() -> str | tuple[str, int]:
    case_no, code = _credentials()
    form = {name: request.form[name] for name, _label in STAGES if request.form.get(name)}
    env = current_env()
    try:
        view = petition.evaluate(env, case_no, code, _client(), form, _limit())
    except (NotFound, QueryLocked) as exc:
        return _refused(case_no, exc)
    except FormInvalid as exc:
        return _case_page(petition.lookup(env, case_no, code, _client(), _limit()), code, exc.errors,
                          status=422)
    except InvalidState as exc:
        return _case_page(petition.lookup(env, case_no, code, _client(), _limit()), code,
                          message=exc.user_message, status=409)
    flash("感谢您的评价！", "success")
    return _case_page(view, code)
