"""Format `arxiv-atom`: Atom feeds of the arXiv API (export.arxiv.org/api/query).

Each ``<entry>`` is a paper. arXiv reports a bad query as a feed whose single entry has an id
under ``/api/errors``: that becomes an IngestError with arXiv's own message. The feed-level
``opensearch:totalResults`` is read by the API source (see ``feed_total``), not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats.arxiv_xml import (
    NS,
    FieldError,
    day,
    parse_xml,
    text_of,
    texts_of,
)
from paperfeed.ingest.formats.fields import doi_link, first_doi

_ERROR_MARK = "/api/errors"


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a PaperRecord per entry (a RecordError for an unreadable one)."""
    root = parse_xml(stream, name, "arXiv Atom")
    if root.tag != "{http://www.w3.org/2005/Atom}feed":
        raise IngestError(f"{name}: not an Atom feed (root element {root.tag!r})")
    for number, entry in enumerate(root.findall("atom:entry", NS), start=1):
        location = f"{name} entry {number}"
        raw_id = text_of(entry, "atom:id") or ""
        if _ERROR_MARK in raw_id:
            message = text_of(entry, "atom:summary") or raw_id
            raise IngestError(f"{name}: arXiv API error: {message}")
        try:
            yield _record(entry, raw_id, location)
        except FieldError as error:
            yield RecordError(location, str(error))


def feed_total(root: Element) -> int | None:
    """``opensearch:totalResults`` of a parsed feed, when present and numeric."""
    total = text_of(root, "opensearch:totalResults")
    return int(total) if total and total.isdigit() else None


def entry_id(raw_id: str) -> str:
    """`http://arxiv.org/abs/2401.12345v2` -> `2401.12345v2` (old style `hep-th/9901001v1`)."""
    marker = "/abs/"
    return raw_id.split(marker, 1)[1] if marker in raw_id else raw_id


def _record(entry: Element, raw_id: str, location: str) -> PaperRecord:
    if not raw_id:
        raise FieldError("entry without an <id>")
    paper_id = entry_id(raw_id)
    doi = first_doi(text_of(entry, "arxiv:doi"))
    return PaperRecord(
        id=paper_id,
        title=text_of(entry, "atom:title") or "",
        abstract=text_of(entry, "atom:summary") or "",
        authors=texts_of(entry, "atom:author/atom:name"),
        categories=_categories(entry),
        published=day(text_of(entry, "atom:published"), "published"),
        updated=day(text_of(entry, "atom:updated"), "updated"),
        doi=doi,
        journal_ref=text_of(entry, "arxiv:journal_ref"),
        comment=text_of(entry, "arxiv:comment"),
        links=_links(entry, paper_id, doi),
        location=location,
    )


def _categories(entry: Element) -> list[str]:
    """The primary category first, then every category term, without repeats."""
    primary = entry.find("arxiv:primary_category", NS)
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [c.get("term", "") for c in entry.findall("atom:category", NS)]
    return list(dict.fromkeys(t.strip() for t in terms if t and t.strip()))


def _links(entry: Element, paper_id: str, doi: str | None) -> list[Link]:
    links: list[Link] = []
    for link in entry.findall("atom:link", NS):
        href = (link.get("href") or "").strip()
        if not href.startswith(("http://", "https://")):
            continue
        if link.get("rel") == "alternate":
            links.append(Link("abs", _https(href)))
        elif link.get("title") == "pdf":
            links.append(Link("pdf", _https(href)))
    if not any(link.kind == "abs" for link in links):
        links.append(Link("abs", f"https://arxiv.org/abs/{paper_id}"))
    if doi:
        links.append(doi_link(doi))
    return links


def _https(url: str) -> str:
    """arXiv's feeds still say http://arxiv.org; the site itself is https."""
    return "https://" + url[len("http://") :] if url.startswith("http://arxiv.org/") else url
