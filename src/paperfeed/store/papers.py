"""Paper repository: read papers with their children, and write merged papers in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select

from paperfeed.domain import Link, Paper, Version
from paperfeed.store.author_keys import author_key
from paperfeed.store.bulk import BulkWriter, writer_for
from paperfeed.store.key_lists import in_texts, sql_text
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
    condition, params = in_texts(conn, "papers.id", ids, "ids")
    rows = conn.execute(select(papers).where(sql_text(condition)), params).mappings().all()
    return {p.paper.id: p for p in _with_children(conn, rows)}


@dataclass(slots=True)
class StoredHead:
    """What ingest needs to know of a stored paper before deciding whether to read all of it."""

    pk: int
    title_key: str
    content_hash: str


def find_heads(conn: Connection, ids: Sequence[str]) -> dict[str, StoredHead]:
    """Key, title key and content hash of the stored papers among ``ids`` (no children read)."""
    condition, params = in_texts(conn, "id", ids, "ids")
    query = sql_text(f"SELECT id, pk, title_key, content_hash FROM papers WHERE {condition}")
    return {
        paper_id: StoredHead(pk, key, digest)
        for paper_id, pk, key, digest in conn.execute(query, params)
    }


def find_by_title_keys(
    conn: Connection, keys: Sequence[str], *, id_prefix: str | None = None
) -> dict[str, StoredPaper]:
    """Papers whose normalised title is one of ``keys`` (the first stored, if several);
    ``id_prefix``: only papers whose id starts with it."""
    condition, params = in_texts(conn, "papers.title_key", keys, "title_keys")
    query = select(papers).where(sql_text(condition)).order_by(papers.c.pk)
    if id_prefix is not None:
        query = query.where(_id_starts_with(conn, id_prefix))
    rows = conn.execute(query, params).mappings().all()
    first: dict[str, Any] = {}
    for row in rows:
        first.setdefault(row["title_key"], row)
    # Children only for the paper each key resolves to, not for every paper sharing a title.
    chosen = list(first.values())
    return {
        row["title_key"]: stored
        for row, stored in zip(chosen, _with_children(conn, chosen), strict=True)
    }


def _id_starts_with(conn: Connection, prefix: str) -> Any:
    if conn.dialect.name == "sqlite":
        # A range on the unique id index (SQLite's LIKE is case-blind and cannot use it): a
        # bulk load that deferred the title index reads the few papers of the prefix instead
        # of every paper. (Byte order makes this exact; PostgreSQL's collations would not.)
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return (papers.c.id >= prefix) & (papers.c.id < after)
    return papers.c.id.startswith(prefix, autoescape=True)


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


def encode_keywords(keywords: list[str]) -> str | None:
    """The ai_keywords column's text: a JSON array, NULL for none (most papers)."""
    return orjson.dumps(keywords).decode() if keywords else None


def decode_keywords(stored: str | None) -> list[str]:
    return [str(word) for word in orjson.loads(stored)] if stored else []


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
        ai_summary=row["ai_summary"],
        ai_keywords=decode_keywords(row["ai_keywords"]),
    )
    return StoredPaper(pk, paper, row["content_hash"])


_PAPER_COLUMNS = (
    "id",
    "title",
    "abstract",
    "title_key",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comment",
    "primary_category",
    "featured_day",
    "submitter",
    "external_upvotes",
    "ai_summary",
    "ai_keywords",
    "content_hash",  # last: PaperRows.content_hash reads it there
)
_CHILD_COLUMNS = {
    paper_authors: ("paper_pk", "position", "name", "name_key"),
    paper_categories: ("paper_pk", "category", "position"),
    paper_versions: ("paper_pk", "version", "created"),
    paper_links: ("paper_pk", "kind", "url", "stars"),
}
DayEncoder = Callable[[date | None], Any]


def iso_day(value: date | None) -> str | None:
    """Dates as ISO text: what SQLite stores, and what PostgreSQL's COPY reads."""
    return None if value is None else value.isoformat()


@dataclass(slots=True)
class PaperRows:
    """A paper's rows without its key: ``paper`` in _PAPER_COLUMNS order, each child row in
    _CHILD_COLUMNS order less ``paper_pk``. Built from a merged paper, or ahead of the database
    (ingest's parser process builds them for the papers a bulk load will most likely add)."""

    paper: tuple[Any, ...]
    authors: list[tuple[Any, ...]]
    categories: list[tuple[Any, ...]]
    versions: list[tuple[Any, ...]]
    links: list[tuple[Any, ...]]

    @property
    def content_hash(self) -> str:
        return str(self.paper[-1])


def paper_rows(paper: Paper, title_key: str, digest: str, day: DayEncoder) -> PaperRows:
    row = (
        paper.id,
        paper.title,
        paper.abstract,
        title_key,
        day(paper.published),
        day(paper.updated),
        paper.doi,
        paper.journal_ref,
        paper.comment,
        paper.categories[0] if paper.categories else None,
        day(paper.featured_day),
        paper.submitter,
        paper.upvotes,
        paper.ai_summary,
        encode_keywords(paper.ai_keywords),
        digest,
    )
    return PaperRows(
        row,
        [(i, name, author_key(name)) for i, name in enumerate(paper.authors)],
        [(c, i) for i, c in enumerate(paper.categories)],
        [(v.number, day(v.created)) for v in paper.versions],
        [(link.kind, link.url, link.stars) for link in paper.links],
    )


@dataclass(slots=True)
class PaperWrite:
    """A merged paper to store: ``pk`` is None for a new paper."""

    pk: int | None
    paper: Paper
    title_key: str
    content_hash: str
    # False when title and abstract are as stored: the update then leaves them out, so the
    # lexical index (kept by an AFTER UPDATE OF title, abstract trigger) is not rewritten.
    text_changed: bool = True


def write_papers(
    conn: Connection, writes: Sequence[PaperWrite], new_rows: Sequence[PaperRows] = ()
) -> None:
    """Insert new papers and update changed ones, replacing their children; ``new_rows`` are
    more new papers, given as rows."""
    writer = writer_for(conn)
    now = writer.moment(datetime.now(UTC))

    def rows_of(write: PaperWrite) -> PaperRows:
        return paper_rows(write.paper, write.title_key, write.content_hash, writer.day)

    changed = [(w, rows_of(w)) for w in writes if w.pk is not None]
    new = [w for w in writes if w.pk is None]
    inserted = [rows_of(w) for w in new] + list(new_rows)
    pks = writer.reserve_pks(papers, len(inserted)) if inserted else []
    for write, pk in zip(new, pks, strict=False):
        write.pk = pk
    if inserted:
        columns = ("pk", *_PAPER_COLUMNS, "updated_at", "first_seen_at")
        writer.insert(
            papers, columns, [(pk, *r.paper, now, now) for pk, r in zip(pks, inserted, strict=True)]
        )
    if changed:
        _update(writer, changed, now)
        for table in CHILD_TABLES:
            for chunk in _chunks([w.pk for w, _ in changed]):
                conn.execute(delete(table).where(table.c.paper_pk.in_(chunk)))
    keyed = [(w.pk, r) for w, r in changed] + list(zip(pks, inserted, strict=True))
    _insert_children(writer, keyed)


_NON_TEXT = tuple(i for i, name in enumerate(_PAPER_COLUMNS) if name not in ("title", "abstract"))


def _update(writer: BulkWriter, changed: Sequence[tuple[PaperWrite, PaperRows]], now: Any) -> None:
    """Update changed papers, their title and abstract only where those changed."""
    with_text = [(*r.paper, now, w.pk) for w, r in changed if w.text_changed]
    writer.update(papers, (*_PAPER_COLUMNS, "updated_at"), "pk", with_text)
    same_text = [
        (*(r.paper[i] for i in _NON_TEXT), now, w.pk) for w, r in changed if not w.text_changed
    ]
    columns = (*(_PAPER_COLUMNS[i] for i in _NON_TEXT), "updated_at")
    writer.update(papers, columns, "pk", same_text)


def _insert_children(writer: BulkWriter, keyed: Sequence[tuple[Any, PaperRows]]) -> None:
    for table, rows_of in (
        (paper_authors, lambda r: r.authors),
        (paper_categories, lambda r: r.categories),
        (paper_versions, lambda r: r.versions),
        (paper_links, lambda r: r.links),
    ):
        rows = [(pk, *row) for pk, r in keyed for row in rows_of(r)]
        writer.insert(table, _CHILD_COLUMNS[table], rows)


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
