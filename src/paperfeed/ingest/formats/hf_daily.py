"""Hugging Face Daily Papers JSON, in the shapes the Hub serves and people save.

- ``/api/daily_papers``: a list of ``{paper: {id, title, summary, authors: [{name}],
  publishedAt, upvotes, githubRepo, githubStars, projectPage, submittedOnDailyBy, ai_summary,
  ai_keywords: [str], ...},
  title, summary, publishedAt, numComments, submittedBy: {name, fullname}, ...}``. The item's
  own ``publishedAt`` is when it went on Daily Papers (huggingface_hub reads it as
  ``submitted_at``); ``paper.publishedAt`` is the arXiv publication;
- a single such item, or a bare paper object (``/api/papers/{id}``, where
  ``submittedOnDailyAt`` is the Daily Papers day);
- an object keyed by arXiv id: ``{"2312.17653": {url, title, authors, abstract,
  publication_date, upvotes}}``; ``publication_date`` is the only date such a file has, so it
  gives both the published day and the featured day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, BinaryIO

import orjson

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats import fields as f

MAX_BYTES = 512 * 1024 * 1024  # the document is parsed whole; a daily list is a few MiB
Entry = tuple[str | None, Any]  # (the key it was filed under, the item)


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a record (or a RecordError) for every paper of the document."""
    document = _load(stream, name)
    for number, (key, item) in enumerate(entries(document, name), 1):
        location = f"{name} record {number}"
        if not isinstance(item, dict):
            yield RecordError(location, "record is not a JSON object")
            continue
        try:
            yield item_record(item, key, location)
        except f.FieldError as error:
            yield RecordError(location, str(error))


def _load(stream: BinaryIO, name: str) -> Any:
    data = f.read_whole(stream, name, MAX_BYTES)
    try:
        return f.loads_json(data)
    except orjson.JSONDecodeError as error:
        raise IngestError(f"{name}: not a JSON document ({error})") from None


def entries(document: Any, name: str) -> list[Entry]:
    """The items of a document in any of the accepted shapes; IngestError for another shape."""
    if isinstance(document, list):
        return [(None, item) for item in document]
    if not isinstance(document, dict):
        raise IngestError(f"{name}: expected a JSON array or object of papers")
    if is_item(document):
        return [(None, document)]
    if document and not any(isinstance(value, dict) for value in document.values()):
        # e.g. the Hub's {"error": "..."}: not papers at all, not a list of broken ones.
        raise IngestError(f"{name}: a JSON object with no papers in it ({_keys(document)})")
    return list(document.items())


def _keys(document: dict[str, Any]) -> str:
    return ", ".join(repr(key)[:40] for key in list(document)[:5])


def is_item(obj: Mapping[str, Any]) -> bool:
    """Whether an object is one paper (wrapped or bare) rather than a mapping of papers."""
    return isinstance(obj.get("paper"), dict) or isinstance(obj.get("title"), str)


def item_record(item: Mapping[str, Any], key: str | None, location: str) -> PaperRecord:
    """A PaperRecord from one item; FieldError when a field has the wrong shape."""
    wrapped = item.get("paper")
    paper: Mapping[str, Any] = wrapped if isinstance(wrapped, dict) else item
    url = f.web_url(item.get("url"), "url")
    paper_id = _paper_id(_lookup(paper, item, "id"), key, url)
    published = f.parse_date(_lookup(paper, paper, "publishedAt", "publication_date"), "date")
    return PaperRecord(
        title=f.required_text(_lookup(item, paper, "title"), "title"),
        abstract=f.text(_lookup(paper, item, "summary", "abstract"), "summary") or "",
        id=paper_id,
        authors=f.authors(_lookup(paper, item, "authors")),
        published=published,
        featured_day=_featured_day(item, paper),
        submitter=_submitter(_lookup(item, paper, "submittedBy", "submittedOnDailyBy")),
        upvotes=f.count(_lookup(paper, item, "upvotes"), "upvotes"),
        links=_links(item, paper, paper_id, url),
        ai_summary=f.text(_lookup(paper, item, "ai_summary"), "ai_summary"),
        ai_keywords=_keywords(_lookup(paper, item, "ai_keywords")),
        location=location,
    )


def _lookup(primary: Mapping[str, Any], fallback: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` found in ``primary``, else in ``fallback`` (as huggingface_hub reads
    the paper object first and the item's top level second)."""
    found = f.first(primary, *keys)
    return found if found is not None else f.first(fallback, *keys)


def _paper_id(value: object, key: str | None, url: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise f.FieldError(f"id is not a string ({type(value).__name__})")
    if value:
        return value
    if key and key.strip():
        return key  # the keyed shape files each paper under its arXiv id
    return url if url and f.is_arxiv_url(url) else None


def _featured_day(item: Mapping[str, Any], paper: Mapping[str, Any]) -> date | None:
    if paper is not item:  # wrapped: the item's own publishedAt is its Daily Papers day
        day = f.first(item, "publishedAt", "submittedOnDailyAt")
        return f.parse_date(day or paper.get("submittedOnDailyAt"), "publishedAt")
    # A bare paper says when it was on Daily Papers; the keyed sample's only date stands for it.
    return f.parse_date(f.first(item, "submittedOnDailyAt", "publication_date"), "date")


def _keywords(value: object) -> list[str]:
    """The Hub's AI keywords: a list of strings (trimmed and de-duplicated by ingest)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise f.FieldError(f"ai_keywords is not a list ({type(value).__name__})")
    for word in value:
        if not isinstance(word, str):
            raise f.FieldError(f"ai_keywords has a {type(word).__name__}, not a string")
    return list(value)


def _submitter(user: object) -> str | None:
    """The Hub user name ("akhaliq") of whoever put the paper on Daily Papers."""
    if user is None:
        return None
    if isinstance(user, str):
        return user.strip() or None
    if isinstance(user, dict):
        return f.text(f.first(user, "name", "user", "fullname"), "submittedBy.name")
    raise f.FieldError("submittedBy is not an object")


def _links(
    item: Mapping[str, Any], paper: Mapping[str, Any], paper_id: str | None, url: str | None
) -> list[Link]:
    links = f.arxiv_links(paper_id)
    if url and not f.is_arxiv_url(url):
        links.append(Link("abs", url))
    if repo := f.web_url(_lookup(paper, item, "githubRepo"), "githubRepo"):
        stars = f.count(_lookup(paper, item, "githubStars"), "githubStars")
        links.append(Link("code", repo, stars))
    if project := f.web_url(_lookup(paper, item, "projectPage"), "projectPage"):
        links.append(Link("project", project))
    return links
