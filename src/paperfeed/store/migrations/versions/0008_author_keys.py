"""A normalised key per author name (``store.author_keys``), indexed: ``author:`` filters;
and an index on papers' DOIs: a DOI typed in the search box names its paper.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from paperfeed.store.author_keys import author_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    op.add_column("paper_authors", sa.Column("name_key", sa.Text(), nullable=True))
    _backfill(op.get_bind())
    op.create_index("ix_paper_authors_name_key", "paper_authors", ["name_key"])
    op.create_index("ix_papers_doi", "papers", [sa.text("lower(doi)")])


def _backfill(conn: sa.Connection) -> None:
    """Key every distinct name once (the keys are computed in Python: accents are removed
    by Unicode decomposition, which neither database does the same way)."""
    names = conn.execute(sa.text("SELECT DISTINCT name FROM paper_authors")).scalars().all()
    update = sa.text("UPDATE paper_authors SET name_key = :key WHERE name = :name")
    for start in range(0, len(names), _BATCH):
        chunk = names[start : start + _BATCH]
        conn.execute(update, [{"key": author_key(n), "name": n} for n in chunk])


def downgrade() -> None:
    op.drop_index("ix_papers_doi", table_name="papers")
    op.drop_index("ix_paper_authors_name_key", table_name="paper_authors")
    op.drop_column("paper_authors", "name_key")
