"""Documents from templates (engine.documents): the petition's notices are issued when their step
completes, numbered per unit, year and type, stored as case attachments (.docx and .pdf) with a
history event carrying their hashes, and readable: each file is opened and its fields checked."""
from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from engine.documents.issue import DocumentFailed
from engine.documents.numbers import next_number, unit_abbreviation
from engine.env import Env, make_env
from engine.history import verify_chain
from engine.models import Attachment, CaseDocument, DocumentSequence, HistoryEvent, ProcessInstance
from engine.runtime import complete_task
from engine.definitions import SpecCache
from tests.factories import Org, act, beijing, open_tasks, petition_to_final, register_petition, setup_petition
from workflows.petition import PROCESS as PETITION


@pytest.fixture
def org(env: Env, tmp_path: Path) -> Org:
    env.upload_dir = tmp_path / "uploads"
    return setup_petition(env)


def documents(env: Env, case_id: int) -> list[CaseDocument]:
    with env.db.read() as s:
        return list(s.scalars(select(CaseDocument).where(CaseDocument.instance_id == case_id)
                              .order_by(CaseDocument.id)))


def stored(env: Env, attachment_id: int) -> tuple[Attachment, bytes]:
    with env.db.read() as s:
        att = s.get(Attachment, attachment_id)
        assert att is not None
    assert env.upload_dir is not None
    return att, (env.upload_dir / att.sha256[:2] / att.sha256[2:4] / att.sha256).read_bytes()


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def pdf_text(data: bytes) -> str:
    """The PDF's text without the blanks and NULs the extractor puts between two-byte glyphs."""
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def texts(env: Env, doc: CaseDocument) -> tuple[str, str]:
    return docx_text(stored(env, doc.docx_attachment_id)[1]), pdf_text(stored(env, doc.pdf_attachment_id)[1])


def test_every_petition_template_exists_and_every_rule_names_a_known_type():
    assert PETITION.documents is not None and PETITION.documents.problems() == []
    assert {r.doc_type for r in PETITION.documents.rules} | {"receipt"} == set(PETITION.documents.types)


def test_unit_abbreviation_keeps_the_place_name():
    assert unit_abbreviation("海安市退役军人事务局") == "海安"
    assert unit_abbreviation("海安区退役军人事务局") == "海安"
    assert unit_abbreviation("XX市退役军人事务局") == "XX"
    assert unit_abbreviation("城东街道退役军人服务站") == "城东"


def document_events(env: Env, case_id: int) -> list[HistoryEvent]:
    with env.db.read() as s:
        return list(s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == case_id,
                                                          HistoryEvent.action == "document")
                              .order_by(HistoryEvent.seq)))


def accept(env: Env, org: Org, case_id: int) -> None:
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"}, "符合受理条件")


# ----------------------------------------------------------------------------- issued at the step

def test_accepting_a_petition_issues_a_numbered_acceptance_notice_in_word_and_pdf(env, org, clock):
    case_id = register_petition(env, org)
    assert documents(env, case_id) == []  # registering issues no notice
    accept(env, org, case_id)
    [doc] = documents(env, case_id)
    assert (doc.doc_type, doc.title, doc.number, doc.step_id) == \
        ("acceptance_notice", "受理告知书", "XX退役信受〔2026〕1号", "intake")
    with env.db.read() as s:
        case = s.get(ProcessInstance, case_id)
        case_no, query_code = case.case_no, case.query_code
    word, pdf = texts(env, doc)
    for text in (word, pdf):
        for field in ("受理告知书", "XX退役信受〔2026〕1号", "王建国", case_no, query_code,
                      "2026年3月2日", "XX市退役军人事务局", "第二十二条"):
            assert field in text, field
    assert "{{" not in word and "{{" not in pdf
    docx_att, docx_bytes = stored(env, doc.docx_attachment_id)
    pdf_att, pdf_bytes = stored(env, doc.pdf_attachment_id)
    assert docx_bytes.startswith(b"PK") and pdf_bytes.startswith(b"%PDF")
    assert (docx_att.filename, pdf_att.filename) == (f"受理告知书-{case_no}.docx", f"受理告知书-{case_no}.pdf")
    assert b"/FontFile3" in pdf_bytes or b"/FontFile2" in pdf_bytes  # the font travels with the file
    [event] = document_events(env, case_id)
    assert event.data["number"] == doc.number and event.step_id == "intake"
    assert event.data["docx"]["sha256"] == hashlib.sha256(docx_bytes).hexdigest()
    assert event.data["pdf"]["sha256"] == hashlib.sha256(pdf_bytes).hexdigest()
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok


def test_numbers_run_per_unit_year_and_type_without_gaps(env, org, clock):
    first, second, third = (register_petition(env, org) for _ in range(3))
    accept(env, org, first)
    act(env, org, second, "intake", "city_cw", {"intake_outcome": "转送", "transfer_organ": "市人社局"})
    env.specs = SpecCache()  # the next command as another process would run it
    accept(env, org, third)
    numbers = [d.number for c in (first, second, third) for d in documents(env, c)]
    assert numbers == ["XX退役信受〔2026〕1号", "XX退役信转〔2026〕1号", "XX退役信受〔2026〕2号"]
    _, transfer = texts(env, documents(env, second)[0])
    assert "市人社局" in transfer and "转送告知书" in transfer
    clock.set(beijing("2027-01-04"))
    accept(env, org, register_petition(env, org))
    assert [d.number for d in documents(env, max(first, second, third) + 1)] == ["XX退役信受〔2027〕1号"]


def test_a_whole_petition_leaves_its_notices_numbered_by_the_organ_that_issued_each(env, org, clock):
    case_id = petition_to_final(env, org, clock)  # 交办 to 海安区, answered, 复查 and 复核 by the city
    got = {d.doc_type: d for d in documents(env, case_id)}
    assert list(got) == ["assignment_sheet", "handling_opinion", "first_review_opinion", "second_review_opinion"]
    assert got["assignment_sheet"].number == "XX退役信交〔2026〕1号"
    assert got["handling_opinion"].number == "海安退役信处〔2026〕1号"  # issued by the district
    assert got["first_review_opinion"].number == "XX退役信复查〔2026〕1号"
    assert got["second_review_opinion"].number == "XX退役信复核〔2026〕1号"
    sheet_word, sheet_pdf = texts(env, got["assignment_sheet"])
    assert "请求依政策认定军龄并补缴社保。" in sheet_word and "请求依政策认定军龄并补缴社保。" in sheet_pdf
    _, opinion = texts(env, got["handling_opinion"])
    assert "《退役军人安置条例》" in opinion or "处理意见" in opinion
    _, second = texts(env, got["second_review_opinion"])
    assert "复查意见正确，予以维持。" in second and "省退役军人事务厅" in second
    assert len(document_events(env, case_id)) == 4
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok


def test_an_extension_notice_states_the_reason_and_the_days(env, org, clock):
    case_id = register_petition(env, org)
    accept(env, org, case_id)
    act(env, org, case_id, "handle", "city_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需赴外省调取档案"})
    act(env, org, case_id, "approve_extension", "city_lead",
        {"extension_decision": "同意", "extension_notice_on": "2026-03-02", "extension_notice_method": "书面告知"})
    ext = [d for d in documents(env, case_id) if d.doc_type == "extension_notice"]
    assert [d.number for d in ext] == ["XX退役信延〔2026〕1号"]
    word, pdf = texts(env, ext[0])
    for text in (word, pdf):
        assert "需赴外省调取档案" in text and "延长30日" in text and "第三十四条" in text


def test_a_refused_extension_issues_no_notice_and_uses_no_number(env, org, clock):
    case_id = register_petition(env, org)
    accept(env, org, case_id)
    act(env, org, case_id, "handle", "city_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需赴外省调取档案"})
    act(env, org, case_id, "approve_extension", "city_lead",
        {"extension_decision": "不同意", "extension_opinion": "调查工作可在期限内完成"})
    assert [d.doc_type for d in documents(env, case_id)] == ["acceptance_notice"]
    with env.db.read() as s:
        assert s.scalar(select(DocumentSequence).where(DocumentSequence.doc_type == "extension_notice")) is None


def test_an_approved_refusal_issues_the_refusal_notice_with_its_reason(env, org, clock):
    case_id = register_petition(env, org)
    act(env, org, case_id, "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决",
         "refusal_detail": "该事项已由劳动人事争议仲裁委员会受理。"})
    assert documents(env, case_id) == []  # not before the leader approves
    act(env, org, case_id, "approve_refusal", "city_lead", {"refusal_decision": "同意"})
    [doc] = documents(env, case_id)
    assert doc.number == "XX退役信不受〔2026〕1号"
    word, pdf = texts(env, doc)
    for text in (word, pdf):
        assert "诉讼、仲裁、行政复议" in text and "劳动人事争议仲裁委员会" in text


def test_a_written_supervision_issues_a_supervision_sheet_and_a_phone_call_does_not(env, org, clock):
    from engine.worker import run_due_timers
    written = register_petition(env, org)
    phoned = register_petition(env, org, petitioner_name="李秀英", id_number="32060219700315004X")
    for case_id in (written, phoned):
        act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
        act(env, org, case_id, "receive_assignment", "d1_cw",
            {"assignment_decision": "签收", "assignment_received_on": "2026-03-02"})
        act(env, org, case_id, "assignment_notice", "d1_cw",
            {"assignment_notice_on": "2026-03-02", "assignment_notice_method": "邮寄送达"})
    clock.set(beijing("2026-05-02", 0))
    assert run_due_timers(env) == 2
    act(env, org, written, "supervise_handling", "d1_rev",
        {"handling_supervision_measure": "书面督办", "handling_supervision_note": "请说明超期原因"})
    act(env, org, phoned, "supervise_handling", "d1_rev",
        {"handling_supervision_measure": "电话催办", "handling_supervision_note": "已电话催办"})
    [sheet] = [d for d in documents(env, written) if d.doc_type == "supervision_sheet"]
    assert sheet.number == "海安退役信督〔2026〕1号"
    assert "请说明超期原因" in texts(env, sheet)[1]
    assert [d.doc_type for d in documents(env, phoned)] == ["assignment_sheet"]


# ----------------------------------------------------------------------------- no gaps, no repeats

def test_a_step_whose_document_fails_is_refused_whole_and_gives_its_number_back(env, org, clock, tmp_path):
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    for key in PETITION.documents.types:
        (broken_dir / f"{key}.docx").write_bytes(b"PK\x03\x04 not a real document")
    env.extra_processes["petition"] = replace(PETITION, documents=replace(PETITION.documents, directory=broken_dir))
    case_id = register_petition(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    with pytest.raises(DocumentFailed) as failed:
        complete_task(env, intake.id, org.actor("city_cw"), {"intake_outcome": "受理"})
    assert failed.value.user_message == "受理告知书生成失败，请联系管理员检查文书模板"
    assert "acceptance_notice" in failed.value.message
    assert [t.id for t in open_tasks(env, case_id, "intake")] == [intake.id]  # the step did not happen
    assert documents(env, case_id) == [] and document_events(env, case_id) == []
    with env.db.read() as s:
        assert s.scalars(select(Attachment).where(Attachment.instance_id == case_id)).all() == []
    del env.extra_processes["petition"]  # the template fixed: the same number is issued
    accept(env, org, case_id)
    assert [d.number for d in documents(env, case_id)] == ["XX退役信受〔2026〕1号"]


def test_two_engines_alternating_continue_one_sequence(env, org, clock):
    other = Env(db=env.db, clock=env.clock, calendar=env.calendar, bpmn_dir=env.bpmn_dir,
                upload_dir=env.upload_dir)
    cases = [register_petition(env, org) for _ in range(4)]
    for n, case_id in enumerate(cases):
        accept(other if n % 2 else env, org, case_id)
    assert [documents(env, c)[0].number for c in cases] == [f"XX退役信受〔2026〕{n}号" for n in range(1, 5)]


def test_concurrent_numbering_never_repeats_or_skips(env, org):
    """Threads, each in its own transaction, take numbers of one counter at once."""
    threads, per_thread = 6, 5
    taken: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with env.db.write() as s:
                    taken.append(next_number(s, org.units["city"], 2026, "acceptance_notice"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert sorted(taken) == list(range(1, threads * per_thread + 1))


def test_workflows_check_names_a_missing_template_and_a_rule_on_no_step(tmp_path):
    from engine.calendar import default_calendar
    from engine.checks import check_process
    from engine.documents.catalogue import DocumentRule
    from tests.conftest import ROOT
    docs = replace(PETITION.documents, directory=tmp_path,
                   rules=(*PETITION.documents.rules, DocumentRule("no_such_step", "acceptance_notice")))
    found = check_process("petition", ROOT / "bpmn", replace(PETITION, documents=docs), default_calendar())
    assert f"template {tmp_path / 'acceptance_notice.docx'} is missing" in found.problems
    assert "document rule: no step no_such_step" in found.problems
    assert check_process("petition", ROOT / "bpmn", PETITION, default_calendar()).problems == []


def test_steps_completed_at_once_in_separate_engines_take_consecutive_numbers(env, org, db_url):
    """Four intake decisions land together, each from its own engine (as four web workers would)."""
    cases = [register_petition(env, org) for _ in range(4)]
    tasks = [open_tasks(env, c, "intake")[0].id for c in cases]
    engines = [make_env(db_url, clock=env.clock, bpmn_dir=env.bpmn_dir) for _ in tasks]
    for other in engines:
        other.upload_dir = env.upload_dir
    barrier, errors = threading.Barrier(len(tasks)), []

    def decide(other: Env, task_id: int) -> None:
        try:
            barrier.wait()
            complete_task(other, task_id, org.actor("city_cw"), {"intake_outcome": "受理"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=decide, args=pair) for pair in zip(engines, tasks)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    for other in engines:
        other.db.dispose()
    assert errors == []
    numbers = sorted(d.number for c in cases for d in documents(env, c))
    assert numbers == sorted(f"XX退役信受〔2026〕{n}号" for n in range(1, 5))
