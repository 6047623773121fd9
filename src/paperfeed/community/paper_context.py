"""What the paper page shows of the community: upvotes, the viewer's vote and save, comments,
who submitted it, and what an administrator may do there (``_community.html``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, select

from paperfeed.community.comments import MAX_COMMENT_CHARS, list_comments
from paperfeed.community.users import User
from paperfeed.community.votes import displayed_upvotes, voted_in
from paperfeed.ingest.ids import id_spellings
from paperfeed.store.community_schema import library_items, submissions, users
from paperfeed.store.schema import papers


@dataclass(frozen=True, slots=True)
class PaperRef:
    """The little the community code needs to know about a paper."""

    pk: int
    id: str
    title: str
    hidden: bool
    featured_day: date | None


def find_paper(conn: Connection, paper_id: str, *, include_hidden: bool = False) -> PaperRef | None:
    """The paper with public id ``paper_id`` (an arXiv id in any spelling also finds it)."""
    query = select(
        papers.c.pk, papers.c.id, papers.c.title, papers.c.hidden_at, papers.c.featured_day
    ).where(papers.c.id.in_(id_spellings(paper_id)))
    row = conn.execute(query).first()
    if row is None or (row.hidden_at is not None and not include_hidden):
        return None
    return PaperRef(row.pk, row.id, row.title, row.hidden_at is not None, row.featured_day)


def submitted_by(conn: Connection, paper_pk: int) -> str | None:
    """The username of the first person who submitted the paper here, if anyone did."""
    query = (
        select(users.c.username)
        .join(submissions, submissions.c.user_pk == users.c.pk)
        .where(submissions.c.paper_pk == paper_pk)
        .order_by(submissions.c.created_at, submissions.c.pk)
        .limit(1)
    )
    name: str | None = conn.execute(query).scalar()
    return name


def is_saved(conn: Connection, user_pk: int, paper_pk: int) -> bool:
    query = select(library_items.c.paper_pk).where(
        library_items.c.user_pk == user_pk, library_items.c.paper_pk == paper_pk
    )
    return conn.execute(query).first() is not None


def community_context(engine: Engine, paper_pk: int, viewer: User | None) -> dict[str, Any]:
    """The variables ``_community.html`` needs for the paper with ``paper_pk``.

    upvotes (int), voted and saved (bool, for the viewer), comments (list of CommentView),
    submitted_by (username or None), paper_hidden (bool), comment_max (int), me (the viewer).
    """
    with engine.connect() as conn:
        hidden = conn.execute(select(papers.c.hidden_at).where(papers.c.pk == paper_pk)).scalar()
        upvotes = displayed_upvotes(conn, paper_pk)
        voted = saved = False
        if viewer is not None:
            voted = bool(voted_in(conn, viewer.pk, [paper_pk]))
            saved = is_saved(conn, viewer.pk, paper_pk)
        submitter = submitted_by(conn, paper_pk)
    return {
        "upvotes": upvotes,
        "voted": voted,
        "saved": saved,
        "comments": list_comments(engine, paper_pk, viewer),
        "submitted_by": submitter,
        "paper_hidden": hidden is not None,
        "comment_max": MAX_COMMENT_CHARS,
        "me": viewer,
    }
