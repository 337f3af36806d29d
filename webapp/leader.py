"""领导审批: the leader's approvals on one screen; approve or return with an opinion in one step;
below them, the petitions the leader owns (我包案的)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from engine.casefile import leader_queue
from webapp.security import current_env
from webapp.tasks import form_context
from workflows.petition.ownership import owned_cases

bp = Blueprint("leader", __name__)


@bp.get("/leader")
def index() -> str:
    items = [form_context(page, page.values, {}, id_prefix=f"t{page.task.id}-")
             for page in leader_queue(current_env(), current_user.id)]
    owned = owned_cases(current_env(), current_user.id) if current_user.has("leader") else []
    return render_template("leader/index.html", items=items, owned=owned)
