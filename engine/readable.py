"""History data for reading: Chinese labels for the keys of history events and case data that
no form titles, internal keys (ids, hashes' partners) hidden, and values as people read them
(times as 2026-12-15 00:00 Beijing time, dates as 2026-12-15, 是/否, lists joined).

Used by the audit view, its CSV export and the admin pages, so that no English key and no ISO
timestamp reaches a screen or a spreadsheet.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from engine.calendar import BEIJING

# Keys of history events' `data` (and of case data set by hooks rather than forms) -> label.
DETAIL_LABELS: dict[str, str] = {
    "filename": "文件名", "size": "大小（字节）", "sha256": "文件哈希",
    "status": "案件状态", "to": "抄送给", "to_name": "交给", "to_step_name": "退回到",
    "withdrawn": "收回的步骤", "cancelled": "已撤销的办理步骤", "leaders": "通知领导",
    "due": "到期时间", "due_on": "办结期限", "kind": "督办类型", "on_time": "按期反馈",
    "line": "脚本出错行号", "rolled_back": "已退回出错前的状态",
    "title": "文书名称", "number": "文书编号", "doc_type": "文书类型", "user": "人员",
    "position": "位置", "proposed": "拟办内容", "action": "处理方式",
    "case_due_at": "办结期限", "case_due_at_provisional": "期限待定",
    "reason": "原因", "note": "说明",
}
# Internal keys: ids, step ids and the like, which mean nothing to a reader.
INTERNAL_KEYS = frozenset({"message", "error_line",  # an error's English text and code line: admin only
                           "to_step", "assignee", "order", "to_ids", "document_id", "attachment_id",
                           "docx_attachment_id", "pdf_attachment_id", "sign", "token"})
STATUS_WORDS = {"running": "办理中", "suspended": "已挂起", "completed": "已办结", "terminated": "已终止",
                "cancelled": "已撤销", "error": "出错"}

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def is_internal(key: str) -> bool:
    """Whether a key is for the machine only (hidden on screen)."""
    return key in INTERNAL_KEYS or key.endswith(("_id", "_ids")) or key.startswith("_")


def label_of(key: str, titles: Mapping[str, str] | None = None,
             extra: Mapping[str, str] | None = None) -> str | None:
    """The Chinese label of a key: its form title, else the process's own label map, else the
    common map above; None when the key is internal or has no Chinese label (hidden)."""
    for source in (titles or {}, extra or {}, DETAIL_LABELS):
        if key in source and source[key] and source[key] != key:
            return str(source[key])
    return None


def local_time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def time_text(value: str) -> str:
    """An ISO timestamp string as 2026-12-15 00:00 Beijing time; any other string as it is."""
    text = value.strip()
    if not _ISO_TIME.match(text):
        return value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return value
    return local_time(parsed) if parsed.tzinfo else parsed.strftime("%Y-%m-%d %H:%M")


def value_text(value: Any) -> str:
    """A value as people read it: times in Beijing time without seconds, 是/否, lists joined."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return local_time(value) if value.tzinfo else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        shown = time_text(value)
        return shown if shown != value else STATUS_WORDS.get(value, value)
    if isinstance(value, (list, tuple)):
        return "、".join(value_text(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{value_text(v)}" for k, v in readable_pairs(value))
    return str(value)


def readable_pairs(data: Mapping[str, Any] | None, titles: Mapping[str, str] | None = None,
                   extra: Mapping[str, str] | None = None) -> list[tuple[str, Any]]:
    """(label, value) of every key that has a Chinese label, in the data's order; internal and
    unlabelled keys are left out. Values are kept raw (format them with value_text)."""
    out: list[tuple[str, Any]] = []
    for key, value in (data or {}).items():
        if is_internal(key):
            continue
        label = label_of(key, titles, extra)
        if label is not None:
            out.append((label, value))
    return out


def readable_text(data: Mapping[str, Any] | None, titles: Mapping[str, str] | None = None,
                  extra: Mapping[str, str] | None = None, pairs: bool = False) -> str:
    """An event's data as one line of 字段：值; with `pairs` (the data of a form event holds
    [before, after] per field) a change shows as 原值 → 新值."""
    parts = []
    for label, value in readable_pairs(data, titles, extra):
        if pairs and isinstance(value, list) and len(value) == 2:
            before, after = value
            parts.append(f"{label}：{value_text(after)}" if before is None
                         else f"{label}：{value_text(before)} → {value_text(after)}")
        else:
            parts.append(f"{label}：{value_text(value)}")
    return "；".join(parts)



# ----------------------------------------------------------------------------- the admin log

ADMIN_DETAIL_LABELS: dict[str, str] = {
    "full_name": "姓名", "code": "单位编码", "name": "名称", "level": "层级", "is_section": "内设科室",
    "role": "角色", "unit_name": "单位", "version": "版本", "files": "文件", "content_hash": "内容哈希",
    "key": "流程", "package": "流程包", "imported": "从 Excel 导入",
}


def admin_detail_lines(details: Mapping[str, Any] | None, process_names: Mapping[str, str],
                       role_names: Mapping[str, str], level_names: Mapping[str, str]) -> list[tuple[str, str]]:
    """An admin event's details as (label, text): roles, levels and processes by their Chinese
    names, hashes shortened, ids left out."""
    out: list[tuple[str, str]] = []
    for key, value in (details or {}).items():
        label = ADMIN_DETAIL_LABELS.get(key)
        if label is None or is_internal(key):
            continue
        if key == "key":
            text = process_names.get(str(value), str(value))
        elif key == "role":
            text = role_names.get(str(value), str(value))
        elif key == "level":
            text = level_names.get(str(value), str(value))
        elif key == "content_hash":
            text = f"{str(value)[:12]}…"
        else:
            text = value_text(value)
        out.append((label, text))
    return out
