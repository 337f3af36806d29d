"""Files of a form's file fields (engine.attachments.add_files, start_case_with_files) and options
of fields listed from the task's data (engine.casedata.field_options)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.attachments import Upload, UploadPolicy, add_files, start_case_with_files
from engine.casedata import field_options
from engine.errors import FormInvalid, PermissionDenied
from engine.models import Attachment
from engine.runtime import case_data, case_history
from tests.conftest import ROOT
from tests.factories import Org, build_org_with_sections, deploy_dir, open_tasks
from workflows import get_process

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PDF = b"%PDF-1.4\n%%EOF\n"
HOUSEHOLD = {
    "household_head": "张建国", "id_number": "320621194503120010", "beneficiary_category": "伤残军人",
    "address": "幸福社区3组12号", "housing_condition": "老旧平房", "needs": "屋面防水",
    "screening_date": "2026-03-02"}


@pytest.fixture
def org(env: Any) -> Org:
    built = build_org_with_sections(env)
    deploy_dir(env, "home_renovation", ROOT / "bpmn" / "home_renovation")
    return built


@pytest.fixture
def policy(tmp_path: Path) -> UploadPolicy:
    return UploadPolicy(tmp_path / "uploads", 1024 * 1024)


def attachments(env: Any, case: int) -> list[Attachment]:
    with env.db.read() as s:
        return list(s.query(Attachment).filter_by(instance_id=case).order_by(Attachment.id))


def test_a_start_with_photos_stores_them_on_the_new_case_and_names_them_in_its_data(env, org, policy):
    files = {"screening_photos": [Upload("屋面.png", PNG), Upload("证明.pdf", PDF)]}
    started = start_case_with_files(env, "home_renovation", org.actor("v1_cw"), org.units["v1"],
                                    HOUSEHOLD, files, policy)
    case = started.instance_id
    stored = attachments(env, case)
    assert [a.filename for a in stored] == ["屋面.png", "证明.pdf"]
    assert case_data(env, case)["screening_photos"] == [a.id for a in stored]
    start = next(e for e in case_history(env, case) if e.action == "start")
    assert start.data["screening_photos"] == [None, [a.id for a in stored]]


def test_one_bad_file_registers_nothing(env, org, policy):
    files = {"screening_photos": [Upload("屋面.png", PNG), Upload("说明.pdf", b"not a pdf")]}
    with pytest.raises(FormInvalid) as refused:
        start_case_with_files(env, "home_renovation", org.actor("v1_cw"), org.units["v1"],
                              HOUSEHOLD, files, policy)
    assert refused.value.errors == {"screening_photos": "说明.pdf：文件内容与扩展名不符"}
    with env.db.read() as s:
        assert s.query(Attachment).count() == 0


def test_step_files_go_on_the_task_all_or_none_and_only_by_whoever_may_act(env, org, policy):
    started = start_case_with_files(env, "home_renovation", org.actor("v1_cw"), org.units["v1"],
                                    HOUSEHOLD, {}, policy)
    case = started.instance_id
    [visit] = open_tasks(env, case, "home_visit")
    with pytest.raises(FormInvalid):
        add_files(env, case, org.actor("t1_cw"), {"visit_photos": [Upload("a.png", PNG),
                                                                   Upload("b.exe", b"MZ")]},
                  policy, visit.id)
    assert attachments(env, case) == []
    with pytest.raises(PermissionDenied):  # the village registered it; the visit is the town's
        add_files(env, case, org.actor("v1_cw"), {"visit_photos": [Upload("a.png", PNG)]},
                  policy, visit.id)
    ids = add_files(env, case, org.actor("t1_cw"), {"visit_photos": [Upload("a.png", PNG)],
                                                    "other": []}, policy, visit.id)
    [att] = attachments(env, case)
    assert ids == {"visit_photos": [att.id]} and att.task_id == visit.id


def test_options_come_from_the_process_or_from_a_list_in_the_task_data():
    config = get_process("job_placement")
    schema = {"properties": {"post_code": {"x-options-from": "open_posts"},
                             "who": {"x-options-from": "people"}, "note": {}}}
    data = {"posts": [{"post_code": "P01", "employer": "市城管局", "post_name": "综合执法", "count": 2},
                      {"post_code": "P02", "employer": "市交通局", "post_name": "路政管理", "count": 1}],
            "choices": [{"post_code": "P01"}, {"post_code": "P02"}],
            "people": ["张三", {"value": "7", "label": "李四"}]}
    assert field_options(config, schema, data) == {
        "post_code": [("P01", "P01 市城管局·综合执法（余1个名额）")],
        "who": [("张三", "张三"), ("7", "李四")]}
