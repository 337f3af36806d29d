"""The auditor's timeline in words: a `document` event's data (ids, type key, hashes) as the
document's name, its 文号, its two files by name and each file's hash, shortened."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HASH_SHOWN = 12


def short_hash(sha256: Any) -> str:
    text = str(sha256 or "")
    return f"{text[:HASH_SHOWN]}…" if len(text) > HASH_SHOWN else text


def document_lines(details: dict[str, Any], attachments: Iterable[Any]) -> list[tuple[str, str]]:
    """(label, value) lines of a `document` history event for the timeline."""
    names = {a.id: a.filename for a in attachments}
    lines = [("文书", str(details.get("title") or "（未命名文书）")),
             ("文号", str(details.get("number") or "无（草稿或不编号文书）"))]
    for label, key in (("Word 文件", "docx"), ("PDF 文件", "pdf")):
        file = details.get(key) or {}
        if isinstance(file, dict) and file:
            name = names.get(file.get("attachment_id"), "（文件已不在案件附件中）")
            lines.append((label, f"{name}（哈希 {short_hash(file.get('sha256'))}）"))
    return lines
