"""Files on the task page (webapp/uploads.py): the in-place upload answering JSON, the same file
twice refused, removal by the uploader alone while the step is open (in history), the inline
preview of PDF and images with safe headers, and the Chinese answer to an oversized request."""
from __future__ import annotations

import io

import pytest

from engine.inbox import inbox
from engine.models import Attachment, OrgUnit, Role
from engine.orgs import create_user
from engine.runtime import case_history
from tests.web.conftest import login, start_plain

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
DOCX = b"PK\x03\x04" + b"\0" * 32


@pytest.fixture
def case(env, plain) -> tuple[int, int]:
    """(case id, its open step1 task at the town t1); a second caseworker of t1 exists."""
    with env.db.write() as s:
        create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(),
                    [(Role.caseworker, s.get(OrgUnit, plain.units["t1"]))])
    started = start_plain(env, plain)
    return started.instance_id, inbox(env, plain.actor("t1_cw").id).items[0].id


def _upload(client, task, name, data, fetch=True):
    return client.post(f"/tasks/{task}/attachments", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=FETCH if fetch else {})


def _files(env) -> list[Attachment]:
    with env.db.read() as s:
        return s.query(Attachment).order_by(Attachment.id).all()


def test_upload_in_place_answers_the_new_list(env, client, case):
    _case, task = case
    login(client, "t1_cw")
    r = _upload(client, task, "身份证明.pdf", PDF)
    assert r.status_code == 200 and r.json["message"] == "附件已上传"
    assert "身份证明.pdf" in r.json["html"] and "预览" in r.json["html"] and "删除" in r.json["html"]
    plain_post = _upload(client, task, "照片.png", PNG, fetch=False)  # without the script: back to the page
    assert plain_post.status_code == 302 and plain_post.location.endswith(f"/tasks/{task}")
    assert [a.task_id for a in _files(env)] == [task, task]


def test_the_same_file_twice_on_one_step_is_refused(env, client, case):
    case_id, task = case
    login(client, "t1_cw")
    assert _upload(client, task, "证明.pdf", PDF).status_code == 200
    again = _upload(client, task, "证明-副本.pdf", PDF)
    assert again.status_code == 422 and again.json["error"] == "附件未上传：该文件已上传过（证明.pdf），请勿重复上传"
    on_case = client.post(f"/cases/{case_id}/attachments", data={"file": (io.BytesIO(PDF), "b.pdf"),
                          "task_id": str(task)}, content_type="multipart/form-data", follow_redirects=True)
    assert "该文件已上传过" in on_case.text
    assert len(_files(env)) == 1
    assert _upload(client, task, "other.pdf", PDF + b"\n").status_code == 200  # other bytes are welcome


def test_the_uploader_removes_their_file_and_history_records_it(env, client, case):
    case_id, task = case
    login(client, "t1_cw")
    _upload(client, task, "错传.pdf", PDF)
    att = _files(env)[0].id
    r = client.post(f"/attachments/{att}/remove", headers=FETCH)
    assert r.status_code == 200 and r.json["message"] == "已删除附件：错传.pdf" and "错传.pdf" not in r.json["html"]
    assert _files(env) == []
    event = case_history(env, case_id)[-1]
    assert (event.action, event.data["filename"], event.task_id) == ("detach", "错传.pdf", task)
    assert _upload(client, task, "错传.pdf", PDF).status_code == 200  # may be uploaded again


def test_nobody_else_removes_it_and_not_after_the_step(env, client, case):
    _case, task = case
    login(client, "t1_cw")
    _upload(client, task, "证明.pdf", PDF)
    att = _files(env)[0].id
    client.post("/logout")
    login(client, "t1_cw2")  # a colleague of the same unit, who may act on the task
    assert "删除</button>" not in client.get(f"/tasks/{task}").text
    r = client.post(f"/attachments/{att}/remove", headers=FETCH)
    assert r.status_code == 403 and r.json["error"] == "只有上传人可以删除该附件"
    client.post("/logout")
    login(client, "t2_cw")  # the other district does not see it at all
    assert client.post(f"/attachments/{att}/remove").status_code == 404
    client.post("/logout")
    login(client, "t1_cw")
    assert client.post(f"/tasks/{task}", data={"note": "办结"}).status_code == 302
    late = client.post(f"/attachments/{att}/remove", headers=FETCH)
    assert late.status_code == 409 and late.json["error"] == "该附件所在步骤已办结，不能再删除"
    assert len(_files(env)) == 1


def test_pdf_and_images_preview_inline_other_types_download(env, client, case):
    _case, task = case
    login(client, "t1_cw")
    _upload(client, task, "证明.pdf", PDF)
    _upload(client, task, "照片.png", PNG)
    _upload(client, task, "表格.docx", DOCX)
    pdf, png, docx = (a.id for a in _files(env))
    r = client.get(f"/attachments/{pdf}/preview")
    assert r.status_code == 200 and r.data == PDF and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none' covers it
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]  # the view's own, not also the default
    assert client.get(f"/attachments/{png}/preview").headers["Content-Type"] == "image/png"
    word = client.get(f"/attachments/{docx}/preview")
    assert word.status_code == 302 and word.location.endswith(f"/attachments/{docx}")
    page = client.get(f"/tasks/{task}").text
    assert page.count('class="small ms-1 attachment-preview-link"') == 2
    assert client.get(f"/attachments/{pdf}").headers["X-Frame-Options"] == "DENY"  # the download is not framed
    client.post("/logout")
    login(client, "t2_cw")
    assert client.get(f"/attachments/{pdf}/preview").status_code == 404


def test_an_oversized_request_gets_a_chinese_answer(env, client, case):
    _case, task = case
    login(client, "t1_cw")
    huge = PDF + b"0" * (3 * 1024 * 1024)  # the web tests allow 1 MB
    r = _upload(client, task, "huge.pdf", huge)
    assert r.status_code == 413 and "单个文件不能超过 1 MB" in r.json["error"]
    page = client.post(f"/tasks/{task}", data={"note": "x", "f": (io.BytesIO(huge), "huge.pdf")},
                       content_type="multipart/form-data", headers={"Referer": f"http://localhost/tasks/{task}"})
    assert page.status_code == 413 and "返回继续填写" in page.text and f'href="/tasks/{task}"' in page.text
    assert _files(env) == []
