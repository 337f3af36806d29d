"""A process package's files: BPMN/DMN, forms/<step>.json and process.toml, from a folder or the DB.

`Package.stored()` is what a definition version keeps next to its BPMN files (manifest text and
forms); `Package.from_stored` reads it back. Forms are JSON Schema; a package's forms are written
once to a content-addressed folder so the engine's form loader reads them like any other.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.documents.packaged import template_files
from engine.errors import DefinitionError
from engine.packages.manifest import MANIFEST, parse_manifest

FORMS = "forms/"
MODEL_SUFFIXES = (".bpmn", ".dmn")


@dataclass(frozen=True)
class Package:
    manifest_text: str
    manifest: dict[str, Any]
    models: dict[str, bytes]            # file name -> BPMN/DMN bytes
    forms: dict[str, dict[str, Any]]    # step id -> JSON Schema
    templates: dict[str, bytes] = field(default_factory=dict)  # document type -> templates/<type>.docx

    @property
    def key(self) -> str:
        return str(self.manifest["key"])

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manifest": self.manifest_text, "forms": self.forms}
        if self.templates:  # base64 in the version's JSON; absent when none, so old digests hold
            out["templates"] = {k: base64.b64encode(v).decode("ascii") for k, v in sorted(self.templates.items())}
        return out

    @property
    def digest(self) -> str:
        blob = json.dumps(self.stored(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    @staticmethod
    def from_stored(stored: dict[str, Any], models: dict[str, bytes]) -> Package:
        text = str(stored["manifest"])
        templates = {k: base64.b64decode(v) for k, v in (stored.get("templates") or {}).items()}
        return Package(text, parse_manifest(text), models, dict(stored.get("forms") or {}), templates)


def from_files(files: dict[str, bytes]) -> Package:
    """A package from its files by relative path ("x.bpmn", "forms/start.json", "process.toml")."""
    if MANIFEST not in files:
        raise DefinitionError("the package has no process.toml", file=MANIFEST,
                              user_message="流程包缺少 process.toml")
    text = _text(MANIFEST, files[MANIFEST])
    manifest = parse_manifest(text)
    models = {n: d for n, d in files.items() if "/" not in n and n.endswith(MODEL_SUFFIXES)}
    forms: dict[str, dict[str, Any]] = {}
    for name, data in sorted(files.items()):
        if name.startswith(FORMS) and name.endswith(".json") and name.count("/") == 1:
            forms[name[len(FORMS):-5]] = _form(name, data)
    return Package(text, manifest, models, forms, template_files(files))


def from_folder(path: Path) -> Package:
    files = {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
             if p.is_file() and (p.suffix in (".bpmn", ".dmn", ".json", ".docx") or p.name == MANIFEST)}
    return from_files(files)


def is_package_folder(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{name} is not UTF-8", file=name, user_message=f"{name} 不是 UTF-8 编码") from exc


def _form(name: str, data: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(_text(name, data))
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{name} is not valid JSON: {exc.msg}", file=name, line=exc.lineno,
                              user_message=f"表单 {name} 不是有效的 JSON：第 {exc.lineno} 行") from exc
    if not isinstance(loaded, dict):
        raise DefinitionError(f"{name} is not a JSON object", file=name, user_message=f"表单 {name} 应为 JSON 对象")
    return loaded


def forms_dir(package: Package) -> Path:
    """A folder holding the package's forms (written once per content, atomically)."""
    root = Path(tempfile.gettempdir()) / "rongflow-packages" / f"{package.key}-{package.digest}" / "forms"
    if root.is_dir():
        return root
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=_ensure(root.parent.parent)))
    for step, schema in package.forms.items():
        (staging / f"{step}.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, root)
    except OSError:  # another process wrote the same content first
        pass
    return root


def templates_dir(package: Package) -> Path:
    """A folder holding the package's document templates (written once per content, atomically)."""
    root = Path(tempfile.gettempdir()) / "rongflow-packages" / f"{package.key}-{package.digest}" / "templates"
    if root.is_dir():
        return root
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=_ensure(root.parent.parent)))
    for doc_type, data in package.templates.items():
        (staging / f"{doc_type}.docx").write_bytes(data)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, root)
    except OSError:  # another process wrote the same content first
        pass
    return root


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
