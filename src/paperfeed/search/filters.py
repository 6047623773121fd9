"""SQL for a query's filters (author, category, date range, has:code) over ``papers p``.

Shared by the lexical backends (filters go into the retrieval SQL, so a filtered query still
fills its page) and by the engine (candidates from other retrievers are checked the same way).
Every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from paperfeed.search.query import ParsedQuery
from paperfeed.store.key_lists import in_keys, sql_text
from paperfeed.store.paper_reads import DAY_SQL

# The day a paper is filtered and sorted by: the store's read model (featured, else published),
# the same day the pages show.
PAPER_DATE = DAY_SQL


@dataclass(slots=True)
class SqlFilter:
    """``AND``-joined SQL conditions over ``papers p`` and their bound parameters."""

    conditions: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, condition: str, **params: Any) -> None:
        self.conditions.append(condition)
        self.params.update(params)

    @property
    def sql(self) -> str:
        """`` AND ...`` to append to a WHERE clause ('' when there are no conditions)."""
        return "".join(f" AND {c}" for c in self.conditions)


def like_pattern(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, its own % and _ taken literally."""
    escaped = value.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def query_filter(parsed: ParsedQuery, dialect: str) -> SqlFilter:
    """The filter conditions of ``parsed`` (exclusions are the backends' job)."""
    result = SqlFilter()
    for i, name in enumerate(parsed.authors):
        result.add(
            "EXISTS (SELECT 1 FROM paper_authors a WHERE a.paper_pk = p.pk"
            f" AND lower(a.name) LIKE :author{i} ESCAPE '\\')",
            **{f"author{i}": like_pattern(name)},
        )
    for i, category in enumerate(parsed.categories):
        # "cat:cs" means every cs.* category; matching is case-insensitive (cs.cl = cs.CL).
        result.add(
            "EXISTS (SELECT 1 FROM paper_categories c WHERE c.paper_pk = p.pk"
            f" AND (lower(c.category) = :cat{i} OR lower(c.category) LIKE :catp{i} ESCAPE '\\'))",
            **{f"cat{i}": category.casefold(), f"catp{i}": like_pattern(category)[1:-1] + ".%"},
        )
    if parsed.dates is not None:
        _dates(result, parsed, dialect)
    if parsed.has_code:
        result.add(
            "EXISTS (SELECT 1 FROM paper_links l WHERE l.paper_pk = p.pk AND l.kind = 'code')"
        )
    return result


def _dates(result: SqlFilter, parsed: ParsedQuery, dialect: str) -> None:
    assert parsed.dates is not None
    # SQLite stores dates as ISO text, which compares in date order.
    convert = (lambda d: d.isoformat()) if dialect == "sqlite" else (lambda d: d)
    if parsed.dates.start is not None:
        result.add(f"{PAPER_DATE} >= :date_start", date_start=convert(parsed.dates.start))
    if parsed.dates.end is not None:
        result.add(f"{PAPER_DATE} <= :date_end", date_end=convert(parsed.dates.end))


def allowed_pks(
    conn: Connection, parsed: ParsedQuery, pks: list[int], exclusion: tuple[str, dict[str, Any]]
) -> set[int]:
    """The subset of ``pks`` that passes the query's filters and exclusions.

    ``exclusion`` is the backend's SQL condition (over ``p``) that is true for a paper with
    none of the excluded words; candidates from other retrievers (dense, author, pinned) are
    checked with it, lexical ones already were.
    """
    if not pks:
        return set()
    found = query_filter(parsed, conn.dialect.name)
    condition, params = exclusion
    if condition:
        found.add(condition, **params)
    among, keys = in_keys(conn, "p.pk", pks)
    params = found.params | keys
    sql = f"SELECT p.pk FROM papers p WHERE {among}{found.sql}"
    return {int(pk) for pk in conn.execute(sql_text(sql), params).scalars()}
