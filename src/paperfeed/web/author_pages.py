"""Author pages: ``/authors/{name}`` (papers newest first, co-authors, a feed link) and
``GET /api/authors/{name}/papers`` (Hugging Face paper objects).

A name is matched by the one normalisation of ``store.author_keys``, the same as search's
``author:`` filter: "Yang Li", "yang li" and "Yáng Li" are one author; an initial ("Y. Li") or
a lone surname ("Li") lists every author it may stand for, and the page says so. The feed is
``/feeds/authors/{name}.atom`` (``feeds.py``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from paperfeed.store.author_keys import AuthorMatch, author_match
from paperfeed.web import queries
from paperfeed.web.api_models import ErrorOut, HfPaper
from paperfeed.web.deps import EngineDep
from paperfeed.web.feed_pages import MAX_PAGE, PageQuery, Pager, mark_voted
from paperfeed.web.hf_shapes import paper_object
from paperfeed.web.templating import author_url, render_page

PER_PAGE = 50
CO_AUTHORS = 10
# The names an initial stands for, listed on its page (most papers first).
NAMES = 20
MAX_NAME = 200
API_MAX_LIMIT = 100

router = APIRouter()
api_router = APIRouter(prefix="/api", tags=["papers"])


@dataclass(frozen=True, slots=True)
class Author:
    """A name from an address and what it matches."""

    name: str
    match: AuthorMatch


def parse_author(name: str) -> Author:
    """The name in an address, checked: 400 for one too long or with control characters
    (NUL included), 404 for one without a letter or digit (it can name nobody)."""
    if len(name) > MAX_NAME:
        raise HTTPException(400, f"An author's name is at most {MAX_NAME} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        raise HTTPException(400, "An author's name cannot hold control characters.")
    match = author_match(name)
    if match is None:
        raise HTTPException(404, f"No author is called “{name.strip()}”.")
    return Author(name.strip(), match)


def _no_papers(author: Author) -> HTTPException:
    return HTTPException(404, f"No papers by an author called “{author.name}”.")


@router.get("/authors/{name}", response_class=HTMLResponse)
def author_page(request: Request, engine: EngineDep, name: str, page: PageQuery = 1) -> Response:
    """An author's papers, newest first, with how many there are and frequent co-authors."""
    author = parse_author(name)
    found = queries.author_papers(engine, author.match, page, PER_PAGE)
    if found.total == 0:
        raise _no_papers(author)
    if found.page > found.pages:
        raise HTTPException(404, f"This list has {found.pages} page(s); there is no page {page}.")
    mark_voted(request, engine, found.items)
    names = queries.author_names(engine, author.match, NAMES + 1)
    context = {
        "author": author,
        "heading": names[0][0] if len(names) == 1 else author.name,
        "names": names[:NAMES],
        "more_names": len(names) > NAMES,
        "found": found,
        "co_authors": queries.co_authors(engine, author.match, CO_AUTHORS),
        "pager": Pager(author_url(name), found.page, found.pages),
        "feed_url": f"/feeds{author_url(author.name)}.atom",
    }
    return render_page(request, "authors.html", context)


@api_router.get(
    "/authors/{name}/papers",
    operation_id="author_papers",
    response_model=list[HfPaper],
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def author_papers_api(
    request: Request,
    response: Response,
    engine: EngineDep,
    name: str,
    limit: Annotated[int, Query(ge=1, le=API_MAX_LIMIT, description="Papers per answer.")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_PAGE * API_MAX_LIMIT, description="Skip.")] = 0,
) -> list[HfPaper]:
    """The papers of an author, newest first, as Hugging Face paper objects; ``X-Total-Count``
    holds how many there are. The name is matched as search's ``author:`` filter does."""
    author = parse_author(name)
    total, items = queries.author_slice(engine, author.match, offset, limit)
    if total == 0:
        raise _no_papers(author)
    response.headers["X-Total-Count"] = str(total)
    base = request.app.state.settings.base_url
    return [HfPaper(**paper_object(item, base)) for item in items]
