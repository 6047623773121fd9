"""`digest send --json` without an SMTP server: stdout is the JSON alone, the mail is on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import Result

from paperfeed.config import get_settings
from paperfeed.store.engine import make_engine
from tests.mail.conftest import confirmed, store_papers
from tests.test_cli import run


@pytest.fixture
def sqlite_engine(store: Result) -> Iterator[Engine]:
    engine = make_engine(get_settings().resolved_database_url())
    yield engine
    engine.dispose()


def test_digest_send_json_with_the_console_transport_is_valid_json(
    sqlite_engine: Engine,
) -> None:
    store_papers(sqlite_engine, 3, first_seen=datetime.now(UTC) - timedelta(hours=2))
    confirmed(sqlite_engine, "reader@example.org")
    result = run("digest", "send", "--frequency", "daily", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 1
    assert "To: reader@example.org" in result.stderr
