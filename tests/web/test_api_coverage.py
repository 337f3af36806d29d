"""The API offers every task verb the pages offer: derived from the app's url_map, so a new
page verb without its API twin fails here."""
from __future__ import annotations

PAGE_BLUEPRINTS = ("tasks", "verbs")


def _page_task_verbs(app) -> set[str]:
    verbs = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS and "POST" in rule.methods \
                and rule.rule.startswith("/tasks/<int:task_id>"):
            verbs.add(rule.rule.removeprefix("/tasks/<int:task_id>").strip("/") or "complete")
    return verbs


def _api_task_verbs(app) -> set[str]:
    prefix = "/api/v1/tasks/<int:task_id>/"
    return {rule.rule.removeprefix(prefix) for rule in app.url_map.iter_rules()
            if rule.rule.startswith(prefix) and "POST" in rule.methods}


def test_every_page_task_verb_has_an_api_operation(app):
    page = _page_task_verbs(app)
    assert {"complete", "claim", "unclaim", "return", "withdraw", "transfer", "urge"} <= page
    assert page - _api_task_verbs(app) == set()


def test_every_api_operation_is_in_the_openapi_document(app, client):
    doc = client.get("/api/v1/openapi.json").json
    documented = {path for path in doc["paths"]}
    api_rules = {rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
                 for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
                 and not rule.endpoint.startswith(("api.docs", "api.openapi"))}
    assert api_rules - documented == set()
