"""The person picker's API: who may receive a 抄送 of a case or a 转办 of a task, grouped by
the org tree and searchable (?q= part of a name, a unit's name, or an exact username). The
engine decides who is a candidate and who may ask (404 for a case or task one cannot see, 403
for one who may not copy or hand it on); webapp/static/js/people.js turns a plain <select> into
the picker."""
from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.people import UnitGroup, copy_candidates, transfer_candidates
from webapp.security import current_env

bp = Blueprint("people", __name__, url_prefix="/people")


def _answer(groups: list[UnitGroup]) -> Response:
    return jsonify(units=[asdict(g) for g in groups])


@bp.get("/cc/<int:case_id>")
def cc(case_id: int) -> Response:
    return _answer(copy_candidates(current_env(), current_user.id, case_id, request.args.get("q", "")))


@bp.get("/transfer/<int:task_id>")
def transfer(task_id: int) -> Response:
    return _answer(transfer_candidates(current_env(), current_user.id, task_id, request.args.get("q", "")))
