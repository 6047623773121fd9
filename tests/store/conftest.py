"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed.store import migrate
from paperfeed.store.engine import make_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for what only SQLite has."""
    engine = make_engine(f"sqlite:///{tmp_path / 'paperfeed.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
