"""The paper page ``/papers/<id>`` and its Markdown twin ``/papers/<id>.md``.

Ids may hold a slash (old-style arXiv ids such as ``cs/0601001``), hence ``{paper_id:path}``;
this router is included after every other router with ``/papers/...`` routes so that theirs
(``/papers/<id>/upvote`` ...) match first. An arXiv id in another spelling
(``arXiv:2401.12345v2``) redirects to the paper's canonical address.

Views: a view is counted (``record_activity(kind="view")``) only when ``count_views`` is on,
only for a browser's top-level navigation (``Sec-Fetch-Mode: navigate`` and
``Sec-Fetch-Dest: document``: never for crawlers, feed readers, prefetches, scripts or tests),
and at most once per browser, paper and day (a small cookie lists today's counted papers).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from paperfeed.community.links import may_edit, read_links
from paperfeed.community.paper_context import PaperRef, community_context, find_paper
from paperfeed.community.users import User
from paperfeed.domain import Paper
from paperfeed.rank.trending import record_activity
from paperfeed.search.similar import similar_papers
from paperfeed.store.engine import write_transaction
from paperfeed.web import queries
from paperfeed.web.citation import (
    bibtex,
    description,
    highwire_tags,
    json_ld,
    paper_links,
    ris,
)
from paperfeed.web.deps import EngineDep
from paperfeed.web.feed_pages import mark_voted
from paperfeed.web.paper_markdown import read_paper
from paperfeed.web.templating import render_page, viewer

log = logging.getLogger(__name__)

router = APIRouter()

SIMILAR = 8
MAX_ID = 200  # ids are at most 64 characters; an arXiv URL spelling may be longer
VIEW_COOKIE = "pf_views"
VIEW_COOKIE_MAX = 100  # papers remembered per browser and day


def lookup(engine: Engine, paper_id: str, *, include_hidden: bool = False) -> PaperRef:
    """The visible paper with ``paper_id`` (any arXiv spelling), or a 404 that says so."""
    if "\x00" in paper_id or len(paper_id) > MAX_ID:  # PostgreSQL refuses NUL in text
        raise HTTPException(404, "There is no paper with that id here.")
    with engine.connect() as conn:
        ref = find_paper(conn, paper_id, include_hidden=include_hidden)
    if ref is None:
        raise HTTPException(404, f"There is no paper with the id “{paper_id}” here.")
    return ref


def lookup_for(engine: Engine, paper_id: str, viewer: User | None) -> PaperRef:
    """``lookup`` as ``viewer`` sees it: admins find hidden papers too."""
    return lookup(engine, paper_id, include_hidden=bool(viewer and viewer.is_admin))


def _similar(engine: Engine, paper_id: str) -> list[dict[str, Any]]:
    try:
        return similar_papers(engine, paper_id, SIMILAR)  # hidden papers are left out there
    except LookupError:
        return []


def _today() -> date:
    return datetime.now(UTC).date()


def _count_view(request: Request, engine: Engine, paper_pk: int, response: Response) -> None:
    """Record one view of the paper (see the module docstring for when)."""
    if not request.app.state.settings.count_views:
        return
    headers = request.headers
    if headers.get("sec-fetch-mode") != "navigate" or headers.get("sec-fetch-dest") != "document":
        return
    today = _today().isoformat()
    day, _, listed = request.cookies.get(VIEW_COOKIE, "").partition(":")
    seen = [pk for pk in listed.split(".") if pk.isdigit()] if day == today else []
    if str(paper_pk) in seen:
        return
    try:
        with write_transaction(engine) as conn:
            record_activity(conn, paper_pk, "view")
    except SQLAlchemyError as error:  # a lost view must not cost the reader the page
        log.warning("view not counted: %s", error)
        return
    seen = [*seen, str(paper_pk)][-VIEW_COOKIE_MAX:]
    response.set_cookie(
        VIEW_COOKIE,
        f"{today}:{'.'.join(seen)}",
        max_age=86_400,
        path="/papers",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _export(request: Request, engine: EngineDep, paper_id: str, kind: str) -> tuple[str, str, str]:
    """(text, media type, file name) of the paper ``paper_id`` in the format ``kind``."""
    ref = lookup(engine, paper_id)
    base = request.app.state.settings.base_url
    text = read_paper(engine, ref.pk, base) if kind == "md" else None
    if kind != "md":
        item = queries.paper_detail(engine, ref.pk)
        text = None if item is None else bibtex(item.paper) if kind == "bib" else ris([item.paper])
    if text is None:
        raise HTTPException(404, f"There is no paper with the id “{paper_id}” here.")
    media, _ = EXPORTS[kind]
    return text, media, re.sub(r"[^A-Za-z0-9.-]+", "_", ref.id) + "." + kind


# Suffix: (media type, what it is). Each is a route of its own so /docs names them.
EXPORTS = {
    "md": ("text/markdown; charset=utf-8", "The paper as Markdown, with its discussion."),
    "bib": ("application/x-bibtex; charset=utf-8", "The paper as a BibTeX entry."),
    "ris": ("application/x-research-info-systems; charset=utf-8", "The paper as RIS."),
}


def _export_route(kind: str, name: str) -> None:
    media, summary = EXPORTS[kind]

    @router.get(
        f"/papers/{{paper_id:path}}.{kind}",
        response_class=PlainTextResponse,
        operation_id=name,
        summary=summary,
        responses={
            200: {"content": {media.split(";")[0]: {}}, "description": summary},
            404: {"content": {"text/html": {}}, "description": "No such paper (an error page)."},
        },
    )
    def export(request: Request, engine: EngineDep, paper_id: str) -> Response:
        text, media_type, filename = _export(request, engine, paper_id, kind)
        headers = {} if kind == "md" else {"content-disposition": f'inline; filename="{filename}"'}
        return Response(text, media_type=media_type, headers=headers)


_export_route("md", "read_paper")
_export_route("bib", "paper_bibtex")
_export_route("ris", "paper_ris")


def links_context(engine: Engine, paper_pk: int, me: User | None) -> dict[str, Any]:
    """The code-and-project-links form: shown to those who may use it (``may_edit``)."""
    if me is None:
        return {"can_edit_links": False}
    with engine.connect() as conn:
        allowed = may_edit(conn, me, paper_pk)
        current = read_links(conn, paper_pk) if allowed else None
    return {"can_edit_links": allowed, "code_links": current}


def head_context(request: Request, paper: Paper) -> dict[str, Any]:
    """What the page's <head> says for reference managers and link previews."""
    page_url = f"{request.app.state.settings.base_url.rstrip('/')}/papers/{paper.id}"
    return {
        "page_url": page_url,
        "description": description(paper),
        "citation_tags": highwire_tags(paper),
        "json_ld": json_ld(paper, page_url),
    }


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, engine: EngineDep, paper_id: str) -> Response:
    """Everything about one paper: metadata, links, BibTeX, community, similar papers.

    A hidden paper is a 404 for everyone but admins, who see it marked hidden (to unhide it)."""
    me = viewer(request)
    admin = bool(me and me.is_admin)
    ref = lookup(engine, paper_id, include_hidden=admin)
    if ref.id != paper_id:
        return RedirectResponse(f"/papers/{ref.id}", status_code=301)
    item = queries.paper_detail(engine, ref.pk, include_hidden=admin)
    if item is None:
        raise HTTPException(404, f"There is no paper with the id “{paper_id}” here.")
    mark_voted(request, engine, [item])
    paper = item.paper
    context: dict[str, Any] = {
        **community_context(engine, ref.pk, me),
        "item": item,
        "paper": paper,
        "paper_id": paper.id,
        **head_context(request, paper),
        **links_context(engine, ref.pk, me),
        "links": paper_links(paper),
        "bibtex": bibtex(paper),
        "similar": _similar(engine, paper.id),
        "submitter_name": paper.submitter,
        "feed": "daily",
    }
    response = render_page(request, "paper.html", context)
    _count_view(request, engine, ref.pk, response)
    return response
