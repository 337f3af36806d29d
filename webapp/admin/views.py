"""Admin pages. Each view parses the form, calls one engine function (which checks the admin
role and scope: 403 without the role, 404 for a case out of scope) and renders or redirects."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import admin, admin_ops, audit
from engine.errors import Conflict, DefinitionError, EngineError, FormInvalid, InvalidState
from engine.models import OrgLevel
from engine.orgs import LEVEL_LABELS, ROLE_LABELS, role_names_of
from engine.readable import admin_detail_lines
from engine.runtime import reassign_task, resume_case, suspend_case, terminate_case
from webapp.inputs import parse_id, parse_page
from webapp.security import actor, current_env

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Refusals that leave the page as it was: shown as a message above it.
SOFT_ERRORS = (FormInvalid, InvalidState, Conflict)


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


def _form_int(name: str) -> int | None:
    return parse_id(_form(name))


def _page() -> int:
    return parse_page(request.args.get("page"))


def _per_page() -> int:
    return int(current_app.config.get("PAGE_SIZE", 20))


def _message(exc: EngineError) -> str:
    if isinstance(exc, FormInvalid):
        return "；".join(exc.errors.values())
    return exc.user_message


def _run(action: Any, done: str, back: str, **back_args: Any) -> Response:
    """Run one engine command; flash its outcome and go back to the page it came from."""
    try:
        action()
    except SOFT_ERRORS as exc:
        flash(_message(exc), "danger")
    else:
        flash(done, "success")
    return redirect(url_for(back, **back_args))


@bp.context_processor
def _words() -> dict[str, Any]:
    """Admin events and processes in words (engine.readable): no key, id or hash on screen."""
    env = current_env()

    def details(event: Any) -> list[tuple[str, str]]:
        d = event.details or {}
        names = {str(d["key"]): audit.process_name(env, str(d["key"]))} if d.get("key") else {}
        return admin_detail_lines(d, names, {**ROLE_LABELS, **role_names_of(env)}, LEVEL_LABELS)

    return {"admin_details": details, "process_name": lambda key: audit.process_name(env, key)}


@bp.before_request
def _admins_only() -> None:
    """Every admin URL answers 403 to a signed-in user without the admin role."""
    if current_user.is_authenticated:
        admin.check_admin(current_env(), current_user.id)


@bp.get("/")
def index() -> str:
    return render_template("admin/index.html", o=admin_ops.overview(current_env(), current_user.id),
                           labels=admin.ADMIN_ACTION_LABELS)


# ----------------------------------------------------------------------------- users

def _users_page(values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    q = request.args.get("q", "").strip()[:64]
    page = admin.list_users(current_env(), current_user.id, q, _page(), _per_page())
    return render_template("admin/users.html", page=page, q=q, values=values or {}, errors=errors or {})


@bp.get("/users")
def users() -> str:
    return _users_page()


@bp.post("/users")
def create_user() -> Response | tuple[str, int]:
    values = {k: _form(k) for k in ("username", "full_name", "phone")}
    try:
        user_id = admin.create_user(current_env(), actor(), values["username"], values["full_name"],
                                    request.form.get("password", ""), values["phone"])
    except FormInvalid as exc:
        return _users_page(values, exc.errors), 422
    flash(f"已新建用户 {values['username']}，请为其授予角色", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    return render_template("admin/user.html", p=admin.user_page(current_env(), current_user.id, user_id),
                           roles=admin.grantable_roles(current_env(), current_user.id))


@bp.post("/users/<int:user_id>/active")
def set_user_active(user_id: int) -> Response:
    active = _form("active") == "1"
    return _run(lambda: admin.set_user_active(current_env(), actor(), user_id, active),
                "已启用该用户" if active else "已停用该用户，其登录会话已全部失效", "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int) -> Response:
    password = request.form.get("password", "")
    return _run(lambda: admin.reset_password(current_env(), actor(), user_id, password),
                "密码已重置，该用户的原有登录会话已全部失效", "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/grants")
def add_grant(user_id: int) -> Response:
    role = _form("role")
    if not role:
        flash("请选择角色", "danger")
        return redirect(url_for("admin.user", user_id=user_id))
    unit_id = _form_int("unit_id") or 0
    return _run(lambda: admin.add_grant(current_env(), actor(), user_id, role[:32], unit_id),
                "已授予角色", "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/grants/<int:grant_id>/delete")
def remove_grant(user_id: int, grant_id: int) -> Response:
    return _run(lambda: admin.remove_grant(current_env(), actor(), grant_id),
                "已撤销角色", "admin.user", user_id=user_id)


# ----------------------------------------------------------------------------- org units

def _units_page(values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    return render_template("admin/units.html", units=admin.org_tree(current_env(), current_user.id),
                           levels=LEVEL_LABELS, values=values or {}, errors=errors or {})


@bp.get("/units")
def units() -> str:
    return _units_page()


@bp.post("/units")
def create_unit() -> Response | tuple[str, int]:
    values = {k: _form(k) for k in ("parent_id", "code", "name", "level", "is_section")}
    try:
        if values["level"] not in OrgLevel._value2member_map_:
            raise FormInvalid({"level": "请选择层级"})
        admin.create_unit(current_env(), actor(), _form_int("parent_id") or 0, values["code"],
                          values["name"], OrgLevel(values["level"]), values["is_section"] == "1")
    except FormInvalid as exc:
        return _units_page(values, exc.errors), 422
    flash(f"已新建单位 {values['name']}", "success")
    return redirect(url_for("admin.units"))


@bp.post("/units/<int:unit_id>/rename")
def rename_unit(unit_id: int) -> Response:
    name = _form("name")
    return _run(lambda: admin.rename_unit(current_env(), actor(), unit_id, name), "单位名称已修改", "admin.units")


@bp.post("/units/<int:unit_id>/active")
def set_unit_active(unit_id: int) -> Response:
    active = _form("active") == "1"
    return _run(lambda: admin.set_unit_active(current_env(), actor(), unit_id, active),
                "已启用该单位" if active else "已停用该单位", "admin.units")


# ----------------------------------------------------------------------------- definitions

def _definitions_page(key: str = "", error: DefinitionError | None = None,
                      errors: dict[str, str] | None = None) -> str:
    from workflows import process_keys
    return render_template("admin/definitions.html",
                           groups=admin_ops.list_definitions(current_env(), current_user.id),
                           known_keys=process_keys(), key=key, error=error, errors=errors or {})


@bp.get("/definitions")
def definitions() -> str:
    return _definitions_page()


@bp.post("/definitions")
def upload_definition() -> Response | tuple[str, int]:
    key = _form("key")
    files = {f.filename or "": f.read() for f in request.files.getlist("files") if f and f.filename}
    try:
        result = admin_ops.upload_definition(current_env(), actor(), key, files)
    except DefinitionError as exc:
        return _definitions_page(key, error=exc), 422
    except FormInvalid as exc:
        return _definitions_page(key, errors=exc.errors), 422
    if result.created:
        flash(f"已部署{audit.process_name(current_env(), result.key)}第 {result.version} 版；"
              "新发起的案件使用新版本，在办案件不受影响", "success")
    else:
        flash(f"内容与已部署的第 {result.version} 版相同，未生成新版本", "info")
    return redirect(url_for("admin.definitions"))


# ----------------------------------------------------------------------------- cases

@bp.get("/cases")
def case_search() -> Response | str:
    case_no = request.args.get("case_no", "").strip()[:32]
    if case_no:
        found = admin_ops.find_case(current_env(), current_user.id, case_no)
        return redirect(url_for("admin.case", case_id=found.id))
    return render_template("admin/case_search.html")


def _case_page(case_id: int, retry_error: str = "", data_fix: str = "") -> str:
    return render_template("admin/case.html", c=admin_ops.admin_case(current_env(), current_user.id, case_id),
                           retry_error=retry_error, data_fix=data_fix)


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> str:
    return _case_page(case_id)


def _case_op(case_id: int, command: Any, done: str) -> Response:
    reason = _form("reason")
    return _run(lambda: command(current_env(), case_id, actor(), reason), done, "admin.case", case_id=case_id)


@bp.post("/cases/<int:case_id>/suspend")
def suspend(case_id: int) -> Response:
    return _case_op(case_id, suspend_case, "案件已挂起")


@bp.post("/cases/<int:case_id>/resume")
def resume(case_id: int) -> Response:
    return _case_op(case_id, resume_case, "案件已恢复办理")


@bp.post("/cases/<int:case_id>/terminate")
def terminate(case_id: int) -> Response:
    return _case_op(case_id, terminate_case, "案件已终止")


@bp.post("/cases/<int:case_id>/retry")
def retry(case_id: int) -> Response | tuple[str, int]:
    data_fix = request.form.get("data_fix", "")
    try:
        result = admin_ops.retry_with_fix(current_env(), actor(), case_id, data_fix, _form("reason"))
    except SOFT_ERRORS as exc:
        return _case_page(case_id, _message(exc), data_fix), 422
    if result.error:
        flash("重试后流程仍然出错，案件仍处于出错状态；请查看下方的出错信息，修正数据后再试", "warning")
    else:
        flash("已重试，案件恢复办理", "success")
    return redirect(url_for("admin.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/reassign")
def reassign(case_id: int, task_id: int) -> Response:
    to_user = _form_int("to_user_id")
    reason = _form("reason")

    def command() -> None:
        if to_user is None:
            raise FormInvalid({"to_user_id": "请选择接办人"})
        reassign_task(current_env(), task_id, actor(), to_user, reason)
    return _run(command, "任务已转派", "admin.case", case_id=case_id)


# ----------------------------------------------------------------------------- admin log

@bp.get("/log")
def log() -> str:
    return render_template("admin/log.html", page=admin.admin_events(current_env(), current_user.id,
                                                                     _page(), _per_page()),
                           labels=admin.ADMIN_ACTION_LABELS)
