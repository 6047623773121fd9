"""Property-based tests of the JSON API from its own OpenAPI document (schemathesis).

Every documented operation is called with generated parameters and bodies, signed in with an
API token so that the write endpoints run too: no 5xx, and every answer matches the documented
content type and response schema (RELIABILITY.md, "Also").
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import Engine

from paperfeed.community.sessions import create_api_token
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.web.app import create_app
from tests.conftest import SEED_PAGE
from tests.factories import add_user

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def _api_token(engine: Engine) -> str:
    return create_api_token(engine, add_user(engine, "script"), "schemathesis")


@pytest.fixture
def schema(engine: Engine) -> Any:
    run_ingest(engine, file_source(str(SEED_PAGE), None, ParseOptions()))
    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


def test_api_never_fails_and_matches_its_schema(engine: Engine, schema: Any) -> None:
    headers = {"Authorization": f"Bearer {_api_token(engine)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
