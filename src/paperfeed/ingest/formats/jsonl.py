"""JSON lines: one paper object a line, in the flat shape CSV rows share (see ``flat_record``).

Fields: ``title``, ``abstract`` (alias ``summary``), and optionally ``id``, ``authors``, ``date``
(published), ``categories``, ``url``, ``featured_day`` (alias ``listed``), ``updated``, ``doi``,
``upvotes``, ``submitter``, ``code_url``, ``project_url``, ``journal_ref``, ``comment``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

import orjson

from paperfeed.domain import Link, PaperRecord, RecordError
from paperfeed.ingest.formats import IngestError, Item, ParseOptions
from paperfeed.ingest.formats import fields as f

MAX_LINE = 16 * 1024 * 1024  # no real record comes near this; it bounds memory on garbage
_CHUNK = 1024 * 1024


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a record (or a RecordError) for every non-blank line."""
    for location, obj in json_objects(stream, name):
        if isinstance(obj, RecordError):
            yield obj
            continue
        try:
            yield flat_record(obj, location)
        except f.FieldError as error:
            yield RecordError(location, str(error))


def json_objects(stream: BinaryIO, name: str) -> Iterator[tuple[str, Any]]:
    """(location, object) for every non-blank line; a bad line gives a RecordError object.

    Raises IngestError when the first line is not a JSON object: then the input is not JSON
    lines at all, and reporting every line of it would only bury that.
    """
    try:
        yield from _json_objects(stream, name)
    except f.STREAM_ERRORS as error:
        raise f.unreadable(name, error) from None


def _json_objects(stream: BinaryIO, name: str) -> Iterator[tuple[str, Any]]:
    number, seen = 0, False
    while line := stream.readline(MAX_LINE):
        number += 1
        location = f"{name} line {number}"
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            _skip_rest_of_line(stream)
            yield location, RecordError(location, f"line longer than {MAX_LINE} bytes")
            seen = True
            continue
        if not line.strip():
            continue
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a byte-order mark, as Windows tools write one
        obj = _loads(line, location)
        if not seen and not isinstance(obj, dict):
            raise IngestError(f"{name}: not JSON lines (line {number} is not a JSON object)")
        seen = True
        if not isinstance(obj, dict | RecordError):
            obj = RecordError(location, f"not a JSON object but {_json_type(obj)}")
        yield location, obj


def _loads(line: bytes, location: str) -> Any:
    try:
        return f.loads_json(line)
    except orjson.JSONDecodeError as error:
        return RecordError(location, f"invalid JSON: {error}")


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while chunk := stream.readline(_CHUNK):
        if chunk.endswith(b"\n"):
            return


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else "a boolean")


def flat_record(row: Mapping[str, Any], location: str, comma_authors: bool = True) -> PaperRecord:
    """A PaperRecord from a flat mapping (a JSON line or a CSV row); FieldError if unusable.

    ``comma_authors``: whether "A, B" in an authors string separates names (CSV says no: its
    authors are separated by ";" or " and ", so "Last, First" stays one name).
    """
    url = f.web_url(row.get("url"), "url")
    paper_id = _paper_id(row.get("id"), url)
    raw_authors = row.get("authors")
    if isinstance(raw_authors, str) and not comma_authors:
        authors = f.split_authors(raw_authors, commas=False)
    else:
        authors = f.authors(raw_authors)
    doi = f.first_doi(row.get("doi"))
    return PaperRecord(
        title=f.required_text(row.get("title"), "title"),
        abstract=f.text(f.first(row, "abstract", "summary"), "abstract") or "",
        id=paper_id,
        authors=authors,
        categories=f.categories(row.get("categories")),
        published=f.parse_date(f.first(row, "date", "published"), "date"),
        updated=f.parse_date(row.get("updated"), "updated"),
        doi=doi,
        journal_ref=f.text(f.first(row, "journal_ref", "journal-ref"), "journal_ref"),
        comment=f.text(f.first(row, "comment", "comments"), "comment"),
        links=_links(row, paper_id, url, doi),
        featured_day=f.parse_date(f.first(row, "featured_day", "listed"), "featured_day"),
        submitter=f.text(row.get("submitter"), "submitter"),
        upvotes=f.count(row.get("upvotes"), "upvotes"),
        location=location,
    )


def _paper_id(value: object, url: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise f.FieldError(f"id is not a string ({type(value).__name__})")
    if value and value.strip():
        return value
    # An arXiv URL names the paper; normalise turns the URL into the id.
    return url if url and f.is_arxiv_url(url) else None


def _links(
    row: Mapping[str, Any], paper_id: str | None, url: str | None, doi: str | None
) -> list[Link]:
    links = f.arxiv_links(paper_id)
    if url and not f.is_arxiv_url(url):
        links = [link for link in links if link.kind != "abs"] + [Link("abs", url)]
    if doi:
        links.append(f.doi_link(doi))
    if code := f.web_url(row.get("code_url"), "code_url"):
        links.append(Link("code", code, f.count(row.get("code_stars"), "code_stars")))
    if project := f.web_url(row.get("project_url"), "project_url"):
        links.append(Link("project", project))
    return links
