"""Papers, their authors, categories, versions and links, ingest checkpoints, lexical index.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_FTS = [
    # External-content FTS5: the text lives once, in papers; triggers keep the index current in
    # the same transaction as the row, so a crash can never leave them out of step.
    """CREATE VIRTUAL TABLE papers_fts USING fts5(
        title, abstract, content='papers', content_rowid='pk',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.pk, new.title, new.abstract);
    END""",
    """CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract)
        VALUES ('delete', old.pk, old.title, old.abstract);
    END""",
    """CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract)
        VALUES ('delete', old.pk, old.title, old.abstract);
        INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.pk, new.title, new.abstract);
    END""",
]

POSTGRES_FTS = [
    """ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(abstract, '')), 'B')) STORED""",
    "CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("updated", sa.Date(), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("journal_ref", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("primary_category", sa.String(length=64), nullable=True),
        sa.Column("featured_day", sa.Date(), nullable=True),
        sa.Column("submitter", sa.String(length=255), nullable=True),
        sa.Column("external_upvotes", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_papers")),
        sa.UniqueConstraint("id", name=op.f("uq_papers_id")),
    )
    op.create_index(op.f("ix_papers_title_key"), "papers", ["title_key"])
    op.create_index(op.f("ix_papers_primary_category"), "papers", ["primary_category"])
    op.create_index(op.f("ix_papers_featured_day"), "papers", ["featured_day"])
    _child(
        "paper_authors",
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        pk=("paper_pk", "position"),
    )
    op.create_index(op.f("ix_paper_authors_name"), "paper_authors", ["name"])
    _child(
        "paper_categories",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        pk=("paper_pk", "category"),
    )
    op.create_index("ix_paper_categories_category", "paper_categories", ["category"])
    _child(
        "paper_versions",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.Date(), nullable=True),
        pk=("paper_pk", "version"),
    )
    _child(
        "paper_links",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=True),
        pk=("paper_pk", "kind"),
    )
    op.create_table(
        "ingest_checkpoints",
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("records_done", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_ingest_checkpoints")),
    )
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_FTS
    for statement in statements:
        op.execute(statement)


def _child(name: str, *columns: sa.Column, pk: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f(f"fk_{name}_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*pk, name=op.f(f"pk_{name}")),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS papers_fts")
    for name in ("ingest_checkpoints", "paper_links", "paper_versions", "paper_categories"):
        op.drop_table(name)
    op.drop_table("paper_authors")
    op.drop_table("papers")
