"""Read-only queries the pages, feeds and APIs need beyond ``paperfeed.services`` (no writes).

Routes call these, never SQL. Hidden papers (``papers.hidden_at``) never leave this module.
A paper's day is the day it was featured (listed), else the day it was published; its upvotes
are the imported ones plus this site's (``paper_stats.upvotes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, func, or_, select, true

from paperfeed.config import get_settings
from paperfeed.domain import Paper
from paperfeed.rank.trending import decay_factor, decayed, load_terms, why_trending
from paperfeed.store import paper_reads
from paperfeed.store.author_keys import AuthorMatch
from paperfeed.store.community_schema import paper_stats, submissions, users
from paperfeed.store.papers import count_papers, find_by_ids
from paperfeed.store.schema import paper_authors, paper_categories, papers

# A paper's day, visibility and upvotes: the store's one read model (store.paper_reads).
_DAY = paper_reads.DAY
_VISIBLE = paper_reads.VISIBLE
_UPVOTES = paper_reads.UPVOTES
_COMMENTS = func.coalesce(paper_stats.c.comments, 0)
_SCORE = func.coalesce(paper_stats.c.trending_score, 0.0)
_FROM = papers.outerjoin(paper_stats, paper_stats.c.paper_pk == papers.c.pk)
NEW_FOR = timedelta(hours=24)


def on_day(day: date) -> ColumnElement[bool]:
    """Papers whose day is ``day``: the very expression of the ``ix_papers_day`` index
    (migration 0006), so one index range gives the day, however many papers lack a featured
    day (``published`` has no index of its own)."""
    return _DAY == day  # noqa: SIM300 (_DAY is a column expression, not a constant)


def in_days(first: date, last: date) -> ColumnElement[bool]:
    """Papers whose day lies in ``first`` .. ``last`` (both included)."""
    return or_(
        papers.c.featured_day.between(first, last),
        and_(papers.c.featured_day.is_(None), papers.c.published.between(first, last)),
    )


@dataclass(slots=True)
class ListedPaper:
    """One paper in a list: the paper and what the list shows beside it."""

    pk: int
    paper: Paper
    day: date | None
    upvotes: int
    comments: int
    score: float
    terms: dict[str, Any]
    is_new: bool
    voted: bool = False

    @property
    def code_url(self) -> str | None:
        """The code repository's address (web addresses only: data never becomes a script)."""
        url = next((link.url for link in self.paper.links if link.kind == "code"), None)
        return url if url and url.startswith(("https://", "http://")) else None

    @property
    def stars(self) -> int | None:
        return next((link.stars for link in self.paper.links if link.kind == "code"), None)

    @property
    def why(self) -> list[tuple[str, int, float]]:
        return why_trending(self.terms)


@dataclass(slots=True)
class PaperList:
    """One page of a list and how many items the whole list has."""

    items: list[ListedPaper]
    total: int
    page: int
    per_page: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1


def _now() -> datetime:
    return datetime.now(UTC)


def _columns() -> tuple[Any, ...]:
    """What a list item needs from the papers and paper_stats tables."""
    return (
        papers.c.pk,
        papers.c.id,
        _DAY.label("day"),
        _UPVOTES.label("upvotes"),
        _COMMENTS.label("comments"),
        _SCORE.label("score"),
        paper_stats.c.trending_terms,
        paper_stats.c.updated_at.label("scored_at"),
        papers.c.first_seen_at,
    )


def _listed(
    conn: Connection,
    where: ColumnElement[bool],
    order: list[Any],
    offset: int,
    limit: int,
    *,
    include_hidden: bool = False,
) -> list[ListedPaper]:
    visible = true() if include_hidden else _VISIBLE
    query = (
        select(*_columns())
        .select_from(_FROM)
        .where(visible, where)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return _build(conn, conn.execute(query).all())


def _build(conn: Connection, rows: Sequence[Any]) -> list[ListedPaper]:
    """List items from rows of ``_columns()``, with their papers read in one batch."""
    found = find_by_ids(conn, [row.id for row in rows])
    now = _now()
    half_life = get_settings().trending_half_life_hours
    items = []
    for row in rows:
        stored = found.get(row.id)
        if stored is None:  # renamed between the two reads: leave it out of this page
            continue
        seen = row.first_seen_at
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        # The stored score as of now: it has decayed since it was computed.
        stored_terms = load_terms(row.trending_terms)
        # A score "as of" an old day (rank.trending.reference_time) does not decay further.
        factor = 1.0 if "based_on" in stored_terms else decay_factor(row.scored_at, now, half_life)
        score, terms = decayed(float(row.score or 0.0), stored_terms, factor, now)
        items.append(
            ListedPaper(
                pk=row.pk,
                paper=stored.paper,
                day=row.day,
                upvotes=int(row.upvotes or 0),
                comments=int(row.comments or 0),
                score=score,
                terms=terms,
                is_new=seen is not None and now - seen < NEW_FOR,
            )
        )
    return items


def _count(conn: Connection, where: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(_FROM).where(_VISIBLE, where)
    return int(conn.execute(query).scalar_one())


def _page(
    engine: Engine, where: ColumnElement[bool], order: list[Any], page: int, per_page: int
) -> PaperList:
    with engine.connect() as conn:
        total = _count(conn, where)
        items = _listed(conn, where, order, (page - 1) * per_page, per_page)
    return PaperList(items, total, page, per_page)


# Most upvoted first; ties by newest day, then in the order papers came.
_BY_UPVOTES = [_UPVOTES.desc(), _DAY.desc(), papers.c.pk]
_BY_DAY = [_DAY.desc(), _UPVOTES.desc(), papers.c.pk]
# One day's papers: votes, then the trending signal, then the listing's own order (papers are
# stored in the order a listing gives them).
_BY_SIGNAL = [_UPVOTES.desc(), _SCORE.desc(), papers.c.pk]


def in_category(category: str) -> ColumnElement[bool]:
    """Papers listed in ``category`` (primary or cross-listed). A correlated EXISTS: the day's
    ~1,000 papers each probe the (paper, category) key, where an IN list would read every
    paper of a big category (a third of the store for cs.CV)."""
    listed = paper_categories.c.paper_pk == papers.c.pk
    return exists().where(listed, paper_categories.c.category == category)


def day_papers(
    engine: Engine, day: date, page: int = 1, per_page: int = 50, category: str | None = None
) -> PaperList:
    """The papers of one day (of one category, if given): most upvoted, then by trending
    signal, then in listing order."""
    where = on_day(day) if category is None else and_(on_day(day), in_category(category))
    return _page(engine, where, _BY_SIGNAL, page, per_page)


def day_categories(engine: Engine, day: date, limit: int = 12) -> list[tuple[str, int]]:
    """The ``limit`` categories with most papers on ``day``, with their counts, most first."""
    table = paper_categories
    return _top_counts(engine, table.c.category, table.c.paper_pk, on_day(day), limit)


def _top_counts(
    engine: Engine,
    value: ColumnElement[Any],
    paper_pk: ColumnElement[Any],
    where: ColumnElement[bool],
    limit: int,
) -> list[tuple[str, int]]:
    """The ``limit`` values of a paper's child column most common among visible papers that
    match ``where``, each with its number of papers, most first."""
    count = func.count(func.distinct(paper_pk)).label("n")
    query = (
        select(value.label("value"), count)
        .join(papers, papers.c.pk == paper_pk)
        .where(_VISIBLE, where)
        .group_by(value)
        .order_by(count.desc(), value)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(row.value, int(row.n)) for row in conn.execute(query)]


def range_papers(
    engine: Engine, first: date, last: date, page: int = 1, per_page: int = 50
) -> PaperList:
    """The papers of the days ``first`` .. ``last``, most upvoted first."""
    return _page(engine, in_days(first, last), _BY_UPVOTES, page, per_page)


# Trending reads this many candidates beyond the page by stored score, then ranks by score now.
TRENDING_CANDIDATES = 500


def trending_page(
    engine: Engine, page: int = 1, per_page: int = 30, half_life_hours: float | None = None
) -> PaperList:
    """Papers by trending score *now* (see ``_by_score_now``), with their scores and terms
    decayed to now."""
    has_score = paper_stats.c.trending_score > 0
    with engine.connect() as conn:
        total = _count(conn, has_score)
        items = _by_score_now(conn, has_score, (page - 1) * per_page, per_page, half_life_hours)
    return PaperList(items, total, page, per_page)


def _by_score_now(
    conn: Connection,
    where: ColumnElement[bool],
    offset: int,
    limit: int,
    half_life_hours: float | None = None,
) -> list[ListedPaper]:
    """Papers matching ``where`` by trending score *now*: a stored score decays as time passes,
    by the same half-life, until the next recompute refreshes it. Candidates are the best
    stored scores (a stale score is too high, never too low, so no paper that belongs is
    missed); papers without a score follow, in the order they came."""
    half_life = half_life_hours or get_settings().trending_half_life_hours
    want = offset + limit
    query = (
        select(
            papers.c.pk,
            _SCORE.label("score"),
            paper_stats.c.updated_at,
            paper_stats.c.trending_terms.contains('"based_on"').label("as_of_old_day"),
        )
        .select_from(_FROM)
        .where(_VISIBLE, where)
        .order_by(_SCORE.desc(), papers.c.pk)
        .limit(want + TRENDING_CANDIDATES)
    )
    now = _now()
    current = {
        row.pk: float(row.score)
        * (1.0 if row.as_of_old_day else decay_factor(row.updated_at, now, half_life))
        for row in conn.execute(query)
    }
    chosen = sorted(current, key=lambda pk: (-current[pk], pk))[offset:want]
    if not chosen:
        return []
    items = _listed(conn, papers.c.pk.in_(chosen), [papers.c.pk], 0, len(chosen))
    by_pk = {item.pk: item for item in items}  # their scores and terms decayed to now
    return [by_pk[pk] for pk in chosen if pk in by_pk]


def recent_papers(engine: Engine, days: int, limit: int) -> list[ListedPaper]:
    """Papers of the ``days`` latest days that have papers, newest day first (for feeds)."""
    last = latest_day(engine)
    if last is None:
        return []
    with engine.connect() as conn:
        where = in_days(last - timedelta(days=days - 1), last)
        return _listed(conn, where, _BY_DAY, 0, limit)


def daily_api_papers(
    engine: Engine,
    *,
    first: date | None,
    last: date | None,
    submitter: str | None,
    trending: bool,
    offset: int,
    limit: int,
) -> list[ListedPaper]:
    """The Hugging Face-style daily papers list: a day range (or all days), a submitter."""
    conditions: list[ColumnElement[bool]] = [_DAY.is_not(None)]
    if first is not None and last is not None:
        conditions.append(in_days(first, last))
    if submitter:
        by_user = (
            select(submissions.c.paper_pk)
            .join(users, users.c.pk == submissions.c.user_pk)
            .where(func.lower(users.c.username) == submitter.lower())
        )
        conditions.append(
            or_(func.lower(papers.c.submitter) == submitter.lower(), papers.c.pk.in_(by_user))
        )
    with engine.connect() as conn:
        if trending:
            return _by_score_now(conn, and_(*conditions), offset, limit)
        return _listed(conn, and_(*conditions), _BY_DAY, offset, limit)


def _day_bound(conn: Connection, before: date | None, after: date | None) -> date | None:
    """The latest visible day before ``before`` / the earliest after ``after`` (or the latest).
    One end of the ``ix_papers_day`` index, read until a visible paper."""
    query = select(func.max(_DAY) if after is None else func.min(_DAY)).where(
        _VISIBLE, _DAY.is_not(None)
    )
    if before is not None:
        query = query.where(_DAY < before)  # noqa: SIM300 (as in on_day)
    if after is not None:
        query = query.where(_DAY > after)  # noqa: SIM300 (as in on_day)
    value: date | None = conn.execute(query).scalar()
    return value


def latest_day(engine: Engine) -> date | None:
    """The newest day that has a visible paper."""
    with engine.connect() as conn:
        return _day_bound(conn, None, None)


def neighbour_days(engine: Engine, day: date) -> tuple[date | None, date | None]:
    """The nearest earlier and later days that have papers (empty days are skipped)."""
    with engine.connect() as conn:
        return _day_bound(conn, day, None), _day_bound(conn, None, day)


def paper_detail(
    engine: Engine, paper_pk: int, *, include_hidden: bool = False
) -> ListedPaper | None:
    """One paper; a hidden one only for ``include_hidden`` (an admin, who may unhide it)."""
    with engine.connect() as conn:
        where = papers.c.pk == paper_pk
        items = _listed(conn, where, [papers.c.pk], 0, 1, include_hidden=include_hidden)
    return items[0] if items else None


def paper_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return count_papers(conn)


def abstracts(engine: Engine, ids: list[str]) -> dict[str, str]:
    """The abstract of each of ``ids`` that is stored (callers pass a page: ≤ 100 ids)."""
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.id, papers.c.abstract).where(papers.c.id.in_(ids)))
        return {row.id: row.abstract for row in rows}


def listed_by_ids(engine: Engine, ids: list[str]) -> list[ListedPaper]:
    """The visible papers among ``ids``, in the order of ``ids`` (callers pass ≤ 100)."""
    if not ids:
        return []
    with engine.connect() as conn:
        items = _listed(conn, papers.c.id.in_(ids), [papers.c.pk], 0, len(ids))
    by_id = {item.paper.id: item for item in items}
    return [by_id[paper_id] for paper_id in ids if paper_id in by_id]


# Authors (``/authors/{name}``): one normalisation, store.author_keys, the same as search's
# ``author:`` filter, read through the ``name_key`` index (migration 0008).


def author_rows(match: AuthorMatch, key: Any = paper_authors.c.name_key) -> ColumnElement[bool]:
    """``paper_authors`` rows whose key ``match`` names: its own key, or (an initial, a lone
    surname) the keys that start with it at a word boundary, as one index range."""
    if not match.prefix:
        return key == match.key
    # "li" matches "li" and "li yang", not "liu": the prefix ends at a word boundary.
    spaced = match.key + " " if " " not in match.key else match.key
    upper = spaced[:-1] + chr(ord(spaced[-1]) + 1)
    return or_(key == match.key, and_(key >= spaced, key < upper))


def by_author(match: AuthorMatch) -> ColumnElement[bool]:
    """Papers with an author ``match`` names."""
    return papers.c.pk.in_(select(paper_authors.c.paper_pk).where(author_rows(match)))


def author_papers(engine: Engine, match: AuthorMatch, page: int, per_page: int) -> PaperList:
    """The visible papers of the author(s) ``match`` names, newest day first."""
    return _page(engine, by_author(match), _BY_DAY, page, per_page)


def author_slice(
    engine: Engine, match: AuthorMatch, offset: int, limit: int
) -> tuple[int, list[ListedPaper]]:
    """How many visible papers ``match``'s authors have, and ``limit`` of them from ``offset``,
    newest day first (the API's paging by offset)."""
    with engine.connect() as conn:
        where = by_author(match)
        return _count(conn, where), _listed(conn, where, _BY_DAY, offset, limit)


def author_names(engine: Engine, match: AuthorMatch, limit: int = 20) -> list[tuple[str, int]]:
    """The spellings ``match`` covers on visible papers, with their paper counts, most first."""
    table = paper_authors
    return _top_counts(engine, table.c.name, table.c.paper_pk, author_rows(match), limit)


# Co-authors are counted over at most this many of an author's papers (the newest stored).
CO_AUTHOR_PAPERS = 1_000


def co_authors(engine: Engine, match: AuthorMatch, limit: int = 10) -> list[tuple[str, int]]:
    """The ``limit`` authors who share most visible papers with ``match``'s, with the count of
    shared papers (one spelling per key: the first by name), among the author's
    ``CO_AUTHOR_PAPERS`` most recently stored papers: a bounded read however many papers a
    name (a common surname alone) matches."""
    theirs = (
        select(paper_authors.c.paper_pk)
        .where(author_rows(match))
        .order_by(paper_authors.c.paper_pk.desc())
        .limit(CO_AUTHOR_PAPERS)
    )
    other = paper_authors.alias("other")
    count = func.count(func.distinct(other.c.paper_pk)).label("n")
    query = (
        select(func.min(other.c.name).label("name"), count)
        .join(papers, papers.c.pk == other.c.paper_pk)
        .where(_VISIBLE, other.c.paper_pk.in_(theirs), other.c.name_key != "")
        .where(~author_rows(match, other.c.name_key))
        .group_by(other.c.name_key)
        .order_by(count.desc(), func.min(other.c.name))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(row.name, int(row.n)) for row in conn.execute(query)]
