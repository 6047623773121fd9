"""Hugging Face's AI summary and keywords of a paper (nullable: most sources have neither).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Upgrades run in one transaction: rows 0010 updated still have deferred page-generation
        # trigger events pending, and PostgreSQL refuses to ALTER a table that has some.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # Plain ALTER TABLE ADD COLUMN (not batch mode): SQLite must not rebuild papers, whose
    # lexical-index triggers a rebuild would drop.
    op.add_column("papers", sa.Column("ai_summary", sa.Text(), nullable=True))
    op.add_column("papers", sa.Column("ai_keywords", sa.Text(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    op.drop_column("papers", "ai_keywords")
    op.drop_column("papers", "ai_summary")
