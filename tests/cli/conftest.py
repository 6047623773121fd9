"""CLI tests: an SQLite store in the test's data dir, and the recorded-arXiv HTTP server."""

from __future__ import annotations

import pytest
from typer.testing import Result

from tests.net.conftest import net_env, server  # noqa: F401  (fixtures for network sources)
from tests.test_cli import run


@pytest.fixture
def store() -> Result:
    """The default store (SQLite in PAPERFEED_DATA_DIR), created by `paperfeed db upgrade`."""
    done = run("db", "upgrade")
    assert done.exit_code == 0, done.output
    return done
