"""Uploading a process package as a zip: a good one is deployed and runs without restart; every
kind of broken one is refused with file, element and line in Chinese, and nothing is deployed."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from engine.access import startable_processes
from engine.errors import DefinitionError, PermissionDenied
from engine.models import AdminEvent, ProcessDefinition
from engine.packages.upload import MAX_FILES, upload_package
from engine.runtime import start_case
from tests.factories import build_org_with_sections
from tests.package_helpers import BPMN, other_env

KEY = "preferential_card"


def package_files(key: str = KEY) -> dict[str, bytes]:
    root = BPMN / key
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def zipped(files: dict[str, bytes], top: str | None = "pkg") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"{top}/{name}" if top else name, data)
    return buf.getvalue()


def _deployed(env) -> int:
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition)) or 0


@pytest.fixture
def org(env):
    return build_org_with_sections(env)


def test_an_uploaded_package_is_offered_and_runs_in_every_engine_without_restart(env, org):
    web, worker = env, other_env(env)
    assert startable_processes(worker, org.actor("t1_cw").id, [KEY]) == []
    done = upload_package(web, org.actor("admin"), zipped(package_files()))
    assert (done.key, done.name, done.version, done.created) == (KEY, "优待证申领", 1, True)
    [option] = startable_processes(worker, org.actor("t1_cw").id, [KEY])
    assert option.name == "优待证申领"
    started = start_case(worker, KEY, org.actor("t1_cw"), org.units["t1"], {
        "applicant_name": "李卫国", "id_number": "320621197001010018", "category": "退役军人",
        "has_archive": "是", "disqualification": "无", "apply_date": "2026-03-02"})
    assert started.case_no.startswith("YDZ")
    again = upload_package(web, org.actor("admin"), zipped(package_files(), top=None))
    assert (again.version, again.created) == (1, False)
    with env.db.read() as s:
        [event] = s.scalars(select(AdminEvent).where(AdminEvent.action == "deploy")).all()
    assert event.target == f"{KEY} v1"


def test_a_changed_form_alone_is_a_new_version(env, org):
    upload_package(env, org.actor("admin"), zipped(package_files()))
    files = package_files()
    files["forms/town_issue.json"] = files["forms/town_issue.json"].replace("发放说明".encode(), "备注".encode())
    assert upload_package(env, org.actor("admin"), zipped(files)).version == 2


def test_only_a_city_admin_may_upload(env, org):
    for user in ("d1_rev", "t1_cw", "city_audit"):
        with pytest.raises(PermissionDenied):
            upload_package(env, org.actor(user), zipped(package_files()))
    assert _deployed(env) == 0


def _replace(name: str, old: str, new: str) -> dict[str, bytes]:
    files = package_files()
    assert old.encode() in files[name], old
    files[name] = files[name].replace(old.encode(), new.encode(), 1)
    return files


def _without(name: str) -> dict[str, bytes]:
    files = package_files()
    del files[name]
    return files


BROKEN = {
    "no manifest": (_without("process.toml"), "process.toml", None, "缺少 process.toml"),
    "manifest not TOML": (_replace("process.toml", 'case_prefix = "YDZ"', "case_prefix = YDZ"),
                          "process.toml", 6, "不是有效的 TOML"),
    "manifest against its schema": (_replace("process.toml", 'route = "ancestor"', 'route = "nearby"'),
                                    "process.toml", 22, "steps.district_review.route"),
    "lane naming an unknown role": (_replace("process.toml", '"审核岗" = "reviewer"', '"审核岗" = "inspector"'),
                                    "process.toml", 19, "角色“inspector”不在角色目录中"),
    "manifest naming a missing step": (_replace("process.toml", "[steps.town_issue]", "[steps.town_hand_out]"),
                                       "process.toml", 41, "环节“town_hand_out”在流程图中不存在"),
    "clock naming an undeclared setting": (_replace("process.toml", 'days = "activation_days"', 'days = "act_days"'),
                                           "process.toml", None, "设置项“act_days”未在 [settings] 中定义"),
    "user task without a form": (_without("forms/card_made.json"), "preferential_card.bpmn", 69,
                                 "缺少表单 forms/card_made.json"),
    "form not JSON": (_replace("forms/activation.json", "{", "{,"), "forms/activation.json", 1, "不是有效的 JSON"),
    "form not JSON Schema": (_replace("forms/activation.json", '"type": "object"', '"type": "thing"'),
                             "forms/activation.json", None, "不是有效的 JSON Schema"),
    "BPMN not well formed": (_replace("preferential_card.bpmn", "</bpmn:userTask>", "</bpmn:userTsk>"),
                             "preferential_card.bpmn", 45, "不是格式正确的 XML 文件"),
    "lane without a role": (_replace("preferential_card.bpmn", 'name="审核岗"', 'name="稽核岗"'),
                            "preferential_card.bpmn", 42, "泳道“稽核岗”未对应角色"),
    "expression refused by the sandbox": (_replace("preferential_card.bpmn", 'district_decision == "通过"',
                                                   '__import__("os")'), "preferential_card.bpmn", 109,
                                          "id=f_district_ok"),
    "smoke run failing": (_replace("process.toml", 'has_archive = "是"', 'has_archive = "也许"'),
                          "process.toml", None, "试运行未通过"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_package_is_refused_with_where_and_nothing_is_deployed(env, org, kind):
    files, file, line, words = BROKEN[kind]
    with pytest.raises(DefinitionError) as refused:
        upload_package(env, org.actor("admin"), zipped(files))
    err = refused.value
    assert err.file == file, (err.file, err.message)
    if line is not None:
        assert err.line == line, (err.line, err.message)
    assert err.user_message.startswith("流程定义有误：") and words in err.user_message, err.user_message
    assert _deployed(env) == 0


def _zip_with(name: str, data: bytes = b"x", extra: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in package_files().items():
            z.writestr(n, d)
        z.writestr(name, data)
        for i in range(extra):
            z.writestr(f"forms/extra_{i}.txt", b"")
    return buf.getvalue()


@pytest.mark.parametrize("blob, words", [
    (b"PK not really a zip", "不是有效的 zip"),
    (_zip_with("../../etc/evil.bpmn"), "越出包目录"),
    (_zip_with("/abs/evil.bpmn"), "越出包目录"),
    (_zip_with("forms/big.json", b"{" + b" " * (3 * 1024 * 1024) + b"}"), "文件超过"),
    (_zip_with("x.txt", extra=MAX_FILES), "文件数超过"),
])
def test_an_unsafe_zip_is_refused_before_anything_is_read_into_the_engine(env, org, blob, words):
    with pytest.raises(DefinitionError) as refused:
        upload_package(env, org.actor("admin"), blob)
    assert words in refused.value.user_message
    assert _deployed(env) == 0


def test_a_package_may_not_take_the_key_of_a_python_process(env, org):
    files = _replace("process.toml", 'key = "preferential_card"', 'key = "petition"')
    with pytest.raises(DefinitionError) as refused:
        upload_package(env, org.actor("admin"), zipped(files))
    assert "已被系统内置流程使用" in refused.value.user_message
    assert _deployed(env) == 0


def test_bare_bpmn_files_may_not_replace_a_package(env, org):
    from engine.admin_ops import upload_definition
    from engine.errors import FormInvalid
    upload_package(env, org.actor("admin"), zipped(package_files()))
    files = {"preferential_card.bpmn": package_files()["preferential_card.bpmn"].replace(
        "服务站发放".encode(), "服务站发证".encode())}
    with pytest.raises(FormInvalid) as refused:
        upload_definition(env, org.actor("admin"), KEY, files)
    assert "请在“流程包”页面上传整个 zip" in refused.value.errors["key"]
    assert _deployed(env) == 1
