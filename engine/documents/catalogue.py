"""What documents a process issues: its types (template, title, 文号 word) and which step issues which."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DocumentType:
    key: str                 # the template's file stem: <documents dir>/<key>.docx
    title: str               # e.g. 受理告知书
    word: str | None = None  # the 文号's type word (海安退役信〔2026〕12号: "信"); None: no number


@dataclass(frozen=True)
class DocumentRule:
    """The step `step_id`, when completed with `when` holding in the case data, issues `doc_type`."""
    step_id: str
    doc_type: str
    when: dict[str, Any] = field(default_factory=dict)
    # Whose 文号 it bears: "step" (the organ of the step's unit) or "case" (of the unit that
    # registered the case, e.g. the city bureau's 喜报 delivered by a town).
    issuer: str = "step"

    def applies(self, step_id: str, data: dict[str, Any]) -> bool:
        return step_id == self.step_id and all(data.get(k) == v for k, v in self.when.items())


@dataclass(frozen=True)
class DocumentSet:
    """A process's documents (ProcessConfig.documents): templates in `directory`, editable in Word."""
    directory: Path
    types: dict[str, DocumentType]
    rules: tuple[DocumentRule, ...] = ()

    def template(self, key: str) -> Path:
        return self.directory / f"{key}.docx"

    def for_step(self, step_id: str, data: dict[str, Any]) -> list[tuple[DocumentRule, DocumentType]]:
        return [(r, self.types[r.doc_type]) for r in self.rules if r.applies(step_id, data)]

    def problems(self) -> list[str]:
        """What does not fit (for `workflows check` and tests): unknown types, missing templates."""
        found = [f"rule of step {r.step_id} names unknown document type {r.doc_type}"
                 for r in self.rules if r.doc_type not in self.types]
        return found + [f"template {self.template(k)} is missing" for k in self.types
                        if not self.template(k).is_file()]


def from_folder(directory: Path) -> DocumentSet | None:
    """A documents/ folder declared without Python (e.g. a declarative package's): documents.json
    {"types": {key: {"title", "word"}}, "rules": [{"step", "type", "when"}]} beside the templates."""
    manifest = directory / "documents.json"
    if not manifest.is_file():
        return None
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    types = {k: DocumentType(k, t["title"], t.get("word")) for k, t in raw.get("types", {}).items()}
    rules = tuple(DocumentRule(r["step"], r["type"], dict(r.get("when", {})), r.get("issuer", "step"))
                  for r in raw.get("rules", []))
    return DocumentSet(directory, types, rules)


@lru_cache(maxsize=64)
def _cached_folder(directory: Path) -> DocumentSet | None:
    return from_folder(directory)


def with_folder_documents(config: Any, bpmn_dir: Path | None) -> Any:
    """A package's ProcessConfig with the documents of <bpmn_dir>/<key>/documents/ when it
    declares none itself (a package without Python keeps its templates there)."""
    if config.documents is not None or bpmn_dir is None:
        return config
    docs = _cached_folder(bpmn_dir / config.key / "documents")
    return replace(config, documents=docs) if docs is not None else config
