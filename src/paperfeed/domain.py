"""Plain data that flows between the layers: what ingest yields and what the store returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(slots=True)
class Version:
    number: int
    created: date | None = None


@dataclass(slots=True)
class Link:
    """An outgoing link of a paper. ``kind`` is one of LINK_KINDS."""

    kind: str
    url: str
    stars: int | None = None


LINK_KINDS = ("abs", "pdf", "doi", "code", "project")


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source describes it, before it is merged into the store.

    ``id`` is the identifier as the source wrote it (an arXiv id in any spelling, or another
    stable id); ingest normalises it. ``location`` says where the record came from
    ("file.jsonl line 12") for error messages.
    """

    title: str
    abstract: str
    id: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    published: date | None = None
    updated: date | None = None
    versions: list[Version] = field(default_factory=list)
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    links: list[Link] = field(default_factory=list)
    featured_day: date | None = None
    submitter: str | None = None
    upvotes: int | None = None
    # Hugging Face's machine-written summary and keywords (``paper.ai_summary``/``ai_keywords``).
    ai_summary: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    location: str = ""


@dataclass(slots=True)
class RecordError:
    """A record that could not be read; ingest reports it (and stops unless told to skip)."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(slots=True)
class Paper:
    """A paper as stored: one record per work, merged from every source."""

    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: date | None
    updated: date | None
    versions: list[Version]
    doi: str | None
    journal_ref: str | None
    comment: str | None
    links: list[Link]
    featured_day: date | None
    submitter: str | None
    upvotes: int
    first_seen_at: datetime | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
