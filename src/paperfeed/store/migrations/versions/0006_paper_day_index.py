"""An index on a paper's day (featured, else published): what every feed page filters on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_day", "papers", [sa.text("coalesce(featured_day, published)")])


def downgrade() -> None:
    op.drop_index("ix_papers_day", table_name="papers")
