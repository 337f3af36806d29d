"""Documents are issued wherever a step completes (one engine hook, engine.documents.steps, in the
step's own transaction): by a user, by the worker when a timer completes a step, by the timeout
policy's auto-act, by the CLI worker (`rongflow worker`) and in cases the demo city (and so
`rongflow demo`) builds. A step no user completed is issued by 系统; its number, files and event
commit with the step."""
from __future__ import annotations

import logging

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.calendar import BEIJING
from engine.documents.authoring import write_template
from engine.documents.catalogue import DocumentRule, DocumentSet, DocumentType
from engine.documents.issue import DocumentFailed
from engine.models import Attachment, CaseDocument, HistoryEvent
from engine.runtime import start_case
from engine.verbs.timeouts import run_due_policies
from engine.worker import run_due_timers
from tests.factories import DATA, build_org, deploy_dir, plain_config, setup_plain, simple_config
from tests.integration.test_documents import documents, texts
from tests.integration.verbs_support import actions, chain_ok, complete_step, drop_cache, second_env

NOTICE = ["> {{ doc_number }}", "案件{{ case_no }}：{{ step_note }}", ">> {{ issuer_name }}", ">> {{ actor_name }}"]


def _docs(directory: Path, step_id: str, key: str, title: str) -> DocumentSet:
    write_template(directory / f"{key}.docx", title, NOTICE)
    return DocumentSet(directory, {key: DocumentType(key, title, "告")}, (DocumentRule(step_id, key),))


def _events(env, iid: int) -> list[HistoryEvent]:
    with env.db.read() as s:
        return list(s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == iid)
                              .order_by(HistoryEvent.seq)))


def _uploader(env, attachment_id: int) -> int | None:
    with env.db.read() as s:
        att = s.get(Attachment, attachment_id)
        assert att is not None
        return att.uploaded_by_id


def _timer_case(env, tmp_path: Path) -> int:
    """A case whose decision is due in 3 days; the script step its timer runs issues a notice."""
    org = build_org(env)

    def on_start(data, ctx):
        return {"decide_due_at": ctx.calendar.deadline_end(ctx.today + timedelta(days=3)).isoformat(),
                "step_note": "逾期未作出受理决定"}
    env.extra_processes["timer_case"] = simple_config(
        "timer_case", "TM", on_start=on_start, due_keys={"decide": "decide_due_at"},
        documents=_docs(tmp_path / "docs", "mark_overdue", "overdue_notice", "超期告知单"))
    deploy_dir(env, "timer_case", DATA / "timer_case")
    iid = start_case(env, "timer_case", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    assert documents(env, iid) == []
    return iid


def test_a_step_the_timer_completes_issues_its_document_as_the_system(env, clock, tmp_path):
    env.upload_dir = tmp_path / "uploads"
    iid = _timer_case(env, tmp_path)
    clock.advance(timedelta(days=5))
    drop_cache(env)
    other = second_env(env)  # another engine (another process) runs the worker
    other.upload_dir = env.upload_dir
    assert run_due_timers(other) == 1
    [doc] = documents(env, iid)
    assert (doc.title, doc.number, doc.step_id, doc.created_by_id) == ("超期告知单", "城东退役告〔2026〕1号",
                                                                      "mark_overdue", None)
    word, pdf = texts(env, doc)
    for text in (word, pdf):
        assert "逾期未作出受理决定" in text and "系统" in text and "城东退役告〔2026〕1号" in text
    assert _uploader(env, doc.docx_attachment_id) is None and _uploader(env, doc.pdf_attachment_id) is None
    events = _events(env, iid)
    assert [e.action for e in events][-2:] == ["timer", "document"]
    assert (events[-1].actor_id, events[-1].actor_name, events[-1].step_id) == (None, "系统", "mark_overdue")
    assert chain_ok(env, iid)
    assert run_due_timers(env) == 0 and len(documents(env, iid)) == 1  # once
    other.db.dispose()


def test_the_auto_act_issues_the_steps_document_and_a_user_the_same_one(env, clock, tmp_path):
    env.upload_dir = tmp_path / "uploads"
    org = build_org(env)
    setup_plain(env)
    env.extra_processes["plain"] = replace(
        plain_config(), documents=_docs(tmp_path / "docs", "step2", "approval_notice", "审批告知单"),
        settings={"verbs": {"step2": {"timeout": {"auto": {"after_hours": 4, "action": "approve",
                                                           "data": {"step_note": "超时自动通过"}}}}}})
    iid = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"}).instance_id
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    assert documents(env, iid) == []
    clock.set(clock.now() + timedelta(hours=5))
    assert run_due_policies(env) == 1
    [doc] = documents(env, iid)
    assert (doc.number, doc.step_id, doc.created_by_id) == ("城东退役告〔2026〕1号", "step2", None)
    assert "超时自动通过" in texts(env, doc)[1]
    assert actions(env, iid)[-2:] == ["auto_act", "document"] and chain_ok(env, iid)

    second = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "y"}).instance_id
    complete_step(env, second, "step1", org.actor("t1_cw"))
    complete_step(env, second, "step2", org.actor("t1_cw"), {"step_note": "经办人办理"})
    [by_user] = documents(env, second)
    assert (by_user.number, by_user.created_by_id) == ("城东退役告〔2026〕2号", org.actor("t1_cw").id)
    assert org.actor("t1_cw").name in texts(env, by_user)[0]


def test_a_refused_template_rolls_the_auto_act_back_whole(env, clock, tmp_path, caplog):
    env.upload_dir = tmp_path / "uploads"
    org = build_org(env)
    setup_plain(env)
    docs = _docs(tmp_path / "docs", "step2", "approval_notice", "审批告知单")
    (tmp_path / "docs" / "approval_notice.docx").write_bytes(b"not a word file")
    env.extra_processes["plain"] = replace(plain_config(), documents=docs, settings={
        "verbs": {"step2": {"timeout": {"auto": {"after_hours": 4, "action": "approve"}}}}})
    iid = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"}).instance_id
    complete_step(env, iid, "step1", org.actor("t1_cw"))
    before = actions(env, iid)
    clock.set(clock.now() + timedelta(hours=5))
    with caplog.at_level(logging.ERROR, logger="rongflow"):
        assert run_due_policies(env) == 0  # refused, logged, the worker goes on
    assert any(isinstance(r.exc_info and r.exc_info[1], DocumentFailed) for r in caplog.records)
    assert actions(env, iid) == before and documents(env, iid) == []  # nothing half-done


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the demo's path, not the database's
def test_the_demo_city_issues_the_documents_of_its_cases(env, tmp_path, monkeypatch):
    """A small demo city (two cases of each process): `rongflow demo` builds it with the app's env,
    whose upload folder the demo's own clocked env keeps."""
    from webapp.cli import deploy_all
    from workflows import demo_city
    for key in demo_city.CASES_PER_PROCESS:
        monkeypatch.setitem(demo_city.CASES_PER_PROCESS, key, 2)
    monkeypatch.setattr(demo_city, "PACKAGE_DEMOS", {}, raising=False)
    env.upload_dir = tmp_path / "uploads"
    env.bpmn_dir = DATA.parent.parent / "bpmn"
    deploy_all(env)
    demo_city.build(env, days_back=30)
    with env.db.read() as s:
        rows = list(s.scalars(select(CaseDocument)))
        issued_at = [r.created_at for r in rows]
    assert rows and all(r.number or r.doc_type == "receipt" for r in rows)
    assert min(issued_at) < datetime.now(BEIJING) - timedelta(days=1)  # on the demo's own clock


def test_the_worker_command_issues_into_the_apps_upload_folder(env, clock, tmp_path):
    """`rongflow worker --once` (the CLI) runs on the app's env, whose upload folder is UPLOAD_DIR."""
    from webapp import create_app
    iid = _timer_case(env, tmp_path)
    app = create_app({"ENV_NAME": "test", "UPLOAD_DIR": tmp_path / "app-uploads"}, env=env)
    clock.advance(timedelta(days=5))
    done = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert done.exit_code == 0, done.output
    [doc] = documents(env, iid)
    assert env.upload_dir == tmp_path / "app-uploads" and doc.number == "城东退役告〔2026〕1号"
    assert "逾期未作出受理决定" in texts(env, doc)[1]
