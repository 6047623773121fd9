"""RSS 2.0 and Atom feeds: the daily papers, trending, and any search.

``/feeds/daily.rss|atom``, ``/feeds/trending.rss|atom``, ``/feeds/search.rss|atom?q=...``.
Links are absolute, made from the ``base_url`` setting. Documents are built with ElementTree,
so every text is escaped; entry ids are the paper pages' absolute URLs (stable permalinks).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from paperfeed.search.service import search
from paperfeed.web import queries
from paperfeed.web.author_pages import parse_author
from paperfeed.web.deps import EngineDep, RetrieverDep
from paperfeed.web.search_page import MAX_QUERY, Filters, SortName, parse_day, search_url
from paperfeed.web.templating import author_url

router = APIRouter(prefix="/feeds", include_in_schema=False)

ATOM_NS = "http://www.w3.org/2005/Atom"
DAILY_DAYS = 7
FEED_ITEMS = 100
TRENDING_ITEMS = 50
SEARCH_ITEMS = 50
AUTHOR_ITEMS = 50
FEED_MAX_AGE = 300  # seconds
MEDIA = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
DC_NS = "http://purl.org/dc/elements/1.1/"
# Characters XML 1.0 cannot carry at all (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("dc", DC_NS)


def xml_text(text: str) -> str:
    """``text`` without the characters an XML document cannot hold (ElementTree escapes the
    rest)."""
    return _NOT_XML.sub("", text)


def _element(parent: ET.Element, tag: str, text: str | None, attrs: dict[str, str]) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        node.text = xml_text(text)
    return node


def _stamp(item: queries.ListedPaper) -> datetime:
    """When an entry last changed, as far as a feed can tell: its newest known day."""
    days = [d for d in (item.day, item.paper.updated, item.paper.published) if d is not None]
    if days:
        return datetime.combine(max(days), time(), tzinfo=UTC)
    seen = item.paper.first_seen_at
    return seen.astimezone(UTC) if seen is not None else datetime(1970, 1, 1, tzinfo=UTC)


def _published(item: queries.ListedPaper) -> datetime:
    day: date | None = item.day or item.paper.published
    return datetime.combine(day, time(), tzinfo=UTC) if day else _stamp(item)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(item: queries.ListedPaper) -> str:
    parts = [item.paper.abstract]
    if item.why:
        why = ", ".join(f"{count:,} {label} (+{points:.1f})" for label, count, points in item.why)
        parts.append(f"Why it is trending: {why}.")
    parts.append(f"Upvotes: {item.upvotes}. Comments: {item.comments}.")
    return "\n\n".join(parts)


def _summary_html(item: queries.ListedPaper) -> str:
    """The summary as RSS readers take a description: HTML (escaped text, one paragraph per
    part), so "x<y<z" in an abstract is text and markup in the data is never live."""
    parts = _summary(item).split("\n\n")
    return "".join(f"<p>{html.escape(part)}</p>" for part in parts)


def atom(
    title: str, site_url: str, self_url: str, items: list[queries.ListedPaper], base: str
) -> bytes:
    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        return _element(parent, tag, text, attrs)

    # Plain names under an explicit default namespace (ElementTree cannot mix a default
    # namespace with the unqualified attributes Atom uses).
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    sub(feed, "title", title)
    sub(feed, "id", self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=site_url)
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    newest = max((_stamp(i) for i in items), default=datetime(1970, 1, 1, tzinfo=UTC))
    sub(feed, "updated", _rfc3339(newest))
    author = sub(feed, "author")
    sub(author, "name", "paperfeed")
    sub(feed, "generator", "paperfeed")
    for item in items:
        url = f"{base}/papers/{item.paper.id}"
        entry = sub(feed, "entry")
        sub(entry, "title", item.paper.title)
        sub(entry, "id", url)
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "updated", _rfc3339(_stamp(item)))
        sub(entry, "published", _rfc3339(_published(item)))
        for name in item.paper.authors[:50]:
            sub(sub(entry, "author"), "name", name)
        for category in item.paper.categories:
            sub(entry, "category", term=category)
        sub(entry, "summary", _summary(item), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )


def rss(
    title: str, site_url: str, self_url: str, items: list[queries.ListedPaper], base: str
) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        return _element(parent, tag, text, attrs)

    sub(channel, "title", title)
    sub(channel, "link", site_url)
    sub(channel, "description", f"{title} on paperfeed")
    ET.SubElement(
        channel,
        f"{{{ATOM_NS}}}link",
        {"href": self_url, "rel": "self", "type": "application/rss+xml"},
    )
    newest = max((_stamp(i) for i in items), default=datetime(1970, 1, 1, tzinfo=UTC))
    sub(channel, "lastBuildDate", format_datetime(newest, usegmt=True))
    sub(channel, "generator", "paperfeed")
    for item in items:
        url = f"{base}/papers/{item.paper.id}"
        node = sub(channel, "item")
        sub(node, "title", item.paper.title)
        sub(node, "link", url)
        sub(node, "guid", url, isPermaLink="true")
        sub(node, "pubDate", format_datetime(_published(item), usegmt=True))
        if item.paper.authors:
            # RSS's <author> wants an email address; Dublin Core's creator is the usual stand-in.
            sub(
                node,
                f"{{{DC_NS}}}creator",
                ", ".join(item.paper.authors[:50]),
            )
        for category in item.paper.categories:
            sub(node, "category", category)
        sub(node, "description", _summary_html(item))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def _respond(
    request: Request, kind: str, title: str, site_path: str, items: list[queries.ListedPaper]
) -> Response:
    if kind not in MEDIA:
        raise HTTPException(404, f"Feeds come as .rss or .atom, not .{kind}.")
    base = request.app.state.settings.base_url.rstrip("/")
    self_url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    build = atom if kind == "atom" else rss
    body = build(title, f"{base}{site_path}", self_url, items, base)
    # Readers poll: let them and any proxy reuse a feed for a few minutes.
    headers = {"cache-control": f"public, max-age={FEED_MAX_AGE}"}
    return Response(body, media_type=f"{MEDIA[kind]}; charset=utf-8", headers=headers)


@router.get("/daily.{kind}")
def daily_feed(request: Request, engine: EngineDep, kind: str) -> Response:
    """The papers of the latest days, newest day first, most upvoted first within a day."""
    items = queries.recent_papers(engine, DAILY_DAYS, FEED_ITEMS)
    return _respond(request, kind, "paperfeed: daily papers", "/", items)


@router.get("/trending.{kind}")
def trending_feed(request: Request, engine: EngineDep, kind: str) -> Response:
    """The trending papers, highest score first, each with why it is trending."""
    items = queries.trending_page(engine, 1, TRENDING_ITEMS).items
    return _respond(request, kind, "paperfeed: trending papers", "/trending", items)


@router.get("/authors/{name}.{kind}")
def author_feed(request: Request, engine: EngineDep, name: str, kind: str) -> Response:
    """An author's newest papers (the author page's list: the name matched as there)."""
    author = parse_author(name)
    total, items = queries.author_slice(engine, author.match, 0, AUTHOR_ITEMS)
    if total == 0:
        raise HTTPException(404, f"No papers by an author called “{author.name}”.")
    title = f"paperfeed: papers by {author.name}"
    return _respond(request, kind, title, author_url(author.name), items)


@router.get("/search.{kind}")
def search_feed(
    request: Request,
    engine: EngineDep,
    retriever: RetrieverDep,
    kind: str,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="Search query.")] = "",
    cat: Annotated[str, Query(max_length=64)] = "",
    author: Annotated[str, Query(max_length=200)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    code: Annotated[bool, Query()] = False,
    sort: Annotated[SortName, Query()] = "relevance",
) -> Response:
    """A search as a feed, with the search page's filters and sort (``sort=date``: newest
    first, so a reader sees each new paper that matches)."""
    query = q.strip()
    filters = Filters(cat.strip(), author.strip(), parse_day(start), parse_day(end), code, sort)
    wanted = f"{query} {filters.terms()}".strip()
    found = search(engine, wanted, SEARCH_ITEMS, 0, sort, retriever=retriever) if wanted else None
    items = queries.listed_by_ids(engine, [r.id for r in found.results] if found else [])
    title = f"paperfeed: search “{wanted}”" if wanted else "paperfeed: search"
    site = search_url(query, 1, filters) if wanted else "/search"
    return _respond(request, kind, title, site, items)
