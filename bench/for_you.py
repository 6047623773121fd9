""" "For you" latency at scale: a user with 5 tags of 20 papers each, over the 1M-paper store.

    .venv/bin/python bench/search_lexical.py --records 1000000 --rounds 1   # builds the corpus
    .venv/bin/python bench/for_you.py --records 1000000

Measures, server-side and in one process:
- ``recommend()``: the ranking with its reasons, warm (classifiers cached, pool in memory);
- ``GET /for-you``: the whole page through the ASGI app (session lookup, ranking, template),
  warm, and with each tag's pool scores recomputed (the first view after a change);
- the same ranking when every request retrains every tag (the cache emptied each time): the
  baseline in the same run, close to what arxiv-sanity-lite does per request (it refits an SVM);
- the one-off costs: loading the recent-paper pool, and a cold first request.

The store is the 1M-paper SQLite database of bench/search_lexical.py, migrated to head. Papers of
the last ``for_you_window_days`` days and the tagged papers get random unit vectors (embedding a
million abstracts on this CPU would take days; values do not change the latency: the request
reads the same rows and does the same arithmetic whatever they are).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select

from paperfeed.config import get_settings
from paperfeed.rank import for_you
from paperfeed.rank.candidate_pool import newest_day
from paperfeed.store import embeddings as store
from paperfeed.store import migrate
from paperfeed.store.community_schema import library_items, library_tags, users
from paperfeed.store.engine import make_engine, write_transaction
from paperfeed.store.recommend_schema import tag_models
from paperfeed.store.schema import papers
from search_lexical import OUT  # bench/ is on sys.path when run

TAG_WORDS = ("diffusion", "reinforcement", "graph", "quantum", "speech")
DIM = 384


def _random_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def prepare(engine: Engine, model: str, window_days: int, per_tag: int) -> int:
    """Vectors for the window and the tags; a user with len(TAG_WORDS) tags. Returns the user."""
    migrate.upgrade(engine)
    with engine.connect() as conn:
        anchor = newest_day(conn)
        assert anchor is not None, "build the corpus first (bench/search_lexical.py)"
        since = anchor - timedelta(days=window_days - 1)
        day = func.coalesce(papers.c.featured_day, papers.c.published)
        window = list(conn.execute(select(papers.c.pk).where(since <= day)).scalars())
        tagged = {
            word: list(
                conn.execute(
                    select(papers.c.pk)
                    .where(func.lower(papers.c.title).contains(word), day < since)
                    .order_by(papers.c.pk)
                    .limit(per_tag)
                ).scalars()
            )
            for word in TAG_WORDS
        }
    wanted = sorted(set(window) | {pk for pks in tagged.values() for pk in pks})
    with write_transaction(engine) as conn:
        store.ensure_model(conn, model, DIM)
        have = set(store.vectors_for(conn, model, DIM, wanted))
        missing = [pk for pk in wanted if pk not in have]
        if missing:
            vectors = _random_vectors(len(missing), seed=1)
            store.write_embeddings(conn, model, missing, ["bench"] * len(missing), vectors)
        conn.execute(delete(users).where(users.c.username == "bench-reader"))
        user = {
            "username": "bench-reader",
            "email": "bench-reader@example.org",
            "password_hash": "unused",
            "is_admin": False,
            "created_at": datetime.now(UTC),
        }
        user_pk = int(conn.execute(insert(users).values(user).returning(users.c.pk)).scalar_one())
        now = datetime.now(UTC)
        for word, pks in tagged.items():
            for pk in pks:
                conn.execute(
                    insert(library_items)
                    .values(user_pk=user_pk, paper_pk=pk, created_at=now)
                    .prefix_with("OR IGNORE")
                )
                conn.execute(insert(library_tags).values(user_pk=user_pk, paper_pk=pk, tag=word))
    print(
        f"window: {len(window):,} papers since {since}; tags: "
        + ", ".join(f"{w} {len(p)}" for w, p in tagged.items())
    )
    return user_pk


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{name:<44} p50 {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-tag", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    path = OUT / f"search-{args.records}.db"
    os.environ["PAPERFEED_DATABASE_URL"] = f"sqlite:///{path}"
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    user_pk = prepare(engine, settings.embedding_model, settings.for_you_window_days, args.per_tag)

    with engine.connect() as conn:
        started = time.perf_counter()
        pool = for_you.POOLS.get(conn, settings.embedding_model, settings.for_you_window_days)
        print(f"pool load: {len(pool):,} papers in {(time.perf_counter() - started):.2f} s")
    with write_transaction(engine) as conn:
        conn.execute(delete(tag_models).where(tag_models.c.user_pk == user_pk))
    for_you._models.clear()
    started = time.perf_counter()
    first = for_you.recommend(engine, user_pk, limit=30)
    print(
        f"cold first request (trains {len(first.tag_sizes)} tags): "
        f"{(time.perf_counter() - started) * 1000:.1f} ms"
    )

    def retrain_every_time() -> None:
        for_you._models.clear()
        with write_transaction(engine) as conn:
            conn.execute(delete(tag_models).where(tag_models.c.user_pk == user_pk))
        for_you.recommend(engine, user_pk, limit=30)

    from fastapi.testclient import TestClient

    from paperfeed.community.sessions import start_session
    from paperfeed.web.app import create_app
    from paperfeed.web.auth_deps import SESSION_COOKIE

    with TestClient(create_app(settings), base_url="https://testserver") as client:
        client.cookies.set(SESSION_COOKIE, start_session(engine, user_pk))
        assert client.get("/for-you").status_code == 200
        report(
            "recommend(), warm",
            timed(lambda: for_you.recommend(engine, user_pk, limit=30), args.rounds),
        )
        report(
            "GET /for-you (whole page), warm", timed(lambda: client.get("/for-you"), args.rounds)
        )

        def uncached_scores() -> None:
            for_you._SCORES.clear()  # as on the first view after a feedback or a new day
            client.get("/for-you")

        report("GET /for-you, pool scores recomputed", timed(uncached_scores, args.rounds))
        report("baseline: retrain every tag per request", timed(retrain_every_time, args.rounds))
    print(f"reproduce: .venv/bin/python bench/for_you.py --records {args.records}")


if __name__ == "__main__":
    main()
