"""How a record from a source combines with what is already stored for the same work.

The rule is "what the source says wins, what it does not say is kept": re-ingesting a source
is therefore idempotent, and a sparse source (a seed page with no authors) never erases what
a richer one (arXiv) stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

import orjson

from paperfeed.domain import Link, Paper, PaperRecord, Version
from paperfeed.ingest.ids import month_of_arxiv_id


def new_paper(paper_id: str, record: PaperRecord) -> Paper:
    """The paper a record makes on its own: ``merge`` onto an empty paper, built directly
    because this is the bulk-ingest path (every new paper of a snapshot goes through it)."""
    versions = _merge_versions([], record.versions)
    published = first_date(paper_id, versions, record.published, None)
    return Paper(
        id=paper_id,
        title=record.title,
        abstract=record.abstract,
        authors=list(record.authors),
        categories=list(record.categories),
        published=published,
        updated=record.updated or None,
        versions=versions,
        doi=record.doi or None,
        journal_ref=record.journal_ref or None,
        comment=record.comment or None,
        links=_merge_links([], record.links),
        featured_day=record.featured_day or None,
        submitter=record.submitter or None,
        upvotes=record.upvotes if record.upvotes is not None else 0,
        ai_summary=record.ai_summary or None,
        ai_keywords=list(record.ai_keywords),
    )


def merge(current: Paper, record: PaperRecord, paper_id: str | None = None) -> Paper:
    versions = _merge_versions(current.versions, record.versions)
    published = first_date(paper_id or current.id, versions, record.published, current.published)
    return replace(
        current,
        id=paper_id or current.id,
        title=record.title or current.title,
        abstract=record.abstract or current.abstract,
        authors=list(record.authors) or current.authors,
        categories=list(record.categories) or current.categories,
        published=published,
        updated=record.updated or current.updated,
        versions=versions,
        doi=record.doi or current.doi,
        journal_ref=record.journal_ref or current.journal_ref,
        comment=record.comment or current.comment,
        links=_merge_links(current.links, record.links),
        featured_day=record.featured_day or current.featured_day,
        submitter=record.submitter or current.submitter,
        upvotes=record.upvotes if record.upvotes is not None else current.upvotes,
        ai_summary=record.ai_summary or current.ai_summary,
        ai_keywords=list(record.ai_keywords) or current.ai_keywords,
    )


def first_date(
    paper_id: str, versions: list[Version], said: date | None, stored: date | None
) -> date | None:
    """A paper's published date is its first version's: v1's date when a source listed it,
    else the date a source gave, else the one stored, else the month of its arXiv id."""
    first = versions[0] if versions else None
    if first is not None and first.number == 1 and first.created:
        return first.created
    return said or stored or (first.created if first else None) or month_of_arxiv_id(paper_id)


def _merge_versions(current: list[Version], incoming: list[Version]) -> list[Version]:
    if not current and _ascending(incoming):
        # The common case (a new paper, versions listed in order): nothing to combine.
        return [Version(v.number, v.created) for v in incoming]
    by_number = {v.number: v for v in current}
    for version in incoming:
        known = by_number.get(version.number)
        by_number[version.number] = Version(
            version.number, version.created or (known.created if known else None)
        )
    return [by_number[n] for n in sorted(by_number)]


def _ascending(versions: list[Version]) -> bool:
    previous = 0
    for version in versions:
        if version.number <= previous:
            return False
        previous = version.number
    return True


def _merge_links(current: list[Link], incoming: list[Link]) -> list[Link]:
    by_kind = {link.kind: link for link in current}
    for link in incoming:
        known = by_kind.get(link.kind)
        stars = link.stars if link.stars is not None else (known.stars if known else None)
        by_kind[link.kind] = Link(link.kind, link.url, stars)
    return [by_kind[k] for k in sorted(by_kind)]


def content_hash(paper: Paper) -> str:
    """A digest of everything a source can change, to skip writes that change nothing."""
    data: tuple[object, ...] = (
        paper.id,
        paper.title,
        paper.abstract,
        paper.authors,
        paper.categories,
        paper.published,
        paper.updated,
        [(v.number, v.created) for v in paper.versions],
        paper.doi,
        paper.journal_ref,
        paper.comment,
        [(link.kind, link.url, link.stars) for link in paper.links],
        paper.featured_day,
        paper.submitter,
        paper.upvotes,
    )
    if paper.ai_summary or paper.ai_keywords:
        # Only when present: the digests of papers without them stay as they were stored.
        data = (*data, paper.ai_summary, paper.ai_keywords)
    return hashlib.md5(orjson.dumps(data), usedforsecurity=False).hexdigest()
