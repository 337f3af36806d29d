"""A process package with no Python, end to end in a real browser and without restart: the admin
uploads its zip, a village caseworker registers a case, the town verifies, the district leader
approves, the case runs to its end, the auditor reads its history and diagram, and its indicators
show in 统计指标. A broken package is refused on the page with file, element and line."""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import InstanceStatus, ProcessDefinition
from tests.package_helpers import BPMN
from tests.web.browser_support import sign_in
from tests.web.test_browser_processes import People, case_id, do, fill, send, status

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages

KEY = "hardship_aid"
APPLY = {"applicant_name": "赵志刚", "id_number": "320621196502030012", "hardship_type": "因病",
         "difficulty_level": "较重困难", "situation": "本人患慢性病，医疗支出较大", "apply_date": "2026-03-02"}


def package_zip(change: tuple[str, str, str] | None = None) -> bytes:
    root = BPMN / KEY
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            data = path.read_bytes()
            if change and change[0] == name:
                data = data.replace(change[1].encode(), change[2].encode(), 1)
            z.writestr(f"{KEY}/{name}", data)
    return buf.getvalue()


def upload(page: Any, blob: bytes) -> None:
    page.goto("/admin/packages")
    page.set_input_files("#package", {"name": f"{KEY}.zip", "mimeType": "application/zip", "buffer": blob})
    with page.expect_navigation():
        page.get_by_role("button", name="校验并部署").click()


def _deployed(env: Any) -> int:
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.key == KEY)) or 0


def test_an_uploaded_package_is_started_approved_audited_and_counted_without_restart(env, petition_org, pages):
    people = People(pages)
    admin = people["admin"]
    upload(admin, package_zip())
    assert "已部署流程包“困难帮扶（专项困难补助）”" in admin.locator(".alert-success").inner_text()

    village = people["v1_cw"]
    village.goto("/start")
    assert village.locator(".card", has_text="困难帮扶（专项困难补助）").get_by_role("link", name="发起").count() == 1
    village.goto(f"/start/{KEY}")
    fill(village, APPLY)
    send(village, APPLY, "提交登记")
    found = re.search(r"案件编号 ([A-Z]+\d{4}-\d{5})", village.locator(".alert-success").inner_text())
    assert found, village.locator(".alert-success").inner_text()
    case_no = found.group(1)

    do(village, case_no, "村（社区）初审", {"village_decision": "符合"})
    do(people["t1_cw"], case_no, "镇（街道）入户核实",
       {"visit_date": "2026-03-04", "visit_note": "情况属实", "visit_result": "属实"})
    do(people["d1_lead"], case_no, "区局审批",
       {"approved_amount": 4000, "approval_opinion": "同意补助", "approval_decision": "批准"})
    do(village, case_no, "公示（7日）", {"publicity_result": "无异议"})
    do(people["d1_cw"], case_no, "资金发放", {"pay_amount": 4000, "pay_date": "2026-03-20", "voucher_no": "KN-1"})
    do(people["t1_cw"], case_no, "回访", {"follow_up_date": "2026-04-01", "follow_up_note": "已用于治疗"})
    assert status(env, case_no) == InstanceStatus.completed

    auditor = people["city_audit"]
    auditor.goto(f"/cases/{case_id(env, case_no)}")
    main = auditor.locator("main").inner_text()
    assert "办理记录" in main and "区局审批" in main and "区领导" in main
    assert auditor.locator("svg").count() >= 1  # the diagram is drawn

    leader = people["d1_lead"]
    leader.goto("/stats/")
    stats = leader.locator("main").inner_text()
    assert "困难帮扶（专项困难补助）" in stats and "批准率" in stats and "4,000.00" in stats


def test_a_broken_package_is_refused_on_the_page_and_nothing_is_deployed(env, petition_org, pages):
    admin, problems = pages()
    problems.expected_statuses.add(422)  # the refused upload comes back with its page
    sign_in(admin, "admin")
    upload(admin, package_zip(("forms/payment.json", '"type": "object"', '"type": "thing"')))
    error = admin.locator(".deploy-error")
    assert "表单 forms/payment.json 不是有效的 JSON Schema" in error.locator(".error-message").inner_text()
    assert error.locator(".error-file").inner_text() == "forms/payment.json"
    upload(admin, package_zip(("process.toml", 'level = "town"', 'level = "township"')))
    assert admin.locator(".deploy-error .error-line").inner_text() == "第 22 行"
    assert "steps.town_visit.level" in admin.locator(".deploy-error .error-element").inner_text()
    assert _deployed(env) == 0
