"""Lexical retrieval: plan a parsed query against document frequencies, then run it.

The trap this module exists to avoid (measured): FTS5's bm25 scores every posting of every
term in the MATCH, and first counts each term's documents with a full pass over its doclist,
so one very common word ("model", "the") cost ~0.8 s at p99 on 1M papers. So:

* each optional word's document frequency is estimated with a count that stops at
  ``max_term_df`` (cheap: it reads at most that many postings);
* words above it are dropped from the scored MATCH while rarer words remain;
* a query left with only common words is answered from a capped candidate set (the newest
  ``candidate_cap`` papers containing them, titles first) ranked without bm25;
* a word with no documents at all (a misspelling) is replaced by the closest indexed word;
* the verdict "common" is remembered per database (``DocumentCounts``): the same few hundred
  common words recur in most queries, and each of their counts reads ``max_term_df`` postings.

Backends (SQLite FTS5 in ``lexical_sqlite``, PostgreSQL tsvector in ``lexical_pg``) share the
pieces in ``lexical_sql`` (clauses, the plan, the backend protocol); this module only plans
and picks the backend.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from paperfeed.search.filters import allowed_pks, sql_text
from paperfeed.search.lexical_pg import PostgresBackend
from paperfeed.search.lexical_sql import Backend, Clause, LexicalParams, Plan
from paperfeed.search.lexical_sqlite import SqliteBackend
from paperfeed.search.query import ParsedQuery, is_stopword, words
from paperfeed.search.types import Hit

_FILTER_DEPTH = 4  # unfiltered candidates ranked per wanted hit before filtering
_COMMON_REMEMBERED = 4096  # (database, clause) verdicts kept, least recently used dropped


@dataclass(slots=True)
class LexicalResult:
    """Lexical hits, best first, and what the planner did to get them."""

    hits: list[Hit]
    capped: bool = False
    scored: int | None = None  # papers ranked on the capped path
    dropped: tuple[str, ...] = ()  # common words left out of the scored MATCH
    corrected: dict[str, str] = field(default_factory=dict)  # misspelt word -> word used
    # Those of ``corrected`` the index does not hold at all (surely misspelt: a rare word with
    # a common neighbour may be a real term, and stays as typed outside the lexical stage).
    unknown: frozenset[str] = frozenset()
    # Every paper the query's words match is ``required AND (any optional) NOT excluded``
    # (search.matches counts and pages through them); ``plan`` ranks them by bm25 when not
    # capped. None when nothing can match.
    plan: Plan | None = None

    @property
    def match(self) -> tuple[list[Clause], list[Clause], list[Clause]] | None:
        if self.plan is None:
            return None
        if self.capped:  # only common words: the papers with every one of them
            return self.plan.required + self.plan.common, [], self.plan.excluded
        return self.plan.required, self.plan.optional, self.plan.excluded

    def as_dict(self) -> dict[str, object]:
        return {
            "capped": self.capped,
            "scored": self.scored,
            "dropped": list(self.dropped),
            "corrected": dict(self.corrected),
        }


def lexical_search(
    conn: Connection, parsed: ParsedQuery, k: int, params: LexicalParams | None = None
) -> LexicalResult:
    """The ``k`` best papers for the query's text, with its filters applied in SQL."""
    params = params or LexicalParams()
    backend = backend_for(conn, params)
    counts = DocumentCounts(conn, backend, params.max_term_df)
    plan = make_plan(conn, backend, parsed, params, counts)
    unknown = frozenset(plan.unknown)
    if plan.empty:
        return LexicalResult([], corrected=plan.corrected, unknown=unknown)
    dropped = tuple(" ".join(c.words) for c in plan.common)
    if plan.optional or any(not counts.is_common(c) for c in plan.required):
        hits = _ranked(conn, backend, plan, parsed, k)
        return LexicalResult(hits, False, None, dropped, plan.corrected, unknown, plan)
    everything = plan.required + plan.common
    hits, scored = backend.capped(conn, everything, plan.excluded, parsed, k)
    return LexicalResult(hits, True, scored, dropped, plan.corrected, unknown, plan)


def backend_for(conn: Connection, params: LexicalParams) -> Backend:
    if conn.dialect.name == "sqlite":
        return SqliteBackend(params)
    return PostgresBackend(params)


def _ranked(
    conn: Connection, backend: Backend, plan: Plan, parsed: ParsedQuery, k: int
) -> list[Hit]:
    """bm25 ranking, filters applied after the index when that is enough.

    Joining papers to every match to filter it was measured 7-10x slower than the index
    alone, so first rank without the filters (a few times ``k`` deep) and filter those; only
    when too few pass (a selective filter) rank again with the filters in the SQL.
    """
    unfiltered = replace(parsed, authors=(), categories=(), dates=None, has_code=False)
    if unfiltered == parsed:
        return backend.ranked(conn, plan, parsed, k)
    hits = backend.ranked(conn, plan, unfiltered, k * _FILTER_DEPTH)
    allowed = allowed_pks(conn, parsed, [h.pk for h in hits], ("", {}))
    kept = [h for h in hits if h.pk in allowed]
    if len(kept) >= k or len(hits) < k * _FILTER_DEPTH:  # enough, or every match was seen
        return kept[:k]
    return backend.ranked(conn, plan, parsed, k)


class DocumentCounts:
    """Documents per clause, counted up to ``max_df + 1`` (``Backend.count``), for one query.

    A clause found above ``max_df`` is remembered as common across queries: while papers are
    only added its count can only grow, so the verdict holds until the newest paper's key goes
    down (the store was reset, or papers deleted). Rarer counts stop at the clause's last
    posting, so they are cheap, and are asked afresh every time.
    """

    _common: OrderedDict[tuple[str, Clause, int], int] = OrderedDict()  # -> newest pk then
    _lock = threading.Lock()

    def __init__(self, conn: Connection, backend: Backend, max_df: int) -> None:
        self.conn, self.backend, self.max_df = conn, backend, max_df
        self.database = str(conn.engine.url)
        self._newest: int | None = None

    def __call__(self, clause: Clause) -> int:
        key = (self.database, clause, self.max_df)
        with self._lock:
            seen = self._common.get(key)
            if seen is not None:
                self._common.move_to_end(key)
        if seen is not None and seen <= self.newest():
            return self.max_df + 1
        found = self.backend.count(self.conn, clause, self.max_df + 1)
        if found > self.max_df:
            with self._lock:
                self._common[key] = self.newest()
                while len(self._common) > _COMMON_REMEMBERED:
                    self._common.popitem(last=False)
        return found

    def is_common(self, clause: Clause) -> bool:
        return self(clause) > self.max_df

    def newest(self) -> int:
        if self._newest is None:
            found = self.conn.execute(sql_text("SELECT max(pk) FROM papers")).scalar()
            self._newest = int(found or 0)
        return self._newest

    @classmethod
    def forget(cls) -> None:
        """Drop every remembered verdict (benchmarks measure the first query of a word)."""
        with cls._lock:
            cls._common.clear()


def make_plan(
    conn: Connection,
    backend: Backend,
    parsed: ParsedQuery,
    params: LexicalParams,
    counts: DocumentCounts,
) -> Plan:
    """Sort the query's words into required, optional, common and excluded clauses."""
    plan = Plan()
    plan.required += [Clause(tuple(p.split())) for p in parsed.phrases]
    plan.required += [Clause(tuple(t.split()), column="title") for t in parsed.title]
    plan.excluded += [Clause(tuple(e.split())) for e in parsed.excluded]
    for word in dict.fromkeys(w.casefold() for w in parsed.terms):
        if is_stopword(word):  # "how", "do", "is": never required, scored or highlighted
            plan.common.append(Clause((word,)))
            continue
        _place_word(conn, backend, plan, word, params, counts)
    _spend_budget(plan, int(params.posting_budget / backend.posting_cost))
    return plan


def _spend_budget(plan: Plan, budget: int) -> None:
    """Keep the rarest optional words (always at least one) within the posting budget."""
    kept: list[Clause] = []
    spent = 0
    for clause in sorted(plan.optional, key=lambda c: plan.df.get(c, 0)):
        spent += plan.df.get(clause, 0)
        if kept and spent > budget:
            plan.common.append(clause)
        else:
            kept.append(clause)
    plan.optional = kept


def _place_word(
    conn: Connection,
    backend: Backend,
    plan: Plan,
    word: str,
    params: LexicalParams,
    counts: DocumentCounts,
) -> None:
    clause = Clause((word,))
    df = counts(clause)
    if df > params.max_term_df:
        plan.common.append(clause)
        return
    plan.df[clause] = df
    if df > 0:
        plan.optional.append(clause)
    if df > params.typo_max_df or len(word) <= 3 or word.isdigit():
        return
    if df == 0 and not backend.is_indexable(conn, word):
        return  # a stopword the index never stores, not a typo
    # Unknown or nearly unknown (real abstracts contain typos too: "transfomer" is indexed):
    # most likely misspelt, so also search for the nearest well-attested indexed word.
    fixed = backend.fuzzy(conn, word, params.fuzzy_max_distance)
    if fixed is not None and fixed.words != (word,):
        fixed_df = counts(fixed)
        if fixed_df > df * 10:
            plan.corrected[word] = " ".join(fixed.words)
            if df == 0:
                plan.unknown.add(word)
            plan.df[fixed] = fixed_df
            bucket = plan.common if fixed_df > params.max_term_df else plan.optional
            bucket.append(fixed)


def query_words(parsed: ParsedQuery) -> list[str]:
    """Every positive word of the query (for highlighting)."""
    return [w for text in (*parsed.terms, *parsed.phrases, *parsed.title) for w in words(text)]


def exclusion_condition(conn: Connection, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
    """SQL over ``papers p`` true for a paper with none of the query's excluded words."""
    if not parsed.excluded:
        return "", {}
    clauses = [Clause(tuple(e.split())) for e in parsed.excluded]
    return backend_for(conn, LexicalParams()).exclusion(clauses)
