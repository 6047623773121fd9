"""The search page, ``GET /search``: the engine's results, rendered on the server.

Besides ``q`` and ``page`` the page takes form filters (``cat``, ``author``, ``from``, ``to``,
``code``) and ``sort`` (relevance, date, upvotes). Filters become the engine's own query syntax
(``cat:``, ``author:"..."``, ``date:FROM..TO``, ``has:code``), so the site, the CLI and the API
mean the same thing by them. The search box updates the results as you type (htmx swaps the
``#results`` part of this same page; without JavaScript the form submits as usual).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from paperfeed.search.indexer import DenseRetriever
from paperfeed.search.query import ParsedQuery, parse_query
from paperfeed.search.service import SearchResult, search
from paperfeed.web.deps import EngineDep, RetrieverDep
from paperfeed.web.templating import render_page

PER_PAGE = 20
# A page number the address may carry: every page of every match is reachable (the engine
# pages through all matches, search.matches) up to a million results. One past the results
# is a page that says "no more results" with a link to the first. Results move as papers
# come and filters change, so a page that was there may be gone: a 200 like "no papers
# match", which search as you type (htmx swaps only 2xx) can show too.
MAX_PAGE_PARAM = 50_000
MAX_QUERY = 500
# Page numbers shown either side of the current one.
PAGE_WINDOW = 2

router = APIRouter()


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int
    url: str
    current: bool


SortName = Literal["relevance", "date", "upvotes"]


@dataclass(frozen=True, slots=True)
class Filters:
    """The form's filters, as typed; ``terms()`` is the same in the engine's query syntax."""

    category: str = ""
    author: str = ""
    start: date | None = None
    end: date | None = None
    code: bool = False
    sort: SortName = "relevance"

    def terms(self) -> str:
        return self._terms(with_dates=True)

    def topic_terms(self) -> str:
        """The filters a standing topic digest keeps: not a date range, which would end it."""
        return self._terms(with_dates=False)

    def _terms(self, *, with_dates: bool) -> str:
        parts = []
        if self.category:
            parts.append(f"cat:{_quoted(self.category)}")
        if self.author:
            parts.append(f"author:{_quoted(self.author)}")
        if with_dates and (self.start or self.end):
            start = self.start.isoformat() if self.start else ""
            end = self.end.isoformat() if self.end else ""
            parts.append(f"date:{start}..{end}")
        if self.code:
            parts.append("has:code")
        return " ".join(parts)

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (only those that are set)."""
        values = {
            "cat": self.category,
            "author": self.author,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "code": "1" if self.code else "",
            "sort": "" if self.sort == "relevance" else self.sort,
        }
        return {name: value for name, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.params())


def _quoted(value: str) -> str:
    """A filter value as one query term: quoted when it has spaces (quotes inside dropped)."""
    value = " ".join(value.replace('"', " ").split())
    return f'"{value}"' if " " in value else value


@dataclass(frozen=True, slots=True)
class SearchPage:
    """What search.html shows: the query, one page of results and the links to the others."""

    query: str
    page: int
    pages: int
    total: int
    results: list[SearchResult]
    links: list[PageLink]
    filters: Filters = field(default_factory=Filters)
    corrected: str | None = None  # what the results are for, when words were misspelt
    # Set when nothing matched only because of filters: how many the words alone match,
    # and the filters in words ("by Yang Li in cs.CL").
    unfiltered: int = 0
    narrowed_by: str = ""
    estimated: bool = False  # the total is an estimate: the page says "about"

    @property
    def first(self) -> int:
        return (self.page - 1) * PER_PAGE + 1

    @property
    def topic(self) -> str:
        """This search as a topic digest's query (what "email me new papers" subscribes to)."""
        return f"{self.query} {self.filters.topic_terms()}".strip()

    def url(self, page: int) -> str | None:
        if not 1 <= page <= self.pages:
            return None
        return search_url(self.query, page, self.filters)

    @property
    def corrected_url(self) -> str | None:
        """The search for the corrected words (with the same filters), when there are any."""
        return search_url(self.corrected, 1, self.filters) if self.corrected else None

    @property
    def feed_query(self) -> str:
        """The Atom/RSS address's parameters: the query, every filter and the sort."""
        params = {"q": self.query} if self.query else {}
        return urlencode(params | self.filters.params())


def search_url(query: str, page: int = 1, filters: Filters | None = None) -> str:
    """The address of one page of results (the query percent-encoded, never spliced raw).

    Only what is set goes in: no empty query, filter or default sort.
    """
    params = {"q": query} if query else {}
    params.update(filters.params() if filters else {})
    if page > 1:
        params["page"] = str(page)
    return f"/search?{urlencode(params)}" if params else "/search"


def page_links(query: str, page: int, pages: int, filters: Filters | None = None) -> list[PageLink]:
    """The pages around this one, and always the first and the last."""
    low, high = max(1, page - PAGE_WINDOW), min(pages, page + PAGE_WINDOW)
    numbers = sorted({1, *range(low, high + 1), pages} - {0})
    return [PageLink(n, search_url(query, n, filters), n == page) for n in numbers]


def run_page(
    engine: Engine,
    retriever: DenseRetriever,
    query: str,
    page: int,
    filters: Filters | None = None,
) -> SearchPage:
    """One page of results for ``query`` (and the filters) and the links around it."""
    filters = filters or Filters()
    full_query = f"{query} {filters.terms()}".strip()
    offset = (page - 1) * PER_PAGE
    found = search(engine, full_query, PER_PAGE, offset, filters.sort, retriever=retriever)
    pages = -(-found.total // PER_PAGE)
    links = page_links(query, page, pages, filters)
    shown = SearchPage(
        query, page, pages, found.total, found.results, links, filters, found.corrected
    )
    shown = replace(shown, estimated=found.total_estimated)
    if found.total == 0:
        return _why_empty(engine, retriever, shown, full_query)
    return shown


def _why_empty(
    engine: Engine, retriever: DenseRetriever, shown: SearchPage, full_query: str
) -> SearchPage:
    """An empty page: did the filters empty it? Then say how many the words alone match."""
    parsed = parse_query(full_query)
    narrowed_by = describe_filters(parsed)
    words = parsed.text
    if not narrowed_by or not words:
        return shown
    unfiltered = search(engine, words, 0, retriever=retriever).total
    return replace(shown, unfiltered=unfiltered, narrowed_by=narrowed_by)


def describe_filters(parsed: ParsedQuery) -> str:
    """The query's filters in words: "by Yang Li in cs.CL with code from 2025-01-01"."""
    parts = [f"by {name}" for name in parsed.authors]
    parts += [f"in {category}" for category in parsed.categories]
    if parsed.has_code:
        parts.append("with code")
    if parsed.dates is not None and parsed.dates.start is not None:
        parts.append(f"from {parsed.dates.start.isoformat()}")
    if parsed.dates is not None and parsed.dates.end is not None:
        parts.append(f"until {parsed.dates.end.isoformat()}")
    parts += [f"without “{word}”" for word in parsed.excluded]
    return " ".join(parts)


def parse_day(value: str) -> date | None:
    """A date field of the form: empty is no bound (a form sends empty fields)."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, f"{value!r} is not a date (YYYY-MM-DD).") from None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    engine: EngineDep,
    retriever: RetrieverDep,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE_PARAM)] = 1,
    cat: Annotated[str, Query(max_length=64)] = "",
    author: Annotated[str, Query(max_length=200)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    code: Annotated[bool, Query()] = False,
    sort: Annotated[SortName, Query()] = "relevance",
) -> HTMLResponse:
    """Search papers; an empty query and no filter shows the search box and tips."""
    query = q.strip()
    filters = Filters(cat.strip(), author.strip(), parse_day(start), parse_day(end), code, sort)
    wanted = query or filters.terms()
    found = run_page(engine, retriever, query, page, filters) if wanted else None
    context = {"query": query, "found": found, "filters": filters}
    response = render_page(request, "search.html", context)
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        # Search as you type sends every field of the form, empty or not; the address the
        # browser shows (and a reader copies) is the short one, as in the page's own links.
        response.headers["HX-Push-Url"] = search_url(query, page, filters)
    return response
