"""A minimal ``arxiv-json`` parser, used by the benchmark only while the real one
(``paperfeed.ingest.formats.arxiv_json``) is not there yet, so the store path can be measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, BinaryIO

import orjson

from paperfeed.domain import PaperRecord, RecordError, Version
from paperfeed.ingest.formats import Item, ParseOptions


def _created(text: str | None) -> date | None:
    if not text:
        return None
    return datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %Z").date()


def _authors(data: dict[str, Any]) -> list[str]:
    parsed = data.get("authors_parsed")
    if parsed:
        return [f"{first} {last}".strip() for last, first, *_ in parsed]
    return [a.strip() for a in (data.get("authors") or "").replace(" and ", ", ").split(",")]


def _record(data: dict[str, Any], location: str) -> PaperRecord:
    versions = [
        Version(int(v["version"].lstrip("v")), _created(v.get("created")))
        for v in data.get("versions") or []
    ]
    update = data.get("update_date")
    return PaperRecord(
        title=data["title"],
        abstract=data.get("abstract") or "",
        id=data["id"],
        authors=_authors(data),
        categories=(data.get("categories") or "").split(),
        published=versions[0].created if versions else None,
        updated=date.fromisoformat(update) if update else None,
        versions=versions,
        doi=data.get("doi"),
        journal_ref=data.get("journal-ref"),
        comment=data.get("comments"),
        submitter=data.get("submitter"),
        location=location,
    )


def parse(stream: BinaryIO, name: str, options: ParseOptions) -> Iterator[Item]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield _record(orjson.loads(line), f"{name} line {number}")
        except (ValueError, KeyError, TypeError) as error:
            yield RecordError(f"{name} line {number}", str(error))
