"""Nothing internal on screen: every page each role reaches from its home page (petitions
registered, assigned to a district, handled and replied, a file uploaded) shows no English data
key (snake_case) and no ISO timestamp in its visible text (scripts, styles and attributes are
not visible). Usernames are the users' own login names and may show."""
from __future__ import annotations

import re
from collections import Counter, deque
from html.parser import HTMLParser

import pytest

from engine.attachments import UploadPolicy, add_attachment
from engine.models import ProcessInstance
from tests.factories import STAFF, assign_petition, open_tasks, petition_replied, register_petition, setup_petition
from tests.web.conftest import login

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
USERNAMES = {username for username, *_rest in STAFF}
# Not pages: downloads, exports, signing out, the API.
SKIP = re.compile(r"^/(static|api|logout)|\.(csv|xlsx|pdf|docx|svg|png|jpg)$|/download|/attachments/|/files/")
PAGES_PER_ROLE = 60
PER_SHAPE = 3  # e.g. three case pages: registered, replied, in handling
ROLES = ["t1_cw", "city_cw", "d1_cw", "d1_rev", "d1_lead", "city_lead", "city_audit", "admin"]


class _Visible(HTMLParser):
    """The text a reader sees and the page's links."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(href.split("#")[0])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def _shape(url: str) -> str:
    """A page's shape: /cases/12 and /cases/13 are the same page with other data."""
    path, _, query = url.partition("?")
    keys = sorted(p.split("=")[0] for p in query.split("&") if p)
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


@pytest.fixture
def city(env, tmp_path):
    """Three petitions: one only registered, one assigned to district 1 and replied (with a
    file uploaded by the district), one assigned and in handling."""
    org = setup_petition(env)
    register_petition(env, org)
    replied = register_petition(env, org, petitioner_name="李卫国")
    assign_petition(env, org, replied)
    [handle] = open_tasks(env, replied, "handle")
    add_attachment(env, replied, org.actor("d1_cw"), "调查笔录.pdf", b"%PDF-1.4 notes",
                   UploadPolicy(tmp_path / "uploads", 1 << 20), handle.id)
    petition_replied(env, org, replied)
    handling = register_petition(env, org, petitioner_name="赵振华")
    assign_petition(env, org, handling)
    with env.db.read() as s:
        return org, s.get(ProcessInstance, replied).case_no


def _crawl(client, starts: list[str]) -> dict[str, list[str]]:
    """{url: [internal words]} of the pages reached from the start pages."""
    shapes: Counter[str] = Counter()
    seen: set[str] = set()
    found: dict[str, list[str]] = {}
    queue = deque(starts)
    visited = 0
    while queue and visited < PAGES_PER_ROLE:
        url = queue.popleft()
        if url in seen or shapes[_shape(url)] >= PER_SHAPE or SKIP.search(url.split("?")[0]):
            continue
        seen.add(url)
        shapes[_shape(url)] += 1
        response = client.get(url)
        if response.status_code in (301, 302, 303) and response.location.startswith("/"):
            queue.appendleft(response.location)  # e.g. the case search leading to the case
            continue
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        visited += 1
        page = _Visible()
        page.feed(response.get_data(as_text=True))
        text = " ".join(page.text)
        words = sorted({w for w in SNAKE.findall(text) if w not in USERNAMES} | set(ISO_TIME.findall(text)))
        if words:
            found[url] = words
        queue.extend(page.links)
    return found


def test_no_page_shows_an_english_key_or_an_iso_timestamp(app, city):
    _org, case_no = city
    found = {}
    for username in ROLES:  # one city for every role: built once
        client = app.test_client()
        login(client, username)
        starts = ["/", f"/admin/cases?case_no={case_no}"] if username == "admin" else ["/"]  # 案件运维 too
        found.update({f"{username} {url}": words for url, words in _crawl(client, starts).items()})
    assert found == {}
