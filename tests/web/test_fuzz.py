"""No input makes a 500: a property-based walk over every route of the app.

As anonymous and as each kind of user of the small test org (the route matrix's world: two
petitions in two districts), every URL rule is requested with every method it accepts, with
hostile values (NUL, bidi controls, unicode digits, numbers past every integer range and past
Python's int-string limit, nan/inf, 10 kB strings, SQL/HTML metacharacters) in its path
parameters, its query string, the fields of the form its page renders and upload file names.
Any 5xx fails. Derandomized, so CI runs the same examples every time.

On PostgreSQL (where an id past int4 overflows in the database) a shorter, exhaustive pass sends
every hostile id to every route with an id.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.env import Env
from tests.web.conftest import login
from tests.web.fuzz_support import (COMMON_FIELDS, HOSTILE, HOSTILE_IDS, Route, crawl_forms, routes,
                                    send)
from tests.web.test_route_matrix import build_world, make_app

FUZZ_USERS = {"anon": None, "town": "t1_cw", "district": "d1_cw", "leader": "d1_lead",
              "auditor": "city_audit", "admin": "admin"}
# The world's id for each path parameter name (a real object meets hostile forms and queries).
REAL = {"case_id": "case_a", "task_id": "task_a", "attachment_id": "att_a", "user_id": "user",
        "grant_id": "grant", "unit_id": "unit"}
REAL_STRINGS = {"key": "petition", "name": "army_reply"}
COMMON_QUERY = ["page", "q", "next", "tab", "process", "status", "due", "unit", "date_from",
                "date_to", "case_no", "actor", "action"]
# /readyz answers 503 by design while no worker heartbeat is recent (none runs here).
NOT_READY = {"ops.readyz"}
# Per user on SQLite: each example requests every route once; users x examples >= len(HOSTILE).
EXAMPLES = -(-len(HOSTILE) // len(FUZZ_USERS))

text_value = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=24),
    st.integers().map(str),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.sampled_from(HOSTILE)),
)


@pytest.fixture
def fuzz_world(env: Env, tmp_path: Path) -> tuple[Flask, dict[str, Any]]:
    ids = build_world(env, tmp_path / "uploads")
    return make_app(env, tmp_path), ids


def real_url(route: Route, ids: dict[str, Any]) -> str:
    values = {name: str(ids[REAL[name]]) if name in REAL else REAL_STRINGS.get(name, "x")
              for name, _kind in route.params}
    return route.url(values)


def page_forms(app: Flask, username: str | None, ids: dict[str, Any]) -> dict[str, set[str]]:
    """The forms this user's pages render (action path -> field names)."""
    with app.test_client() as client:
        if username:
            login(client, username)
        gets = [real_url(r, ids) for r in routes(app) if r.method == "GET"]
        return crawl_forms(client, gets)


def walk(app: Flask, username: str | None, plan: list[tuple[Route, str, dict, dict, str | None]]) -> list[str]:
    """Send every planned request; the 5xx answers, described."""
    bad = []
    with app.test_client() as client:
        if username:
            assert login(client, username).status_code == 302, f"{username} cannot sign in"
        for route, url, query, form, filename in plan:
            response = send(client, route, url, query, form, filename)
            if response.status_code >= 500 and not (route.endpoint in NOT_READY and response.status_code == 503):
                bad.append(f"{route.method} {url[:80]} q={_short(query)} f={_short(form)} "
                           f"file={filename!r:.40}: {response.status_code}")
    return bad


def _short(values: dict[str, str]) -> str:
    return repr({k: v[:20] for k, v in values.items()})[:200]


def _ordered(app: Flask) -> list[Route]:
    """Every route; signing out last, so the rest run signed in."""
    return sorted(routes(app), key=lambda r: r.endpoint == "auth.logout")


def draw_request(data: st.DataObject, route: Route, forms: dict[str, set[str]], ids: dict[str, Any],
                 shift: int) -> tuple[Route, str, dict, dict, str | None]:
    """One request to the route: a hostile value (the request's theme, HOSTILE[shift]) in most of
    its fields and query parameters, drawn text in the rest, a real or hostile id in each path
    parameter."""
    theme = HOSTILE[shift % len(HOSTILE)]
    value = st.one_of(st.just(theme), st.just(theme), text_value)
    values = {}
    for name, kind in route.params:
        real = str(ids[REAL[name]]) if kind == "IntegerConverter" else REAL_STRINGS.get(name, "x")
        hostile = HOSTILE_IDS if kind == "IntegerConverter" else HOSTILE
        values[name] = data.draw(st.one_of(st.just(real), st.sampled_from(hostile)), label=name)
    fields = forms.get(real_url(route, ids), set())
    if route.method == "GET":
        query = {n: data.draw(value, label=f"?{n}") for n in sorted(fields | set(COMMON_QUERY))}
        return route, route.url(values), query, {}, None
    form = {n: data.draw(value, label=n) for n in sorted(fields | set(COMMON_FIELDS))}
    filename = data.draw(st.none() | value.map(lambda s: s + ".pdf"), label="file name")
    return route, route.url(values), {}, form, filename


@pytest.mark.parametrize("who", list(FUZZ_USERS))
def test_no_input_gives_a_server_error(fuzz_world, who, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the full walk runs on SQLite; PostgreSQL gets the id pass below")
    app, ids = fuzz_world
    username = FUZZ_USERS[who]
    first = EXAMPLES * list(FUZZ_USERS).index(who)
    examples = itertools.count()
    forms = page_forms(app, username, ids)
    all_routes = _ordered(app)

    # No shrinking: the failure message lists every 5xx of the example, which is what to fix.
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def every_route(data: st.DataObject) -> None:
        # The themes are scheduled so that, over the users and examples, every route meets every
        # hostile value: example k of user u gives route i the theme HOSTILE[u * EXAMPLES + k + i].
        shift = first + next(examples) % EXAMPLES
        plan = [draw_request(data, route, forms, ids, shift + i) for i, route in enumerate(all_routes)]
        bad = walk(app, username, plan)
        assert not bad, "server errors:\n" + "\n".join(bad)

    every_route()


@pytest.mark.parametrize("who", ["town", "admin"])
def test_ids_past_the_database_range_are_not_found(fuzz_world, who):
    """Every route with an id, with every hostile id (PostgreSQL's int4 overflows past 2**31-1)."""
    app, ids = fuzz_world
    plan = []
    for route in _ordered(app):
        for name, kind in route.params:
            if kind != "IntegerConverter":
                continue
            for hostile in HOSTILE_IDS:
                values = {n: str(ids[REAL[n]]) if n in REAL else REAL_STRINGS.get(n, "x") for n, _k in route.params}
                values[name] = hostile
                plan.append((route, route.url(values), {}, {}, None))
    bad = walk(app, FUZZ_USERS[who], plan)
    assert not bad, "server errors:\n" + "\n".join(bad)
    with app.test_client() as client:
        login(client, FUZZ_USERS[who])
        assert client.get("/cases/2147483648").status_code == 404
        assert client.get(f"/cases/{2**31 - 1}").status_code == 404
