"""The README's screenshots command works: the same function, into a temporary folder (its own
SQLite database; the screenshots run once, not per database)."""
from __future__ import annotations

import struct

import pytest

from tests.web.browser_support import PHONE
from tests.web.screenshots import SHOTS, take_screenshots

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_screenshots_command_writes_a_picture_of_each_main_page(browser, tmp_path):
    written = take_screenshots(tmp_path / "shots", browser)  # fails on console errors / CSP

    assert sorted(p.name for p in written) == sorted(s.filename for s in SHOTS)
    for shot in SHOTS:
        data = (tmp_path / "shots" / shot.filename).read_bytes()
        width, height = png_size(data)
        assert width == shot.viewport["width"], shot.filename
        assert height >= shot.viewport["height"] * 0.9, shot.filename
        assert len(data) > 20_000, f"{shot.filename} looks empty"
    assert png_size((tmp_path / "shots" / "phone.png").read_bytes()) == (PHONE["width"], PHONE["height"])
