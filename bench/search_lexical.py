"""Lexical search latency: the uncapped FTS5 query (baseline) against paperfeed's planned one.

The corpus is made at scale from the real abstracts: the 74,728 papers of
``../shared/data/arxiv-daily-2025-2026.jsonl.gz`` repeated with new arXiv ids, written by the
regular ingest pipeline (prepare -> upsert -> FTS triggers). The query mix includes very common
words ("model", "the learning", "data"), which is where an uncapped FTS5 query scores every
posting. Both are timed warm, in the same run, over the same queries.

    .venv/bin/python bench/search_lexical.py                      # 100k papers (quick)
    .venv/bin/python bench/search_lexical.py --records 1000000    # the 1M figure
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, text

from paperfeed.domain import PaperRecord
from paperfeed.ingest.service import run_ingest
from paperfeed.search.lexical import lexical_search
from paperfeed.search.query import parse_query, words
from paperfeed.search.service import search
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-daily-2025-2026.jsonl.gz"
OUT = Path(__file__).resolve().parent / "out"
PER_MONTH = 28_000
QUERIES = (
    # very common words: the trap
    "model",
    "the learning",
    "data",
    "the",
    "large language models",
    "neural network training",
    # ordinary keyword and natural-language queries
    "landmark attention",
    "gaussian splatting",
    "kv cache compression",
    "diffusion transformer video generation",
    "how do I shrink the KV cache for long contexts",
    "reinforcement learning from human feedback",
    "anisotropic resolution enhancement",
    '"retrieval augmented generation" -survey',
    "title:mamba state space",
    "cat:cs.RO robot grasping",
    "transfomer atention",  # misspelt
)


def synthetic_id(n: int) -> str:
    """A distinct new-style arXiv id for copy ``n`` (``YYMM.NNNNN`` from 1501 on)."""
    index = 2015 * 12 + n // PER_MONTH
    return f"{index // 12 % 100:02d}{index % 12 + 1:02d}.{n % PER_MONTH + 1:05d}"


def _real_records() -> Iterator[dict[str, object]]:
    while True:  # read the real papers again from the start each time they run out
        with gzip.open(CORPUS, "rb") as stream:
            for line in stream:
                yield orjson.loads(line)


class ScaledSource:
    """An ingest Source of ``records`` papers made from the real corpus."""

    def __init__(self, records: int) -> None:
        self.records, self.size, self._done = records, None, 0
        self.label = self.key = f"scaled-arxiv-{records}"

    def items(self, cursor: str | None) -> Iterator[PaperRecord]:
        source = _real_records()
        for n in range(self.records):
            raw, self._done = next(source), n + 1
            yield PaperRecord(
                id=synthetic_id(n),
                title=str(raw["title"]),
                abstract=str(raw["abstract"]),
                authors=list(raw["authors"]),  # type: ignore[call-overload]
                # A few real records carry free text as a category, longer than the
                # schema's 64 characters (PostgreSQL refuses it; SQLite does not check).
                categories=[c for c in raw["categories"] if len(c) <= 64],  # type: ignore[attr-defined]
                published=date.fromisoformat(str(raw["listed"])),
            )

    def position(self) -> int:
        return self._done


def build(engine: Engine, records: int) -> None:
    """Ingest the scaled corpus (resumable: an interrupted build continues)."""
    migrate.upgrade(engine)
    started = time.perf_counter()
    run_ingest(engine, ScaledSource(records), batch_size=5000)  # type: ignore[arg-type]
    print(f"corpus ready: {records:,} papers ({time.perf_counter() - started:.0f} s)")


def baseline(conn: Connection, query: str) -> int:
    """The naive compile: every word OR-ed into one MATCH / tsquery, all matches ranked."""
    if conn.dialect.name != "sqlite":
        sql = (
            "SELECT pk, ts_rank_cd(search_vector, q) AS s FROM papers,"
            " to_tsquery('english', :q) q WHERE search_vector @@ q ORDER BY s DESC LIMIT 20"
        )
        return len(conn.execute(text(sql), {"q": " | ".join(words(query)) or "x"}).all())
    found = [f'"{w}"' for w in words(query)]
    if not found:
        return 0
    sql = (
        "SELECT rowid, bm25(papers_fts, 5.0, 1.0) AS s FROM papers_fts"
        " WHERE papers_fts MATCH :m ORDER BY s LIMIT 20"
    )
    return len(conn.execute(text(sql), {"m": " OR ".join(found)}).all())


def timed(fn: Callable[[str], object], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {q: [] for q in QUERIES}
    for query in QUERIES:
        fn(query)  # warm
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            fn(query)
            times[query].append((time.perf_counter() - started) * 1000)
    return times


def timed_together(
    variants: dict[str, Callable[[str], object]], rounds: int
) -> dict[str, dict[str, list[float]]]:
    """Like ``timed`` for several variants, interleaved: each query runs under every variant
    back to back, so load from other work on this shared machine falls on all of them alike.
    The order of the variants rotates, so none is always the first to run a new query."""
    times: dict[str, dict[str, list[float]]] = {n: {q: [] for q in QUERIES} for n in variants}
    for fn in variants.values():
        for query in QUERIES:
            fn(query)  # warm
    names = list(variants)
    for round_ in range(rounds):
        for i, query in enumerate(QUERIES):
            turn = (round_ + i) % len(names)
            for name in names[turn:] + names[:turn]:
                started = time.perf_counter()
                variants[name](query)
                times[name][query].append((time.perf_counter() - started) * 1000)
    return times


def summary(name: str, times: dict[str, list[float]]) -> None:
    every = sorted(t for ts in times.values() for t in ts)
    p99 = every[min(len(every) - 1, round(0.99 * (len(every) - 1)))]
    worst = max(times, key=lambda q: statistics.median(times[q]))
    print(
        f"{name:<34} p50 {statistics.median(every):8.2f} ms   p99 {p99:8.2f} ms"
        f"   slowest median: {worst!r} {statistics.median(times[worst]):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default bench/out/search-N.db)")
    parser.add_argument("--database-url", help="run on this database instead (e.g. PostgreSQL)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-query", action="store_true", help="print each query's median")
    args = parser.parse_args()
    path = args.db or OUT / f"search-{args.records}.db"
    engine = make_engine(args.database_url or f"sqlite:///{path}")
    with engine.connect() as conn:
        count = _count(conn)
    if count < args.records:
        build(engine, args.records)
    with engine.connect() as conn:
        where = engine.url.render_as_string() if args.database_url else path
        print(f"{_count(conn):,} papers in {where}; {len(QUERIES)} queries x {args.rounds} rounds")
        results = {
            "baseline: uncapped, every match ranked": timed(
                lambda q: baseline(conn, q), args.rounds
            ),
            "paperfeed lexical_search (k=100)": timed(
                lambda q: lexical_search(conn, parse_query(q), 100), args.rounds
            ),
            "paperfeed search() page of 20": timed(lambda q: search(conn, q), args.rounds),
        }
    for name, times in results.items():
        summary(name, times)
        if args.per_query:
            for query, ts in times.items():
                print(f"    {statistics.median(ts):8.2f} ms  {query}")
    print(f"reproduce: .venv/bin/python bench/search_lexical.py --records {args.records}")


def _count(conn: Connection) -> int:
    try:
        return int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
    except Exception:  # no schema yet
        conn.rollback()
        return 0


if __name__ == "__main__":
    main()
