"""The paper page ``/papers/<id>`` and its Markdown twin ``/papers/<id>.md``.

Ids may hold a slash (old-style arXiv ids such as ``cs/0601001``), hence ``{paper_id:path}``;
this router is included after every other router with ``/papers/...`` routes so that theirs
(``/papers/<id>/upvote`` ...) match first. An arXiv id in another spelling
(``arXiv:2401.12345v2``) redirects to the paper's canonical address.

Views: a view is counted only when ``count_views`` is on, only for a browser's top-level
navigation (``Sec-Fetch-Mode: navigate`` and ``Sec-Fetch-Dest: document``: never for crawlers,
feed readers, prefetches, scripts or tests), and once per person, paper and day, in memory
(``community.views``: no database write per view).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import Engine

from paperfeed.community.links import may_edit, read_links
from paperfeed.community.paper_context import PaperRef, community_context, find_paper
from paperfeed.community.users import User
from paperfeed.community.views import visitor_key
from paperfeed.domain import Paper
from paperfeed.search.similar import similar_papers
from paperfeed.web import queries
from paperfeed.web.auth_deps import client_ip
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

router = APIRouter()

SIMILAR = 8
MAX_ID = 200  # ids are at most 64 characters; an arXiv URL spelling may be longer


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


def _count_view(request: Request, paper_pk: int) -> None:
    """Count one view of the paper (see the module docstring for when)."""
    settings = request.app.state.settings
    if not settings.count_views:
        return
    headers = request.headers
    if headers.get("sec-fetch-mode") != "navigate" or headers.get("sec-fetch-dest") != "document":
        return
    me = viewer(request)
    day = _today()
    visitor = visitor_key(
        settings.resolved_secret_key(),
        day,
        user_pk=me.pk if me else None,
        address=client_ip(request),
        user_agent=headers.get("user-agent", ""),
    )
    request.app.state.view_counter.add(paper_pk, visitor, day)


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
    _count_view(request, ref.pk)
    return response
