"""Forms that never lose input, in Chromium (a Chinese and a plain English browser): typing, then
uploading a file in place (the text stays, the page does not reload), the inline preview,
autosave and the draft restored after a reload, the unsaved-changes question, the idle warning
whose 继续工作 keeps the session, and the timeout whose re-login returns to the task with what
was typed. The page's timers run on Playwright's clock, the server's on the injected clock."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories import open_tasks, register_petition
from tests.web.browser_support import DESKTOP, PASSWORD, Problems, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
IDLE, WARN = 30 * 60, 120  # the test config's idle timeout and warning (seconds)
OPINION = "#f-intake_opinion"


def _page(browser, server: str, locale: str):
    """A page in its own context with the given browser language, watched for problems; a 401
    (the idle timeout answering the page's script) and a 422 (the refused second upload) are
    expected answers."""
    context = browser.new_context(base_url=server, viewport=DESKTOP, locale=locale, timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = Problems(expected_statuses={401, 422})
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.clock.install()
    return page, problems


def _asks_before_leaving(page) -> bool:
    """Whether leaving the page now would ask first (the page's beforeunload handler)."""
    return page.evaluate("() => { const e = new Event('beforeunload', {cancelable: true});"
                         " window.dispatchEvent(e); return e.defaultPrevented; }")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_typed_input_survives_uploads_reloads_and_the_idle_timeout(browser, server, env, petition_org, clock, locale):
    from playwright.sync_api import expect
    case = register_petition(env, petition_org)
    task = open_tasks(env, case, "intake")[0].id
    page, problems = _page(browser, server, locale)
    try:
        sign_in(page, "city_cw")
        page.goto(f"/tasks/{task}")
        page.evaluate("window.sameDocument = true")

        # typing: leaving now would ask first; the autosave answers in Beijing time
        page.fill(OPINION, "经审查，符合受理条件")
        assert _asks_before_leaving(page) is True
        page.clock.run_for(2000)
        expect(page.locator(".draft-status")).to_have_text(re.compile(r"已自动暂存（2026-\d\d-\d\d \d\d:\d\d）"))

        # upload in place: progress, the new list, the text still there, no reload
        page.set_input_files("form.upload-form input[type=file]",
                             files=[{"name": "来信原件.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        page.locator("form.upload-form").get_by_role("button", name="上传").click()
        expect(page.locator(".upload-message")).to_have_text("附件已上传：来信原件.pdf")
        expect(page.locator("[data-attachment-list]")).to_contain_text("来信原件.pdf")
        assert page.input_value(OPINION) == "经审查，符合受理条件"
        assert page.evaluate("window.sameDocument") is True
        # the same file again is refused in Chinese, in place
        page.set_input_files("form.upload-form input[type=file]",
                             files=[{"name": "来信原件.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        page.locator("form.upload-form").get_by_role("button", name="上传").click()
        expect(page.locator(".upload-message")).to_contain_text("该文件已上传过")
        # a file over the limit (1 MB in the tests) is refused before it is sent
        page.set_input_files("form.upload-form input[type=file]", files=[
            {"name": "扫描件.pdf", "mimeType": "application/pdf", "buffer": PDF + b"0" * (1024 * 1024)}])
        page.locator("form.upload-form").get_by_role("button", name="上传").click()
        expect(page.locator(".upload-message")).to_have_text(
            "文件过大，单个文件不能超过 1 MB，请压缩或拆分后重新选择")
        assert page.input_value(OPINION) == "经审查，符合受理条件"
        # inline preview: the PDF in a frame of this page, shown by Chromium's own PDF viewer
        # (the preview's headers let this page frame it; a download would open no viewer)
        with page.expect_event("framenavigated", predicate=lambda f: f.url.startswith("chrome-extension://")):
            page.get_by_role("link", name="预览").click()
        frame = page.locator(".attachment-preview iframe")
        expect(frame).to_have_attribute("src", re.compile(r"/attachments/\d+/preview$"))
        assert page.request.get(frame.get_attribute("src")).headers["content-disposition"].startswith("inline")

        # all typed is saved: leaving asks nothing (the blur of the upload's click fired "change"
        # with the text as saved), then the reload brings the draft back
        assert _asks_before_leaving(page) is False
        page.reload()
        expect(page.locator(".draft-note")).to_contain_text("已恢复您于")
        assert page.input_value(OPINION) == "经审查，符合受理条件"

        # the idle warning, and 继续工作 keeps the session past the old deadline
        page.clock.fast_forward((IDLE - WARN + 1) * 1000)
        warning = page.locator(".idle-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("后将自动退出登录")
        clock.advance(timedelta(minutes=29))
        warning.get_by_role("button", name="继续工作").click()
        expect(warning).to_be_hidden()
        clock.advance(timedelta(minutes=20))
        page.reload()
        assert page.url.endswith(f"/tasks/{task}")  # 49 minutes after sign-in, 20 after 继续工作

        # typed, then away too long: the timeout keeps the text; re-login returns to the task
        page.fill(OPINION, "经审查，符合受理条件，交海安区办理")
        clock.advance(timedelta(minutes=31))
        with page.expect_navigation(url=re.compile(r"/login\?next=")):
            page.clock.fast_forward(IDLE * 1000)
        expect(page.locator(".alert")).to_contain_text("您填写的内容已暂存")
        page.fill("#username", "city_cw")
        page.fill("#password", PASSWORD)
        with page.expect_navigation(url=re.compile(rf"/tasks/{task}$")):
            page.click("form[action^='/login'] button[type=submit]")
        assert page.input_value(OPINION) == "经审查，符合受理条件，交海安区办理"
    finally:
        page.context.close()
    assert not problems.messages, "\n".join(problems.messages)
