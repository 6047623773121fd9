"""RELIABILITY 20: SQLite connection settings, and readers that never see "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from paperfeed import services
from paperfeed.store import migrate
from paperfeed.store.engine import (
    BULK_WAL_BYTES,
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_PAGE_BYTES,
    make_engine,
    sqlite_file,
    write_transaction,
)
from paperfeed.store.schema import ingest_checkpoints
from tests.conftest import arxiv_volume
from tests.store.dbstate import ingest_process, write_jsonl

PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
EXPECTED = ("wal", 2, 1, SQLITE_BUSY_TIMEOUT_MS)  # synchronous 2 = FULL


def pragmas(conn: object) -> tuple[object, ...]:
    return tuple(
        conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # type: ignore[attr-defined]
        for name in PRAGMAS
    )


def test_every_pooled_connection_has_the_settings(sqlite_engine: Engine) -> None:
    connections = [sqlite_engine.connect() for _ in range(6)]  # six distinct pool connections
    try:
        for conn in connections:
            assert pragmas(conn) == EXPECTED
    finally:
        for conn in connections:
            conn.close()


def test_connections_opened_in_threads_have_the_settings(sqlite_engine: Engine) -> None:
    seen: list[tuple[object, ...]] = []

    def read() -> None:
        with sqlite_engine.connect() as conn:
            seen.append(pragmas(conn))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [EXPECTED] * 4


def test_the_engine_the_app_uses_has_the_settings() -> None:
    """The default database (no PAPERFEED_DATABASE_URL): an SQLite file in the data dir."""
    engine = services.get_engine()
    assert engine.dialect.name == "sqlite"
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert pragmas(conn) == EXPECTED
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    database = engine.url.database
    assert database is not None
    with sqlite3.connect(database) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    services.engine_for.cache_clear()
    engine.dispose()


def test_readers_during_an_ingest_never_get_database_is_locked(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Web-style reads in four threads while a real `paperfeed ingest` process writes."""
    batch = 250
    feed = write_jsonl(arxiv_volume(4_000), tmp_path / "feed.jsonl")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    seen_counts: list[int] = []
    stop = threading.Event()

    def read_loop() -> None:
        queries = [
            "SELECT count(*) FROM papers",
            "SELECT id, title FROM papers ORDER BY featured_day DESC, pk DESC LIMIT 50",
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'diffusion' LIMIT 20",
            "SELECT p.id, a.name FROM papers p JOIN paper_authors a ON a.paper_pk = p.pk "
            "ORDER BY p.pk DESC LIMIT 100",
        ]
        try:
            while not stop.is_set():
                with sqlite_engine.connect() as conn:
                    seen_counts.append(conn.execute(text(queries[0])).scalar_one())
                    for query in queries[1:]:
                        conn.execute(text(query)).all()
                    conn.execute(select(ingest_checkpoints)).all()
        except BaseException as error:  # any error in a reader fails the test
            errors.append(error)

    readers = [threading.Thread(target=read_loop) for _ in range(4)]
    for reader in readers:
        reader.start()
    writer = ingest_process(url, feed, batch)
    try:
        while writer.poll() is None and not errors:
            time.sleep(0.05)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
        writer.wait()
    assert errors == []
    assert writer.returncode == 0
    # Readers saw the ingest move on, and never a batch half-written.
    assert len(set(seen_counts)) > 2
    assert all(n % batch == 0 for n in seen_counts)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////data/paperfeed.db", Path("/data/paperfeed.db")),
        ("sqlite:///relative/p.db", Path("relative/p.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:p.db?mode=ro&uri=true", None),
        ("postgresql://u@host/db", None),
    ],
)
def test_sqlite_file_names_the_file_of_a_plain_sqlite_url(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected


def test_a_new_database_file_gets_the_larger_pages(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "new.db") as plain:
        assert plain.execute("PRAGMA page_size").fetchone() == (SQLITE_PAGE_BYTES,)


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    """A file made with SQLite's 4 KiB pages (as before) is used as it is, bulk loads too."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as plain:
        plain.execute("PRAGMA page_size=4096")
        plain.execute("PRAGMA journal_mode=WAL")
        plain.execute("CREATE TABLE kept (n INTEGER)")
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with write_transaction(engine, bulk=True) as conn:
        conn.exec_driver_sql("INSERT INTO kept VALUES (1)")
        # The bulk load's WAL bound is in bytes, whatever the page size.
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == (
            BULK_WAL_BYTES // 4096
        )
    engine.dispose()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA page_size").fetchone() == (4096,)
        assert plain.execute("SELECT n FROM kept").fetchall() == [(1,)]
