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
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import Engine

from paperfeed.community.paper_context import PaperRef, community_context, find_paper
from paperfeed.community.users import User
from paperfeed.community.views import visitor_key
from paperfeed.domain import Paper
from paperfeed.ingest.ids import is_arxiv_id
from paperfeed.search.similar import similar_papers
from paperfeed.web import queries
from paperfeed.web.auth_deps import client_ip
from paperfeed.web.deps import EngineDep
from paperfeed.web.feed_pages import mark_voted
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


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) of the paper's outgoing links: arXiv, PDF, DOI, code, project page."""
    links: list[tuple[str, str]] = []
    stored = {link.kind: link for link in paper.links}
    if is_arxiv_id(paper.id):
        links.append(("arXiv", f"https://arxiv.org/abs/{paper.id}"))
        links.append(("PDF", f"https://arxiv.org/pdf/{paper.id}"))
    else:
        if "abs" in stored:
            links.append(("Abstract", stored["abs"].url))
        if "pdf" in stored:
            links.append(("PDF", stored["pdf"].url))
    if paper.doi:
        links.append(("DOI", f"https://doi.org/{paper.doi}"))
    if "code" in stored:
        stars = stored["code"].stars
        links.append(
            ("Code" + (f" (★ {stars:,})" if stars is not None else ""), stored["code"].url)
        )
    if "project" in stored:
        links.append(("Project page", stored["project"].url))
    return [(label, url) for label, url in links if url.startswith(("https://", "http://"))]


# BibTeX: characters that are markup inside a braced value, and their escaped forms.
_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_RE = re.compile("|".join(re.escape(c) for c in _BIBTEX_ESCAPES))


def bibtex_escape(text: str) -> str:
    """``text`` safe inside a braced BibTeX value: braces and TeX specials escaped."""
    return _BIBTEX_RE.sub(lambda m: _BIBTEX_ESCAPES[m.group(0)], " ".join(text.split()))


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def bibtex_key(paper: Paper) -> str:
    """``lastname2024firstword``, ASCII letters and digits only (never empty)."""
    surname = _ascii_word(paper.authors[0].split()[-1]) if paper.authors else ""
    year = str(paper.published.year) if paper.published else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    skip = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards"}
    word = next((w for w in words if w and w not in skip), "")
    key = f"{surname}{year}{word}"
    return key or f"paper{_ascii_word(paper.id) or 'x'}"


def bibtex(paper: Paper) -> str:
    """A BibTeX entry: ``@article`` when the paper has a journal reference, else ``@misc``
    (arXiv's own style: eprint, archivePrefix, primaryClass)."""
    arxiv = is_arxiv_id(paper.id)
    fields: list[tuple[str, str]] = [("title", "{" + bibtex_escape(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(bibtex_escape(a) for a in paper.authors)))
    if paper.journal_ref:
        fields.append(("journal", bibtex_escape(paper.journal_ref)))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
        fields.append(("month", paper.published.strftime("%b").lower()))
    if arxiv:
        fields.append(("eprint", bibtex_escape(paper.id)))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", bibtex_escape(paper.categories[0])))
        fields.append(("url", f"https://arxiv.org/abs/{bibtex_escape(paper.id)}"))
    if paper.doi:
        fields.append(("doi", bibtex_escape(paper.doi)))
    kind = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{bibtex_key(paper)},\n{body}\n}}\n"


def markdown(paper: Paper, base_url: str, upvotes: int) -> str:
    """The paper as Markdown, for ``/papers/<id>.md`` (what ``HfApi.read_paper`` reads)."""
    lines = [f"# {paper.title}", ""]
    if paper.authors:
        lines += [f"**Authors:** {', '.join(paper.authors)}", ""]
    facts = []
    if paper.published:
        facts.append(f"**Published:** {paper.published.isoformat()}")
    if paper.updated and paper.updated != paper.published:
        facts.append(f"**Updated:** {paper.updated.isoformat()}")
    if paper.categories:
        facts.append(f"**Categories:** {', '.join(paper.categories)}")
    facts.append(f"**Upvotes:** {upvotes}")
    lines += ["  \n".join(facts), ""]
    links = [*paper_links(paper), ("paperfeed", f"{base_url.rstrip('/')}/papers/{paper.id}")]
    lines += [" · ".join(f"[{label}](<{url}>)" for label, url in links), ""]
    lines += ["## Abstract", "", paper.abstract, ""]
    return "\n".join(lines)


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


@router.get(
    "/papers/{paper_id:path}.md",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "The paper as Markdown."},
        404: {"content": {"text/html": {}}, "description": "No such paper (an error page)."},
    },
)
def paper_markdown(request: Request, engine: EngineDep, paper_id: str) -> Response:
    """The paper as Markdown (text/markdown)."""
    ref = lookup(engine, paper_id)
    item = queries.paper_detail(engine, ref.pk)
    if item is None:
        raise HTTPException(404, f"There is no paper with the id “{paper_id}” here.")
    text = markdown(item.paper, request.app.state.settings.base_url, item.upvotes)
    return Response(text, media_type="text/markdown; charset=utf-8")


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
        "links": paper_links(paper),
        "bibtex": bibtex(paper),
        "similar": _similar(engine, paper.id),
        "submitter_name": paper.submitter,
        "feed": "daily",
    }
    response = render_page(request, "paper.html", context)
    _count_view(request, ref.pk)
    return response
