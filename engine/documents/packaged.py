"""The documents a process package carries: `templates/<type>.docx` in the package, declared in its
process.toml (`[[documents]]`: type, title, word, step, when, issuer), stored with its definition
version and written once to a content-addressed folder, so an uploaded .zip issues its documents
at the declared step like any other process.

`check` is the upload's test: every declared template is present and renders (docxtpl and the
PDF) with sample data, every template is declared, every declared step is a step of the process;
otherwise a DefinitionError naming the file in Chinese, and nothing is deployed.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from engine.documents.catalogue import DocumentRule, DocumentSet, DocumentType
from engine.documents.render import docx_to_pdf, fill_docx
from engine.errors import DefinitionError

TEMPLATES = "templates/"
MANIFEST = "process.toml"


def template_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """type -> .docx bytes of the package's templates/<type>.docx files."""
    return {name[len(TEMPLATES):-5]: data for name, data in files.items()
            if name.startswith(TEMPLATES) and name.endswith(".docx") and name.count("/") == 1}


def document_set(declared: Iterable[dict[str, Any]], directory: Path) -> DocumentSet | None:
    """The DocumentSet of the manifest's [[documents]], templates in `directory`; None if none."""
    entries = list(declared)
    if not entries:
        return None
    types = {d["type"]: DocumentType(d["type"], d["title"], d.get("word")) for d in entries}
    rules = tuple(DocumentRule(d["step"], d["type"], dict(d.get("when") or {}), d.get("issuer", "step"))
                  for d in entries if d.get("step"))
    return DocumentSet(directory, types, rules)


def sample_context(declared: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """What a template gets at the upload's test: the smoke start data and a case's usual facts."""
    today = date.today()
    return {**data, "case_no": "YL20260001", "query_code": "123456", "case_title": "样例案件",
            "doc_title": declared["title"], "doc_number": "样例退役字〔2026〕1号", "draft": False,
            "issued_on": f"{today.year}年{today.month}月{today.day}日", "issuer_name": "样例退役军人事务局",
            "unit_name": "样例退役军人事务局", "actor_name": "样例经办人",
            "history": [{"on": "2026年1月1日", "action": "登记", "actor": "样例经办人", "step": "登记",
                         "opinion": ""}]}


def check(declared: list[dict[str, Any]], templates: dict[str, bytes], steps: set[str],
          sample: dict[str, Any], workdir: Path) -> None:
    """Refuse (DefinitionError, Chinese, naming the file) a package whose documents do not fit."""
    names = {d["type"] for d in declared}
    for extra in sorted(set(templates) - names):
        name = f"{TEMPLATES}{extra}.docx"
        raise DefinitionError(f"{name} is not declared in [[documents]]", file=name,
                              user_message=f"文书模板 {name} 未在 process.toml 的 [[documents]] 中声明")
    for n, d in enumerate(declared):
        name = f"{TEMPLATES}{d['type']}.docx"
        if d.get("step") and d["step"] not in steps:
            raise DefinitionError(f"documents.{n}.step: no step {d['step']!r} in the process", file=MANIFEST,
                                  element=f"documents.{n}.step",
                                  user_message=f"process.toml 中文书“{d['title']}”的环节“{d['step']}”不存在")
        if d["type"] not in templates:
            raise DefinitionError(f"{name} is missing", file=name,
                                  user_message=f"流程包缺少文书模板 {name}（文书“{d['title']}”）")
        _renders(name, d, templates[d["type"]], sample, workdir)


def _renders(name: str, declared: dict[str, Any], data: bytes, sample: dict[str, Any], workdir: Path) -> None:
    path = workdir / Path(name).name
    path.write_bytes(data)
    try:
        docx_to_pdf(fill_docx(path, sample_context(declared, sample)), declared["title"])
    except Exception as exc:  # noqa: BLE001 - whatever Word or a tag broke: name the file
        raise DefinitionError(f"{name} does not render with sample data: {type(exc).__name__}: {exc}",
                              file=name, user_message=f"文书模板 {name} 无法用样例数据生成文书，"
                                                      f"请在 Word 中检查模板及其中的 {{{{ }}}} 标记") from exc
