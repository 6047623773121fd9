"""Author page reads (issue 19) against the day page's, on a database you point it at.

    PAPERFEED_DATABASE_URL=sqlite:///big.db PYTHONPATH=src .venv/bin/python bench/authors.py

For the most prolific author, a median one, an initial ("Y. Li") and a lone surname ("Li"),
it times what ``/authors/{name}`` reads (``queries.author_papers`` page 1, ``co_authors``,
``author_names``) and, as the same-run baseline, the newest day's first page
(``queries.day_papers``); it prints the query plan of the author list. Medians of
``--rounds``, interleaved (the machine is shared: compare ratios).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select

from paperfeed.store.author_keys import AuthorMatch, author_match
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import paper_authors
from paperfeed.web import queries


def author_page(engine: Engine, match: AuthorMatch) -> None:
    queries.author_papers(engine, match, 1, 50)
    queries.co_authors(engine, match, 10)
    queries.author_names(engine, match, 21)


def ranked_names(engine: Engine) -> list[str]:
    """Every author key's spelling, most papers first."""
    count = func.count().label("n")
    query = (
        select(func.min(paper_authors.c.name))
        .group_by(paper_authors.c.name_key)
        .order_by(count.desc())
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def plan(engine: Engine, match: AuthorMatch) -> str:
    query = select(queries.papers.c.pk).where(queries.by_author(match))
    query = query.select_from(queries._FROM).order_by(*queries._BY_DAY).limit(50)
    with engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    engine = make_engine(os.environ["PAPERFEED_DATABASE_URL"])
    names = ranked_names(engine)
    cases = {
        f"most papers ({names[0]})": names[0],
        f"median ({names[len(names) // 2]})": names[len(names) // 2],
        "initial (Y. Li)": "Y. Li",
        "lone surname (Li)": "Li",
    }
    day = queries.latest_day(engine)
    assert day is not None, "the database has no papers"
    timed: dict[str, Callable[[], object]] = {
        "baseline: day page": lambda: queries.day_papers(engine, day, 1, 50)
    }
    for label, name in cases.items():
        match = author_match(name)
        assert match is not None
        total = queries.author_papers(engine, match, 1, 1).total
        timed[f"{label}: {total:,} papers"] = lambda m=match: author_page(engine, m)
    times: dict[str, list[float]] = {label: [] for label in timed}
    for _ in range(args.rounds):
        for label, call in timed.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    base = statistics.median(times["baseline: day page"])
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:50s} {median * 1000:8.1f} ms  x{median / base:.2f}")
    print("plan (Yang Li):", plan(engine, author_match("Yang Li")))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
