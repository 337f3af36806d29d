"""信访事项查询: the petitioner's page without sign-in — case number and query code show the status
and the answers served (nothing about staff), take one evaluation, refuse a wrong code exactly
like an unknown case, and lock out after repeated failures."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine.env import Env
from engine.models import ProcessInstance, TaskStatus
from engine.runtime import StartResult, case_data, case_history, start_case
from engine.worker import run_due_timers
from tests.factories import (ROOT, Org, act, all_tasks, deploy_dir, petition_replied,
                             petition_start_data, petition_to_final)
from tests.factories import beijing as at
from tests.web.conftest import csrf_token, make_app

GENERIC = "件号或查询码不正确，请核对后重新输入"
RATED = {"intake_satisfaction": "满意", "handling_satisfaction": "基本满意"}


@pytest.fixture
def petition(env: Env, org: Org) -> Org:
    deploy_dir(env, "petition", ROOT / "bpmn" / "petition")
    return org


def register(env: Env, org: Org, **data: object) -> StartResult:
    return start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data(**data))


def query(client, case_no: str, code: str, ip: str = "10.0.0.1"):
    return client.post("/query", data={"case_no": case_no, "query_code": code},
                       environ_base={"REMOTE_ADDR": ip})


def test_petitioner_follows_the_case_and_evaluates_it_once(client, env, petition, clock):
    org = petition
    started = register(env, org)
    assert re.fullmatch(r"\d{6}", started.query_code)  # issued at registration, shown to the caseworker
    assert client.get("/query").status_code == 200  # no sign-in needed

    page = query(client, started.case_no.lower(), started.query_code)
    assert page.status_code == 200 and "已登记（受理审查中）" in page.text
    act(env, org, started.instance_id, "intake", "city_cw", {"intake_outcome": "受理"})
    assert "已受理" in query(client, started.case_no, started.query_code).text

    clock.set(at("2026-03-10"))
    petition_replied(env, org, started.instance_id)
    page = query(client, started.case_no, started.query_code)
    assert "已答复（可自收到处理意见书之日起30日内申请复查）" in page.text
    assert "信访事项处理意见书" in page.text and "认定军龄，由原单位补缴社会保险。" in page.text
    assert "2026-03-10" in page.text and "满意度评价" in page.text
    for secret in ("市信访经办", "市信访科长", "市局领导", "王建国", "320602196805120016",
                   "权益维护科", "《退役军人安置条例》第四十二条", "调阅档案"):
        assert secret not in page.text, secret  # staff, petitioner data, internal findings

    done = client.post("/query/evaluate", data={"case_no": started.case_no,
                                                "query_code": started.query_code, **RATED})
    assert done.status_code == 200 and "感谢您的评价" in done.text and "已完成满意度评价" in done.text
    assert [t.status for t in all_tasks(env, started.instance_id, "evaluate")] == [TaskStatus.cancelled]
    [event] = [e for e in case_history(env, started.instance_id) if e.step_id == "petitioner_evaluation"]
    assert (event.actor_id, event.actor_name, event.step_name) == (None, "信访人（查询码）", "信访人网上评价")
    assert event.data["handling_satisfaction"] == [None, "基本满意"]

    again = client.post("/query/evaluate", data={"case_no": started.case_no,
                                                 "query_code": started.query_code, **RATED})
    assert again.status_code == 409 and "您已评价过本事项" in again.text

    clock.set(at("2026-04-25", 0))  # nobody asked for 复查 within 30 days of serving (to 04-09),
    assert run_due_timers(env) == 1  # nor in the 15 days a late request may still be registered
    assert "已办结" in query(client, started.case_no, started.query_code).text
    assert case_data(env, started.instance_id)["petitioner_evaluation"]["handling_satisfaction"] == "基本满意"


def test_evaluation_waits_for_the_reply_and_needs_both_stages(client, env, petition, clock):
    org = petition
    started = register(env, org)
    page = query(client, started.case_no, started.query_code)
    assert 'name="handling_satisfaction"' not in page.text
    early = client.post("/query/evaluate", data={"case_no": started.case_no,
                                                 "query_code": started.query_code, **RATED})
    assert early.status_code == 409 and "收到处理意见书后方可评价" in early.text

    act(env, org, started.instance_id, "intake", "city_cw", {"intake_outcome": "受理"})
    clock.set(at("2026-03-10"))
    petition_replied(env, org, started.instance_id)
    half = client.post("/query/evaluate", data={"case_no": started.case_no,
                                                "query_code": started.query_code,
                                                "intake_satisfaction": "满意"})
    assert half.status_code == 422 and "请填写办理环节满意度" in half.text
    assert all_tasks(env, started.instance_id, "evaluate")[0].status == TaskStatus.open


def test_wrong_code_and_unknown_case_are_refused_alike(client, env, petition):
    started = register(env, petition)
    wrong_digit = f"{(int(started.query_code[0]) + 1) % 10}{started.query_code[1:]}"
    wrong = query(client, started.case_no, wrong_digit)
    unknown = query(client, "XF2026-09999", started.query_code)
    empty = query(client, started.case_no, "")
    for refused in (wrong, unknown, empty):
        assert refused.status_code == 404 and GENERIC in refused.text
        assert "已登记" not in refused.text
    # what the user typed, and the CSRF token (signed with the second it was made: two requests
    # may straddle a second) aside, nothing tells them apart
    typed = re.compile(r'name="(case_no|csrf_token)" value="[^"]*"')
    assert typed.sub("", wrong.text) == typed.sub("", unknown.text)


def test_repeated_failures_lock_the_address_and_the_case_number(client, env, petition, clock):
    org = petition
    target, other = register(env, org), register(env, org, category="医疗")
    for _ in range(5):
        assert query(client, target.case_no, "000000", ip="10.0.0.66").status_code == 404
    locked = query(client, target.case_no, target.query_code, ip="10.0.0.66")  # right code, too late
    assert locked.status_code == 429 and "查询失败次数过多，已暂时锁定" in locked.text
    assert "请于 09:15 后再试" in locked.text  # 15 minutes after the failures at 09:00
    # the case number is locked from any address; the address is locked for any case
    assert query(client, target.case_no, target.query_code, ip="10.0.0.7").status_code == 429
    assert query(client, other.case_no, other.query_code, ip="10.0.0.66").status_code == 429
    assert query(client, other.case_no, other.query_code, ip="10.0.0.7").status_code == 200

    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    assert query(client, target.case_no, target.query_code, ip="10.0.0.7").status_code == 429
    clock.advance(timedelta(seconds=1))
    assert query(client, target.case_no, target.query_code, ip="10.0.0.7").status_code == 200


def test_guessing_many_case_numbers_locks_the_address(client, env, petition):
    started = register(env, petition)
    for n in range(5):
        assert query(client, f"XF2026-0{n + 100}", "123456", ip="10.0.0.99").status_code == 404
    assert query(client, started.case_no, started.query_code, ip="10.0.0.99").status_code == 429
    assert query(client, started.case_no, started.query_code, ip="10.0.0.5").status_code == 200


def test_the_query_form_is_csrf_protected_and_has_no_inline_script(env, petition, tmp_path):
    app = make_app(env, tmp_path, WTF_CSRF_ENABLED=True)
    started = register(env, petition)
    with app.test_client() as client:
        forged = client.post("/query", data={"case_no": started.case_no, "query_code": started.query_code})
        assert forged.status_code == 400
        form = client.get("/query")
        assert "script-src 'self'" in form.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", form.text) and "style=" not in form.text
        ok = client.post("/query", data={"case_no": started.case_no, "query_code": started.query_code,
                                         "csrf_token": csrf_token(form.text)})
        assert ok.status_code == 200 and "已登记（受理审查中）" in ok.text


def test_closed_and_refused_cases_read_plainly(client, env, petition, clock):
    org = petition
    refused = register(env, org)
    act(env, org, refused.instance_id, "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": "其他依法不予受理的情形", "refusal_detail": "非信访事项"})
    assert "已登记（受理审查中）" in query(client, refused.case_no, refused.query_code).text  # awaiting the leader
    act(env, org, refused.instance_id, "approve_refusal", "city_lead", {"refusal_decision": "同意"})
    act(env, org, refused.instance_id, "refusal_notice", "city_cw",
        {"notice_served_on": "2026-03-02", "notice_service_method": "邮寄送达"})
    page = query(client, refused.case_no, refused.query_code).text
    assert "不予受理（已书面告知）" in page and "不予受理告知书" in page and "其他依法不予受理的情形" in page

    moved = register(env, org, category="住房")
    act(env, org, moved.instance_id, "intake", "city_cw", {"intake_outcome": "转送", "transfer_organ": "市住建局"})
    page = query(client, moved.case_no, moved.query_code).text
    assert "已转送其他机关办理" in page and "您反映的事项已转送市住建局办理。" in page


def test_the_lock_follows_the_configuration(env, petition, tmp_path):
    app = make_app(env, tmp_path, PUBLIC_QUERY_MAX_FAILURES=2, PUBLIC_QUERY_LOCK_MINUTES=60)
    started = register(env, petition)
    with app.test_client() as client:
        for _ in range(2):
            assert query(client, started.case_no, "999999").status_code == 404
        locked = query(client, started.case_no, started.query_code)
        assert locked.status_code == 429 and "请于 10:00 后再试" in locked.text


def test_a_matter_ended_by_second_review_shows_every_answer(client, env, petition, clock):
    case_id = petition_to_final(env, petition, clock)
    with env.db.read() as s:
        case = s.get(ProcessInstance, case_id)
        case_no, code = case.case_no, case.query_code
    page = query(client, case_no, code).text
    assert "已终结（复核意见已送达）" in page
    for title, text, served in (("信访事项处理意见书", "认定军龄，由原单位补缴社会保险。", "2026-03-10"),
                                ("复查意见书", "原处理意见正确，予以维持。", "2026-03-25"),
                                ("复核意见书", "复查意见正确，予以维持。", "2026-04-10")):
        assert title in page and text in page and served in page
    assert "省退役军人事务厅" not in page and "已完成满意度评价" in page  # rated at the follow-up call
