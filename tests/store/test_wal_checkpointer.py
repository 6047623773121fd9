"""Background WAL checkpoints for a bulk load, and the writer's own checkpoints held back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from paperfeed.store.engine import (
    BULK_WAL_BYTES,
    SQLITE_PAGE_BYTES,
    make_engine,
    write_transaction,
)
from paperfeed.store.wal_checkpointer import BackgroundCheckpointer


def test_the_thread_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "bulk.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the writer never checkpoints
    writer.execute("CREATE TABLE t(x)")
    writer.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
        " INSERT INTO t SELECT randomblob(1000) FROM n"
    )
    assert path.stat().st_size < 100_000  # all of it is still in the WAL
    with BackgroundCheckpointer(str(path)):
        deadline = time.monotonic() + 30
        while path.stat().st_size < 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert path.stat().st_size >= 2_000_000
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (2000,)
    writer.close()


def test_a_checkpointer_that_cannot_open_the_database_leaves_the_writer_to_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = BackgroundCheckpointer(str(tmp_path / "missing" / "folder" / "x.db"))
    with checkpointer:
        checkpointer._thread.join(timeout=30)  # it gives up at once, raising nothing
        assert not checkpointer._thread.is_alive()
    assert "no background checkpoints" in caplog.text


def test_bulk_transactions_hold_back_the_writers_checkpoints_and_then_restore_them(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'paperfeed.db'}")
    query = "PRAGMA wal_autocheckpoint"
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint=500")  # type: ignore[union-attr]
    with write_transaction(engine, bulk=True) as conn:
        assert conn.exec_driver_sql(query).scalar_one() == BULK_WAL_BYTES // SQLITE_PAGE_BYTES
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
    with write_transaction(engine) as conn:  # the same pooled connection, as it was
        assert conn.exec_driver_sql(query).scalar_one() == 500
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()
