"""process.toml: parse (tomllib) and validate against the published manifest.schema.json.

Every problem is a DefinitionError naming the file, the element (the manifest path, e.g.
steps.accept.route) and the line of process.toml, in English and Chinese.
"""
from __future__ import annotations

import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.errors import DefinitionError

MANIFEST = "process.toml"
SCHEMA_PATH = Path(__file__).resolve().parent / "manifest.schema.json"
_LINE = re.compile(r"line (\d+)")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def parse_manifest(text: str) -> dict[str, Any]:
    """The manifest as a dict, or a DefinitionError with the line of the first problem."""
    try:
        manifest = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE.search(str(exc))
        raise DefinitionError(f"process.toml is not valid TOML: {exc}", file=MANIFEST,
                              line=int(found.group(1)) if found else None,
                              user_message="process.toml 不是有效的 TOML 格式") from exc
    validate_manifest(manifest, text)
    return manifest


def validate_manifest(manifest: dict[str, Any], text: str = "") -> None:
    errors = sorted(Draft202012Validator(schema()).iter_errors(manifest), key=lambda e: list(e.path))
    if not errors:
        return
    err = errors[0]
    path = ".".join(str(p) for p in err.path) or "(top)"
    raise DefinitionError(f"process.toml: {path}: {err.message}", file=MANIFEST, element=path,
                          line=find_line(text, [str(p) for p in err.path]),
                          user_message=f"process.toml 中“{path}”不符合规范：{_zh(err)}")


def _zh(err: Any) -> str:
    kind = err.validator
    if kind == "required":
        return "缺少必填项 " + ", ".join(repr(m) for m in err.validator_value if m not in (err.instance or {}))
    if kind == "additionalProperties":
        return "含有不认识的设置项"
    if kind == "enum":
        return "取值只能是 " + "、".join(str(v) for v in err.validator_value)
    if kind == "pattern":
        return "格式不正确"
    if kind == "type":
        return "类型不正确"
    return "取值不正确"


def find_line(text: str, path: list[str]) -> int | None:
    """The line of process.toml where the deepest findable part of `path` is written."""
    lines = text.splitlines()
    best: int | None = None
    start = 0
    for part in path:
        if part.isdigit():
            continue
        pat = re.compile(rf'^\s*(\[+[^\]]*\b{re.escape(part)}\b[^\]]*\]+|"?{re.escape(part)}"?\s*=)')
        hit = next((i for i in range(start, len(lines)) if pat.search(lines[i])), None)
        if hit is not None:
            best, start = hit + 1, hit
    return best
