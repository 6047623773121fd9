"""The page generation: a counter that page-changing writes bump, by trigger (page cache).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

SQLite runs triggers per row only; its one writer at a time makes the counter's row no point of
contention, so each changed row adds one tiny update. PostgreSQL bumps once per transaction, at
commit (a deferred constraint trigger and a transaction-local flag): concurrent writers hold
the counter's row lock only while they commit, never for a whole ingest batch.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As store.page_generation.PAGE_TABLES was when this revision was written (a migration must
# not change when that list does).
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

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_page_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('paperfeed.page_generation_bumped', true) IS DISTINCT FROM 'on' THEN
        UPDATE page_generation SET value = value + 1 WHERE id = 1;
        PERFORM set_config('paperfeed.page_generation_bumped', 'on', true);
    END IF;
    RETURN NULL;
END $$
"""


def _name(table: str, operation: str = "") -> str:
    return f"page_generation_{table}{operation}"


def upgrade() -> None:
    op.create_table(
        "page_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_generation")),
    )
    op.execute("INSERT INTO page_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in PAGE_TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {_name(table)} AFTER INSERT OR UPDATE OR DELETE"
                f" ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                " EXECUTE FUNCTION bump_page_generation()"
            )
        return
    for table in PAGE_TABLES:
        for operation in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_name(table, '_' + operation.lower())} AFTER {operation}"
                f" ON {table} BEGIN UPDATE page_generation SET value = value + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PAGE_TABLES:
            op.execute(f"DROP TRIGGER {_name(table)} ON {table}")
        op.execute("DROP FUNCTION bump_page_generation()")
    else:
        for table in PAGE_TABLES:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {_name(table, '_' + operation)}")
    op.drop_table("page_generation")
