"""How a record from a source combines with what is already stored for the same work.

The rule is "what the source says wins, what it does not say is kept": re-ingesting a source
is therefore idempotent, and a sparse source (a seed page with no authors) never erases what
a richer one (arXiv) stored.


Frozen copy of src/paperfeed/ingest/merge.py as first committed (3239002):
the baseline that `bench/ingest.py --variant baseline` measures against.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import orjson

from paperfeed.domain import Link, Paper, PaperRecord, Version


def new_paper(paper_id: str, record: PaperRecord) -> Paper:
    empty = Paper(
        id=paper_id,
        title=record.title,
        abstract=record.abstract,
        authors=[],
        categories=[],
        published=None,
        updated=None,
        versions=[],
        doi=None,
        journal_ref=None,
        comment=None,
        links=[],
        featured_day=None,
        submitter=None,
        upvotes=0,
    )
    return merge(empty, record)


def merge(current: Paper, record: PaperRecord, paper_id: str | None = None) -> Paper:
    versions = _merge_versions(current.versions, record.versions)
    published = record.published or current.published
    if published is None and versions and versions[0].created:
        published = versions[0].created
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
    )


def _merge_versions(current: list[Version], incoming: list[Version]) -> list[Version]:
    by_number = {v.number: v for v in current}
    for version in incoming:
        known = by_number.get(version.number)
        by_number[version.number] = Version(
            version.number, version.created or (known.created if known else None)
        )
    return [by_number[n] for n in sorted(by_number)]


def _merge_links(current: list[Link], incoming: list[Link]) -> list[Link]:
    by_kind = {link.kind: link for link in current}
    for link in incoming:
        known = by_kind.get(link.kind)
        stars = link.stars if link.stars is not None else (known.stars if known else None)
        by_kind[link.kind] = Link(link.kind, link.url, stars)
    return [by_kind[k] for k in sorted(by_kind)]


def content_hash(paper: Paper) -> str:
    """A digest of everything a source can change, to skip writes that change nothing."""
    data = (
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
    return hashlib.md5(orjson.dumps(data), usedforsecurity=False).hexdigest()
