"""Read-only queries the pages need beyond ``paperfeed.services`` (no writes, ever).

Routes call these, never SQL. When another front end (API, feeds) needs the same reads they
move into ``paperfeed.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, func, select

from paperfeed.domain import Paper
from paperfeed.store.papers import count_papers, find_by_ids
from paperfeed.store.schema import papers

# A paper's day: the day it was featured (listed), else the day it was published.
_DAY = func.coalesce(papers.c.featured_day, papers.c.published)


@dataclass(frozen=True, slots=True)
class DaySection:
    """One day on a page: its top papers and how many papers that day has in all."""

    day: date
    total: int
    papers: list[Paper]

    @property
    def more(self) -> int:
        return self.total - len(self.papers)


def latest_days(engine: Engine, days: int = 30, per_day: int = 5) -> list[DaySection]:
    """The ``days`` most recent days, newest first, each with its ``per_day`` top papers."""
    with engine.connect() as conn:
        totals = _day_totals(conn, days)
        if not totals:
            return []
        ranked = _top_ids(conn, list(totals), per_day)
        found = find_by_ids(conn, [paper_id for paper_id, _ in ranked])
    by_day: dict[date, list[Paper]] = {day: [] for day in totals}
    for paper_id, day in ranked:
        by_day[day].append(found[paper_id].paper)
    return [DaySection(day, totals[day], by_day[day]) for day in totals]


def _day_totals(conn: Connection, days: int) -> dict[date, int]:
    day = _DAY.label("day")
    query = (
        select(day, func.count().label("n"))
        .where(_DAY.is_not(None))
        .group_by(_DAY)
        .order_by(_DAY.desc())
        .limit(days)
    )
    return {row.day: int(row.n) for row in conn.execute(query)}


def _top_ids(conn: Connection, days: list[date], per_day: int) -> list[tuple[str, date]]:
    """(id, day) of each day's top papers: most upvoted first, then in the order they came."""
    rank = func.row_number().over(
        partition_by=_DAY, order_by=(papers.c.external_upvotes.desc(), papers.c.pk)
    )
    inner = (
        select(papers.c.id, _DAY.label("day"), rank.label("rank")).where(_DAY.in_(days)).subquery()
    )
    query = (
        select(inner.c.id, inner.c.day)
        .where(inner.c.rank <= per_day)
        .order_by(inner.c.day.desc(), inner.c.rank)
    )
    return [(row.id, row.day) for row in conn.execute(query)]


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
