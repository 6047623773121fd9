"""SQL for a query's filters (author, category, date range, has:code) as sets of paper keys.

Each filter is a subquery selecting the keys of the papers that pass it, read from its own
index (author keys, categories, the day index, code links) without reading any paper's row;
a condition is "key IN (that set)". So the lexical backends filter FTS5 matches by rowid
(no join to ``papers``), a query of filters only intersects the sets, and candidates from
other retrievers are checked the same way. Every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from paperfeed.search.query import ParsedQuery
from paperfeed.store.author_keys import author_match
from paperfeed.store.key_lists import in_keys, sql_text
from paperfeed.store.paper_reads import DAY_SQL, day_sql

# The day a paper is filtered and sorted by: the store's read model (featured, else published),
# the same day the pages show.
PAPER_DATE = DAY_SQL


@dataclass(slots=True)
class SqlFilter:
    """Sets of paper keys (subqueries selecting ``pk``) that a paper must all be in."""

    sets: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    # Sets tested one key at a time (a lookup per key) rather than read whole: a date range
    # may hold most of the store, so it is checked on the keys the other sets let through.
    checked: list[str] = field(default_factory=list)

    def add(self, subquery: str, **params: Any) -> None:
        self.sets.append(subquery)
        self.params.update(params)

    def check(self, subquery: str, **params: Any) -> None:
        """A set tested per key (see ``checked``)."""
        self.checked.append(subquery)
        self.params.update(params)

    @property
    def conditions(self) -> list[str]:
        return [f"p.pk IN ({s})" for s in self.sets + self.checked]

    @property
    def every_set(self) -> list[str]:
        """The sets, those read whole first (the cheaper to start from)."""
        return self.sets + self.checked

    def sql_on(self, key: str) -> str:
        """`` AND key IN (...)`` for each set, to append to a WHERE clause ('' for none)."""
        whole = "".join(f" AND {key} IN ({s})" for s in self.sets)
        return whole + "".join(
            f" AND EXISTS (SELECT 1 FROM ({s}) z WHERE z.pk = {key})" for s in self.checked
        )

    @property
    def sql(self) -> str:
        """The conditions over ``papers p``."""
        return self.sql_on("p.pk")


def query_filter(parsed: ParsedQuery, dialect: str) -> SqlFilter:
    """The filter sets of ``parsed`` (exclusions are the backends' job)."""
    result = SqlFilter()
    for i, name in enumerate(parsed.authors):
        _author(result, i, name)
    for i, category in enumerate(parsed.categories):
        _category(result, i, category)
    if parsed.dates is not None:
        _dates(result, parsed, dialect)
    if parsed.has_code:
        result.add("SELECT l.paper_pk AS pk FROM paper_links l WHERE l.kind = 'code'")
    return result


def _author(result: SqlFilter, i: int, name: str) -> None:
    """One normalisation (``store.author_keys``): a full name matches only its own key, an
    initial or a lone surname every key with that prefix (an index range, then LIKE to be
    exact whatever the database's collation)."""
    match = author_match(name)
    inner = "SELECT a.paper_pk AS pk FROM paper_authors a WHERE "
    if match is None:
        result.add(inner + "1 = 0")  # parse_query keeps only values with words; never matches
        return
    if not match.prefix:
        result.add(f"{inner}a.name_key = :author{i}", **{f"author{i}": match.key})
        return
    # "li" matches "li" and "li yang" but not "liu": the prefix ends at a word boundary.
    condition = (
        f"a.name_key = :author{i} OR (a.name_key >= :author_lo{i}"
        f" AND a.name_key < :author_hi{i} AND a.name_key LIKE :author_like{i})"
    )
    spaced = match.key + " " if len(match.key.split()) == 1 else match.key
    result.add(
        inner + condition,
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
    result.add(f"SELECT c.paper_pk AS pk FROM paper_categories c WHERE {condition}", **params)


def _dates(result: SqlFilter, parsed: ParsedQuery, dialect: str) -> None:
    """Papers whose day is in the range: a range of the day index (it holds the keys)."""
    assert parsed.dates is not None
    # SQLite stores dates as ISO text, which compares in date order.
    convert = (lambda d: d.isoformat()) if dialect == "sqlite" else (lambda d: d)
    bounds, params = [], {}
    if parsed.dates.start is not None:
        bounds.append(f"{day_sql('d')} >= :date_start")
        params["date_start"] = convert(parsed.dates.start)
    if parsed.dates.end is not None:
        bounds.append(f"{day_sql('d')} <= :date_end")
        params["date_end"] = convert(parsed.dates.end)
    if bounds:
        sql = f"SELECT d.pk AS pk FROM papers d WHERE {' AND '.join(bounds)}"
        result.check(sql, **params)


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
    condition, excluded = exclusion
    among, keys = in_keys(conn, "p.pk", pks)
    params = found.params | excluded | keys
    where = found.sql + (f" AND {condition}" if condition else "")
    sql = f"SELECT p.pk FROM papers p WHERE {among}{where}"
    return {int(pk) for pk in conn.execute(sql_text(sql), params).scalars()}
