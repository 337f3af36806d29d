"""The audit area: search the history in scope, export it for Excel, read a whole case, verify
hash chains. Auditors read everything in their scope and act on nothing."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import text

from engine.inbox import inbox
from engine.models import HumanTask, OrgUnit, Role, TaskStatus
from engine.orgs import create_user
from engine.runtime import complete_task
from tests.web.conftest import GOOD_ID, login, start_plain

AUDIT_PAGES = ["/audit/", "/audit/export.csv", "/audit/verify"]


@pytest.fixture
def history(env, plain):
    """A case in district 1 on Monday, one in district 2 on Wednesday (registered and completed,
    with an opinion), and a district-1 auditor."""
    c1 = start_plain(env, plain, subject="一区事项")
    env.clock.advance(timedelta(days=2))
    c2 = start_plain(env, plain, username="t2_cw", unit="t2", subject="二区事项",
                     facts="=HYPERLINK(\"http://evil\")")
    cw = plain.actor("t2_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "材料齐全"}, opinion="-已登记")
    with env.db.write() as s:
        create_user(s, "d1_audit", "区审计", "secret-pass", env.clock.now(),
                    [(Role.auditor, s.get(OrgUnit, plain.units["d1"]))])
    return c1, c2


def _case_nos(html: str, *case_nos: str) -> set[str]:
    return {c for c in case_nos if c in html}


# ----------------------------------------------------------------------------- access

@pytest.mark.parametrize("username", ["admin", "t1_cw", "d1_lead"])
def test_non_auditors_get_403(client, history, username):
    c1, _c2 = history
    login(client, username)
    for url in AUDIT_PAGES + [f"/audit/cases/{c1.instance_id}"]:
        assert client.get(url).status_code == 403, url
    assert 'href="/audit/"' not in client.get("/").text


def test_auditor_sees_the_nav_link_and_pages_without_inline_code(client, history):
    login(client, "city_audit")
    assert 'href="/audit/"' in client.get("/").text
    for url in ["/audit/", "/audit/verify"]:
        response = client.get(url)
        assert response.status_code == 200
        assert "style=" not in response.text and "onclick" not in response.text and "<script>" not in response.text


# ----------------------------------------------------------------------------- search

def test_auditor_search_filters_person_action_dates_and_unit(client, plain, history):
    c1, c2 = history
    login(client, "city_audit")
    assert _case_nos(client.get("/audit/").text, c1.case_no, c2.case_no) == {c1.case_no, c2.case_no}
    by_person = client.get("/audit/?person=二镇经办").text
    assert _case_nos(by_person, c1.case_no, c2.case_no) == {c2.case_no}
    by_username = client.get("/audit/?person=t1_cw").text
    assert _case_nos(by_username, c1.case_no, c2.case_no) == {c1.case_no}
    done = client.get("/audit/?action=complete").text
    assert _case_nos(done, c1.case_no, c2.case_no) == {c2.case_no} and "-已登记" in done
    assert '<option value="complete" selected>办理</option>' in done
    monday = client.get("/audit/?date_from=2026-03-02&date_to=2026-03-02").text
    assert _case_nos(monday, c1.case_no, c2.case_no) == {c1.case_no}
    from_wed = client.get("/audit/?date_from=2026-03-04").text
    assert _case_nos(from_wed, c1.case_no, c2.case_no) == {c2.case_no}
    d2 = client.get(f"/audit/?unit={plain.units['d2']}").text
    assert _case_nos(d2, c1.case_no, c2.case_no) == {c2.case_no}
    none = client.get("/audit/?person=无此人").text
    assert "没有符合条件的办理记录" in none


def test_bad_dates_are_explained(client, history):
    login(client, "city_audit")
    bad = client.get("/audit/?date_from=2026-13-01")
    assert bad.status_code == 422 and "日期格式应为" in bad.text
    reversed_range = client.get("/audit/?date_from=2026-03-05&date_to=2026-03-01")
    assert reversed_range.status_code == 422 and "结束日期不能早于开始日期" in reversed_range.text


def test_search_pages(app, client, env, plain):
    for _ in range(3):
        start_plain(env, plain)
    small = app.test_client()
    app.config["PAGE_SIZE"] = 2
    login(small, "city_audit")
    first = small.get("/audit/").text
    assert "共 3 条记录" in first and "下一页" in first
    second = small.get("/audit/?page=2").text
    assert "PL2026-00001" in second and "PL2026-00003" not in second


def test_district_auditor_does_not_see_another_districts_events(app, plain, history):
    c1, c2 = history
    client = app.test_client()
    login(client, "d1_audit")
    page = client.get("/audit/").text
    assert _case_nos(page, c1.case_no, c2.case_no) == {c1.case_no}
    assert "江北区退役军人事务局" not in page  # not even in the unit filter
    assert _case_nos(client.get(f"/audit/?unit={plain.units['d2']}").text, c1.case_no, c2.case_no) == set()
    assert client.get(f"/audit/cases/{c2.instance_id}").status_code == 404
    assert client.get(f"/audit/cases/{c1.instance_id}").status_code == 200
    exported = client.get("/audit/export.csv").data.decode("utf-8-sig")
    assert c1.case_no in exported and c2.case_no not in exported


# ----------------------------------------------------------------------------- export

def test_csv_export_has_bom_chinese_headers_and_follows_the_search(client, history):
    c1, c2 = history
    login(client, "city_audit")
    response = client.get("/audit/export.csv?person=二镇经办")
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("text/csv") and "charset=utf-8" in content_type
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["案件编号", "流程", "序号", "时间", "操作人", "操作", "步骤", "单位", "意见", "数据", "哈希"]
    assert [(r[0], r[5]) for r in rows[1:]] == [(c2.case_no, "发起"), (c2.case_no, "办理")]
    assert rows[2][8] == "'-已登记"  # a cell Excel would run as a formula is defused
    assert rows[1][3] == "2026-03-04 09:00:00"
    assert "HYPERLINK" in rows[1][9] and not rows[1][9].startswith("=")
    assert {r[1] for r in rows[1:]} == {"五步审批"}  # the process by its Chinese name, not "plain"
    assert "姓名：王建国" in rows[1][9] and "{" not in rows[1][9] and "petitioner_name" not in rows[1][9]


# ----------------------------------------------------------------------------- one case

def test_auditor_reads_the_whole_case_with_chain_status(client, history):
    c1, _c2 = history
    login(client, "city_audit")
    page = client.get(f"/audit/cases/{c1.instance_id}").text
    assert "校验通过" in page and "全部业务数据" in page
    for value in ("一区事项", "王建国", GOOD_ID, c1.query_code):
        assert value in page
    assert "身份证号" in page  # field titles from the process's forms
    assert "registered_unit_id" not in page and "subject" not in page  # no internal key on screen


def test_tampered_case_fails_verification(client, env, history):
    c1, c2 = history
    with env.db.engine.begin() as conn:  # someone with raw database access edits an opinion
        if env.db.is_sqlite:
            conn.execute(text("DROP TRIGGER history_event_no_update"))
        else:
            conn.execute(text("ALTER TABLE history_event DISABLE TRIGGER history_event_no_update"))
        conn.execute(text("UPDATE history_event SET opinion = '同意' WHERE instance_id = :i AND seq = 2"),
                     {"i": c2.instance_id})
        if not env.db.is_sqlite:  # the PostgreSQL database is shared by the run: guard it again
            conn.execute(text("ALTER TABLE history_event ENABLE TRIGGER history_event_no_update"))
    login(client, "city_audit")
    summary = client.get("/audit/verify").text
    assert 'verify-total">2<' in summary and 'verify-ok">1<' in summary and 'verify-broken">1<' in summary
    assert c2.case_no in summary and "校验失败 第2条" in summary and c1.case_no not in summary
    assert "校验失败 第2条" in client.get(f"/audit/cases/{c2.instance_id}").text
    assert "校验通过" in client.get(f"/audit/cases/{c1.instance_id}").text


def test_verification_page_when_all_is_well(client, history):
    login(client, "city_audit")
    assert "全部案件校验通过" in client.get("/audit/verify").text


# ----------------------------------------------------------------------------- acting

def test_auditor_has_an_empty_inbox_and_cannot_claim_or_complete(client, env, plain, history):
    c1, _c2 = history
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    auditor = plain.actor("city_audit")
    assert inbox(env, auditor.id).total == 0
    login(client, "city_audit")
    assert "暂无待办事项" in client.get("/").text
    assert client.post(f"/tasks/{task.id}/claim").status_code in (403, 404)
    assert client.post(f"/tasks/{task.id}", data={"note": "审计代办"}).status_code in (403, 404)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code in (200, 403, 404) and 'name="_opinion"' not in page.text
    with env.db.read() as s:
        row = s.get(HumanTask, task.id)
        assert (row.status, row.assignee_id) == (TaskStatus.open, None)


def test_pages_compare_each_case_with_the_newest_checkpoint(client, env, history, tmp_path):
    """Deleting a case's newest event and moving its head back leaves a valid chain; the signed
    checkpoint (written outside the database) still shows it."""
    from engine.integrity import service
    from engine.models import HistoryEvent, ProcessInstance
    c1, c2 = history
    env.checkpoint_dir = tmp_path / "checkpoints"
    service.write_checkpoint(env, env.checkpoint_dir)
    with env.db.engine.begin() as conn:
        if env.db.is_sqlite:
            conn.execute(text("DROP TRIGGER history_event_no_delete"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(HistoryEvent.__table__.delete().where(HistoryEvent.instance_id == c2.instance_id,
                                                           HistoryEvent.seq == 2))
        first = conn.execute(text("SELECT hash FROM history_event WHERE instance_id = :i AND seq = 1"),
                             {"i": c2.instance_id}).scalar()
        conn.execute(ProcessInstance.__table__.update().where(ProcessInstance.id == c2.instance_id)
                     .values(event_count=1, last_event_hash=first))
    login(client, "city_audit")
    summary = client.get("/audit/verify").text
    assert c2.case_no in summary and "校验失败 第2条" in summary and c1.case_no not in summary
    page = client.get(f"/audit/cases/{c2.instance_id}").text
    assert "校验失败 第2条" in page and "少于检查点记录的事件（末尾事件被删除）" in page
    (env.checkpoint_dir / "checkpoint-99991231T000000000000Z.json").write_text("{}", encoding="utf-8")
    page = client.get(f"/audit/cases/{c1.instance_id}").text
    assert "校验失败" in page and "检查点文件无效" in page and "None" not in page
    verify = client.get("/audit/verify").text
    assert 'chain-bad">校验失败</td>' in verify and "检查点文件无效" in verify and "None" not in verify


def test_city_auditors_see_the_admin_log_chain_and_district_auditors_do_not(client, env, plain, history):
    from engine import admin
    admin.create_user(env, plain.actor("admin"), "logged_one", "被记录者", "secret-pass-1")
    login(client, "city_audit")
    assert "管理日志（共 1 条）" in client.get("/audit/verify").text
    with env.db.engine.begin() as conn:  # a superuser edits the admin log behind the triggers
        if env.db.is_sqlite:
            conn.execute(text("DROP TRIGGER admin_event_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE admin_event SET target = 'someone_else'"))
    page = client.get("/audit/verify").text
    assert "校验失败 第1条</span>（内容被改动）" in page
    client.post("/logout")
    login(client, "d1_audit")
    assert "管理日志" not in client.get("/audit/verify").text



# ----------------------------------------------------------------------------- acting unit

def test_a_district_users_upload_on_a_city_case_is_logged_under_the_district(app, env, plain, tmp_path):
    """A city case whose first step is done at district 1: the district caseworker's uploads (on
    the task and from the case page) and 抄送 carry district 1, so district 1's auditor sees them
    and district 2's auditor does not; the city auditor sees everything."""
    from dataclasses import replace

    from engine.attachments import UploadPolicy, add_attachment
    from sqlalchemy import select

    from engine.copies import copy_case
    from engine.models import HistoryEvent
    from engine.runtime import suspend_case
    from tests.web.conftest import web_plain_config

    d1 = plain.units["d1"]
    env.extra_processes["plain"] = replace(web_plain_config(), assign=lambda step_id, data, ctx: d1)
    case = start_plain(env, plain, username="city_cw", unit="city_xf", subject="市局交办事项")
    with env.db.read() as s:
        task = s.query(HumanTask).filter_by(instance_id=case.instance_id).one()
        assert task.org_unit_id == d1
    policy = UploadPolicy(tmp_path / "files", 1 << 20)
    worker = plain.actor("d1_cw")
    add_attachment(env, case.instance_id, worker, "区里材料.pdf", b"%PDF-1.4 one", policy, task.id)
    add_attachment(env, case.instance_id, worker, "补充材料.pdf", b"%PDF-1.4 two", policy)
    copy_case(env, case.instance_id, worker, [plain.actor("d1_lead").id], "请阅")  # 抄送: no task either
    with env.db.write() as s:
        for username, unit in (("d1_audit", "d1"), ("d2_audit", "d2")):
            create_user(s, username, "区审计", "secret-pass", env.clock.now(),
                        [(Role.auditor, s.get(OrgUnit, plain.units[unit]))])
    for username, sees in (("d1_audit", True), ("d2_audit", False), ("city_audit", True)):
        client = app.test_client()
        login(client, username)
        page = client.get("/audit/?action=attach").text
        assert (case.case_no in page) is sees, username
        assert page.count("海安区退役军人事务局</td>") == (2 if sees else 0), username
        exported = client.get("/audit/export.csv?action=attach").data.decode("utf-8-sig")
        assert (exported.count(case.case_no) == 2) is sees, username
        assert ("海安区退役军人事务局</td>" in client.get("/audit/?action=cc").text) is sees, username
    suspend_case(env, case.instance_id, plain.actor("admin"), "核查")  # an admin acts for the city
    with env.db.read() as s:
        units = dict(s.execute(select(HistoryEvent.action, HistoryEvent.org_unit_id).where(
            HistoryEvent.instance_id == case.instance_id)).all())
    assert (units["cc"], units["suspend"]) == (d1, plain.units["city"])
