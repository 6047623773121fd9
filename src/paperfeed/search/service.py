"""``search()``: the one entry point the CLI, the site and the API call.

The dense side plugs in through ``retriever``; with none, search is lexical-only and the
results say so (``mode``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine

from paperfeed.search.engine import SORTS, Candidates, DenseRetriever, EngineConfig, Sort
from paperfeed.search.engine import candidates as find_candidates
from paperfeed.search.filters import in_keys, sql_text
from paperfeed.search.lexical import backend_for, query_words
from paperfeed.search.limits import MAX_RESULTS
from paperfeed.search.matches import (
    MatchSql,
    Total,
    among,
    count_visible,
    filter_matches,
    newest_first,
    sorted_page,
    word_matches,
)
from paperfeed.search.query import is_stopword
from paperfeed.search.snippets import Snippet, TermMatcher, make_snippet
from paperfeed.store.paper_reads import STATS_JOIN_SQL, UPVOTES_SQL, VISIBLE_SQL


@dataclass(slots=True)
class SearchResult:
    id: str
    title: str
    authors: list[str]
    published: date | None
    categories: list[str]
    score: float
    snippet: Snippet
    stages: dict[str, Any]  # {"lexical": {"score", "rank"}, "dense": ..., "fused": ...}
    upvotes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "authors": self.authors,
            "published": self.published.isoformat() if self.published else None,
            "categories": self.categories,
            "score": self.score,
            "upvotes": self.upvotes,
            "snippet": self.snippet.as_dict(),
            "stages": self.stages,
        }


@dataclass(slots=True)
class SearchResults:
    query: str
    results: list[SearchResult]
    total: int  # every paper that matches the query under its filters (search.matches)
    limit: int
    offset: int
    sort: Sort
    mode: str  # "hybrid" or "lexical" (no dense retriever configured)
    retrievers: list[str] = field(default_factory=list)
    lexical: dict[str, Any] = field(default_factory=dict)  # what the lexical planner did
    corrected: str | None = None  # the query's words, misspellings corrected (search.spelling)
    total_estimated: bool = False  # ``total`` is an estimate ("about"), EngineConfig says when

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "total_estimated": self.total_estimated,
            "limit": self.limit,
            "offset": self.offset,
            "sort": self.sort,
            "mode": self.mode,
            "retrievers": self.retrievers,
            "lexical": self.lexical,
            "corrected": self.corrected,
            "results": [r.as_dict() for r in self.results],
        }


def search(
    engine_or_conn: Engine | Connection,
    query: str,
    limit: int = 20,
    offset: int = 0,
    sort: Sort = "relevance",
    *,
    retriever: DenseRetriever | None = None,
    config: EngineConfig | None = None,
) -> SearchResults:
    """Search papers; the same function behind the CLI, the site and the API.

    ``total`` is the number of papers that match (``search.matches``), and every offset up to
    it reads the same ordering: by relevance, the fused ranking's head, then the remaining word
    matches by bm25; by date or upvotes, every match in that order.
    """
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return search(conn, query, limit, offset, sort, retriever=retriever, config=config)
    conn = engine_or_conn
    sort = sort if sort in SORTS else "relevance"
    limit, offset = max(0, min(limit, MAX_RESULTS)), max(0, offset)
    config = config or EngineConfig()
    # The head is always as deep, whatever the page: every page then reads one ordering.
    found = find_candidates(conn, query, config.depth, retriever, config)
    head = _visible(conn, found.order)
    match_set = _match_set(conn, found)
    extras = _extras(conn, found, head, match_set)
    counted = (
        count_visible(conn, match_set, config.exact_total_upto)
        if match_set is not None
        else Total(0)
    )
    if (sort == "relevance" and found.parsed.has_text) or match_set is None:
        page = _relevance_page(conn, found, head, match_set, (offset, limit), config)
    else:
        by = "date" if sort == "relevance" else sort  # filters only: newest first
        page = sorted_page(conn, match_set, extras, by, (offset, limit), counted.large)
    meta = _meta(conn, page)
    page = [pk for pk in page if pk in meta]
    return SearchResults(
        query=query,
        results=_results(conn, found, page, meta),
        total=len(extras) + counted.count,
        total_estimated=counted.estimated,
        limit=limit,
        offset=offset,
        sort=sort,
        mode="hybrid" if retriever is not None else "lexical",
        retrievers=found.retrievers,
        lexical=found.lexical.as_dict(),
        corrected=found.corrected,
    )


def _match_set(conn: Connection, found: Candidates) -> MatchSql | None:
    """The papers the query's words (or, with no words, its filters) match; None if neither."""
    if found.parsed.has_text:
        clauses = found.lexical.match
        return word_matches(conn, found.parsed, clauses) if clauses is not None else None
    return filter_matches(conn, found.parsed) if found.parsed.has_filters else None


def _extras(
    conn: Connection, found: Candidates, head: list[int], match_set: MatchSql | None
) -> list[int]:
    """Papers of the head outside the match set (meaning-only hits, pinned, by author)."""
    if match_set is None:
        return head
    lexical = {hit.pk for hit in found.lexical.hits}
    unsure = [pk for pk in head if pk not in lexical]
    inside = among(conn, match_set, unsure)
    return [pk for pk in unsure if pk not in inside]


def _relevance_page(
    conn: Connection,
    found: Candidates,
    head: list[int],
    match_set: MatchSql | None,
    window: tuple[int, int],
    config: EngineConfig,
) -> list[int]:
    """Positions ``offset`` .. ``offset + limit`` of: the head, then the other word matches."""
    offset, limit = window
    if offset + limit <= len(head) or match_set is None:
        return head[offset : offset + limit]
    shown = set(head)
    wanted = offset + limit - len(head)  # tail positions needed
    depth = wanted + len(head)
    while True:
        ranked = _tail(conn, found, match_set, depth, config)
        tail = [pk for pk in _visible(conn, ranked) if pk not in shown]
        if len(tail) >= wanted or len(ranked) < depth:
            break
        depth *= 2  # hidden papers took places: read deeper
    return (head + tail)[offset : offset + limit]


def _tail(
    conn: Connection, found: Candidates, match_set: MatchSql, depth: int, config: EngineConfig
) -> list[int]:
    """The best ``depth`` word matches: by bm25, or newest first when only common words."""
    plan = found.lexical.plan
    if found.lexical.capped or plan is None:
        return newest_first(conn, match_set, depth)
    backend = backend_for(conn, config.lexical)
    return [hit.pk for hit in backend.ranked(conn, plan, found.parsed, depth)]


def _visible(conn: Connection, pks: list[int]) -> list[int]:
    """``pks`` in order, without hidden papers.

    Through the partial index of hidden papers (a handful), not the ~200 candidates' rows: that
    read was ~1 ms a query at 1M papers. SQLite is told to use it (it would rather look up
    each key)."""
    if not pks:
        return []
    among, params = in_keys(conn, "pk", pks)
    index = " INDEXED BY ix_papers_hidden" if conn.dialect.name == "sqlite" else ""
    sql = f"SELECT pk FROM papers{index} WHERE hidden_at IS NOT NULL AND {among}"
    hidden = {int(pk) for pk in conn.execute(sql_text(sql), params).scalars()}
    return [pk for pk in pks if pk not in hidden]


def _meta(conn: Connection, pks: list[int]) -> dict[int, dict[str, Any]]:
    if not pks:
        return {}
    among, params = in_keys(conn, "p.pk", pks)
    sql = (
        # No abstracts here: only the page's are needed (for snippets), fetched in _results.
        # Upvotes: imported (Hugging Face) plus this site's. Hidden papers leave every result.
        "SELECT p.pk, p.id, p.title, p.published, p.featured_day,"
        f" {UPVOTES_SQL} FROM papers p {STATS_JOIN_SQL}"
        f" WHERE {among} AND {VISIBLE_SQL}"
    )
    meta = {}
    for pk, pid, title, published, featured, upvotes in conn.execute(sql_text(sql), params):
        published, featured = _date(published), _date(featured)
        meta[int(pk)] = {
            "id": pid,
            "title": title,
            "published": published,
            "day": featured or published,  # paper_reads.DAY
            "upvotes": int(upvotes or 0),
        }
    return meta


def _results(
    conn: Connection, found: Candidates, page: list[int], meta: dict[int, dict[str, Any]]
) -> list[SearchResult]:
    authors = _children(conn, "paper_authors", "name", page)
    categories = _children(conn, "paper_categories", "category", page)
    abstracts = _abstracts(conn, page)
    matcher = TermMatcher(_highlighted(found))
    results = []
    for pk in page:
        row, stages = meta[pk], _stages(found, pk)
        fused = found.fused.get(pk)
        results.append(
            SearchResult(
                id=row["id"],
                title=row["title"],
                authors=authors.get(pk, []),
                published=row["day"],
                categories=categories.get(pk, []),
                score=round(fused.score, 6) if fused else 0.0,
                snippet=make_snippet(matcher, row["title"], abstracts.get(pk, "")),
                stages=stages,
                upvotes=row["upvotes"],
            )
        )
    return results


def _highlighted(found: Candidates) -> list[str]:
    """The words to mark: common words the lexical planner left out (e.g. "the") are not
    marked, unless nothing else is left."""
    every = query_words(found.parsed) + (found.corrected or "").split()
    # Stopwords ("is", "do") are never marked, unless the query is nothing else.
    every = [w for w in every if not is_stopword(w)] or every
    if found.lexical.capped:
        return every
    dropped = {w for phrase in found.lexical.dropped for w in phrase.split()}
    return [w for w in every if w.casefold() not in dropped]


def _stages(found: Candidates, pk: int) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    if pk in found.pinned:
        stages["pinned"] = found.pinned[pk]
    fused = found.fused.get(pk)
    if fused is not None:
        for name, stage in fused.stages.items():
            stages[name] = {"score": round(stage.score, 6), "rank": stage.rank}
        rank = found.order.index(pk) + 1
        stages["fused"] = {"score": round(fused.score, 6), "rank": rank}
    return stages


def _children(conn: Connection, table: str, column: str, pks: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if not pks:
        return found
    among, params = in_keys(conn, "paper_pk", pks)
    sql = f"SELECT paper_pk, {column} FROM {table} WHERE {among} ORDER BY paper_pk, position"
    for pk, value in conn.execute(sql_text(sql), params).fetchall():
        found[int(pk)].append(value)
    return found


def _abstracts(conn: Connection, pks: list[int]) -> dict[int, str]:
    if not pks:
        return {}
    among, params = in_keys(conn, "pk", pks)
    sql = f"SELECT pk, abstract FROM papers WHERE {among}"
    return {int(pk): abstract for pk, abstract in conn.execute(sql_text(sql), params).fetchall()}


def _date(value: Any) -> date | None:
    # text() queries return SQLite dates as ISO strings and PostgreSQL dates as dates.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
