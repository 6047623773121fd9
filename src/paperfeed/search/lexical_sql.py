"""The lexical backends: SQLite FTS5 and PostgreSQL full-text, behind one small protocol.

User words never reach either query language as syntax: the parser keeps only runs of letters
and digits, FTS5 gets each one inside a double-quoted string, and PostgreSQL gets them as bound
parameters to ``plainto_tsquery``/``phraseto_tsquery`` (or, for title clauses, as a
``to_tsquery`` string built from those letters and digits only). So no input can cause a
syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from paperfeed.search.filters import query_filter, sql_text
from paperfeed.search.query import ParsedQuery
from paperfeed.search.types import Hit

if TYPE_CHECKING:
    from paperfeed.search.lexical import LexicalParams, Plan


@dataclass(frozen=True, slots=True)
class Clause:
    """A word or phrase (``words``), optionally only in the title."""

    words: tuple[str, ...]
    column: str | None = None


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


def backend_for(conn: Connection, params: LexicalParams) -> Backend:
    from paperfeed.search.lexical_pg import PostgresBackend
    from paperfeed.search.lexical_sqlite import SqliteBackend

    if conn.dialect.name == "sqlite":
        return SqliteBackend(params)
    return PostgresBackend(params)


def run_hits(conn: Connection, sql: str, params: dict[str, Any]) -> list[Hit]:
    """Run ``sql`` (selecting pk, score) and return its rows as hits."""
    return [Hit(int(pk), float(score)) for pk, score in conn.execute(sql_text(sql), params)]


def filters_for(parsed: ParsedQuery, dialect: str) -> tuple[str, dict[str, Any]]:
    found = query_filter(parsed, dialect)
    return found.sql, found.params


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
