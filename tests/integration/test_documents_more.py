"""The other processes' documents: the settlement's 移交清单 and its 签收回执 (numbered by the city
section's organ and by the receiving district), the placement's 介绍信 per veteran, and the 喜报
declared without Python (documents.json beside the template in the package's folder under the
engine's bpmn_dir)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.documents.catalogue import from_folder
from tests.conftest import ROOT
from engine.runtime import start_case
from tests.factories import act, build_org, file_to_report_in, setup_settlement
from tests.package_helpers import deploy_key
from tests.integration.test_documents import documents, texts
from tests.integration.test_job_placement import letters, to_letters

MERIT = ROOT / "bpmn" / "merit_notice" / "documents"
NOTICE = {"soldier_name": "陈刚", "id_number": "32062120010101001X", "army_unit": "某部", "award": "三等功",
          "award_year": 2026, "received_date": "2026-03-06", "family_contact": "陈建华",
          "family_address": "江北镇幸福村5组"}


@pytest.fixture
def uploads(env, tmp_path: Path) -> Path:
    env.upload_dir = tmp_path / "uploads"
    return env.upload_dir


def test_a_handed_over_file_leaves_a_numbered_list_and_the_districts_receipt(env, uploads):
    org = setup_settlement(env, "settlement_handover")
    case = file_to_report_in(env, org)
    listed, receipt = documents(env, case)
    assert (listed.title, listed.number) == ("退役士兵档案移交清单", "XX退役安移〔2026〕1号")
    assert (receipt.title, receipt.number) == ("退役士兵档案移交签收回执", "海安退役安回〔2026〕1号")
    word, pdf = texts(env, listed)
    for text in (word, pdf):
        assert "海安区退役军人事务局" in text and "YJ-01" in text  # the receiving unit, by name
    _, receipt_pdf = texts(env, receipt)
    assert "完整无缺" in receipt_pdf and "HZ-01" in receipt_pdf


def test_each_placed_veteran_gets_a_numbered_introduction_letter(env, uploads):
    org = setup_settlement(env, "job_placement")
    case = to_letters(env, org)
    letters(env, org, case)
    got = documents(env, case)
    assert [d.number for d in got] == [f"XX退役安介〔2026〕{n}号" for n in (1, 2, 3)]
    bodies = [texts(env, d)[1] for d in got]
    for name, employer in (("钱勇", "市城管局"), ("赵强", "市交通局"), ("孙杰", "市水务局")):
        [body] = [b for b in bodies if name in b]
        assert employer in body and "30日内" in body


def test_the_merit_notice_declared_without_python_is_issued_when_the_family_is_told(env, uploads):
    docs = from_folder(MERIT)
    assert docs is not None and docs.problems() == []
    org = build_org(env)
    deploy_key(env, "merit_notice")
    assert env.process("merit_notice").documents == docs  # the deployed package finds its documents/
    case_id = start_case(env, "merit_notice", org.actor("city_cw"), org.units["city_xf"],
                         {**NOTICE, "home_unit_id": org.units["t2"]}).instance_id
    act(env, org, case_id, "verify", "city_cw", {"verify_result": "属实"})
    assert documents(env, case_id) == []
    act(env, org, case_id, "deliver", "t2_cw", {"delivery_date": "2026-03-09", "receipt_signed": "已签收"})
    [notice] = documents(env, case_id)
    # numbered by the city bureau that registered it, though the town delivers it
    assert (notice.title, notice.number) == ("立功喜报", "XX退役喜〔2026〕1号")
    word, pdf = texts(env, notice)
    for text in (word, pdf):
        assert "陈刚同志家属" in text and "2026年荣立三等功" in text


def test_a_folder_without_documents_json_declares_nothing(tmp_path):
    assert from_folder(tmp_path) is None
