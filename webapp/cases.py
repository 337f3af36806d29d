"""Cases: start a case, the case page (summary, clocks, diagram, timeline, messages to register),
print view, 抄送, attachments (upload and authorised download)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from engine.access import StartOption, startable_processes
from engine.attachments import add_attachment, attachment_download, start_case_with_files
from engine.copies import copy_case, mark_copy_read, may_copy
from engine.errors import FormInvalid
from engine.calendar import to_local_date
from engine.forms import coerce_form, load_form, today_defaults
from engine.casefile import CaseFile, case_file, diagram_input
from engine.messages import MessageForm, message_schema
from engine.queries import unit_choices, user_choices
from engine.runtime import deliver_message
from engine.verbs.panel import case_verbs
from webapp.diagram import render_svg
from webapp.formschema import field_views, files_from_request, raw_from_request, split_actions
from webapp.inputs import parse_id
from webapp.security import actor, current_env
from webapp.uploads import upload_policy

bp = Blueprint("cases", __name__)


# ----------------------------------------------------------------------------- start

def _process_keys() -> list[str]:
    from workflows import process_keys
    return sorted(set(process_keys()) | set(current_env().extra_processes))


def _start_option(key: str) -> StartOption:
    option = next((o for o in startable_processes(current_env(), current_user.id, [key])), None)
    if option is None:
        abort(404)
    return option


@bp.get("/start")
def start_list() -> str:
    options = startable_processes(current_env(), current_user.id, _process_keys())
    return render_template("cases/start_list.html", options=options)


def _render_start(option: StartOption, values: dict, errors: dict[str, str],
                  unit_id: str = "") -> str:
    schema = load_form(current_env().process(option.key).forms_dir, "start")
    fields, actions = split_actions(field_views(schema, values, errors, _units))
    return render_template("cases/start_form.html", option=option, fields=fields, actions=actions,
                           errors=errors, unit_id=unit_id)


@bp.get("/start/<key>")
def start_form(key: str) -> str:
    option = _start_option(key)
    schema = load_form(current_env().process(key).forms_dir, "start")
    today = to_local_date(current_env().clock.now())
    return _render_start(option, today_defaults(schema, today), {})


@bp.post("/start/<key>")
def start_submit(key: str) -> Response | tuple[str, int]:
    option = _start_option(key)
    unit_raw = request.form.get("_unit", "")
    units = {str(u) for u, _n in option.units}
    unit_id = unit_raw if unit_raw in units else (next(iter(units)) if len(units) == 1 else "")
    schema = load_form(current_env().process(key).forms_dir, "start")
    raw = raw_from_request(schema, request.form)
    try:
        if not unit_id:
            raise FormInvalid({"_unit": "请选择登记单位"})
        data = coerce_form(schema, raw) if schema else {}
        result = start_case_with_files(current_env(), key, actor(), int(unit_id), data,
                                       files_from_request(schema, request.files), upload_policy())
    except FormInvalid as exc:
        return _render_start(option, raw, exc.errors, unit_raw), 422
    flash(f"已发起：案件编号 {result.case_no}，查询码 {result.query_code}", "success")
    return redirect(url_for("cases.show", case_id=result.instance_id))


def _units(levels: list[str] | None) -> list[tuple[int, str, int]]:
    return unit_choices(current_env(), levels)


# ----------------------------------------------------------------------------- case page

def _diagram(case: CaseFile) -> Markup:
    d = diagram_input(current_env(), case)
    try:
        return Markup(render_svg(d.bpmn, d.process_id, completed=d.completed, current=d.current,
                                 returns=d.returns))
    except ValueError:
        return Markup("")


def _case(case_id: int) -> CaseFile:
    return case_file(current_env(), current_user.id, case_id,
                     int(current_app.config["DUE_SOON_DAYS"]))


def _message_panel(form: MessageForm, values: dict, errors: dict[str, str]) -> dict:
    views = field_views(form.schema, values, errors, _units, f"msg-{form.name}-")
    fields, actions = split_actions(views)
    return {"form": form, "fields": fields, "actions": actions, "errors": errors}


def _render_show(case: CaseFile, typed: dict[str, tuple[dict, dict[str, str]]], **extra: Any) -> str:
    """The case page; `typed` keeps what was typed into a message panel that was refused."""
    panels = [_message_panel(m, *typed.get(m.name, ({}, {}))) for m in case.messages]
    can_copy = may_copy(current_env(), current_user.id, case.instance.initiator_id)
    return render_template("cases/show.html", case=case, diagram=_diagram(case), can_copy=can_copy,
                           users=user_choices(current_env(), exclude_id=current_user.id) if can_copy else [],
                           messages=panels, case_verbs=case_verbs(current_env(), case.instance.id, current_user.id),
                           **extra)


def case_page(case_id: int, **extra: Any) -> str:
    """The case page with extra template values: a refused verb form's input and errors
    (webapp/verbs.py), so nothing typed is lost."""
    return _render_show(_case(case_id), {}, **extra)


@bp.get("/cases/<int:case_id>")
def show(case_id: int) -> str:
    case = _case(case_id)
    if case.copy is not None and case.copy.read_at is None:
        mark_copy_read(current_env(), case_id, current_user.id)
    return _render_show(case, {})


@bp.post("/cases/<int:case_id>/messages/<name>")
def register_message(case_id: int, name: str) -> Response | tuple[str, int]:
    """Register a message from outside (e.g. the army unit's reply) that the case waits for."""
    schema = message_schema(current_env(), current_user.id, case_id, name)
    raw = raw_from_request(schema, request.form)
    try:
        data = coerce_form(schema, raw) if schema else {}
        result = deliver_message(current_env(), case_id, name, data, actor())
    except FormInvalid as exc:
        return _render_show(_case(case_id), {name: (raw, exc.errors)}), 422
    flash(f"已登记：{(schema or {}).get('title') or name}", "success")
    if result.user_message:
        flash(result.user_message, "warning")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.get("/cases/<int:case_id>/print")
def print_view(case_id: int) -> str:
    return render_template("cases/print.html", case=_case(case_id),
                           now=current_env().clock.now())


@bp.post("/cases/<int:case_id>/cc")
def cc(case_id: int) -> Response:
    ids = [i for i in map(parse_id, request.form.getlist("user_ids")) if i is not None]
    try:
        names = copy_case(current_env(), case_id, actor(), ids, request.form.get("note"))
    except FormInvalid as exc:
        flash("；".join(exc.errors.values()), "danger")
    else:
        flash(f"已抄送：{'、'.join(names)}" if names else "所选人员已在抄送名单中", "success")
    return redirect(url_for("cases.show", case_id=case_id))


# ----------------------------------------------------------------------------- attachments

def _back(case_id: int) -> Response:
    task_id = parse_id(request.form.get("task_id"))
    if task_id is not None:
        return redirect(url_for("tasks.show", task_id=task_id))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/attachments")
def upload(case_id: int) -> Response:
    file = request.files.get("file")
    try:
        add_attachment(current_env(), case_id, actor(), (file.filename or "") if file else "",
                       file.read() if file else b"", upload_policy(),
                       parse_id(request.form.get("task_id")))
    except FormInvalid as exc:
        flash(f"附件未上传：{'；'.join(exc.errors.values())}", "danger")
    else:
        flash("附件已上传", "success")
    return _back(case_id)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int) -> Response:
    found = attachment_download(current_env(), current_user.id, attachment_id,
                                Path(current_app.config["UPLOAD_DIR"]))
    if not found.path.is_file():
        abort(404)
    return send_file(found.path, mimetype=found.content_type, as_attachment=True,
                     download_name=found.filename, max_age=0)
