"""RELIABILITY 19: SIGKILL a real `paperfeed ingest` at random points; nothing half-written shows.

After every kill the database is intact, holds exactly the batches its checkpoint counts (each
paper whole, equal to the same paper in a clean ingest), and running the same command again
ends in the same state as one uninterrupted ingest into a fresh database.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.store import deferred_indexes, migrate
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import ingest_checkpoints
from tests.conftest import arxiv_volume, new_postgres_database
from tests.store.dbstate import (
    counts,
    digest,
    ingest_process,
    paper_digests,
    run_ingest_process,
    write_jsonl,
)


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def committed_records(engine: Engine) -> int:
    with engine.connect() as conn:
        done = conn.execute(select(ingest_checkpoints.c.records_done)).scalar_one_or_none()
    return done or 0


def kill_at_random(
    url: str, path: Path, batch: int, rng: random.Random, engine: Engine, *options: str
) -> bool:
    """Start an ingest, SIGKILL it at a random point; True if it was still running then.

    The point: after 0 to 2 more batches have committed, a random moment later (while it
    starts, reads, writes a batch or commits), so every kill lands somewhere different and
    yet the ingest moves on.
    """
    before, more = committed_records(engine), rng.randint(0, 2)
    process = ingest_process(url, path, batch, *options)
    while process.poll() is None and committed_records(engine) < before + more * batch:
        time.sleep(0.02)
    # Short delays once batches flow: on a fast, idle machine a batch of 250 takes ~0.05 s, and
    # longer waits would let the whole feed finish in a handful of kills.
    deadline = time.monotonic() + rng.uniform(0, 1.5 if more == 0 else 0.2)
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    running = process.poll() is None
    if running:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return running


def settle(engine: Engine) -> None:
    """Wait until the killed ingest's server session has ended (PostgreSQL). A client killed
    just after sending COMMIT leaves the server to finish that commit; reading before then
    would see some of the batch's tables committed and others not yet."""
    if engine.dialect.name != "postgresql":
        return
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.exec_driver_sql(query).scalar_one() == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the killed ingest's database session did not end")


def assert_sqlite_intact(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Raises if the full-text index and the papers it indexes are out of step.
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
        conn.rollback()


def assert_whole_batches(engine: Engine, ids: list[str], clean: dict[str, str], batch: int) -> int:
    """The store holds the first N records exactly as a clean ingest stored them, N = whole
    batches; returns N."""
    done = committed_records(engine)
    assert done % batch == 0 or done == len(ids)
    expected = {paper_id: clean[paper_id] for paper_id in ids[:done]}
    assert paper_digests(engine) == expected  # nothing more, nothing less, nothing partial
    return done


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    rows = arxiv_volume(40_000)
    path = write_jsonl(rows, tmp_path_factory.mktemp("feed") / "arxiv-daily-40k.jsonl")
    return path, [row["id"] for row in rows]


def clean_ingest(url: str, path: Path) -> Engine:
    """The reference: one uninterrupted ingest of the same file into a fresh database, in one
    process with every index kept paper by paper."""
    engine = migrated(url)
    source = file_source(str(path), "jsonl", ParseOptions())
    run_ingest(engine, source, batch_size=5_000, parallel=False, bulk=False)
    return engine


# The killed ingests take the bulk path: a parser process, and indexes deferred to the end.
BULK = ("--parallel", "--bulk")


@pytest.mark.slow
def test_sqlite_ingest_survives_sigkill_at_20_random_points(
    tmp_path: Path, feed: tuple[Path, list[str]]
) -> None:
    path, ids = feed
    batch, rng = 250, random.Random(19)
    clean = clean_ingest(f"sqlite:///{tmp_path / 'clean.db'}", path)
    clean_papers = paper_digests(clean)
    database = tmp_path / "crashed.db"
    url = f"sqlite:///{database}"
    engine = migrated(url)

    kills, progress = 0, [0]
    while kills < 20 and progress[-1] < len(ids):
        if kill_at_random(url, path, batch, rng, engine, *BULK):
            kills += 1
        assert_sqlite_intact(database)
        progress.append(assert_whole_batches(engine, ids, clean_papers, batch))
    assert kills >= 20, f"the ingest finished after {kills} kills; use a larger feed"

    output = run_ingest_process(url, path, batch, *BULK)
    assert_sqlite_intact(database)
    with engine.connect() as conn:
        assert deferred_indexes.missing(conn) == []  # built at the end
    if progress[-1]:
        assert f"resumed after {progress[-1]:,}" in output
    assert counts(engine) == counts(clean)
    assert digest(engine) == digest(clean)
    assert len(set(progress)) > 5, f"kills landed before any commit too often: {progress}"


def test_postgresql_ingest_survives_sigkill(pg_server: str, feed: tuple[Path, list[str]]) -> None:
    path, ids = feed
    path = write_jsonl(arxiv_volume(4_000), path.with_name("arxiv-daily-4k.jsonl"))
    ids = ids[:4_000]
    batch, rng = 250, random.Random(1919)
    clean = clean_ingest(new_postgres_database(pg_server), path)
    clean_papers = paper_digests(clean)
    url = new_postgres_database(pg_server)
    engine = migrated(url)

    kills, progress = 0, [0]
    while kills < 4 and progress[-1] < len(ids):
        if kill_at_random(url, path, batch, rng, engine, *BULK):
            kills += 1
        settle(engine)
        progress.append(assert_whole_batches(engine, ids, clean_papers, batch))

    run_ingest_process(url, path, batch, *BULK)
    assert counts(engine) == counts(clean)
    assert digest(engine) == digest(clean)
    engine.dispose()
    clean.dispose()
