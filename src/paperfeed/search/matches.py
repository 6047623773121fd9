"""Every paper a query matches, as SQL: what totals count, what later pages and sorts read.

A query's matches are the papers its words match (the lexical plan's expression: required
clauses, any optional one, none of the excluded), under its filters; a query of filters only
matches every paper that passes them. The fused ranking's head may hold papers beyond that set
(meaning-only hits above the floor, a paper named by its id, an author's papers): those are
counted once more as "extras". So the total, every page and every sort read one set:
``matches (visible) + extras``, and no paper is repeated or dropped between pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from paperfeed.search.filters import SqlFilter, query_filter
from paperfeed.search.lexical import exclusion_condition
from paperfeed.search.lexical_pg import _Builder as PgBuilder
from paperfeed.search.lexical_sql import Clause
from paperfeed.search.lexical_sqlite import fts_expression
from paperfeed.search.query import ParsedQuery
from paperfeed.store.key_lists import in_keys, sql_text
from paperfeed.store.paper_reads import DAY_SQL, HIDDEN_SQL, STATS_JOIN_SQL, UPVOTES_SQL


@dataclass(frozen=True, slots=True)
class MatchSql:
    """``SELECT pk`` of the matching papers (hidden ones included) and its parameters."""

    sql: str
    params: dict[str, Any]


def word_matches(
    conn: Connection,
    parsed: ParsedQuery,
    clauses: tuple[list[Clause], list[Clause], list[Clause]],
) -> MatchSql:
    """The papers the lexical clauses (required, optional, excluded) match, under the filters."""
    found = query_filter(parsed, conn.dialect.name)
    required, optional, excluded = clauses
    if conn.dialect.name == "sqlite":
        # The index alone, filtered by rowid: joining papers reads every match's row.
        params = found.params | {"match_expr": fts_expression(required, optional, excluded)}
        sql = (
            "SELECT papers_fts.rowid AS pk FROM papers_fts WHERE papers_fts MATCH :match_expr"
            + found.sql_on("+papers_fts.rowid")  # not a constraint for FTS5 (lexical_sqlite)
        )
        return MatchSql(sql, params)
    builder = PgBuilder()
    expression = builder.expression(required, optional, excluded)
    sql = f"SELECT p.pk FROM papers p WHERE p.search_vector @@ {expression}{found.sql}"
    return MatchSql(sql, found.params | builder.params)


def filter_matches(conn: Connection, parsed: ParsedQuery) -> MatchSql:
    """A query of filters only: every paper that passes them (and has no excluded word)."""
    found = query_filter(parsed, conn.dialect.name)
    condition, params = exclusion_condition(conn, parsed)
    if conn.dialect.name == "sqlite" and found.every_set:
        # Driven by the first key set, the others and the exclusion tested by key: no
        # paper's row is read (a row lookup per match was most of a filter's cost).
        first = found.every_set[0]
        rest = (
            SqlFilter(found.sets[1:], {}, found.checked)
            if found.sets
            else SqlFilter([], {}, found.checked[1:])
        )
        excluded = f" AND {condition.replace('p.pk', 'f.pk')}" if condition else ""
        sql = f"SELECT DISTINCT f.pk FROM ({first}) f WHERE 1 = 1{rest.sql_on('f.pk')}{excluded}"
        return MatchSql(sql, found.params | params)
    where = found.sql + (f" AND {condition}" if condition else "")
    return MatchSql(f"SELECT p.pk FROM papers p WHERE 1 = 1{where}", found.params | params)


@dataclass(frozen=True, slots=True)
class Total:
    """How many papers match; ``estimated`` when above ``exact_upto`` and sampled."""

    count: int
    estimated: bool = False

    @property
    def large(self) -> bool:
        """Above ``LARGE``: pages are read by walking the day index, not sorting every match."""
        return self.estimated or self.count > LARGE


# Up to this many matches a page sorts them all (each looked up by key); above, it walks the
# day index newest first and tests each paper, which stops after a page's worth.
LARGE = 10_000
# Newest papers sampled (by key) to estimate a total past ``exact_upto``.
SAMPLE = 50_000


def count_visible(conn: Connection, matches: MatchSql, exact_upto: int | None = None) -> Total:
    """How many matching papers are visible: all of them less the (few) hidden ones.

    With ``exact_upto``, a set larger than that is not counted to its end: its share of the
    newest ``SAMPLE`` papers, scaled to the store, is returned as an estimate.
    """
    if exact_upto is None:
        every = conn.execute(sql_text(f"SELECT count(*) FROM ({matches.sql}) m"), matches.params)
        return Total(int(every.scalar_one()) - len(among(conn, matches, _hidden(conn))))
    capped = f"SELECT count(*) FROM ({matches.sql} LIMIT :count_cap) m"
    found = int(
        conn.execute(sql_text(capped), matches.params | {"count_cap": exact_upto + 1}).scalar_one()
    )
    if found <= exact_upto:
        return Total(found - len(among(conn, matches, _hidden(conn))))
    return Total(max(_estimate(conn, matches), exact_upto + 1), estimated=True)


def _hidden(conn: Connection) -> list[int]:
    """Every hidden paper (a handful), through the partial index of them."""
    index = " INDEXED BY ix_papers_hidden" if conn.dialect.name == "sqlite" else ""
    sql = f"SELECT p.pk FROM papers p{index} WHERE {HIDDEN_SQL}"
    return [int(pk) for pk in conn.execute(sql_text(sql)).scalars()]


def _estimate(conn: Connection, matches: MatchSql) -> int:
    newest = int(conn.execute(sql_text("SELECT max(pk) FROM papers")).scalar() or 0)
    low = max(0, newest - SAMPLE)
    sql = f"SELECT count(*) FROM ({matches.sql}) m WHERE m.pk > :sample_low"
    share = int(conn.execute(sql_text(sql), matches.params | {"sample_low": low}).scalar_one())
    estimate = share * newest / max(newest - low, 1)
    return int(float(f"{estimate:.2g}"))  # two significant figures: "about 31,000"


def among(conn: Connection, matches: MatchSql, pks: list[int]) -> set[int]:
    """Those of ``pks`` that are in the match set."""
    if not pks:
        return set()
    keys, params = in_keys(conn, "m.pk", pks, name="among_keys")
    sql = f"SELECT m.pk FROM ({matches.sql}) m WHERE {keys}"
    return {int(pk) for pk in conn.execute(sql_text(sql), matches.params | params).scalars()}


def sorted_page(
    conn: Connection,
    matches: MatchSql | None,
    extras: list[int],
    sort: str,
    window: tuple[int, int],
    large: bool = False,
) -> list[int]:
    """Visible papers of ``matches`` and ``extras`` by day or by upvotes, newest/most first.

    A small set is read by key and sorted; a ``large`` one by day walks the day index
    (``ix_papers_day``) and tests each paper against the set, stopping after the page.
    """
    offset, limit = window
    if limit <= 0 or (matches is None and not extras):
        return []
    _, params = in_keys(conn, "value", extras, name="extra_keys")  # the keys' parameter
    extra_set = (
        "SELECT value FROM json_each(:extra_keys)"
        if conn.dialect.name == "sqlite"
        else "SELECT unnest(CAST(:extra_keys AS bigint[]))"
    )
    params |= matches.params if matches is not None else {}
    if matches is None:
        member = f"p.pk IN ({extra_set})"
    elif large and sort != "upvotes":
        member = (
            f"(EXISTS (SELECT 1 FROM ({matches.sql}) m WHERE m.pk = p.pk) OR p.pk IN ({extra_set}))"
        )
    else:
        member = f"p.pk IN ({matches.sql} UNION ALL {extra_set})"
    if sort == "upvotes":
        source, order = f"papers p {STATS_JOIN_SQL}", f"{UPVOTES_SQL} DESC, {DAY_SQL} DESC"
    else:
        source, order = "papers p", f"{DAY_SQL} DESC"
    sql = (
        f"SELECT p.pk FROM {source} WHERE p.hidden_at IS NULL AND {member}"
        f" ORDER BY {order}, p.pk DESC LIMIT :page_limit OFFSET :page_offset"
    )
    params |= {"page_limit": limit, "page_offset": offset}
    return [int(pk) for pk in conn.execute(sql_text(sql), params).scalars()]


def newest_first(conn: Connection, matches: MatchSql, k: int) -> list[int]:
    """The ``k`` newest-added matching papers (hidden included): the common-words tail order."""
    sql = f"SELECT m.pk FROM ({matches.sql}) m ORDER BY m.pk DESC LIMIT :tail_k"
    rows = conn.execute(sql_text(sql), matches.params | {"tail_k": k}).scalars()
    return [int(pk) for pk in rows]
