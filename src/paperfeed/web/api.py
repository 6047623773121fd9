"""JSON API routes for search, shaped after Hugging Face's papers API where it has one.

``GET /api/papers/search`` answers what ``huggingface_hub``'s ``HfApi.list_papers`` reads (a
list of ``{paper: {...}, title, summary, publishedAt, upvotes, numComments, githubRepo, ...}``,
the shape of a daily-papers entry), plus the hit's score, stages and highlights.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import Engine

from paperfeed.search.service import SearchResult, search
from paperfeed.search.similar import similar_papers
from paperfeed.web import queries
from paperfeed.web.api_models import Highlight, SearchItem, SimilarItem
from paperfeed.web.deps import EngineDep, RetrieverDep
from paperfeed.web.hf_shapes import daily_item
from paperfeed.web.search_page import MAX_QUERY

router = APIRouter(prefix="/api/papers")


def search_item(result: SearchResult, item: queries.ListedPaper, base_url: str) -> SearchItem:
    """One search hit as a Hugging Face papers-search item (every field a daily-papers entry
    has: upvotes, comments, links), with the hit's score, stages and highlights beside."""
    return SearchItem(
        **daily_item(item, base_url, item.paper.submitter),
        id=result.id,
        categories=result.categories,
        score=result.score,
        stages=result.stages,
        # Safe HTML: escaped text with <mark> around the query's words.
        highlight=Highlight(title=result.snippet.title_html, snippet=result.snippet.html),
    )


def search_items(engine: Engine, results: list[SearchResult], base_url: str) -> list[SearchItem]:
    """The hits still visible, each with its paper's listing (one read for the page)."""
    listed = {
        item.paper.id: item for item in queries.listed_by_ids(engine, [r.id for r in results])
    }
    return [search_item(r, listed[r.id], base_url) for r in results if r.id in listed]


@router.get("/search", operation_id="search_papers")
def search_papers(
    request: Request,
    engine: EngineDep,
    retriever: RetrieverDep,
    response: Response,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="Search query.")] = "",
    limit: Annotated[int, Query(ge=1, le=100, description="Results to return.")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Results to skip.")] = 0,
) -> list[SearchItem]:
    """Search papers: the same hybrid engine as the site and `paperfeed search`.

    The header ``X-Total-Count`` holds how many papers match (filters included)."""
    if not q.strip():
        response.headers["X-Total-Count"] = "0"
        return []
    found = search(engine, q, limit, offset, retriever=retriever)
    response.headers["X-Total-Count"] = str(found.total)
    if found.total_estimated:  # only where exact counting is turned off (EngineConfig)
        response.headers["X-Total-Count-Estimated"] = "true"
    return search_items(engine, found.results, request.app.state.settings.base_url)


# `:path` because old-style arXiv ids hold a slash (cs/0601001); the fixed `/similar` suffix
# still routes since the converter backtracks to leave it.
@router.get("/{paper_id:path}/similar", operation_id="similar_papers")
def similar(
    engine: EngineDep,
    paper_id: str,
    limit: Annotated[int, Query(ge=1, le=100, description="Papers to return.")] = 10,
) -> list[SimilarItem]:
    """Papers nearest in meaning to ``paper_id``: a list of ``{id, title, score}``."""
    try:
        return [SimilarItem(**hit) for hit in similar_papers(engine, paper_id, limit)]
    except LookupError:
        raise HTTPException(404, f"No paper with id {paper_id!r}.") from None
