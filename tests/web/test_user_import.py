"""管理 › 用户 › 从 Excel 导入: a preview with a Chinese error per bad row, all or nothing, only
at units in the admin's scope, and everyone imported must choose their own password."""
from __future__ import annotations

import base64
import io

from openpyxl import Workbook
from sqlalchemy import select

from engine.models import OrgUnit, Role, RoleGrant, User
from engine.orgs import create_user
from tests.web.conftest import login

HEADER = ["用户名", "姓名", "单位编码", "角色", "手机"]


def _xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, data: bytes):
    return client.post("/admin/users/import", data={"file": (io.BytesIO(data), "人员.xlsx")},
                       content_type="multipart/form-data")


def _usernames(env) -> set[str]:
    with env.db.read() as s:
        return set(s.scalars(select(User.username)))


def test_a_sheet_with_a_bad_row_is_previewed_with_errors_and_nothing_is_imported(client, env, plain):
    before = _usernames(env)
    login(client, "admin")
    bad = _xlsx(["zhang_san", "张三", "d1.t1", "经办人", 13800000001],
                ["t1_cw", "重名", "d1.t1", "经办人", ""],
                ["li si", "", "no.such", "科员", "12345"],
                ["zhang_san", "张三二", "d1", "审核人、领导", ""])
    page = _upload(client, bad)
    assert page.status_code == 422
    text = page.text
    for said in ("用户名 t1_cw 已被使用", "用户名应为 3–64 位字母、数字或 _ . -", "请填写姓名",
                 "单位编码 no.such 不存在",
                 "角色“科员”不在角色目录中", "手机号应为 11 位数字", "用户名与第 2 行重复", "3 行有误"):
        assert said in text, said
    assert "确认导入" not in text  # no import button while any row is bad
    forced = client.post("/admin/users/import", data={"sheet": base64.b64encode(bad).decode(), "do": "import",
                                                     "password": "initial-pass-1"})
    assert forced.status_code == 422 and _usernames(env) == before


def test_a_good_sheet_imports_everyone_with_roles_and_a_forced_password_change(app, client, env, plain):
    login(client, "admin")
    good = _xlsx(["zhang_san", "张三", "d1.t1", "经办人", 13800000001],
                 ["li.si", "李四", "d1", "审核人、领导", None])
    preview = _upload(client, good)
    assert preview.status_code == 200 and "可以导入" in preview.text and "城东街道退役军人服务站" in preview.text
    sheet = preview.text.split('name="sheet" value="')[1].split('"')[0]
    short = client.post("/admin/users/import", data={"sheet": sheet, "do": "import", "password": "short"})
    assert short.status_code == 422 and "初始密码至少 8 位" in short.text and "zhang_san" not in _usernames(env)
    done = client.post("/admin/users/import", data={"sheet": sheet, "do": "import", "password": "initial-pass-1"})
    assert done.status_code == 302
    assert "已导入 2 个用户" in client.get(done.location).text
    with env.db.read() as s:
        users = {u.username: u for u in s.scalars(select(User).where(User.username.in_(["zhang_san", "li.si"])))}
        assert users["zhang_san"].phone == "13800000001" and users["zhang_san"].must_change_password
        grants = {(g.user_id, str(g.role), g.org_unit_id) for g in s.scalars(select(RoleGrant))}
    assert (users["zhang_san"].id, Role.caseworker.value, plain.units["t1"]) in grants
    assert {(users["li.si"].id, r, plain.units["d1"]) for r in ("reviewer", "leader")} <= grants
    log = client.get("/admin/log").text
    assert "从 Excel 导入：是" in log and "imported" not in log
    newcomer = app.test_client()
    assert login(newcomer, "zhang_san", "initial-pass-1").status_code == 302
    assert newcomer.get("/").location.endswith("/account/password")


def test_only_admins_import_and_only_into_their_scope(app, env, plain):
    with env.db.write() as s:
        create_user(s, "d1_admin", "区管理员", "secret-pass", env.clock.now(),
                    [(Role.admin, s.get(OrgUnit, plain.units["d1"]))])
    district = app.test_client()
    login(district, "d1_admin")
    page = _upload(district, _xlsx(["wang_wu", "王五", "d2.t2", "经办人", ""]))
    assert page.status_code == 422 and "单位 江北镇退役军人服务站 不在您的管理范围内" in page.text
    assert _upload(district, b"not a workbook").status_code == 422
    assert "不是有效的 Excel（.xlsx）文件" in _upload(district, b"not a workbook").text
    assert _upload(district, _xlsx()).status_code == 422
    caseworker = app.test_client()
    login(caseworker, "t1_cw")
    assert caseworker.get("/admin/users/import").status_code == 403
    assert _upload(caseworker, _xlsx(["wang_wu", "王五", "d1.t1", "经办人", ""])).status_code == 403
    assert "wang_wu" not in _usernames(env)
