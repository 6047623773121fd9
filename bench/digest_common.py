"""Shared set-up of the digest benchmarks: a fresh store with real arXiv papers."""

from __future__ import annotations

import ast
import gzip
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine, insert, update

from paperfeed.domain import PaperRecord
from paperfeed.ingest.normalise import Prepared, prepare
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine, write_transaction
from paperfeed.store.mail_schema import subscribers, subscriptions
from paperfeed.store.schema import papers

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-daily-2025-2026.jsonl.gz"


def fresh_store(url: str, paper_count: int) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with gzip.open(CORPUS, "rb") as lines:
        rows = [orjson.loads(line) for line in itertools.islice(lines, paper_count)]
    records = []
    for row in rows:
        authors = row["authors"]
        if isinstance(authors, str):
            authors = ast.literal_eval(authors)
        records.append(
            PaperRecord(
                id=row["id"],
                title=row["title"],
                abstract=row["abstract"],
                authors=[str(a) for a in authors],
                categories=list(row["categories"]),
                published=date.fromisoformat(row["listed"]),
            )
        )
    prepared = [prepare(record) for record in records]
    with write_transaction(engine) as conn:
        upsert_batch(conn, [p for p in prepared if isinstance(p, Prepared)])
        # First seen a few hours ago, with some upvotes: a realistic trending window.
        conn.execute(update(papers).values(first_seen_at=datetime.now(UTC) - timedelta(hours=3)))
        conn.execute(update(papers).values(external_upvotes=papers.c.pk % 37))
    return engine


def confirmed_subscribers(engine: Engine, count: int) -> None:
    """``count`` confirmed daily trending subscriptions, written in bulk."""
    now = datetime.now(UTC) - timedelta(days=2)
    with write_transaction(engine) as conn:
        conn.execute(
            insert(subscribers),
            [
                {"email": f"reader{i:05d}@example.org", "created_at": now, "soft_bounces": 0}
                for i in range(count)
            ],
        )
        conn.execute(
            insert(subscriptions),
            [
                {
                    "subscriber_pk": i + 1,
                    "kind": "trending",
                    "query": "",
                    "frequency": "daily",
                    "created_at": now,
                    "confirmed_at": now,
                    "confirm_version": 1,
                }
                for i in range(count)
            ],
        )
