"""What the lexical backends (SQLite FTS5, PostgreSQL full-text) share: clauses, plan, protocol.

User words never reach either query language as syntax: the parser keeps only runs of letters
and digits, FTS5 gets each one inside a double-quoted string, and PostgreSQL gets them as bound
parameters to ``plainto_tsquery``/``phraseto_tsquery`` (or, for title clauses, as a
``to_tsquery`` string built from those letters and digits only). So no input can cause a
syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection

from paperfeed.search.filters import query_filter, sql_text
from paperfeed.search.query import ParsedQuery
from paperfeed.search.types import Hit


@dataclass(frozen=True, slots=True)
class Clause:
    """A word or phrase (``words``), optionally only in the title."""

    words: tuple[str, ...]
    column: str | None = None


@dataclass(frozen=True, slots=True)
class LexicalParams:
    """Tunable lexical settings (the lead tunes weights on a SciFact training split)."""

    title_weight: float = 5.0
    abstract_weight: float = 1.0
    # A word in more documents than this is too costly to score (and says little): ~2 us a
    # posting in bm25 on this machine. 10k, not 5k: at 74,728 papers ordinary topic words pass
    # 5k, and dropping them cost known-item MRR@10 0.64 -> 0.73 (lexical), 0.69 -> 0.75
    # (default); p50 1.7x, p99 1.1-1.5x of 5k. 20k/no cap score higher but cost 3.3x/6.3x at p50
    # (BENCHMARKS.md, "The document-frequency cap (issue 16)"). A fixed cap keeps the cost
    # bounded as the store grows; a cap that is a fraction of the store would not.
    max_term_df: int = 10_000
    # Total postings the scored MATCH may hold: the rarest words are kept until it is spent.
    posting_budget: int = 20_000
    candidate_cap: int = 300  # papers ranked when only common words remain
    fuzzy_max_distance: int = 2
    typo_max_df: int = 3  # a word in at most this many papers may be a typo; look for better


@dataclass(slots=True)
class Plan:
    """The clauses to run: required (AND), optional (OR, scored), excluded (NOT)."""

    required: list[Clause] = field(default_factory=list)
    optional: list[Clause] = field(default_factory=list)
    excluded: list[Clause] = field(default_factory=list)
    common: list[Clause] = field(default_factory=list)  # optional words above max_term_df
    df: dict[Clause, int] = field(default_factory=dict)  # estimated (capped) frequencies
    corrected: dict[str, str] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # corrected words the index lacks

    @property
    def empty(self) -> bool:
        return not (self.required or self.optional or self.common)


class Backend(Protocol):
    posting_cost: float  # relative cost of ranking one match (SQLite FTS5 = 1)

    def count(self, conn: Connection, clause: Clause, limit: int) -> int:
        """Documents matching ``clause``, counted up to ``limit`` (a cheap df estimate)."""
        ...

    def is_indexable(self, conn: Connection, word: str) -> bool:
        """False for a word the index never stores (a stopword)."""
        ...

    def fuzzy(self, conn: Connection, word: str, max_distance: int) -> Clause | None:
        """An indexed word close to an unknown ``word``, if any."""
        ...

    def exclusion(self, clauses: list[Clause]) -> tuple[str, dict[str, Any]]:
        """SQL over ``papers p``, true for a paper with none of ``clauses``."""
        ...

    def ranked(self, conn: Connection, plan: Plan, parsed: ParsedQuery, k: int) -> list[Hit]:
        """Score every match of ``required AND (any optional)`` and return the best ``k``."""
        ...

    def capped(
        self,
        conn: Connection,
        clauses: list[Clause],
        excluded: list[Clause],
        parsed: ParsedQuery,
        k: int,
    ) -> tuple[list[Hit], int]:
        """Rank at most ``candidate_cap`` matching papers; return hits and how many were ranked."""
        ...


def run_hits(conn: Connection, sql: str, params: dict[str, Any]) -> list[Hit]:
    """Run ``sql`` (selecting pk, score) and return its rows as hits."""
    return [Hit(int(pk), float(score)) for pk, score in conn.execute(sql_text(sql), params)]


def filters_for(parsed: ParsedQuery, dialect: str, key: str = "p.pk") -> tuple[str, dict[str, Any]]:
    """The filters as `` AND key IN (...)`` conditions on the papers' key column ``key``."""
    found = query_filter(parsed, dialect)
    return found.sql_on(key), found.params


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning ``limit + 1``) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
