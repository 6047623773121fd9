"""Signal that counts people: first-vote days, distinct viewers per day; arXiv-id dates.

Also fills ``papers.published`` for arXiv papers stored without a date, from the month in the
id (what ingest now does for new records).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import re
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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


# A stored arXiv id: new style YYMM.NNNNN, or old style archive/YYMMNNN (from 1991). Written
# out here, not imported from ingest: a migration must not change when the code does.
_NEW_ID = re.compile(r"^(\d\d)(0[1-9]|1[0-2])\.\d{4,5}$")
_OLD_ID = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/(\d\d)(0[1-9]|1[0-2])\d{3}$")


def month_of_id(paper_id: str) -> date | None:
    """The first day of the month in an arXiv id, as ingest.ids.month_of_arxiv_id."""
    if match := _NEW_ID.match(paper_id):
        return date(2000 + int(match.group(1)), int(match.group(2)), 1)
    if match := _OLD_ID.match(paper_id):
        year = int(match.group(1))
        return date((1900 if year >= 91 else 2000) + year, int(match.group(2)), 1)
    return None


def _date_from_ids() -> None:
    conn = op.get_bind()
    papers = sa.table("papers", sa.column("pk"), sa.column("id"), sa.column("published"))
    rows = conn.execute(sa.select(papers.c.pk, papers.c.id).where(papers.c.published.is_(None)))
    values = [{"k": pk, "d": day} for pk, pid in rows if (day := month_of_id(pid))]
    if values:
        update = papers.update().where(papers.c.pk == sa.bindparam("k"))
        conn.execute(update.values(published=sa.bindparam("d")), values)


def downgrade() -> None:
    op.drop_index("ix_view_visitors_day", table_name="view_visitors")
    op.drop_table("view_visitors")
    op.drop_table("vote_firsts")
