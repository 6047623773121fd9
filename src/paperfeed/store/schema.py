"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

The lexical index lives beside these tables and is created by the migrations with raw SQL,
because neither FTS5 virtual tables nor generated tsvector columns are expressible here:
SQLite has ``papers_fts`` (FTS5, external content, kept current by triggers); PostgreSQL has a
generated ``papers.search_vector`` column with a GIN index. ``LEXICAL_OBJECTS`` names them so
``alembic check`` ignores them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
)

# The other areas' tables: importing them registers them on `metadata` too, so that
# `schema.metadata` is the whole store (what Alembic compares and the tests create).
import paperfeed.store.community_schema
import paperfeed.store.embeddings_schema
import paperfeed.store.mail_schema
import paperfeed.store.page_generation
import paperfeed.store.recommend_schema  # noqa: F401
from paperfeed.store.metadata import metadata

LEXICAL_OBJECTS = frozenset(
    {
        "papers_fts",
        "papers_fts_data",
        "papers_fts_idx",
        "papers_fts_docsize",
        "papers_fts_config",
        "papers_fts_content",
        "search_vector",
        "ix_papers_search_vector",
    }
)

papers = Table(
    "papers",
    metadata,
    # An integer key keeps child rows small and lets a synthetic id be renamed to the arXiv id
    # when the same work arrives from arXiv; it is also the FTS5 rowid.
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("title_key", Text, nullable=False, index=True),
    Column("published", Date),
    Column("updated", Date),
    Column("doi", String(255)),
    Column("journal_ref", Text),
    Column("comment", Text),
    Column("primary_category", String(64), index=True),
    Column("featured_day", Date, index=True),
    Column("submitter", String(255)),
    Column("external_upvotes", Integer, nullable=False, default=0),
    # Hugging Face's AI summary and keywords (the keywords as a JSON array of strings).
    Column("ai_summary", Text),
    Column("ai_keywords", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(32), nullable=False),
    # Set when an admin hides the paper: it leaves every list, page and search.
    Column("hidden_at", DateTime(timezone=True)),
)

# A paper's day (featured, else published) is what every feed page filters and sorts on.
Index("ix_papers_day", func.coalesce(papers.c.featured_day, papers.c.published))
# DOIs are case-insensitive: search looks a typed DOI up by its lower case.
Index("ix_papers_doi", func.lower(papers.c.doi))
# The few hidden papers, so search can drop them from ~200 candidates without reading each row.
_HIDDEN = papers.c.hidden_at.is_not(None)
Index("ix_papers_hidden", papers.c.pk, sqlite_where=_HIDDEN, postgresql_where=_HIDDEN)

paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False, index=True),
    # store.author_keys.author_key(name): what author: filters compare (written with the name).
    Column("name_key", Text, index=True),
)

paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_paper_categories_category", "category"),
)

paper_versions = Table(
    "paper_versions",
    metadata,
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("created", Date),
)

paper_links = Table(
    "paper_links",
    metadata,
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("url", Text, nullable=False),
    Column("stars", Integer),
)

ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    # What a resumed ingest needs: how many records of this source are already committed,
    # and (for paged network sources) where to continue.
    Column("source_key", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("records_done", Integer, nullable=False, default=0),
    Column("cursor", Text),
    Column("finished", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

CHILD_TABLES = (paper_authors, paper_categories, paper_versions, paper_links)
