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
from paperfeed.store.author_keys import author_match
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


def query_filter(parsed: ParsedQuery, dialect: str) -> SqlFilter:
    """The filter conditions of ``parsed`` (exclusions are the backends' job).

    Author and category conditions are ``p.pk IN (SELECT paper_pk ...)`` over their indexes,
    so a selective filter is read from its index instead of testing every paper.
    """
    result = SqlFilter()
    for i, name in enumerate(parsed.authors):
        _author(result, i, name)
    for i, category in enumerate(parsed.categories):
        _category(result, i, category)
    if parsed.dates is not None:
        _dates(result, parsed, dialect)
    if parsed.has_code:
        result.add(
            "EXISTS (SELECT 1 FROM paper_links l WHERE l.paper_pk = p.pk AND l.kind = 'code')"
        )
    return result


def _author(result: SqlFilter, i: int, name: str) -> None:
    """One normalisation (``store.author_keys``): a full name matches only its own key, an
    initial or a lone surname every key with that prefix (an index range, then LIKE to be
    exact whatever the database's collation)."""
    match = author_match(name)
    if match is None:
        result.add("1 = 0")  # parse_query keeps only values with words; never matches
        return
    inner = "SELECT a.paper_pk FROM paper_authors a WHERE "
    if not match.prefix:
        result.add(f"p.pk IN ({inner}a.name_key = :author{i})", **{f"author{i}": match.key})
        return
    # "li" matches "li" and "li yang" but not "liu": the prefix ends at a word boundary.
    condition = (
        f"a.name_key = :author{i} OR (a.name_key >= :author_lo{i}"
        f" AND a.name_key < :author_hi{i} AND a.name_key LIKE :author_like{i})"
    )
    spaced = match.key + " " if len(match.key.split()) == 1 else match.key
    result.add(
        f"p.pk IN ({inner}{condition})",
        **{
            f"author{i}": match.key,
            f"author_lo{i}": spaced,
            f"author_hi{i}": spaced[:-1] + chr(ord(spaced[-1]) + 1),
            f"author_like{i}": spaced + "%",
        },
    )


def _category(result: SqlFilter, i: int, category: str) -> None:
    """``cat:cs.CL`` (any case) is that category; ``cat:cs`` every ``cs.*`` category.

    Compared as stored (arXiv's own case) through the category index: the spellings the
    value may stand for are looked up, rather than lower() over every row.
    """
    archive, _, subject = category.partition(".")
    spellings = {category, category.casefold()}
    if subject:
        spellings |= {f"{archive.casefold()}.{subject.upper()}", f"{archive.casefold()}.{subject}"}
    else:
        spellings.add(category.casefold())
    marks = ", ".join(f":cat{i}_{j}" for j in range(len(spellings)))
    params = {f"cat{i}_{j}": v for j, v in enumerate(sorted(spellings))}
    condition = f"c.category IN ({marks})"
    if not subject:
        prefix = category.casefold() + "."
        # The range reads the index; LIKE keeps it exact under any collation.
        condition += (
            f" OR (c.category >= :catlo{i} AND c.category < :cathi{i}"
            f" AND c.category LIKE :catlike{i} ESCAPE '\\')"
        )
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params |= {f"catlo{i}": prefix, f"cathi{i}": prefix[:-1] + "/", f"catlike{i}": like}
    result.add(f"p.pk IN (SELECT c.paper_pk FROM paper_categories c WHERE {condition})", **params)


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
