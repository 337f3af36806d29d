"""访问令牌 pages: a user's own personal access tokens for the JSON API (create, shown once;
revoke), and the admin's list of the tokens of the people in their subtree (revoke)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.errors import FormInvalid
from engine.tokens import MAX_DAYS, NewToken, admin_list_tokens, create_token, list_tokens, revoke_token
from webapp.security import current_env

bp = Blueprint("tokens", __name__)
SCOPE_LABELS = {"read": "只读", "act": "办理"}


def _own(new: NewToken | None = None, errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("tokens/index.html", tokens=list_tokens(current_env(), current_user.id), new=new,
                           errors=errors or {}, scopes=SCOPE_LABELS, max_days=MAX_DAYS,
                           now=current_env().clock.now(), form=request.form), status


@bp.get("/account/tokens")
def index() -> tuple[str, int]:
    return _own()


@bp.post("/account/tokens")
def create() -> tuple[str, int]:
    days = request.form.get("days", "")
    try:
        new = create_token(current_env(), current_user.id, current_user.id, request.form.get("name", ""),
                           request.form.get("scope", ""), int(days) if days.isascii() and days.isdigit()
                           and len(days) < 5 else 0)
    except FormInvalid as exc:
        return _own(errors=exc.errors, status=422)
    return _own(new=new, status=201)  # the secret is on this page only, never again


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    revoke_token(current_env(), current_user.id, token_id)
    flash("令牌已撤销", "success")
    return redirect(url_for("tokens.index"))


@bp.get("/admin/tokens")
def admin_index() -> str:
    return render_template("tokens/admin.html", tokens=admin_list_tokens(current_env(), current_user.id),
                           scopes=SCOPE_LABELS, now=current_env().clock.now())


@bp.post("/admin/tokens/<int:token_id>/revoke")
def admin_revoke(token_id: int) -> Response:
    revoke_token(current_env(), current_user.id, token_id)
    flash("令牌已撤销", "success")
    return redirect(url_for("tokens.admin_index"))
