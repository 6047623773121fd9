"""Check and normalise a PaperRecord before it is merged: ids, whitespace, bounds."""

from __future__ import annotations

from dataclasses import dataclass

from paperfeed.domain import PaperRecord, RecordError, Version
from paperfeed.ingest.ids import InvalidPaperId, canonical_id, is_synthetic, title_key

MAX_TITLE = 1_000
MAX_ABSTRACT = 100_000
MAX_AUTHORS = 5_000
MAX_CATEGORY = 64


@dataclass(slots=True)
class Prepared:
    """A valid record with its storage id and title key worked out."""

    id: str
    title_key: str
    record: PaperRecord

    @property
    def synthetic(self) -> bool:
        return is_synthetic(self.id)


def collapse(text: str) -> str:
    """Collapse runs of whitespace (arXiv wraps titles and abstracts at ~80 columns)."""
    return " ".join(text.split())


def prepare(record: PaperRecord) -> Prepared | RecordError:
    record.title = collapse(record.title or "")
    record.abstract = collapse(record.abstract or "")
    key = title_key(record.title)
    problem = _problem(record, key)
    if problem:
        return RecordError(record.location, problem)
    try:
        paper_id, version = canonical_id(record.id, record.title)
    except InvalidPaperId as error:
        return RecordError(record.location, str(error))
    if version is not None and all(v.number != version for v in record.versions):
        record.versions.append(Version(version))
    record.authors = [a for a in (collapse(name) for name in record.authors) if a]
    record.categories = list(dict.fromkeys(_categories(record.categories)))
    return Prepared(paper_id, key, record)


def _categories(raw: list[str]) -> list[str]:
    # Some real records carry free text where a category belongs ("Information storage and
    # retrieval of data, ..."); a category is a short code, so longer strings are dropped.
    return [c.strip() for c in raw if c.strip() and len(c.strip()) <= MAX_CATEGORY]


def _problem(record: PaperRecord, key: str) -> str | None:
    if not record.title:
        return "missing title"
    if not key:
        return "title has no letters or digits"
    if len(record.title) > MAX_TITLE:
        return f"title longer than {MAX_TITLE} characters"
    if len(record.abstract) > MAX_ABSTRACT:
        return f"abstract longer than {MAX_ABSTRACT} characters"
    if len(record.authors) > MAX_AUTHORS:
        return f"more than {MAX_AUTHORS} authors"
    if "\x00" in record.title or "\x00" in record.abstract:
        return "NUL character in text"
    return None
