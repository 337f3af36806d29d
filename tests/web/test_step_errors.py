"""Bad steps and modeler files through the web app: no 500, a Chinese message, the admin sees the
case in error and retries it; a modeler's file is deployed under the key typed in the form; a
deployed key without a process package is not offered and its start page is a 404."""
from __future__ import annotations

import io
import re

import pytest

from engine.inbox import inbox
from engine.models import InstanceStatus
from engine.runtime import start_case
from tests.factories import DATA, case_row, deploy_files, simple_config
from tests.integration.step_error_models import FAILING_STEP, KINDS, model
from tests.web.conftest import login

CAMUNDA = (DATA / "modeler" / "veteran_subsidy_camunda.bpmn").read_bytes()


def _case_with_task(env, org, kind):
    env.extra_processes["step_errors"] = simple_config("step_errors", "SE")
    deploy_files(env, "step_errors", {"step_errors.bpmn": model(kind)})
    case_id = start_case(env, "step_errors", org.actor("t1_cw"), org.units["t1"], {"amount": 10}).instance_id
    [task] = inbox(env, org.actor("t1_cw").id).items
    return case_id, task


def _no_internals(html: str) -> None:
    assert "Traceback" not in html and "Error" not in html and "Exception" not in html


@pytest.mark.parametrize("kind", KINDS)
def test_completing_a_step_that_fails_later_answers_in_chinese(env, client, org, kind):
    case_id, task = _case_with_task(env, org, kind)
    login(client, "t1_cw")
    response = client.post(f"/tasks/{task.id}", data={"_opinion": "已核实"}, follow_redirects=True)
    assert response.status_code == 200
    html = response.text
    assert "已办理" in html and "案件已暂停并通知系统管理员" in html
    _no_internals(html)
    assert case_row(env, case_id).status == InstanceStatus.error

    login(client, "admin")
    page = client.get(f"/admin/cases/{case_id}")
    assert page.status_code == 200 and FAILING_STEP[kind] in page.text


def test_the_admin_retries_a_rolled_back_completion_from_the_case_page(env, client, org):
    case_id, task = _case_with_task(env, org, "data_output")
    login(client, "t1_cw")
    client.post(f"/tasks/{task.id}", data={})
    login(client, "admin")
    response = client.post(f"/admin/cases/{case_id}/retry",
                           data={"data_fix": '{"approved_amount": 10}', "reason": "补录核定金额"})
    assert response.status_code == 302
    assert case_row(env, case_id).status == InstanceStatus.running
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["check"]


def _upload(client, files, key):
    data = {"key": key, "files": [(io.BytesIO(body), name) for name, body in files.items()]}
    return client.post("/admin/definitions", data=data, content_type="multipart/form-data")


def test_admin_deploys_a_modeler_file_under_the_key_typed_in_the_form(env, client, org):
    login(client, "admin")
    page = client.get("/admin/definitions").text
    assert 'name="key"' in page and "Process_1l85e0n" in page  # the form says the ids may differ
    response = _upload(client, {"subsidy.bpmn": CAMUNDA}, "veteran_subsidy_x")
    assert response.status_code == 302
    listed = client.get(response.headers["Location"]).text
    assert "已部署优抚补助审批第 1 版" in listed and "veteran_subsidy_x 第 1 版" not in listed


def test_admin_upload_with_an_unknown_lane_shows_the_element_and_line(env, client, org):
    login(client, "admin")
    bad = CAMUNDA.replace('name="审核人"'.encode(), 'name="会计"'.encode())
    response = _upload(client, {"subsidy.bpmn": bad}, "veteran_subsidy_x")
    assert response.status_code == 422
    html = response.text
    assert "部署失败，未部署任何内容" in html and "泳道“会计”不对应任何角色" in html
    assert re.search(r'error-element">bpmn:userTask id=Activity_1q9m0xk<', html)
    assert "第 24 行" in html
    assert "尚未部署任何流程" in html


def test_a_model_too_long_for_the_parser_is_refused_on_the_upload_page(env, client, org):
    from tests.integration.test_deploy_modeler import _chain
    login(client, "admin")
    response = _upload(client, {"long.bpmn": _chain(600)}, "long_chain")
    assert response.status_code == 422 and "流程过长" in response.text


def test_a_deployed_key_without_a_package_is_not_offered_and_its_start_page_is_404(env, client, org):
    deploy_files(env, "veteran_subsidy_x", {"subsidy.bpmn": CAMUNDA})
    login(client, "t1_cw")
    start_list = client.get("/start")
    assert start_list.status_code == 200 and "优抚补助审批" not in start_list.text
    assert client.get("/start/veteran_subsidy_x").status_code == 404
    assert client.post("/start/veteran_subsidy_x", data={}).status_code == 404


def test_uploading_a_process_with_a_time_cycle_timer_deploys(env, client, org):
    from tests.integration.test_deploy_modeler import _chain
    source = _chain(2).replace(
        '<bpmn:userTask id="t1" name="第1步" />'.encode(),
        b'<bpmn:intermediateCatchEvent id="t1"><bpmn:timerEventDefinition><bpmn:timeCycle>"R2/PT1H"'
        b'</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    login(client, "admin")
    response = _upload(client, {"cycle.bpmn": source}, "long_chain")
    assert response.status_code == 302
    assert "第 1 版；新发起的案件" in client.get(response.headers["Location"]).text
