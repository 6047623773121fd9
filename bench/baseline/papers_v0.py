"""Paper repository: read papers with their children, and write merged papers in bulk.

Frozen copy of src/paperfeed/store/papers.py as first committed (3239002):
the baseline that `bench/ingest.py --variant baseline` measures against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from paperfeed.domain import Link, Paper, Version
from paperfeed.store.schema import (
    CHILD_TABLES,
    paper_authors,
    paper_categories,
    paper_links,
    paper_versions,
    papers,
)

# Stay under SQLite's default limit of bound parameters in an IN (...) list.
_IN_CHUNK = 900


@dataclass(slots=True)
class StoredPaper:
    pk: int
    paper: Paper
    content_hash: str


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def find_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, StoredPaper]:
    rows = []
    for chunk in _chunks(list(ids)):
        rows.extend(conn.execute(select(papers).where(papers.c.id.in_(chunk))).mappings().all())
    return {p.paper.id: p for p in _with_children(conn, rows)}


def find_by_title_keys(conn: Connection, keys: Sequence[str]) -> dict[str, StoredPaper]:
    """Papers whose normalised title is one of ``keys`` (the first stored, if several)."""
    rows = []
    for chunk in _chunks(list(keys)):
        query = select(papers).where(papers.c.title_key.in_(chunk)).order_by(papers.c.pk)
        rows.extend(conn.execute(query).mappings().all())
    found: dict[str, StoredPaper] = {}
    for row, stored in zip(rows, _with_children(conn, rows), strict=True):
        found.setdefault(row["title_key"], stored)
    return found


def get_paper(conn: Connection, paper_id: str) -> Paper | None:
    found = find_by_ids(conn, [paper_id])
    return found[paper_id].paper if paper_id in found else None


def _with_children(conn: Connection, rows: Sequence[Any]) -> list[StoredPaper]:
    pks = [row["pk"] for row in rows]
    children = _load_children(conn, pks) if pks else {}
    return [_to_stored(row, children) for row in rows]


def _load_children(conn: Connection, pks: list[int]) -> dict[str, dict[int, list[Any]]]:
    loaded: dict[str, dict[int, list[Any]]] = {t.name: defaultdict(list) for t in CHILD_TABLES}
    order = {
        "paper_authors": paper_authors.c.position,
        "paper_categories": paper_categories.c.position,
        "paper_versions": paper_versions.c.version,
        "paper_links": paper_links.c.kind,
    }
    for table in CHILD_TABLES:
        for chunk in _chunks(pks):
            query = select(table).where(table.c.paper_pk.in_(chunk)).order_by(order[table.name])
            for row in conn.execute(query).mappings():
                loaded[table.name][row["paper_pk"]].append(row)
    return loaded


def _to_stored(row: Any, children: dict[str, dict[int, list[Any]]]) -> StoredPaper:
    pk = row["pk"]
    paper = Paper(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=[r["name"] for r in children["paper_authors"][pk]],
        categories=[r["category"] for r in children["paper_categories"][pk]],
        published=row["published"],
        updated=row["updated"],
        versions=[Version(r["version"], r["created"]) for r in children["paper_versions"][pk]],
        doi=row["doi"],
        journal_ref=row["journal_ref"],
        comment=row["comment"],
        links=[Link(r["kind"], r["url"], r["stars"]) for r in children["paper_links"][pk]],
        featured_day=row["featured_day"],
        submitter=row["submitter"],
        upvotes=row["external_upvotes"],
        first_seen_at=row["first_seen_at"],
    )
    return StoredPaper(pk, paper, row["content_hash"])


def _row(paper: Paper, title_key: str, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "title_key": title_key,
        "published": paper.published,
        "updated": paper.updated,
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
        "primary_category": paper.categories[0] if paper.categories else None,
        "featured_day": paper.featured_day,
        "submitter": paper.submitter,
        "external_upvotes": paper.upvotes,
        "updated_at": now,
        "content_hash": digest,
    }


@dataclass(slots=True)
class PaperWrite:
    """A merged paper to store: ``pk`` is None for a new paper."""

    pk: int | None
    paper: Paper
    title_key: str
    content_hash: str


def write_papers(conn: Connection, writes: Sequence[PaperWrite]) -> None:
    """Insert new papers and update changed ones, replacing their children."""
    now = datetime.now(UTC)
    new = [w for w in writes if w.pk is None]
    changed = [w for w in writes if w.pk is not None]
    if new:
        rows = [
            _row(w.paper, w.title_key, w.content_hash, now) | {"first_seen_at": now} for w in new
        ]
        statement = insert(papers).returning(papers.c.pk, sort_by_parameter_order=True)
        pks = conn.execute(statement, rows).scalars().all()
        for write, pk in zip(new, pks, strict=True):
            write.pk = pk
    if changed:
        rows = [_row(w.paper, w.title_key, w.content_hash, now) | {"b_pk": w.pk} for w in changed]
        conn.execute(update(papers).where(papers.c.pk == bindparam("b_pk")), rows)
        for table in CHILD_TABLES:
            pks = [w.pk for w in changed]
            for chunk in _chunks(pks):
                conn.execute(delete(table).where(table.c.paper_pk.in_(chunk)))
    _insert_children(conn, writes)


def _insert_children(conn: Connection, writes: Sequence[PaperWrite]) -> None:
    authors, categories, versions, links = [], [], [], []
    for write in writes:
        pk, paper = write.pk, write.paper
        authors += [{"paper_pk": pk, "position": i, "name": n} for i, n in enumerate(paper.authors)]
        categories += [
            {"paper_pk": pk, "category": c, "position": i} for i, c in enumerate(paper.categories)
        ]
        versions += [
            {"paper_pk": pk, "version": v.number, "created": v.created} for v in paper.versions
        ]
        links += [
            {"paper_pk": pk, "kind": lk.kind, "url": lk.url, "stars": lk.stars}
            for lk in paper.links
        ]
    for table, rows in (
        (paper_authors, authors),
        (paper_categories, categories),
        (paper_versions, versions),
        (paper_links, links),
    ):
        if rows:
            conn.execute(insert(table), rows)


def count_papers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())


def count_authors(conn: Connection) -> int:
    query = select(func.count(func.distinct(paper_authors.c.name)))
    return int(conn.execute(query).scalar_one())


def latest_papers(conn: Connection, limit: int = 50) -> list[Paper]:
    """The most recently featured or published papers, newest first."""
    day = func.coalesce(papers.c.featured_day, papers.c.published)
    query = select(papers.c.id).order_by(day.desc().nulls_last(), papers.c.pk.desc()).limit(limit)
    ids = list(conn.execute(query).scalars())
    found = find_by_ids(conn, ids)
    return [found[i].paper for i in ids]


def featured_days(conn: Connection) -> list[date]:
    query = select(papers.c.featured_day).where(papers.c.featured_day.is_not(None)).distinct()
    return sorted(conn.execute(query).scalars(), reverse=True)
