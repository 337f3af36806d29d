"""Import users from an Excel sheet (.xlsx): columns 用户名, 姓名, 单位编码, 角色, 手机.

`preview_import` reads and checks every row (a Chinese error per bad cell) without writing;
`import_users` checks again in its write transaction and creates every user with their roles,
or nothing when any row is bad. Admins only, and only at units in their scope. Everyone imported
gets the initial password the admin typed and must choose their own at first sign-in.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import orgs
from engine.admin import MIN_PASSWORD, USERNAME_RE, covers, log_admin, require_admin
from engine.env import Env
from engine.errors import FormInvalid
from engine.models import OrgUnit, RoleCatalogue, User
from engine.orgs import Actor

COLUMNS = ("用户名", "姓名", "单位编码", "角色", "手机")
REQUIRED = ("用户名", "姓名", "单位编码", "角色")
MAX_ROWS = 500
MAX_BYTES = 2 * 1024 * 1024
PHONE_RE = re.compile(r"^1\d{10}$")
ROLE_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass
class ImportRow:
    line: int                     # the row's number in the sheet (the header is row 1)
    username: str
    full_name: str
    unit_code: str
    roles_text: str
    phone: str
    unit_name: str = ""
    roles: list[str] = field(default_factory=list)        # role keys
    role_names: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    rows: list[ImportRow]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not any(r.errors for r in self.rows)

    @property
    def bad(self) -> int:
        return sum(1 for r in self.rows if r.errors)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed as a number
    return str(value).strip()


def read_sheet(data: bytes) -> list[ImportRow]:
    """The rows of the workbook's first sheet, or FormInvalid (field "file") naming what is wrong."""
    if not data:
        raise FormInvalid({"file": "请选择要导入的 Excel 文件"})
    if len(data) > MAX_BYTES:
        raise FormInvalid({"file": f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB"})
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        table = [[_text(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        raise FormInvalid({"file": "不是有效的 Excel（.xlsx）文件"}) from exc
    if not table:
        raise FormInvalid({"file": "表格是空的"})
    header = table[0]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FormInvalid({"file": f"第 1 行表头缺少列：{'、'.join(missing)}（应为 {'、'.join(COLUMNS)}）"})
    at = {name: header.index(name) for name in COLUMNS if name in header}

    def cell(row: list[str], name: str) -> str:
        i = at.get(name)
        return row[i] if i is not None and i < len(row) else ""
    rows = [ImportRow(n, *(cell(r, c) for c in COLUMNS)) for n, r in enumerate(table[1:], start=2)
            if any(r)]
    if not rows:
        raise FormInvalid({"file": "表格中没有用户数据"})
    if len(rows) > MAX_ROWS:
        raise FormInvalid({"file": f"一次最多导入 {MAX_ROWS} 个用户"})
    return rows


def _check(session: Session, paths: list[str], rows: list[ImportRow]) -> ImportPreview:
    names = orgs.role_names(session)
    by_name = {n: k for k, n in names.items()}
    catalogue = {str(k) for k in session.scalars(select(RoleCatalogue.key))} | set(names)
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(
        OrgUnit.code.in_({r.unit_code for r in rows if r.unit_code})))}
    taken = set(session.scalars(select(User.username).where(
        User.username.in_({r.username for r in rows if r.username}))))
    seen: dict[str, int] = {}
    for r in rows:
        if not r.username:
            r.errors.append("缺少用户名")
        elif not USERNAME_RE.match(r.username):
            r.errors.append("用户名应为 3–64 位字母、数字或 _ . -")
        elif r.username in taken:
            r.errors.append(f"用户名 {r.username} 已被使用")
        elif r.username in seen:
            r.errors.append(f"用户名与第 {seen[r.username]} 行重复")
        seen.setdefault(r.username, r.line)
        if not r.full_name or len(r.full_name) > 64:
            r.errors.append("请填写姓名（不超过 64 字）")
        unit = units.get(r.unit_code)
        if not r.unit_code:
            r.errors.append("缺少单位编码")
        elif unit is None:
            r.errors.append(f"单位编码 {r.unit_code} 不存在")
        elif not covers(paths, unit.path):
            r.errors.append(f"单位 {unit.name} 不在您的管理范围内")
        elif not unit.active:
            r.errors.append(f"单位 {unit.name} 已停用")
        else:
            r.unit_name = unit.name
        wanted = [w for w in ROLE_SPLIT.split(r.roles_text) if w]
        if not wanted:
            r.errors.append("缺少角色")
        for w in wanted:
            key = by_name.get(w, w if w in catalogue else None)
            if key is None:
                r.errors.append(f"角色“{w}”不在角色目录中")
            elif key not in r.roles:
                r.roles.append(key)
                r.role_names.append(names.get(key, key))
        if r.phone and not PHONE_RE.match(r.phone):
            r.errors.append("手机号应为 11 位数字")
    return ImportPreview(rows)


def preview_import(env: Env, user_id: int, data: bytes) -> ImportPreview:
    """Every row of the sheet with its Chinese errors; nothing is written."""
    rows = read_sheet(data)
    with env.db.read() as session:
        return _check(session, require_admin(session, user_id), rows)


def import_users(env: Env, actor: Actor, data: bytes, password: str) -> int:
    """Create every user of the sheet with their roles in one transaction (all or none); each
    must change the initial password at first sign-in. FormInvalid when any row is bad
    (field "rows", with the preview) or the password is too short (field "password")."""
    if len(password or "") < MIN_PASSWORD:
        raise FormInvalid({"password": f"初始密码至少 {MIN_PASSWORD} 位"})
    rows = read_sheet(data)
    hashed = orgs.hash_password(password)  # one argon2 hash for all: they all change it anyway
    with env.db.write() as session:
        preview = _check(session, require_admin(session, actor.id), rows)
        if not preview.ok:
            raise FormInvalid({"rows": f"有 {preview.bad} 行有误，未导入任何用户"})
        now = env.clock.now()
        units = {u.code: u for u in session.scalars(select(OrgUnit).where(
            OrgUnit.code.in_({r.unit_code for r in rows})))}
        for r in rows:
            unit = units[r.unit_code]
            user = orgs.create_user(session, r.username, r.full_name, "", now, phone=r.phone or None,
                                    password_hash=hashed)
            user.must_change_password = True
            log_admin(session, actor, now, "user_create", "user", user.id, r.username,
                      full_name=r.full_name, imported=True)
            for role in r.roles:
                grant = orgs.grant_role(session, user, role, unit)
                log_admin(session, actor, now, "grant_add", "grant", grant.id, user.username,
                          user_id=user.id, role=role, unit_id=unit.id, unit_name=unit.name)
        return len(rows)
