"""What the MCP tools answer, over the same services as the site and the JSON API.

Plain synchronous functions of the app (its engine, its dense retriever): ``server.py`` runs
them in a worker thread and turns ``ToolInputError`` into a tool error the agent can read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from paperfeed.search.service import search
from paperfeed.search.similar import similar_papers
from paperfeed.web import queries
from paperfeed.web.deps import app_engine, app_retriever
from paperfeed.web.feed_pages import parse_day, parse_month, parse_week
from paperfeed.web.paper_markdown import read_paper
from paperfeed.web.paper_page import lookup

MAX_LIMIT = 50
TEASER_CHARS = 400


class ToolInputError(ValueError):
    """An argument the tool cannot use; the message says which and why."""


class PaperSummary(BaseModel):
    """One paper in a list: enough to decide whether to read it (``get_paper``)."""

    id: str = Field(description="paperfeed's id: an arXiv id where the paper has one.")
    title: str
    authors: list[str]
    published: date | None = Field(description="First publication (arXiv v1).")
    day: date | None = Field(default=None, description="The day it was featured here.")
    upvotes: int
    comments: int | None = None
    abstract: str = Field(description=f"The abstract's first {TEASER_CHARS} characters.")
    url: str = Field(description="The paper's page on this site.")


class SearchHit(PaperSummary):
    score: float = Field(description="Relevance (higher is better), comparable within a search.")


class TrendingPaper(PaperSummary):
    rank: int
    trending_score: float = Field(description="The published trending formula's score now.")


class SimilarPaper(BaseModel):
    id: str
    title: str
    score: float = Field(description="Cosine similarity of the two abstracts' embeddings.")
    url: str


def _teaser(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEASER_CHARS else text[: TEASER_CHARS - 1] + "…"


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolInputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    return limit


def _url(app: Any, paper_id: str) -> str:
    return f"{app.state.settings.base_url.rstrip('/')}/papers/{paper_id}"


def _summary(app: Any, item: queries.ListedPaper) -> dict[str, Any]:
    paper = item.paper
    return {
        "id": paper.id,
        "title": paper.title,
        "authors": paper.authors,
        "published": paper.published,
        "day": item.day,
        "upvotes": item.upvotes,
        "comments": item.comments,
        "abstract": _teaser(paper.abstract),
        "url": _url(app, paper.id),
    }


def search_papers(app: Any, query: str, limit: int) -> list[SearchHit]:
    """The site's hybrid search (field syntax included: ``author:``, ``cat:``, ``-word``)."""
    if not query.strip():
        raise ToolInputError("query is empty: give words to search for.")
    if len(query) > 500:
        raise ToolInputError("query is longer than 500 characters.")
    engine = app_engine(app)
    results = search(engine, query, _limit(limit), retriever=app_retriever(app)).results
    abstracts = queries.abstracts(engine, [r.id for r in results])
    return [
        SearchHit(
            id=r.id,
            title=r.title,
            authors=r.authors,
            published=r.published,
            upvotes=r.upvotes,
            abstract=_teaser(abstracts.get(r.id, "")),
            url=_url(app, r.id),
            score=round(r.score, 4),
        )
        for r in results
    ]


def get_paper(app: Any, paper_id: str) -> str:
    """The paper as Markdown (``/papers/<id>.md``): metadata, links, abstract, discussion."""
    engine = app_engine(app)
    try:
        ref = lookup(engine, paper_id.strip())
    except HTTPException:
        raise ToolInputError(f"There is no paper with the id {paper_id[:200]!r} here.") from None
    text = read_paper(engine, ref.pk, app.state.settings.base_url)
    if text is None:
        raise ToolInputError(f"There is no paper with the id {paper_id[:200]!r} here.")
    return text


def _period(period: str) -> tuple[date, date]:
    text = period.strip()
    try:
        if len(text) == 10:
            day = parse_day(text)
            return day, day
        if "W" in text:
            return parse_week(text)
        return parse_month(text)
    except HTTPException as error:
        raise ToolInputError(str(error.detail)) from None


def daily_papers(app: Any, period: str, limit: int) -> list[PaperSummary]:
    """The papers featured on a day (YYYY-MM-DD), an ISO week (YYYY-Www) or a month (YYYY-MM),
    most upvoted first within each day, newest day first."""
    first, last = _period(period)
    items = queries.daily_api_papers(
        app_engine(app),
        first=first,
        last=last,
        submitter=None,
        trending=False,
        offset=0,
        limit=_limit(limit),
    )
    return [PaperSummary(**_summary(app, item)) for item in items]


def similar(app: Any, paper_id: str, limit: int) -> list[SimilarPaper]:
    """Papers nearest in meaning to ``paper_id``."""
    try:
        found = similar_papers(app_engine(app), paper_id.strip(), _limit(limit))
    except LookupError:
        raise ToolInputError(f"There is no paper with the id {paper_id[:200]!r} here.") from None
    return [
        SimilarPaper(id=hit["id"], title=hit["title"], score=hit["score"], url=_url(app, hit["id"]))
        for hit in found
    ]


def trending(app: Any, limit: int) -> list[TrendingPaper]:
    """Papers by trending score now (community activity with time decay)."""
    found = queries.trending_page(app_engine(app), 1, _limit(limit))
    return [
        TrendingPaper(**_summary(app, item), rank=found.first + index, trending_score=item.score)
        for index, item in enumerate(found.items)
    ]
