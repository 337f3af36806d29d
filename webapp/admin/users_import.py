"""管理 › 用户 › 从 Excel 导入: upload a sheet (用户名/姓名/单位编码/角色/手机), see every row with
its errors (预览), then import all of them or none. The sheet travels from the preview to the
import as a hidden field, so the admin does not choose the file twice; the engine checks it
again in the import's transaction."""
from __future__ import annotations

import base64
import binascii

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import user_import
from engine.errors import FormInvalid
from webapp.admin.views import bp
from webapp.security import actor, current_env


def _sheet() -> bytes:
    """The uploaded file, or the sheet the preview carried over."""
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read()
    try:
        return base64.b64decode(request.form.get("sheet", ""), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _page(errors: dict[str, str] | None = None, preview: user_import.ImportPreview | None = None,
          sheet: bytes = b"", status: int = 200) -> tuple[str, int]:
    return render_template("admin/users_import.html", errors=errors or {}, preview=preview,
                           sheet=base64.b64encode(sheet).decode() if preview else "",
                           columns=user_import.COLUMNS), status


@bp.get("/users/import")
def import_form() -> tuple[str, int]:
    return _page()


@bp.post("/users/import")
def import_users() -> Response | tuple[str, int]:
    data = _sheet()
    try:
        preview = user_import.preview_import(current_env(), current_user.id, data)
    except FormInvalid as exc:
        return _page(exc.errors, status=422)
    if request.form.get("do") != "import" or not preview.ok:
        return _page(preview=preview, sheet=data, status=200 if preview.ok else 422)
    try:
        count = user_import.import_users(current_env(), actor(), data, request.form.get("password", ""))
    except FormInvalid as exc:
        return _page(exc.errors, preview=preview, sheet=data, status=422)
    flash(f"已导入 {count} 个用户；他们首次登录时须修改初始密码", "success")
    return redirect(url_for("admin.users"))
