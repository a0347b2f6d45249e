"""schemathesis against the app's own OpenAPI schema: whatever a client sends, the answer is never a 5xx.

Bounded on purpose (a handful of examples per operation, no shrinking past that), so it stays a few seconds.
The `dev` source (scheme none, insecure) lets generated bodies reach validation and the database; the
signed sources answer 401 to anything generated, which is also checked to be no 5xx.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi

from service import create_app
from settings import load_settings
from store.api_keys import ApiKeyRepository
from store.database import make_engine, upgrade_database
from tests.web.helpers import SOURCES


@pytest.mark.slow
def test_no_request_the_schema_allows_gets_a_server_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    upgrade_database(engine)
    with engine.begin() as connection:
        token = ApiKeyRepository(connection).create("fuzz").token
    app = create_app(load_settings(database_url=str(engine.url), intake_sources=SOURCES), engine=engine)
    schema = from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/webhooks/intake/{source}", "/api/v1/import/{kind}", "/readyz"}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: schemathesis.Case) -> None:
            if case.path == "/webhooks/intake/{source}" and isinstance(case.path_parameters, dict):
                case.path_parameters["source"] = "dev"  # reach validation and the inbox, not just 401
            headers = {"authorization": f"Bearer {token}"} if case.path.startswith("/api/") else {}
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        check()
    engine.dispose()
