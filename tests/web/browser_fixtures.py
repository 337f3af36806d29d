"""Fixtures of the browser tests, loaded by each tests/web/test_browser*.py module with
`pytest_plugins = ["tests.web.browser_fixtures"]` (one Chromium for the whole run)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.env import Env
from tests.factories import Org, setup_petition
from tests.web.browser_support import Problems, chromium_or_skip, launch_chromium, live_server, open_page
from tests.web.conftest import make_app

OpenPage = Callable[..., tuple[Any, Problems]]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run; each page gets a fresh context (own cookies)."""
    chromium_or_skip()
    with launch_chromium() as b:
        yield b


@pytest.fixture
def petition_org(env: Env) -> Org:
    """The test org tree (tests.factories.build_org) with the petition process deployed."""
    return setup_petition(env)


@pytest.fixture
def server(env: Env, petition_org: Org, tmp_path: Path) -> Iterator[str]:
    """The app on the test database (SQLite, and PostgreSQL with TEST_DATABASE_URL), CSRF on,
    served by a real server thread; yields its base URL."""
    app = make_app(env, tmp_path, WTF_CSRF_ENABLED=True)
    with live_server(app) as url:
        yield url


@pytest.fixture
def pages(browser: Any, server: str) -> Iterator[OpenPage]:
    """`pages(viewport=None)` opens a watched page on the server; at teardown no page may have
    logged a console error, an uncaught error or a CSP violation."""
    opened: list[tuple[Any, Problems]] = []

    def open_(viewport: dict[str, int] | None = None) -> tuple[Any, Problems]:
        page, problems = open_page(browser, server, viewport)
        opened.append((page, problems))
        return page, problems

    yield open_
    found = [m for _page, problems in opened for m in problems.messages]
    for page, _problems in opened:
        page.context.close()
    assert not found, "console errors or CSP violations:\n" + "\n".join(found)
