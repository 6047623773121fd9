"""JSON API routes for search, shaped after Hugging Face's papers API where it has one.

``GET /api/papers/search`` answers what ``huggingface_hub``'s ``HfApi.list_papers`` reads (a
list of ``{paper: {...}, title, summary, publishedAt, ...}``), plus paperfeed's own fields.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from paperfeed.search.service import SearchResult, search
from paperfeed.search.similar import similar_papers
from paperfeed.web import queries
from paperfeed.web.deps import EngineDep, RetrieverDep
from paperfeed.web.search_page import MAX_QUERY

router = APIRouter(prefix="/api/papers")


def hf_datetime(day: date | None) -> str | None:
    """A day in the one format Hugging Face sends and ``huggingface_hub`` parses."""
    return f"{day.isoformat()}T00:00:00.000Z" if day else None


def search_item(result: SearchResult, summary: str) -> dict[str, Any]:
    """One search hit as a Hugging Face papers-search item, with paperfeed's fields beside."""
    published = hf_datetime(result.published)
    paper = {
        "id": result.id,
        "title": result.title,
        "summary": summary,
        "authors": [{"name": name} for name in result.authors],
        "publishedAt": published,
        "upvotes": result.upvotes,
    }
    return {
        "paper": paper,
        "id": result.id,
        "title": result.title,
        "summary": summary,
        "publishedAt": published,
        "numComments": 0,
        "categories": result.categories,
        "score": result.score,
        "stages": result.stages,
        # Safe HTML: escaped text with <mark> around the query's words.
        "highlight": {"title": result.snippet.title_html, "snippet": result.snippet.html},
    }


@router.get("/search")
def search_papers(
    engine: EngineDep,
    retriever: RetrieverDep,
    response: Response,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="Search query.")] = "",
    limit: Annotated[int, Query(ge=1, le=100, description="Results to return.")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Results to skip.")] = 0,
) -> list[dict[str, Any]]:
    """Search papers: the same hybrid engine as the site and `paperfeed search`.

    The header ``X-Total-Count`` holds how many papers match (filters included)."""
    if not q.strip():
        response.headers["X-Total-Count"] = "0"
        return []
    found = search(engine, q, limit, offset, retriever=retriever)
    response.headers["X-Total-Count"] = str(found.total)
    if found.total_estimated:  # only where exact counting is turned off (EngineConfig)
        response.headers["X-Total-Count-Estimated"] = "true"
    results = found.results
    summaries = queries.abstracts(engine, [r.id for r in results])
    return [search_item(r, summaries.get(r.id, "")) for r in results]


# `:path` because old-style arXiv ids hold a slash (cs/0601001); the fixed `/similar` suffix
# still routes since the converter backtracks to leave it.
@router.get("/{paper_id:path}/similar")
def similar(
    engine: EngineDep,
    paper_id: str,
    limit: Annotated[int, Query(ge=1, le=100, description="Papers to return.")] = 10,
) -> list[dict[str, Any]]:
    """Papers nearest in meaning to ``paper_id``: a list of ``{id, title, score}``."""
    try:
        return similar_papers(engine, paper_id, limit)
    except LookupError:
        raise HTTPException(404, f"No paper with id {paper_id!r}.") from None
