"""The page generation: one number that every write changing what a page shows moves on.

Cached pages (``web.page_cache``) are kept under the generation they were rendered at and
thrown away when it moves, so one rule invalidates every page, in every process: the number
lives in the database, and triggers on the tables that pages read bump it inside the very
transaction that writes (migration 0009). No write path can forget it, and a reader that reads
the generation before the data never files an old page under a new generation.

Tables whose writes move it: :data:`PAGE_TABLES`. Sessions, rate limits, mail, libraries and
``paper_activity`` (raw view counts) do not: no anonymous page shows them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, Integer, Table, select

from paperfeed.store.metadata import metadata

page_generation = Table(
    "page_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False, default=0),
)

# What anonymous pages and feeds show: papers and their children, signal, community.
PAGE_TABLES = (
    "papers",
    "paper_authors",
    "paper_categories",
    "paper_links",
    "paper_versions",
    "paper_stats",
    "paper_embeddings",
    "votes",
    "comments",
    "comment_flags",
    "submissions",
    "users",
)

_READ = select(page_generation.c.value).where(page_generation.c.id == 1)


def current(conn: Connection) -> int:
    """The generation now (0 on a database that never had a page-changing write)."""
    value = conn.execute(_READ).scalar()
    return int(value or 0)
