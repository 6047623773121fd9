"""The search page, ``GET /search?q=&page=``: the engine's results, rendered on the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from paperfeed.search.indexer import DenseRetriever
from paperfeed.search.service import SearchResult, search
from paperfeed.web.deps import EngineDep, RetrieverDep

PER_PAGE = 20
# The engine ranks at most 1,000 candidates; deeper pages would only repeat its tail.
MAX_PAGE = 50
MAX_QUERY = 500
# Page numbers shown either side of the current one.
PAGE_WINDOW = 2

router = APIRouter()


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class SearchPage:
    """What search.html shows: the query, one page of results and the links to the others."""

    query: str
    page: int
    pages: int
    total: int
    results: list[SearchResult]
    links: list[PageLink]

    @property
    def first(self) -> int:
        return (self.page - 1) * PER_PAGE + 1

    def url(self, page: int) -> str | None:
        return search_url(self.query, page) if 1 <= page <= self.pages else None


def search_url(query: str, page: int = 1) -> str:
    """The address of one page of results (the query percent-encoded, never spliced raw)."""
    params = {"q": query} if page == 1 else {"q": query, "page": str(page)}
    return f"/search?{urlencode(params)}"


def page_links(query: str, page: int, pages: int) -> list[PageLink]:
    low, high = max(1, page - PAGE_WINDOW), min(pages, page + PAGE_WINDOW)
    return [PageLink(n, search_url(query, n), n == page) for n in range(low, high + 1)]


def run_page(engine: Engine, retriever: DenseRetriever, query: str, page: int) -> SearchPage:
    """One page of results for ``query`` and the links to the pages around it."""
    found = search(engine, query, PER_PAGE, (page - 1) * PER_PAGE, retriever=retriever)
    pages = min(MAX_PAGE, -(-found.total // PER_PAGE))
    links = page_links(query, page, pages)
    return SearchPage(query, page, pages, found.total, found.results, links)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    engine: EngineDep,
    retriever: RetrieverDep,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """Search papers; an empty query shows the search box and tips."""
    query = q.strip()
    context = {"query": query, "found": run_page(engine, retriever, query, page) if query else None}
    return request.app.state.templates.TemplateResponse(request, "search.html", context)
