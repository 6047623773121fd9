"""The arXiv metadata snapshot (Kaggle's arxiv-metadata-oai-snapshot.json): one object a line.

This is the bulk path (2.7M records), so the per-record work is kept to plain dict lookups and
type checks; the general coercions in ``fields`` are used only where a record departs from the
snapshot's own shapes (authors or categories given as lists, an odd date).

arXiv's ``submitter`` is whoever uploaded the paper, not who put it on a feed, so it is not
mapped to PaperRecord.submitter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, BinaryIO

from paperfeed.domain import Link, PaperRecord, RecordError, Version
from paperfeed.ingest.formats import Item, ParseOptions
from paperfeed.ingest.formats import fields as f
from paperfeed.ingest.formats.jsonl import json_objects


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    """Yield a record (or a RecordError) for every line of the snapshot."""
    for location, obj in json_objects(stream, name):
        if obj.__class__ is RecordError:
            yield obj
            continue
        try:
            yield snapshot_record(obj, location)
        except f.FieldError as error:
            yield RecordError(location, str(error))


def snapshot_record(obj: dict[str, Any], location: str) -> PaperRecord:
    """A PaperRecord from one snapshot object; FieldError when a field has the wrong shape."""
    get = obj.get
    title, abstract, paper_id = get("title"), get("abstract"), get("id")
    # The checks below are the general coercions inlined for the common, well-formed case.
    if title.__class__ is not str or not title:
        title = f.required_text(title, "title")
    if abstract.__class__ is not str:
        abstract = f.text(abstract, "abstract") or ""
    if paper_id.__class__ is not str:
        paper_id = _optional_str(paper_id, "id")
    versions = _versions(get("versions"))
    categories = get("categories")
    return PaperRecord(
        title=title,
        abstract=abstract,
        id=paper_id,
        authors=_authors(obj),
        categories=categories.split() if categories.__class__ is str else f.categories(categories),
        published=_published(versions),
        updated=_day(get("update_date")),
        versions=versions,
        doi=(doi := _doi(get("doi"))),
        journal_ref=_optional_str(get("journal-ref"), "journal-ref"),
        comment=_optional_str(get("comments"), "comments"),
        links=_links(paper_id, doi),
        location=location,
    )


def _optional_str(value: object, field: str) -> str | None:
    if value is None or value.__class__ is str:
        return value or None
    return f.text(value, field)


def _doi(value: object) -> str | None:
    if value is None:
        return None
    if value.__class__ is str and value and not value[0].isspace():
        return value.split(None, 1)[0]
    return f.first_doi(value)


def _links(paper_id: str | None, doi: str | None) -> list[Link]:
    links = []
    if paper_id and not paper_id[0].isspace() and not paper_id[-1].isspace():
        # The snapshot's ids are clean; an odd one gets no links here and a RecordError later.
        links = [
            Link("abs", f"https://arxiv.org/abs/{paper_id}"),
            Link("pdf", f"https://arxiv.org/pdf/{paper_id}"),
        ]
    if doi:
        links.append(Link("doi", f"https://doi.org/{doi}"))
    return links


def _authors(obj: dict[str, Any]) -> list[str]:
    parsed = obj.get("authors_parsed")
    names = _parsed_names(parsed) if parsed.__class__ is list else f.authors(obj.get("authors"))
    joined = "".join(names)
    if "\\" in joined or "{" in joined:
        return [f.delatex(name) for name in names]
    return names


def _parsed_names(parsed: list[Any]) -> list[str]:
    """[["Berger", "E. L.", ""], ...] -> ["E. L. Berger", ...] ("Last, First, Suffix")."""
    try:
        # The fast path assumes the snapshot's own shape; anything else raises and is redone
        # carefully below.
        names = [
            (f"{p[1]} {p[0]}" if p[1] else p[0]) + (f" {p[2]}" if p[2] else "") for p in parsed
        ]
        "".join(names)  # TypeError unless every name is a string
        return names
    except (TypeError, IndexError, KeyError):
        return [_parsed_name(parts) for parts in parsed]


def _parsed_name(parts: object) -> str:
    if parts.__class__ is not list or not parts:
        raise f.FieldError("authors_parsed is not a list of [last, first, suffix]")
    if not all(part.__class__ is str for part in parts):
        raise f.FieldError("authors_parsed has a name part that is not a string")
    last, given, suffix = (*parts[:3], "", "")[:3]
    return " ".join(part for part in (given, last, suffix) if part)


def _versions(value: object) -> list[Version]:
    if value is None:
        return []
    if value.__class__ is not list:
        raise f.FieldError("versions is not a list")
    versions = []
    for item in value:
        label = item.get("version") if item.__class__ is dict else None
        if label.__class__ is not str or not label[1:].isdigit() or label[:1] not in "vV":
            raise f.FieldError(f"versions: not a version entry: {str(item)[:60]}")
        created = item.get("created")
        day = f.rfc2822_day(created) if created.__class__ is str else _day(created)
        versions.append(Version(int(label[1:]), day))
    return versions


def _published(versions: list[Version]) -> date | None:
    if not versions:
        return None
    first = versions[0] if versions[0].number == 1 else min(versions, key=lambda v: v.number)
    return first.created


def _day(value: object) -> date | None:
    if value.__class__ is str and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return f.parse_date(value, "update_date")
