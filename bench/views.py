"""Counting views: one write transaction per view (the old way) against views gathered in
memory and flushed in one transaction (``community.views``), on the embedded SQLite store.

    PYTHONPATH=src .venv/bin/python bench/views.py --views 2000

Both sides count the same views of the same 50 papers by distinct visitors, into fresh
databases, so the ratio is the cost of the database write per view.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from paperfeed.community.views import ViewCounter
from paperfeed.domain import PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.rank.trending import record_activity
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine, write_transaction
from paperfeed.store.schema import papers

PAPERS = 50


def fresh(folder: Path, name: str) -> tuple[Engine, list[int]]:
    engine = make_engine(f"sqlite:///{folder / name}.db")
    migrate.upgrade(engine)
    items = []
    for n in range(PAPERS):
        item = prepare(PaperRecord(id=f"2401.{n:05d}", title=f"Paper {n}", abstract="Text."))
        assert isinstance(item, Prepared)
        items.append(item)
    with write_transaction(engine) as conn:
        upsert_batch(conn, items)
        pks = list(conn.scalars(select(papers.c.pk)))
    return engine, pks


def per_view(engine: Engine, pks: list[int], views: int) -> float:
    start = time.perf_counter()
    for n in range(views):
        with write_transaction(engine) as conn:
            record_activity(conn, pks[n % len(pks)], "view")
    return time.perf_counter() - start


def batched(engine: Engine, pks: list[int], views: int) -> float:
    counter = ViewCounter(engine, batch=500, seconds=3600)
    day = datetime.now(UTC).date()
    start = time.perf_counter()
    for n in range(views):
        counter.add(pks[n % len(pks)], f"{n:032x}", day)
    counter.flush()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        old = per_view(*fresh(Path(folder), "per_view"), args.views)
        new = batched(*fresh(Path(folder), "batched"), args.views)
    print(f"{args.views} views: one transaction each {old:.2f} s ({old / args.views * 1e3:.2f} ms "
          f"a view); in memory, flushed per 500 {new:.2f} s ({new / args.views * 1e3:.3f} ms "
          f"a view); {old / new:.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
