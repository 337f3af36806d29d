"""A process package uploaded as a .zip carries its own document templates: templates/<type>.docx
declared in process.toml's [[documents]] are checked at upload (present, declared, on a real step,
rendering with sample data; otherwise refused in Chinese naming the file, nothing deployed), stored
with the version, and issued at the declared step in any engine."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DefinitionError
from engine.models import ProcessDefinition
from engine.packages.upload import upload_package
from engine.runtime import start_case
from tests.factories import act, build_org_with_sections
from tests.integration.test_documents import documents, texts
from tests.integration.test_documents_more import MERIT, NOTICE
from tests.integration.test_package_upload import package_files, zipped
from tests.package_helpers import other_env

KEY = "merit_notice"
DECLARED = '''

[[documents]]
type = "merit_notice"
title = "立功喜报"
word = "喜"
step = "deliver"
issuer = "case"
'''
TEMPLATE = (MERIT / "merit_notice.docx").read_bytes()


def files(manifest_tail: str = DECLARED, templates: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The merit notice package as a zip would carry it: its documents/ folder left out, the
    template under templates/ and declared in process.toml."""
    out = {k: v for k, v in package_files(KEY).items() if not k.startswith("documents/")}
    out["process.toml"] = out["process.toml"] + manifest_tail.encode()
    out.update({f"templates/{k}.docx": v for k, v in
                ({"merit_notice": TEMPLATE} if templates is None else templates).items()})
    return out


@pytest.fixture
def org(env, tmp_path):
    env.upload_dir = tmp_path / "uploads"
    env.bpmn_dir = None  # no folder to fall back on: the templates come from the upload alone
    return build_org_with_sections(env)


def _deployed(env) -> int:
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition)) or 0


def test_an_uploaded_package_issues_its_own_template_at_the_declared_step(env, org):
    assert upload_package(env, org.actor("admin"), zipped(files())).created
    worker = other_env(env)  # another engine reads the template from the stored version
    worker.upload_dir, worker.bpmn_dir = env.upload_dir, None
    case_id = start_case(worker, KEY, org.actor("city_cw"), org.units["city_xf"],
                         {**NOTICE, "home_unit_id": org.units["t2"]}).instance_id
    act(worker, org, case_id, "verify", "city_cw", {"verify_result": "属实"})
    assert documents(env, case_id) == []
    act(worker, org, case_id, "deliver", "t2_cw", {"delivery_date": "2026-03-09", "receipt_signed": "已签收"})
    [notice] = documents(env, case_id)
    assert (notice.title, notice.number, notice.step_id) == ("立功喜报", "XX退役喜〔2026〕1号", "deliver")
    for text in texts(env, notice):
        assert "陈刚同志家属" in text and "2026年荣立三等功" in text
    # a new template is a new version; the old cases' documents stay as issued
    changed = upload_package(env, org.actor("admin"), zipped(files(templates={"merit_notice": _edited()})))
    assert changed.created and changed.version == 2


def _edited() -> bytes:
    from io import BytesIO

    from docx import Document
    doc = Document(BytesIO(TEMPLATE))
    doc.add_paragraph("（修订版）")
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _broken_tag() -> bytes:
    from io import BytesIO

    from docx import Document
    doc = Document(BytesIO(TEMPLATE))
    doc.add_paragraph("{{ soldier_name ")  # an unclosed tag typed in Word
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize("broken, file, words", [
    (files(templates={"merit_notice": b"not a word file"}), "templates/merit_notice.docx", "无法用样例数据生成"),
    (files(templates={"merit_notice": _broken_tag()}), "templates/merit_notice.docx", "无法用样例数据生成"),
    (files(templates={}), "templates/merit_notice.docx", "缺少文书模板"),
    (files(templates={"merit_notice": TEMPLATE, "extra": TEMPLATE}), "templates/extra.docx", "未在 process.toml"),
    (files(manifest_tail=DECLARED.replace('step = "deliver"', 'step = "no_such_step"')), "process.toml",
     "no_such_step"),
    (files(manifest_tail=DECLARED.replace('issuer = "case"', 'issuer = "city"')), "process.toml", "issuer"),
], ids=["not-docx", "broken-tag", "missing", "undeclared", "unknown-step", "bad-issuer"])
def test_a_package_whose_templates_do_not_fit_is_refused_naming_the_file(env, org, broken, file, words):
    before = _deployed(env)
    with pytest.raises(DefinitionError) as refused:
        upload_package(env, org.actor("admin"), zipped(broken))
    assert refused.value.file == file and words in refused.value.user_message
    assert file in refused.value.user_message or file == "process.toml"
    assert _deployed(env) == before
