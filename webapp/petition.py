"""信访 case actions: 领导包案 (a leader above the case), a small form page reached from the case
page. Who may is decided by workflows.petition (the same rule the command applies); a refused form
keeps what was typed. The 督办单 is the engine's 督办 on the case page (webapp/verbs.py)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.access import check_case_visible
from engine.errors import FormInvalid, InvalidState
from engine.forms import coerce_form, load_form
from webapp.formschema import field_views, raw_from_request
from webapp.security import actor, current_env
from workflows.petition.case_actions import PetitionActions, petition_actions
from workflows.petition.ownership import take_ownership
from workflows.petition.supervision import KEY

bp = Blueprint("petition", __name__)
FORMS = {"take": "take_ownership"}


@bp.app_template_global("petition_actions")
def actions_for(case_id: int) -> PetitionActions | None:
    """For the case page: the petition panel (owner badge, whether to offer 领导包案)."""
    return petition_actions(current_env(), current_user.id, case_id)


def _schema(kind: str) -> dict[str, Any]:
    return load_form(current_env().process(KEY).forms_dir, FORMS[kind]) or {}


def _allowed(case_id: int, kind: str) -> PetitionActions:
    found = petition_actions(current_env(), current_user.id, case_id)
    if found is None:
        abort(404)
    if not found.running:
        raise InvalidState(f"case {case_id} is closed", "案件已结束，不能包案")
    if not found.may_take:
        abort(403)
    return found


def _render(kind: str, case: PetitionActions, values: dict[str, Any],
            errors: dict[str, str]) -> str:
    schema = _schema(kind)
    return render_template("petition/action.html", kind=kind, case=case, schema=schema,
                           fields=field_views(schema, values, errors), errors=errors)


def _submit(case_id: int, kind: str) -> Response | tuple[str, int]:
    check_case_visible(current_env(), current_user.id, case_id)  # a hidden case: 404 first
    schema = _schema(kind)
    raw = raw_from_request(schema, request.form)
    try:
        take_ownership(current_env(), case_id, actor(), coerce_form(schema, raw))
    except FormInvalid as exc:
        found = petition_actions(current_env(), current_user.id, case_id)
        assert found is not None  # the command found a petition
        return _render(kind, found, raw, exc.errors), 422
    flash("已包案，本案将列入“我包案的”", "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.get("/cases/<int:case_id>/ownership")
def ownership_form(case_id: int) -> str:
    return _render("take", _allowed(case_id, "take"), {}, {})


@bp.post("/cases/<int:case_id>/ownership")
def take(case_id: int) -> Response | tuple[str, int]:
    return _submit(case_id, "take")
