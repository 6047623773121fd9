"""What the paper page shows of the community: upvotes, the viewer's vote and save, comments,
who submitted it, and what an administrator may do there (``_community.html``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from paperfeed.community.users import User
from paperfeed.store.community_schema import library_items, paper_stats, votes
from paperfeed.store.schema import papers


def community_context(engine: Engine, paper_pk: int, viewer: User | None) -> dict[str, Any]:
    """The variables ``_community.html`` needs for the paper with ``paper_pk``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(papers.c.external_upvotes, papers.c.hidden_at, papers.c.featured_day).where(
                papers.c.pk == paper_pk
            )
        ).first()
        own = conn.execute(
            select(paper_stats.c.upvotes).where(paper_stats.c.paper_pk == paper_pk)
        ).scalar()
        voted = saved = False
        if viewer is not None:
            voted = (
                conn.execute(
                    select(votes.c.paper_pk).where(
                        votes.c.user_pk == viewer.pk, votes.c.paper_pk == paper_pk
                    )
                ).first()
                is not None
            )
            saved = (
                conn.execute(
                    select(library_items.c.paper_pk).where(
                        library_items.c.user_pk == viewer.pk, library_items.c.paper_pk == paper_pk
                    )
                ).first()
                is not None
            )
    external = row.external_upvotes if row else 0
    return {
        "upvotes": (external or 0) + (own or 0),
        "voted": voted,
        "saved": saved,
        "comments": [],
        "submitted_by": None,
        "paper_hidden": bool(row and row.hidden_at),
        "comment_max": 10_000,
    }
