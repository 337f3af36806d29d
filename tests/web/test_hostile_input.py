"""Each class of hostile input the fuzzing found, answered with a clear 4xx and a Chinese page:
NUL and control characters, ids past the database's integer range, unicode digits and huge
numbers as page numbers or ids, nan/inf/huge values in number fields, NUL in upload file names,
days past the calendar's range; and the last resort, the Chinese 500 page with a request id."""
from __future__ import annotations

import io

import pytest

from engine.forms import coerce_form
from tests.factories import petition_start_data, setup_petition
from tests.web.conftest import PASSWORD, login, make_app

REFUSED = "提交的内容包含无法处理的字符"


@pytest.fixture
def petition_app(env, tmp_path):
    org = setup_petition(env)
    return make_app(env, tmp_path), org


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "x\x07y", "a\x7fb", "\x9b"])
def test_control_characters_in_a_public_form_are_refused_with_a_chinese_page(petition_app, bad):
    app, _org = petition_app
    with app.test_client() as client:
        for path, data in (("/login", {"username": bad, "password": "x"}),
                           ("/query", {"case_no": bad, "query_code": "x"})):
            response = client.post(path, data=data)
            assert response.status_code == 400 and REFUSED in response.text, path
        assert client.get("/query", query_string={"q": bad}).status_code == 400


def test_invalid_utf8_in_the_query_string_is_refused(petition_app):
    app, _org = petition_app
    with app.test_client() as client:
        login(client, "t1_cw")
        response = client.get("/?q=%ED%A0%80")  # a lone surrogate, encoded
        assert response.status_code in (200, 400) and "Traceback" not in response.text


def test_a_field_of_10_kb_is_fine_and_one_of_200_kb_is_refused(petition_app):
    app, _org = petition_app
    with app.test_client() as client:
        assert client.post("/login", data={"username": "x" * 10_240, "password": "x"}).status_code == 401
        assert client.post("/login", data={"username": "x" * 200_000, "password": "x"}).status_code == 400


@pytest.mark.parametrize("case_id", ["2147483648", "4294967296", "9223372036854775808", "9" * 40, "9" * 5000])
def test_ids_past_the_database_range_are_not_found(petition_app, case_id):
    app, _org = petition_app
    with app.test_client() as client:
        login(client, "t1_cw")
        for path in (f"/cases/{case_id}", f"/tasks/{case_id}", f"/attachments/{case_id}"):
            assert client.get(path).status_code == 404, path
        assert client.post(f"/tasks/{case_id}/claim").status_code == 404


@pytest.mark.parametrize("page", ["²", "١٢٣", "௧", "9" * 5000, "99999999999999999999", "-1", "1_0", "nan"])
def test_odd_page_numbers_show_the_first_page(petition_app, page):
    app, _org = petition_app
    with app.test_client() as client:
        login(client, "t1_cw")
        assert client.get("/", query_string={"page": page}).status_code == 200
        login(client, "admin")
        assert client.get("/admin/users", query_string={"page": page}).status_code == 200
        assert client.get("/admin/log", query_string={"page": page}).status_code == 200


@pytest.mark.parametrize("ids", ["²", "9" * 5000, "2147483648", "١٢٣"])
def test_odd_ids_in_a_form_are_ignored_or_refused(petition_app, ids):
    app, org = petition_app
    with app.test_client() as client:
        login(client, "admin")
        response = client.post(f"/admin/users/{org.actor('t2_cw').id}/grants",
                               data={"role": "caseworker", "unit_id": ids})
        assert response.status_code == 302  # refused with a flashed message: 请选择单位
        assert "请选择单位" in client.get(response.location).text


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999", "9" * 5000, "9" * 30, "²", "١٢٣", "1_000"])
def test_hostile_numbers_in_a_number_field_are_a_field_error_and_the_form_keeps_them(petition_app, value):
    app, _org = petition_app
    form = {k: str(v) for k, v in petition_start_data(headcount=value).items()}
    with app.test_client() as client:
        login(client, "t1_cw")
        response = client.post("/start/petition", data=form)
        assert response.status_code == 422
        assert "请填写整数" in response.text
        assert "王建国" in response.text  # what was typed stays in the form
        if len(value) < 100:
            assert f'value="{value}"' in response.text


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    ("integer", "12", 12), ("integer", "-3", -3), ("integer", " 7 ", 7),
    ("number", "1.5", 1.5), ("number", "2", 2), ("number", ".5", 0.5), ("number", "1e3", 1000),
    ("integer", "nan", "nan"), ("integer", "²", "²"), ("integer", "١٢٣", "١٢٣"), ("integer", "1_000", "1_000"),
    ("integer", "9" * 16, "9" * 16), ("integer", "9" * 5000, "9" * 5000),
    ("number", "nan", "nan"), ("number", "inf", "inf"), ("number", "-Infinity", "-Infinity"),
    ("number", "1e999", "1e999"), ("number", "9" * 5000, "9" * 5000), ("number", "0x10", "0x10"),
])
def test_number_coercion_keeps_what_is_no_sane_number_as_text(kind, raw, expected):
    got = coerce_form({"properties": {"n": {"type": kind}}}, {"n": raw})["n"]
    assert got == expected and type(got) is type(expected)


def test_nul_in_an_upload_file_name_is_refused(petition_app):
    app, _org = petition_app
    with app.test_client() as client:
        login(client, "t1_cw")
        response = client.post("/cases/1/attachments", data={"file": (io.BytesIO(b"%PDF-1.4"), "a\x00b.pdf")},
                               content_type="multipart/form-data")
        assert response.status_code == 400 and REFUSED in response.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30"])
def test_days_past_the_calendar_range_in_filters_are_refused_or_ignored(petition_app, day):
    app, _org = petition_app
    with app.test_client() as client:
        login(client, "d1_lead")
        assert client.get("/", query_string={"due": day}).status_code == 200
        stats = client.get("/stats/", query_string={"date_to": day})
        assert stats.status_code == 422 and "日期格式应为" in stats.text
        login(client, "city_audit")
        audit = client.get("/audit/", query_string={"date_from": day})
        assert audit.status_code == 422 and "日期格式应为" in audit.text


def test_an_unexpected_error_shows_the_chinese_page_with_a_request_id(env, tmp_path):
    setup_petition(env)
    app = make_app(env, tmp_path)

    def broken() -> str:
        raise RuntimeError("secret internals: /srv/rongflow/engine.py line 42")
    app.add_url_rule("/broken", "broken", broken)
    with app.test_client() as client:
        login(client, "t1_cw", PASSWORD)
        response = client.get("/broken")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "系统出现错误" in text and "错误编号" in text
    assert "secret internals" not in text and "Traceback" not in text and "RuntimeError" not in text
