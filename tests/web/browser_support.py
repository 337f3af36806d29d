"""Browser test support: Debian's Chromium through Playwright (never `playwright install`), the
app served by a real werkzeug server thread, and a watch on console errors and CSP violations.

Used by tests/web/browser_fixtures.py (the fixtures of tests/web/test_browser*.py) and by
tests/web/screenshots.py.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
MISSING = "Chromium not found at /usr/bin/chromium: browser tests skipped (apt-get install chromium)"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
PASSWORD = "secret-pass"

# The browser reports a CSP violation as a console error too; this listener names the directive
# and the blocked thing. Init scripts run through the DevTools protocol, outside the page's CSP.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
});
"""


def chromium_or_skip() -> None:
    """Skip (or fail, when RONGFLOW_REQUIRE_BROWSER=1 as in CI) without /usr/bin/chromium."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("RONGFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(MISSING.replace("skipped", "required (RONGFLOW_REQUIRE_BROWSER=1)"))
    pytest.skip(MISSING)


@contextmanager
def launch_chromium(extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Chromium (playwright.sync_api.Browser), closed on exit; `extra_args` e.g.
    ("--lang=zh-CN",) for the browser's own words (the file input's button) in Chinese."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=[*LAUNCH_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log in test output
        pass


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` from a werkzeug server thread on 127.0.0.1 (random port); yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Problems:
    """Console errors, uncaught page errors and CSP violations seen by one page."""
    messages: list[str] = field(default_factory=list)
    # Document loads answered with an error status on purpose (a form sent back with 422):
    # the browser logs those as "Failed to load resource"; they are not page problems.
    expected_statuses: set[int] = field(default_factory=set)

    def on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if text.startswith("Failed to load resource") and any(
                f"status of {s} " in text for s in self.expected_statuses):
            return
        self.messages.append(f"console: {text} ({msg.location.get('url', '')})")

    def on_page_error(self, error: Any) -> None:
        self.messages.append(f"page error: {error}")


def open_page(browser: Any, base_url: str, viewport: dict[str, int] | None = None,
              locale: str = "zh-CN") -> tuple[Any, Problems]:
    """A page in a fresh browser context (its own cookies), watched for problems."""
    context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, locale=locale,
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems = Problems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    return page, problems


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; lands on the home page (待办)."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form[action^='/login'] button[type=submit]")
    assert "/login" not in page.url, f"{username} could not sign in"
