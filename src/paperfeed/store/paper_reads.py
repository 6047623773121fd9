"""The one read model for what a paper list shows: visibility, a paper's day, its upvotes.

Search, the pages, feeds, digests and ranking all read these fields; each rule is written
here once, as a SQLAlchemy expression and (for the search SQL written as text) as the same
rule in SQL text over ``papers p`` left-joined to ``paper_stats s``:

* **visible**: a paper is shown unless a moderator hid it (``hidden_at``);
* **day**: the day it was featured (listed on the site), else the day it was first
  published; the expression index ``ix_papers_day`` is built on exactly this expression, so
  ordering or filtering by it stays an index scan on both backends;
* **upvotes**: imported (Hugging Face) upvotes plus this site's (``paper_stats.upvotes``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func

from paperfeed.store.community_schema import paper_stats
from paperfeed.store.schema import papers

VISIBLE: ColumnElement[bool] = papers.c.hidden_at.is_(None)
HIDDEN: ColumnElement[bool] = papers.c.hidden_at.is_not(None)
DAY = func.coalesce(papers.c.featured_day, papers.c.published)
UPVOTES = papers.c.external_upvotes + func.coalesce(paper_stats.c.upvotes, 0)
# ``papers`` with its stats row (when it has one), the FROM that ``UPVOTES`` needs.
WITH_STATS = papers.outerjoin(paper_stats, paper_stats.c.paper_pk == papers.c.pk)

# The same rules as SQL text, over ``papers p`` (and ``paper_stats s`` for upvotes).
VISIBLE_SQL = "p.hidden_at IS NULL"
HIDDEN_SQL = "p.hidden_at IS NOT NULL"


def day_sql(alias: str = "p") -> str:
    """A paper's day over ``papers <alias>``: the expression ``ix_papers_day`` is built on."""
    return f"coalesce({alias}.featured_day, {alias}.published)"


DAY_SQL = day_sql("p")
UPVOTES_SQL = "(p.external_upvotes + coalesce(s.upvotes, 0))"
STATS_JOIN_SQL = "LEFT JOIN paper_stats s ON s.paper_pk = p.pk"
