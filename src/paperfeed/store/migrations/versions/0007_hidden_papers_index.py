"""A partial index of hidden papers: search checks its candidates against it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

HIDDEN = sa.text("hidden_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_papers_hidden", "papers", ["pk"], sqlite_where=HIDDEN, postgresql_where=HIDDEN
    )


def downgrade() -> None:
    op.drop_index("ix_papers_hidden", table_name="papers")
