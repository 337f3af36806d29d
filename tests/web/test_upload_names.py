"""Upload file names are normalised, not refused: long names are cut in the stem keeping the
extension, bidi overrides and other invisible characters are dropped, NFC; a disguised type is
still refused for what it really is."""
from __future__ import annotations

import io
import unicodedata

import pytest

from engine.attachments import _clean_name
from engine.inbox import inbox
from engine.models import Attachment
from tests.web.conftest import login, start_plain

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
RLO = "\u202e"


@pytest.mark.parametrize(("given", "stored"), [
    ("身份证明.pdf", "身份证明.pdf"),
    (f"报告{RLO}fdp.pdf", "报告fdp.pdf"),
    ("a\u2066b\u2069c\u200b\u200dd\ufeff.pdf", "abcd.pdf"),
    ("C:\\Users\\王\\Desktop\\证明.pdf", "证明.pdf"),
    ("../../etc/证明.pdf", "证明.pdf"),
    (unicodedata.normalize("NFD", "Café.pdf"), "Café.pdf"),
    ("  spaced.pdf  ", "spaced.pdf"),
])
def test_names_are_normalised(given, stored):
    assert _clean_name(given) == stored


def test_a_long_name_keeps_its_extension_within_255_characters():
    name = "关于退役军人安置待遇的申请材料" * 30 + ".docx"
    cleaned = _clean_name(name)
    assert len(cleaned) == 255 and cleaned.endswith(".docx") and cleaned.startswith("关于退役军人")
    assert _clean_name("x" * 300) == "x" * 255  # no extension: cut


def _upload(client, case_id, name, data, task_id):
    return client.post(f"/cases/{case_id}/attachments", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "task_id": str(task_id)}, follow_redirects=True)


def test_a_300_character_name_with_a_bidi_override_is_stored_clean(env, client, plain):
    started = start_plain(env, plain)
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    login(client, "t1_cw")
    long_name = f"退伍证{RLO}明" + "附" * 300 + ".pdf"
    page = _upload(client, started.instance_id, long_name, PDF, task.id)
    assert page.status_code == 200 and "附件已上传" in page.text
    with env.db.read() as s:
        att = s.query(Attachment).one()
    assert len(att.filename) == 255 and att.filename.endswith(".pdf") and RLO not in att.filename
    assert att.filename.startswith("退伍证明附")
    assert RLO not in page.text


def test_a_bidi_disguised_program_is_refused_as_the_type_it_is(env, client, plain):
    started = start_plain(env, plain)
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    login(client, "t1_cw")
    page = _upload(client, started.instance_id, f"发票{RLO}fdp.exe", b"MZ\x90\x00", task.id)
    assert "只能上传 PDF" in page.text
    with env.db.read() as s:
        assert s.query(Attachment).count() == 0
