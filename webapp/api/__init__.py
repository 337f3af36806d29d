"""The JSON API at /api/v1: the same engine calls and authorization as the pages, for other
systems and scripts. Personal access tokens (Authorization: Bearer) or the browser session
(same origin, CSRF header). The OpenAPI 3.1 document is generated from the route models."""
from __future__ import annotations

from flask import Blueprint, Flask
from spectree import SpecTree

from webapp.api import errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")
spec = SpecTree("flask", mode="strict", title="RongFlow API", version="1", path="api/v1/apidoc",
                before=errors.validation_hook, annotations=True,
                security_schemes=[{"name": "token", "data": {"type": "http", "scheme": "bearer"}},
                                  {"name": "session", "data": {"type": "apiKey", "field_in": "cookie",
                                                               "name": "session"}}],
                security={"token": []})


def init_app(app: Flask) -> None:
    from webapp.api import auth, cases, casesverbs, docs, proxy, tasks  # noqa: F401  (routes register on import)
    from webapp.extensions import csrf, login_manager
    csrf.exempt(bp)  # CSRF is checked by webapp.api.auth for cookie auth only
    login_manager.blueprint_login_views["api"] = None  # 401, not a redirect to the login page
    app.register_blueprint(bp)
    from webapp import tokens
    app.register_blueprint(tokens.bp)  # the 访问令牌 pages

