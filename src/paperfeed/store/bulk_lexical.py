"""The lexical index of a bulk load into SQLite: each batch's new papers indexed in one statement.

Outside a bulk load, the ``papers_fts_insert`` trigger indexes a paper as its row goes in. FTS5
writes its pending index data out as a new segment at every statement savepoint, so a batch
inserted by many multi-row statements (and its children's statements after them) leaves many
small segments that FTS5 merges again and again as the index grows: that merging, more than the
tokenising, is what grows with a million papers (BENCHMARKS.md).

During a bulk load each batch's transaction instead drops the trigger, inserts its papers, then
indexes all of them in one ``INSERT ... SELECT`` and creates the trigger again, from the very SQL
it had. DDL is transactional in SQLite: no other connection ever sees the trigger missing, and a
batch that fails or is killed rolls back with its trigger in place. The new papers are exactly
those with a key above the largest one before the batch (the batch holds the write lock, and
keys are reserved as max(pk)+1..., ``store.bulk``). Updates of stored papers still go through
their own trigger.

FTS5 also writes its pending data out whenever it exceeds ``hashsize`` (1 MiB by default, less
than one batch's text): a bulk load raises it so that a batch makes one segment.

Each new segment then starts FTS5's merging: with the default ``automerge`` of 4, a level is merged
into the next as soon as it holds 4 segments, so at a million papers every posting has been
rewritten ~5 times. The batch's one statement runs with ``automerge`` 16 instead (~2 rewrites;
BENCHMARKS.md), set and put back inside the batch's transaction, so that a killed load leaves the
setting as it was. That leaves more segments (20 instead of 8 at a million papers), and a
search looks a word up in each: 50% slower at the median. So the load ends by merging them as
the default policy would have (``merge_segments``: 3 segments, ~5 s at a million papers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, Engine

from paperfeed.store.engine import SQLITE_PAGE_BYTES, is_sqlite, write_transaction

log = logging.getLogger(__name__)

INSERT_TRIGGER = "papers_fts_insert"
# What the trigger does (migration 0001): the one statement below does the same for a batch.
# Another trigger (changed by a later migration, or by hand) is left to do its own work.
_AS_MIGRATED = (
    "CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN"
    " INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.pk, new.title, new.abstract);"
    " END"
)
_INDEX_NEW_PAPERS = (
    "INSERT INTO papers_fts(rowid, title, abstract)"
    " SELECT pk, title, abstract FROM papers WHERE pk > ?"
)
# FTS5 keeps up to this much pending index data in memory within a transaction: a batch of 2,000
# arXiv abstracts needs ~3 MiB. Kept in the index's configuration after the load; it bounds the
# memory of any one writing transaction, it does not reserve any.
HASH_BYTES = 64 * 2**20
# FTS5 writes its index in leaves of ~4,000 bytes by default, one row each: sized for 4 KiB
# pages. Database files now have 16 KiB pages (``engine.SQLITE_PAGE_BYTES``); leaves of ~8,000
# bytes measured 2-5% less work for the index (BENCHMARKS.md). Kept in the index's configuration
# for later writes; leaves already written stay as they are.
LEAF_BYTES = 8000
# FTS5's default, used where the index's configuration holds none.
DEFAULT_AUTOMERGE = 4
BULK_AUTOMERGE = 16
# Leaves written by one merge statement, each its own transaction: the site's writes wait for one
# statement (~0.3 s), not for the whole merge.
MERGE_LEAVES = 4000


def prepare(engine: Engine) -> None:
    """Let one batch's index data stay in memory until the batch's one statement ends, and
    write the index in leaves of ``LEAF_BYTES`` where pages are large enough for them."""
    with write_transaction(engine) as conn:
        settings = [("hashsize", HASH_BYTES)]
        # A file made with 4 KiB pages keeps FTS5's leaves: larger ones would overflow its pages.
        if conn.exec_driver_sql("PRAGMA page_size").scalar_one() >= SQLITE_PAGE_BYTES:
            settings.append(("pgsz", LEAF_BYTES))
        for name, value in settings:
            if _configured(conn, name) != value:
                _command(conn, name, value)


@contextmanager
def indexed_at_the_end(conn: Connection) -> Iterator[None]:
    """Within the caller's write transaction: papers inserted in the block are indexed at its
    end, in one statement, instead of one by one by the insert trigger.

    The block may insert papers and update papers stored before it, but not change the title or
    abstract of, or delete, a paper it inserted: their triggers would take out of the index what
    is not in it yet (``write_papers`` updates stored papers only). If the block raises, the
    trigger is created again before the error goes on, even if the caller then commits.
    """
    trigger_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (INSERT_TRIGGER,)
    ).scalar()
    if trigger_sql is None or " ".join(trigger_sql.split()) != _AS_MIGRATED:
        log.warning("lexical index kept paper by paper: its insert trigger is not as migrated")
        yield
        return
    last = conn.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM papers").scalar_one()
    conn.exec_driver_sql(f"DROP TRIGGER {INSERT_TRIGGER}")
    try:
        yield
        with _merged_less_often(conn):
            conn.exec_driver_sql(_INDEX_NEW_PAPERS, (last,))
    except BaseException:
        with suppress(Exception):  # the error that brought us here is the one to tell
            conn.exec_driver_sql(trigger_sql)
        raise
    conn.exec_driver_sql(trigger_sql)


@contextmanager
def _merged_less_often(conn: Connection) -> Iterator[None]:
    """FTS5 merges a level once it holds ``BULK_AUTOMERGE`` segments, within the block only."""
    configured = _configured(conn, "automerge")
    previous = DEFAULT_AUTOMERGE if configured is None else configured
    _command(conn, "automerge", BULK_AUTOMERGE)
    try:
        yield
    except BaseException:
        with suppress(Exception):  # as for the trigger: the original error is the one to tell
            _command(conn, "automerge", previous)
        raise
    _command(conn, "automerge", previous)


def _configured(conn: Connection, name: str) -> int | None:
    """A setting stored in the index's configuration; None where FTS5 uses its default."""
    value = conn.exec_driver_sql("SELECT v FROM papers_fts_config WHERE k = ?", (name,)).scalar()
    return None if value is None else int(value)


def _command(conn: Connection, name: str, value: int) -> None:
    """An FTS5 special command: a setting (stored in its configuration) or ``merge``."""
    conn.exec_driver_sql("INSERT INTO papers_fts(papers_fts, rank) VALUES (?, ?)", (name, value))


def merge_segments(engine: Engine) -> int:
    """Merge every level of the index that holds FTS5's ``usermerge`` segments or more (4
    unless configured), as its default policy would have during a bulk load: at the end of a
    bulk load, and at the start of any other ingest (after one killed midway). Returns the
    number of merge statements run (1 when there was nothing to merge; 0 on PostgreSQL)."""
    if not is_sqlite(engine):
        return 0
    statements = 0
    while True:
        with write_transaction(engine) as conn:
            driver = conn.connection.driver_connection
            before = driver.total_changes  # type: ignore[union-attr]
            _command(conn, "merge", MERGE_LEAVES)
            # FTS5's documented signal: fewer than 2 changes means there was nothing to merge.
            merged = driver.total_changes - before >= 2  # type: ignore[union-attr]
        statements += 1
        if not merged:
            return statements
