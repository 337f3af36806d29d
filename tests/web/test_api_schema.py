"""Schemathesis against the API's own OpenAPI 3.1 document, through the WSGI app on SQLite:
every operation, bounded and derandomized examples; no 500 and no response outside the schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engine.tokens import create_token
from tests.web.conftest import make_app, start_plain


@pytest.fixture
def api_app(env, plain, tmp_path):
    if not env.db.is_sqlite:
        pytest.skip("schemathesis runs on SQLite (the schema is the same on PostgreSQL)")
    start_plain(env, plain)
    return make_app(env, tmp_path)


@pytest.fixture
def api_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


@pytest.fixture
def auth(env, plain):
    uid = plain.actor("t1_cw").id
    return {"Authorization": f"Bearer {create_token(env, uid, uid, 'schemathesis', 'act', 30).secret}"}


def test_every_operation_keeps_to_its_schema(api_schema, auth):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # Valid-by-schema input may still be refused by the engine (a task id that does not
            # exist is a 404 with a JSON error body in the schema): "positive data accepted" is off.
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])
        check()
