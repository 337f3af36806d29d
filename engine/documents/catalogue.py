"""What documents a process issues: its types (template, title, 文号 word) and which step issues which."""
from __future__ import annotations

from dataclasses import dataclass, field
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

    def for_step(self, step_id: str, data: dict[str, Any]) -> list[DocumentType]:
        return [self.types[r.doc_type] for r in self.rules if r.applies(step_id, data)]

    def problems(self) -> list[str]:
        """What does not fit (for `workflows check` and tests): unknown types, missing templates."""
        found = [f"rule of step {r.step_id} names unknown document type {r.doc_type}"
                 for r in self.rules if r.doc_type not in self.types]
        return found + [f"template {self.template(k)} is missing" for k in self.types
                        if not self.template(k).is_file()]
