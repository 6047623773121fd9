"""The Jinja2 environment (autoescaping on for every template) and the filters pages use."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from paperfeed.community.users import User
from paperfeed.domain import Paper
from paperfeed.ingest.ids import is_arxiv_id
from paperfeed.web import visits
from paperfeed.web.auth_deps import csrf_token, current_user

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
TEASER_CHARS = 320
# <link rel="alternate"> for each page kind (the context's ``feed``): (type, href, title).
FEED_LINKS = {
    "daily": [
        ("application/atom+xml", "/feeds/daily.atom", "Daily papers (Atom)"),
        ("application/rss+xml", "/feeds/daily.rss", "Daily papers (RSS)"),
    ],
    "trending": [
        ("application/atom+xml", "/feeds/trending.atom", "Trending papers (Atom)"),
        ("application/rss+xml", "/feeds/trending.rss", "Trending papers (RSS)"),
    ],
}


def arxiv_url(paper: Paper) -> str | None:
    """The arXiv abstract page of ``paper``, when its id is an arXiv id."""
    return paper_url(paper.id)


def paper_url(paper_id: str) -> str | None:
    """The arXiv abstract page of the paper with ``paper_id``, when that is an arXiv id."""
    return f"https://arxiv.org/abs/{paper_id}" if is_arxiv_id(paper_id) else None


def teaser(text: str, limit: int = TEASER_CHARS) -> str:
    """The start of ``text``, cut at a word boundary; CSS then clamps it to two lines."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def long_day(day: date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


def author_url(name: str) -> str:
    """The author page of ``name`` (web/author_pages.py), every character but letters and
    digits escaped (a slash in a name stays inside the one path segment)."""
    return f"/authors/{quote(name, safe='')}"


def short_authors(authors: list[str], limit: int = 6) -> str:
    if len(authors) <= limit:
        return ", ".join(authors)
    return f"{', '.join(authors[:limit])} and {len(authors) - limit} more"


def static_version() -> str:
    """A fingerprint of our own stylesheet and scripts (``?v=`` on their URLs), so browsers
    fetch them again when one changes; vendored files carry their version in their names."""
    digest = hashlib.sha256()
    for name in ("style.css", "search.js"):
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:10]


def viewer(request: Request) -> User | None:
    """The signed-in user for the page header; None when it cannot be known (an error page)."""
    try:
        return current_user(request)
    except Exception:  # the header must never turn a page into another error
        return None


def feed_links(feed: str) -> list[tuple[str, str, str]]:
    return FEED_LINKS.get(feed, [])


def render_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """Every HTML page and fragment is rendered here, with the app's one environment."""
    templates: Jinja2Templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, template, context, status_code=status
    )
    return response


@jinja2.pass_context
def _is_new(context: Any, item: Any) -> bool:
    return visits.is_new(context["request"], item)


def make_templates() -> Jinja2Templates:
    # Autoescape every template whatever its file name: data from ingest is untrusted.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(teaser=teaser, long_day=long_day)
    env.globals.update(
        arxiv_url=arxiv_url,
        author_url=author_url,
        paper_url=paper_url,
        static_version=static_version(),
        viewer=viewer,
        csrf_token=csrf_token,
        feed_links=feed_links,
        is_new=_is_new,
        first_seen=visits.first_seen,
    )
    return Jinja2Templates(env=env)
