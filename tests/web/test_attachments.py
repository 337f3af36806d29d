"""Attachments: type allow-list, size limit, content-hash storage, authorised download."""
from __future__ import annotations

import hashlib
import io

from engine.inbox import inbox
from engine.models import Attachment
from engine.runtime import case_history
from tests.web.conftest import login, start_plain

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _upload(client, case_id, name, data, task_id=None):
    form = {"file": (io.BytesIO(data), name)}
    if task_id:
        form["task_id"] = str(task_id)
    return client.post(f"/cases/{case_id}/attachments", data=form,
                       content_type="multipart/form-data", follow_redirects=True)


def test_upload_on_a_task_and_download(env, client, plain, app):
    started = start_plain(env, plain)
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    login(client, "t1_cw")
    page = _upload(client, started.instance_id, "身份证明.pdf", PDF, task.id)
    assert "附件已上传" in page.text and "身份证明.pdf" in page.text
    digest = hashlib.sha256(PDF).hexdigest()
    stored = app.config["UPLOAD_DIR"] / digest[:2] / digest[2:4] / digest
    assert stored.read_bytes() == PDF
    with env.db.read() as s:
        att = s.query(Attachment).one()
        assert (att.sha256, att.task_id, att.size) == (digest, task.id, len(PDF))
    assert case_history(env, started.instance_id)[-1].action == "attach"
    response = client.get(f"/attachments/{att.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_only_allowed_types_whose_content_matches(env, client, plain):
    started = start_plain(env, plain)
    login(client, "t1_cw")
    assert "只能上传 PDF" in _upload(client, started.instance_id, "run.exe", b"MZ\x90\x00").text
    assert "只能上传 PDF" in _upload(client, started.instance_id, "page.html", b"<html>").text
    assert "文件内容与扩展名不符" in _upload(client, started.instance_id, "fake.pdf", b"<script>").text
    assert "附件已上传" in _upload(client, started.instance_id, "photo.png", PNG).text
    assert "请选择要上传的文件" in _upload(client, started.instance_id, "empty.pdf", b"").text


def test_files_over_the_size_limit_are_refused(env, client, plain):
    """MAX_UPLOAD_MB is 1 in the web tests."""
    started = start_plain(env, plain)
    login(client, "t1_cw")
    just_over = PDF + b"0" * (1024 * 1024)
    assert "文件不能超过 1 MB" in _upload(client, started.instance_id, "big.pdf", just_over).text
    far_over = PDF + b"0" * (3 * 1024 * 1024)
    response = client.post(f"/cases/{started.instance_id}/attachments",
                           data={"file": (io.BytesIO(far_over), "huge.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "不能超过 1 MB" in response.text
    with env.db.read() as s:
        assert s.query(Attachment).count() == 0


def test_only_people_working_on_the_case_may_attach(env, client, plain):
    started = start_plain(env, plain)
    login(client, "city_audit")  # may read the case, but changes nothing
    assert "只有发起人或当前办理人可以上传附件" in _upload(client, started.instance_id, "a.pdf", PDF).text
