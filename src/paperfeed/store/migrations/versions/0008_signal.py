"""Signal that counts people: first-vote days, distinct viewers per day; arXiv-id dates.

Also fills ``papers.published`` for arXiv papers stored without a date, from the month in the
id (what ingest now does for new records).

Revision ID: 0008_signal
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_signal"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vote_firsts",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("first_voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["papers.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_pk", "paper_pk"),
    )
    # Votes cast before this revision: their creation time is the best first-vote time known.
    op.execute(
        "INSERT INTO vote_firsts (user_pk, paper_pk, first_voted_at) "
        "SELECT user_pk, paper_pk, created_at FROM votes"
    )
    op.create_table(
        "view_visitors",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["papers.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", "day", "visitor"),
    )
    op.create_index("ix_view_visitors_day", "view_visitors", ["day"])
    _date_from_ids()


def _date_from_ids() -> None:
    from paperfeed.ingest.ids import month_of_arxiv_id

    conn = op.get_bind()
    papers = sa.table("papers", sa.column("pk"), sa.column("id"), sa.column("published"))
    rows = conn.execute(sa.select(papers.c.pk, papers.c.id).where(papers.c.published.is_(None)))
    values = [{"k": pk, "d": day} for pk, pid in rows if (day := month_of_arxiv_id(pid))]
    if values:
        update = papers.update().where(papers.c.pk == sa.bindparam("k"))
        conn.execute(update.values(published=sa.bindparam("d")), values)


def downgrade() -> None:
    op.drop_index("ix_view_visitors_day", table_name="view_visitors")
    op.drop_table("view_visitors")
    op.drop_table("vote_firsts")
