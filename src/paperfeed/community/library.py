"""Each user's library: papers saved for later, with optional tags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from paperfeed.community.comments import aware
from paperfeed.community.votes import insert_ignoring_duplicates
from paperfeed.domain import Paper
from paperfeed.store.community_schema import library_items, library_tags
from paperfeed.store.engine import write_transaction
from paperfeed.store.papers import find_by_ids
from paperfeed.store.schema import papers

MAX_TAGS = 10
MAX_TAG_CHARS = 64


class TagError(ValueError):
    """Tags that cannot be stored; the message says why."""


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    paper: Paper
    saved_at: datetime
    tags: list[str]


def set_saved(engine: Engine, user_pk: int, paper_pk: int, want: bool | None = None) -> bool:
    """Save (``True``), unsave (``False``) or toggle (``None``); returns whether it is saved."""
    with write_transaction(engine) as conn:
        mine = (library_items.c.user_pk == user_pk) & (library_items.c.paper_pk == paper_pk)
        removal = delete(library_items).where(mine).returning(library_items.c.paper_pk)
        if want is not True and conn.execute(removal).first():
            tags = (library_tags.c.user_pk == user_pk) & (library_tags.c.paper_pk == paper_pk)
            conn.execute(delete(library_tags).where(tags))
            return False
        if want is False:
            return False
        row = {"user_pk": user_pk, "paper_pk": paper_pk, "created_at": datetime.now(UTC)}
        conn.execute(insert_ignoring_duplicates(conn, library_items).values(row))
        return True


def normalise_tag(name: str) -> str:
    """One tag as stored: lower case, each run of spaces inside it one hyphen."""
    return "-".join(name.lower().split())


def tags_from_field(text: str) -> list[str]:
    """Tags from the library form's field, where commas separate tags.

    The field's example says "reading, flow matching", and people used to tagging tools read
    that as two tags, not three. Spaces inside a tag become hyphens ("flow-matching"), as in
    GitHub topics and Stack Overflow tags: a tag still never holds a space (no tag stored
    before could), so old and new tags look alike in /library?tag= links and BibTeX file
    names, and "flow-matching" typed either way is one tag.
    """
    return clean_tags(text.split(","))


def clean_tags(names: Iterable[str]) -> list[str]:
    """The tags ``names`` stand for: normalised, unique, in order; a TagError past the limits."""
    tags = list(dict.fromkeys(tag for tag in map(normalise_tag, names) if tag))
    if len(tags) > MAX_TAGS:
        raise TagError(f"At most {MAX_TAGS} tags per paper.")
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS:
            raise TagError(f"A tag is at most {MAX_TAG_CHARS} characters.")
        # Spaces are hyphens by now, so anything unprintable is a control or invisible
        # character (NUL, which PostgreSQL cannot store; a terminal escape; a bidi override).
        if not tag.isprintable():
            raise TagError("Tags cannot hold control or invisible characters.")
    return tags


def set_tags(engine: Engine, user_pk: int, paper_pk: int, tags: list[str]) -> None:
    """Replace the tags of a saved paper (saving it if it was not)."""
    with write_transaction(engine) as conn:
        row = {"user_pk": user_pk, "paper_pk": paper_pk, "created_at": datetime.now(UTC)}
        conn.execute(insert_ignoring_duplicates(conn, library_items).values(row))
        mine = (library_tags.c.user_pk == user_pk) & (library_tags.c.paper_pk == paper_pk)
        conn.execute(delete(library_tags).where(mine))
        if tags:
            rows = [{"user_pk": user_pk, "paper_pk": paper_pk, "tag": tag} for tag in tags]
            conn.execute(insert(library_tags), rows)


def library(engine: Engine, user_pk: int, tag: str | None = None) -> list[LibraryEntry]:
    """The user's saved papers, most recently saved first (only those tagged ``tag`` if given)."""
    query = (
        select(papers.c.pk, papers.c.id, library_items.c.created_at)
        .join(library_items, library_items.c.paper_pk == papers.c.pk)
        .where(library_items.c.user_pk == user_pk, papers.c.hidden_at.is_(None))
        .order_by(library_items.c.created_at.desc(), papers.c.pk.desc())
    )
    if tag:
        tagged = select(library_tags.c.paper_pk).where(
            library_tags.c.user_pk == user_pk, library_tags.c.tag == tag.lower()
        )
        query = query.where(papers.c.pk.in_(tagged))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        stored = find_by_ids(conn, [row.id for row in rows])
        tag_rows = conn.execute(
            select(library_tags.c.paper_pk, library_tags.c.tag)
            .where(library_tags.c.user_pk == user_pk)
            .order_by(library_tags.c.tag)
        ).all()
    tags: dict[int, list[str]] = {}
    for paper_pk, name in tag_rows:
        tags.setdefault(paper_pk, []).append(name)
    return [
        LibraryEntry(
            stored[row.id].paper, aware(row.created_at) or row.created_at, tags.get(row.pk, [])
        )
        for row in rows
        if row.id in stored
    ]


def user_tags(engine: Engine, user_pk: int) -> list[str]:
    query = (
        select(library_tags.c.tag)
        .where(library_tags.c.user_pk == user_pk)
        .distinct()
        .order_by(library_tags.c.tag)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
