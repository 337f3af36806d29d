"""管理 › 流程包: upload a whole process package (.zip), and the role catalogue it names roles from.
Thin views: the engine checks the admin role, validates everything and writes the admin log."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.errors import DefinitionError, FormInvalid
from engine.packages import roles as role_ops
from engine.packages.upload import upload_package
from webapp.admin.views import bp
from webapp.security import actor, current_env


def _packages_page(error: DefinitionError | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("admin/packages.html", error=error,
                           roles=role_ops.list_roles(current_env(), current_user.id)), status


@bp.get("/packages")
def packages() -> tuple[str, int]:
    return _packages_page()


@bp.post("/packages")
def upload_package_zip() -> Response | tuple[str, int]:
    found = request.files.get("package")
    blob = found.read() if found and found.filename else b""
    try:
        result = upload_package(current_env(), actor(), blob)
    except DefinitionError as exc:
        return _packages_page(exc, 422)
    if result.created:
        flash(f"已部署流程包“{result.name}”（{result.key}）第 {result.version} 版，立即可以发起", "success")
    else:
        flash(f"内容与已部署的第 {result.version} 版相同，未生成新版本", "info")
    return redirect(url_for("admin.packages"))


@bp.post("/roles")
def save_role() -> Response | tuple[str, int]:
    try:
        role_ops.save_role(current_env(), actor(), request.form.get("key", ""), request.form.get("name", ""))
    except FormInvalid as exc:
        flash("；".join(exc.errors.values()), "danger")
        return _packages_page(status=422)
    flash("角色目录已保存", "success")
    return redirect(url_for("admin.packages"))
