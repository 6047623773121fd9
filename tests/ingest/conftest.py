"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from tests.conftest import new_postgres_database


@pytest.fixture
def fresh_engine(
    engine: Engine, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Engine]:
    """A second, empty, migrated database on the same backend as ``engine``."""
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = new_postgres_database(request.getfixturevalue("pg_server"))
    other = make_engine(url)
    migrate.upgrade(other)
    yield other
    other.dispose()
