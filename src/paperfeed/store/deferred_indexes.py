"""Secondary indexes that a bulk load into SQLite drops at its start and builds at its end.

Every paper inserted goes into each of these B-trees at a random place (a title, an author's
name), so at a million papers each batch rewrites thousands of scattered index pages: that
grows with the store and was the largest cost of a bulk ingest after the lexical index
(BENCHMARKS.md). Building an index once from the finished table sorts instead.

The day indexes (``ix_papers_featured_day``, ``ix_papers_day``) stay: a bulk load adds papers
roughly in date order, and without a featured day (NULL, kept in key order), so they grow at
their end; building them at the end cost more than keeping them (~5% of a million-paper load).

Nothing here is needed to ingest: papers are found by their id (unique, never dropped) and by
title only among papers without an arXiv id (``find_by_title_keys`` reads those by an id range
on SQLite). A record without an arXiv id needs the title index, so the ingest restores it
before writing one (``restore(engine, [TITLE_INDEX])``).

A missing index is the whole state: an ingest killed mid-load leaves them missing, its rerun
goes on and builds them at the end, and any other ingest and ``paperfeed db upgrade`` build
them first. The site works meanwhile, only slower. Each index is built in its own transaction,
so a writer waiting for the lock waits for one index, not all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, Index
from sqlalchemy.schema import CreateIndex

from paperfeed.store.engine import is_sqlite, write_transaction
from paperfeed.store.schema import metadata

log = logging.getLogger(__name__)

TITLE_INDEX = "ix_papers_title_key"
DEFERRED = (
    TITLE_INDEX,
    "ix_papers_primary_category",
    "ix_paper_authors_name",
    "ix_paper_authors_name_key",
    "ix_paper_categories_category",
)
# What ``missing`` and ``restore`` look for: the deferred indexes, and the day indexes that a
# bulk load of earlier versions also dropped (one killed midway left them out).
BUILT_IF_MISSING = (*DEFERRED, "ix_papers_featured_day", "ix_papers_day")


def _index(name: str) -> Index:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            if index.name == name:
                return index
    raise KeyError(name)


def missing(conn: Connection) -> list[str]:
    """The indexes of ``BUILT_IF_MISSING`` absent from the database (none on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        return []
    query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    present = set(conn.exec_driver_sql(query).scalars())
    return [name for name in BUILT_IF_MISSING if name not in present]


def drop(engine: Engine) -> None:
    """Drop the deferred indexes (SQLite only), in one transaction."""
    if not is_sqlite(engine):
        return
    with write_transaction(engine) as conn:
        for name in DEFERRED:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    log.info("secondary indexes deferred for a bulk load", extra={"indexes": list(DEFERRED)})


def restore(
    engine: Engine,
    names: Sequence[str] = BUILT_IF_MISSING,
    on_index: Callable[[str], None] | None = None,
) -> list[str]:
    """Build those of ``names`` that are missing, one transaction each; return what was built."""
    if not is_sqlite(engine):
        return []
    with engine.connect() as conn:  # the common case, nothing missing, takes no write lock
        absent = missing(conn)
    built = []
    for name in (n for n in names if n in absent):
        with write_transaction(engine) as conn:
            if name not in missing(conn):
                continue
            if on_index is not None:
                on_index(name)
            conn.execute(CreateIndex(_index(name), if_not_exists=True))
            built.append(name)
    if built:
        log.info("secondary indexes built", extra={"indexes": built})
    return built
