"""The API offers every verb the pages offer: the pages' POST routes are read from the app's
url_map, so a new verb on a page without its API twin fails here."""
from __future__ import annotations

# The blueprints whose POST routes are case work (sign-in, admin, audit, messages are not).
PAGE_BLUEPRINTS = ("tasks", "verbs", "cases", "petition", "documents")
# 代理 lives on the message centre's blueprint (whose read marks are not case work).
PAGE_RULES = ("/proxy", "/proxy/<int:proxy_id>/end", "/proxy/move")
# Page rules whose API twin has another path; every other one has the same path under /api/v1.
RENAMED = {"/tasks/<int:task_id>": "/tasks/<int:task_id>/complete", "/start/<key>": "/processes/<key>/cases"}


def _page_verbs(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules()
            if (rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS or rule.rule in PAGE_RULES) and "POST" in rule.methods}


def _api_verbs(app) -> set[str]:
    return {rule.rule.removeprefix("/api/v1") for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("api.") and "POST" in rule.methods}


def test_every_page_verb_has_an_api_operation(app):
    page = _page_verbs(app)
    assert {"/tasks/<int:task_id>", "/tasks/<int:task_id>/claim", "/tasks/<int:task_id>/return",
            "/tasks/<int:task_id>/urge", "/cases/<int:case_id>/cc", "/start/<key>"} <= page
    missing = {rule for rule in page if RENAMED.get(rule, rule) not in _api_verbs(app)}
    assert missing == set(), f"page verbs without an API operation: {sorted(missing)}"


def test_a_page_verb_without_an_api_twin_is_caught(app):
    app.add_url_rule("/tasks/<int:task_id>/escalate", "verbs.escalate", lambda task_id: "", methods=["POST"])
    assert {r for r in _page_verbs(app) if RENAMED.get(r, r) not in _api_verbs(app)} == {
        "/tasks/<int:task_id>/escalate"}


def test_every_api_operation_is_in_the_openapi_document(app, client):
    doc = client.get("/api/v1/openapi.json").json
    documented = {path for path in doc["paths"]}
    api_rules = {rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
                 for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
                 and not rule.endpoint.startswith(("api.docs", "api.openapi"))}
    assert api_rules - documented == set()
