""" "For you" quality offline: simulated libraries from the real data's category structure.

    .venv/bin/python bench/for_you_quality.py [--users 40] [--seed 1]

Corpus: the bundled sample (5,603 real arXiv papers over 20 listing days) with its shipped
embeddings, loaded into a scratch SQLite store. A simulated user has 5 tags; each tag is one
interest taken from the data itself: the papers listed under one pair of arXiv categories (for
example cs.CL + cs.SD), 20 of them drawn at random. 20% of each tag's papers are hidden; the
rest are saved and tagged. We rank every paper outside the saved library (the "for you" window
is widened to the whole corpus for this) and report recall@20 of the hidden papers:

- per tag: the tag's own list (``recommend(tag=...)``) vs the baselines on the same tag;
- merged: the user's merged list (``recommend()``) against all of that user's hidden papers.

Baselines, scored on exactly the same candidates: "centroid" (cosine similarity to the mean
vector of the tag's saved papers; merged: best over tags) and "trending" (the trending order:
with no community activity in this corpus it is newest first, which is what a new site shows).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import random
import statistics
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import func, insert, select

from paperfeed.config import get_settings
from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.sample import SAMPLE_DIR
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.rank import for_you
from paperfeed.search.precomputed import load_precomputed
from paperfeed.store import embeddings as store
from paperfeed.store import migrate
from paperfeed.store.community_schema import library_items, library_tags, users
from paperfeed.store.engine import make_engine, write_transaction
from paperfeed.store.schema import papers

TAGS_PER_USER = 5
PAPERS_PER_TAG = 20
HIDDEN_SHARE = 0.2
K = 20


def interests() -> dict[tuple[str, str], list[str]]:
    """Papers by pair of arXiv categories they are listed under (pairs with enough papers)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    with gzip.open(SAMPLE_DIR / "arxiv-listings.jsonl.gz", "rb") as lines:
        for line in lines:
            row = orjson.loads(line)
            categories = sorted(set(str(row.get("categories", "")).split()))
            for pair in itertools.combinations(categories, 2):
                groups[pair].append(str(row["id"]))
    # Narrow interests: a pair listed on 40–150 papers (broad pairs such as cs.LG + stat.ML
    # hold hundreds, and no method can tell which of them a user would save).
    return {pair: ids for pair, ids in groups.items() if 2 * PAPERS_PER_TAG <= len(ids) <= 150}


def recall(ranked: list[str], hidden: set[str]) -> float:
    return len(set(ranked[:K]) & hidden) / len(hidden)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-foryou-"))
    os.environ["PAPERFEED_DATA_DIR"] = str(folder)
    os.environ["PAPERFEED_INDEX_ON_INGEST"] = "0"
    os.environ["PAPERFEED_FOR_YOU_WINDOW_DAYS"] = "366"
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    migrate.upgrade(engine)
    sample = SAMPLE_DIR / "arxiv-listings.jsonl.gz"
    run_ingest(engine, file_source(str(sample), None, ParseOptions()))
    load_precomputed(engine)

    with engine.connect() as conn:
        rows = conn.execute(
            select(
                papers.c.pk, papers.c.id, func.coalesce(papers.c.featured_day, papers.c.published)
            )
        ).all()
        pk_of = {row[1]: row[0] for row in rows}
        id_of = {row[0]: row[1] for row in rows}
        newest_first = [row[1] for row in sorted(rows, key=lambda r: (r[2], r[0]), reverse=True)]
        state = store.model_state(conn, settings.embedding_model)
        assert state is not None
        keys, matrix = store.load_vectors(conn, settings.embedding_model, state.dim)
    vectors = {int(pk): matrix[i] for i, pk in enumerate(keys.tolist())}
    all_pks = np.asarray(sorted(vectors), dtype=np.int64)
    all_vectors = np.stack([vectors[int(pk)] for pk in all_pks])

    groups = interests()
    pairs = sorted(groups)
    rng = random.Random(args.seed)
    results: dict[str, dict[str, list[float]]] = {
        "per tag": defaultdict(list),
        "merged": defaultdict(list),
    }
    for user_index in range(args.users):
        chosen = rng.sample(pairs, TAGS_PER_USER)
        saved: dict[str, list[int]] = {}
        hidden: dict[str, set[str]] = {}
        taken: set[str] = set()
        for pair in chosen:
            pool = [pid for pid in groups[pair] if pid not in taken and pid in pk_of]
            picked = rng.sample(pool, min(PAPERS_PER_TAG, len(pool)))
            taken.update(picked)
            cut = round(len(picked) * HIDDEN_SHARE)
            tag = "+".join(pair)
            hidden[tag] = set(picked[:cut])
            saved[tag] = [pk_of[pid] for pid in picked[cut:]]
        user_pk = _store_user(engine, user_index, saved)
        library = {pk for pks in saved.values() for pk in pks}
        candidates = ~np.isin(all_pks, np.asarray(sorted(library)))
        centroid_scores = {}
        for tag, pks in saved.items():
            centroid = np.mean([vectors[pk] for pk in pks], axis=0)
            scores = all_vectors @ (centroid / np.linalg.norm(centroid))
            scores[~candidates] = -np.inf
            centroid_scores[tag] = scores
            ours = for_you.recommend(engine, user_pk, limit=K, tag=tag, settings=settings)
            results["per tag"]["for you (per-tag classifier)"].append(
                recall([r.paper_id for r in ours.papers], hidden[tag])
            )
            results["per tag"]["centroid"].append(
                recall(_ranked(scores, all_pks, id_of), hidden[tag])
            )
            results["per tag"]["trending"].append(
                recall([p for p in newest_first if pk_of[p] not in library], hidden[tag])
            )
        every_hidden = set().union(*hidden.values())
        merged = for_you.recommend(engine, user_pk, limit=K, settings=settings)
        results["merged"]["for you (per-tag classifier)"].append(
            recall([r.paper_id for r in merged.papers], every_hidden)
        )
        best = np.max(np.stack(list(centroid_scores.values())), axis=0)
        results["merged"]["centroid"].append(recall(_ranked(best, all_pks, id_of), every_hidden))
        results["merged"]["trending"].append(
            recall([p for p in newest_first if pk_of[p] not in library], every_hidden)
        )
    print(
        f"{args.users} simulated users × {TAGS_PER_USER} tags × {PAPERS_PER_TAG} papers, "
        f"{HIDDEN_SHARE:.0%} hidden; corpus {len(all_pks):,} papers; recall@{K} (mean):"
    )
    for view, methods in results.items():
        for method, values in methods.items():
            print(f"  {view:<8} {method:<32} {statistics.mean(values):.3f}")
    command = f"bench/for_you_quality.py --users {args.users} --seed {args.seed}"
    print(f"reproduce: .venv/bin/python {command}")


def _ranked(scores: np.ndarray, pks: np.ndarray, id_of: dict[int, str]) -> list[str]:
    order = np.argsort(-scores, kind="stable")[:K]
    return [id_of[int(pks[i])] for i in order if np.isfinite(scores[i])]


def _store_user(engine, index: int, saved: dict[str, list[int]]) -> int:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        row = {
            "username": f"sim{index}",
            "email": f"sim{index}@example.org",
            "password_hash": "unused",
            "is_admin": False,
            "created_at": now,
        }
        user_pk = int(conn.execute(insert(users).values(row).returning(users.c.pk)).scalar_one())
        for tag, pks in saved.items():
            for pk in pks:
                conn.execute(
                    insert(library_items).values(user_pk=user_pk, paper_pk=pk, created_at=now)
                )
                conn.execute(insert(library_tags).values(user_pk=user_pk, paper_pk=pk, tag=tag))
    return user_pk


if __name__ == "__main__":
    main()
