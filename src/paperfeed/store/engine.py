"""Engines for the two backends, with the connection settings each one needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from paperfeed.private_files import private_dir, touch_private

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_MB = 64  # the default of the sqlite_cache_mb setting
# Page size of a new database file. 16 KiB instead of SQLite's 4 KiB: two of a paper's rows hold
# its title and abstract (papers, and the lexical index's leaves), so a 4 KiB page held ~2 papers.
# A million-paper bulk load took 10% less time and made an 8% smaller file; search measured the
# same (BENCHMARKS.md).
SQLITE_PAGE_BYTES = 16384
BULK_WAL_BYTES = 64 * 2**20


def normalise_url(url: str) -> str:
    """Map plain `postgresql://` URLs onto the psycopg 3 driver that paperfeed installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of an SQLite database URL. None for another backend, an in-memory database, or
    an SQLite URI filename (``sqlite:///file:...?uri=true``), which SQLite resolves itself."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if parsed.query.get("uri") or database.startswith("file:"):
        return None
    return Path(database)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime: every stored time is UTC, but SQLite hands
    them back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, sqlite_cache_mb: int = SQLITE_CACHE_MB, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_cache_mb, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, cache_mb: int, **kwargs: Any) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        private_dir(path.parent)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    if path is not None:

        @event.listens_for(engine, "do_connect")
        def _private_file(*_args: Any) -> None:
            # Made 0600 before SQLite opens (and so creates) it; its -wal and -shm files take
            # the database file's mode. Only when connecting: a missing database is still
            # reported as missing by the commands that need one (services).
            touch_private(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Takes effect only while the file is still empty (before WAL mode writes its header):
        # an existing database keeps the page size it was made with.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a crash (documented in the README).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Negative: a size in KiB. Index pages read again by the next query are the point.
        cursor.execute(f"PRAGMA cache_size={-1024 * int(cache_mb)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers (see write_transaction) take the write lock up front with IMMEDIATE, so two
        # writers queue on busy_timeout instead of failing with SQLITE_BUSY when a read
        # transaction upgrades to a write. Readers stay deferred and never wait on a writer.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine, *, bulk: bool = False) -> Iterator[Connection]:
    """A transaction that will write: committed on success, rolled back on any error.

    ``bulk=True`` (SQLite), for the batches of a bulk load, which checkpoint with each batch and
    resume from the last one that stayed:
    - the commit does not wait for the disk (``synchronous=NORMAL`` in WAL mode): a power cut
      may lose the last such commits, never consistency;
    - it leaves WAL checkpoints to ``store.wal_checkpointer`` until the WAL is BULK_WAL_BYTES;
    - foreign keys are not checked: a batch writes the children of the papers it inserts (keys
      it reserved under the write lock, ``store.bulk``) or updates, and deletes no paper
      (``tests/ingest/test_bulk.py`` checks the result with ``PRAGMA foreign_key_check``).
    """
    with engine.connect() as connection:
        relaxed = bulk and is_sqlite(engine)
        if relaxed:
            wal_pages = BULK_WAL_BYTES // int(_pragma(connection, "page_size"))
            before = _set_pragmas(
                connection, synchronous="NORMAL", wal_autocheckpoint=wal_pages, foreign_keys="OFF"
            )
        try:
            connection = connection.execution_options(sqlite_immediate=True)
            with connection.begin():
                yield connection
        finally:
            if relaxed:
                _set_pragmas(connection, **before)


def _set_pragmas(connection: Connection, **values: object) -> dict[str, object]:
    """Set SQLite pragmas of the connection; return what they were."""
    if connection.invalidated:  # a broken connection is discarded, not reused
        return {}
    driver = connection.connection.driver_connection
    before = {}
    for name, value in values.items():
        before[name] = _pragma(connection, name)
        driver.execute(f"PRAGMA {name}={value}")  # type: ignore[union-attr]
    return before


def _pragma(connection: Connection, name: str) -> Any:
    # On the driver's connection: through SQLAlchemy it would open a transaction first.
    driver = connection.connection.driver_connection
    return driver.execute(f"PRAGMA {name}").fetchone()[0]  # type: ignore[union-attr]


def refresh_planner_statistics(engine: Engine) -> None:
    """``ANALYZE`` on PostgreSQL (SQLite plans without statistics here).

    After a bulk load the planner still sees the tables as they were until autovacuum gets to
    them: the first searches after loading 1M papers ran ~5x slower (BENCHMARKS.md).
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
